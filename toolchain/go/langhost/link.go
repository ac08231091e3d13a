package main

// Link is the last step of `pulumi package add`: the CLI has generated an SDK into the project
// (sdks/<name>) and asks the host to make the program depend on it. With pip that means one line
// per SDK path in requirements.txt; the CLI then calls InstallDependencies.

import (
	"context"
	"fmt"
	"strings"

	"github.com/blang/semver"
	pycodegen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Link records each generated SDK in the program's requirements and says how to import it.
func (h *languageHost) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	loader, closeLoader, err := schemaLoader(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer closeLoader()

	paths := map[string]string{} // Python distribution name -> SDK path relative to the project
	var imports strings.Builder
	for _, dep := range req.GetPackages() {
		if dep.GetPackage().GetName() == "pulumi" {
			paths["pulumi"] = dep.GetPath()
			continue
		}
		distribution, module, err := pythonNames(ctx, loader, dep.GetPackage())
		if err != nil {
			return nil, err
		}
		paths[distribution] = dep.GetPath()
		fmt.Fprintf(&imports, "  import %s as %s\n", distribution, module)
	}

	tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if err := tc.LinkPackages(ctx, paths); err != nil {
		return nil, fmt.Errorf("adding the SDK to requirements.txt: %w", err)
	}
	return &pulumirpc.LinkResponse{
		ImportInstructions: "You can import the SDK in your Python code with:\n\n" + imports.String(),
	}, nil
}

// pythonNames returns the SDK's distribution name (pulumi_<name> unless the schema's
// language.python.packageName overrides it) and the short name to import it as.
func pythonNames(ctx context.Context, loader schema.ReferenceLoader, dep *pulumirpc.PackageDependency,
) (distribution, module string, err error) {
	descriptor := &schema.PackageDescriptor{Name: dep.GetName(), DownloadURL: dep.GetServer()}
	if v, err := semver.ParseTolerant(dep.GetVersion()); err == nil {
		descriptor.Version = &v
	}
	if p := dep.GetParameterization(); p != nil {
		descriptor.Parameterization = &schema.ParameterizationDescriptor{Name: p.GetName(), Value: p.GetValue()}
		if v, err := semver.ParseTolerant(p.GetVersion()); err == nil {
			descriptor.Parameterization.Version = v
		}
	}
	ref, err := schema.LoadPackageReferenceV2(ctx, loader, descriptor)
	if err != nil {
		return "", "", fmt.Errorf("loading the schema of package %s: %w", dep.GetName(), err)
	}
	pkg, err := ref.Definition()
	if err != nil {
		return "", "", fmt.Errorf("reading the schema of package %s: %w", dep.GetName(), err)
	}
	if err := pkg.ImportLanguages(map[string]schema.Language{"python": pycodegen.Importer}); err != nil {
		return "", "", err
	}
	if info, ok := pkg.Language["python"].(pycodegen.PackageInfo); ok && info.PackageName != "" {
		return info.PackageName, info.PackageName, nil
	}
	return pycodegen.PyPack(ref.Namespace(), ref.Name()), strings.ReplaceAll(ref.Name(), "-", "_"), nil
}
