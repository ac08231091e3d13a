// Command pulumi-language-python is this project's own Python language host.
//
// Why it exists: the upstream host (module .../sdk/python/cmd/pulumi-language-python/v3) is not
// served by the Go module proxy reachable here, while the sdk/v3 module is. This host implements
// the subset of the LanguageRuntime protocol that `pulumi preview|up|destroy` of a pip/venv
// Python program needs, on top of the SDK's own Python toolchain package, and runs the SDK's
// own executor script (pulumi-language-python-exec) exactly as upstream does.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// executorName is the SDK's entry script, installed next to this binary.
const executorName = "pulumi-language-python-exec"

// exitAfterUserMessage is the executor's exit code meaning "error already shown to the user".
const exitAfterUserMessage = 32

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	executor      string
	engineAddress string
	cancel        context.CancelFunc
	cancelCtx     context.Context
}

func main() {
	showVersion := flag.Bool("version", false, "print the plugin version and exit")
	flag.String("tracing", "", "accepted for compatibility; tracing is not supported")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	executor := filepath.Join(filepath.Dir(self), executorName)
	if _, err := os.Stat(executor); err != nil {
		fail(fmt.Errorf("missing executor next to the language host: %w", err))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	stopServing := make(chan bool)
	go func() { <-ctx.Done(); close(stopServing) }()

	host := newHost(executor, flag.Arg(0))
	if host.engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, host.engineAddress, 5*time.Minute, stop); err != nil {
			fail(fmt.Errorf("engine health check: %w", err))
		}
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopServing,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fail(err)
	}
	fmt.Printf("%d\n", handle.Port) // the engine reads our port from stdout
	if err := <-handle.Done; err != nil {
		fail(err)
	}
}

func newHost(executor, engineAddress string) *languageHost {
	ctx, cancel := context.WithCancel(context.Background())
	return &languageHost{executor: executor, engineAddress: engineAddress, cancelCtx: ctx, cancel: cancel}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
	os.Exit(1)
}

// pythonOptions maps Pulumi.yaml runtime options onto the SDK toolchain's options.
func pythonOptions(info *pulumirpc.ProgramInfo) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory()}
	raw := map[string]any{}
	if info.GetOptions() != nil {
		raw = info.GetOptions().AsMap()
	}
	if venv, ok := raw["virtualenv"].(string); ok {
		opts.Virtualenv = venv
	}
	switch raw["toolchain"] {
	case nil, "pip":
		opts.Toolchain = toolchain.Pip
	default:
		return opts, fmt.Errorf("runtime option toolchain=%v is not supported by this host: use pip", raw["toolchain"])
	}
	return opts, nil
}

func resolve(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	opts, err := pythonOptions(info)
	if err != nil {
		return nil, err
	}
	return toolchain.ResolveToolchain(opts)
}

func (h *languageHost) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// GetRequiredPackages reports no packages: the program uses only the core SDK and dynamic
// providers, whose plugin ships with the toolchain.
func (h *languageHost) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// InstallDependencies serves `pulumi install` and the install step of `pulumi package add`. In an
// existing virtualenv it only installs requirements.txt: the SDK's full install first re-creates
// the venv and upgrades pip, setuptools and wheel from the index, which needs the network and
// overrides the versions the project pins. A missing venv still gets the full install.
func (h *languageHost) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	opts, err := pythonOptions(req.GetInfo())
	if err != nil {
		return err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	ctx, programDir := server.Context(), req.GetInfo().GetProgramDirectory()
	venv, err := tc.VirtualEnvPath(ctx)
	if err != nil {
		return err
	}
	if opts.Virtualenv != "" && toolchain.IsVirtualEnv(venv) && !req.GetUseLanguageVersionTools() {
		err = installRequirements(ctx, venv, programDir, stdout, stderr)
	} else {
		err = tc.InstallDependencies(ctx, programDir, req.GetUseLanguageVersionTools(), true, stdout, stderr)
	}
	if err != nil {
		return err
	}
	return closer.Close()
}

// installRequirements runs `pip install -r requirements.txt` in the venv, if the file exists.
func installRequirements(ctx context.Context, venv, programDir string, stdout, stderr io.Writer) error {
	if _, err := os.Stat(filepath.Join(programDir, "requirements.txt")); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	cmd := toolchain.VirtualEnvCommand(venv, "python", "-m", "pip", "install", "-r", "requirements.txt")
	cmd.Dir = programDir
	cmd.Env = toolchain.ActivateVirtualEnv(os.Environ(), venv)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("installing requirements.txt into %s: %w", venv, err)
	}
	return nil
}

// About answers from the virtualenv's pyvenv.cfg when it can: the engine waits for About before
// every preview, up and destroy, and the SDK toolchain's answer starts Python three times (one
// of them `pip --version`, ~0.4 s on two cores). Without a venv, or without a version line in
// pyvenv.cfg, it falls back to the toolchain's own answer.
func (h *languageHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if venv, err := tc.VirtualEnvPath(ctx); err == nil && venv != "" && toolchain.IsVirtualEnv(venv) {
		if pythonVersion := venvPythonVersion(venv); pythonVersion != "" {
			executable := filepath.Join(venv, "bin", "python")
			return &pulumirpc.AboutResponse{Executable: executable, Version: pythonVersion}, nil
		}
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: info.PythonExecutable, Version: info.PythonVersion.String()}, nil
}

// venvPythonVersion is the Python version a virtualenv was made with ("version" or "version_info"
// in its pyvenv.cfg), or "" when the file does not say.
func venvPythonVersion(venv string) string {
	raw, err := os.ReadFile(filepath.Join(venv, "pyvenv.cfg"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(raw), "\n") {
		key, value, found := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if found && (key == "version" || key == "version_info") && value != "" {
			return value
		}
	}
	return ""
}

func (h *languageHost) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, fmt.Errorf("listing python dependencies: %w", err)
	}
	deps := make([]*pulumirpc.DependencyInfo, 0, len(pkgs))
	for _, p := range pkgs {
		deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// Cancel is the engine's graceful stop (sent, for example, when a resource fails). The program
// then sees its registrations fail and ends on its own; interrupting it here only adds a
// KeyboardInterrupt traceback to the user's output, so the program gets a grace period first.
func (h *languageHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	time.AfterFunc(cancelGrace, h.cancel)
	return &emptypb.Empty{}, nil
}

// cancelGrace is how long a cancelled or abandoned program may take to finish by itself.
const cancelGrace = 30 * time.Second

// Run executes the program through the SDK's executor inside the project's virtualenv.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if h.engineAddress == "" {
		return nil, errors.New("no engine address: the engine must call Handshake before Run")
	}
	tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	runCtx, cancelRun := context.WithCancel(h.cancelCtx)
	defer cancelRun()
	context.AfterFunc(ctx, func() { time.AfterFunc(cancelGrace, cancelRun) })
	cmd, err := tc.Command(runCtx, append([]string{h.executor}, executorArgs(req, h.engineAddress)...)...)
	if err != nil {
		return nil, err
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	env, err := configEnv(req)
	if err != nil {
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, env...)
	return runResponse(cmd.Run()), nil
}

func executorArgs(req *pulumirpc.RunRequest, engineAddress string) []string {
	var args []string
	add := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engineAddress)
	add("project", req.GetProject())
	add("root_directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("organization", req.GetOrganization())
	args = append(args, req.GetInfo().GetEntryPoint())
	return append(args, req.GetArgs()...)
}

// configEnv passes stack config to the program the way the SDK reads it.
func configEnv(req *pulumirpc.RunRequest) ([]string, error) {
	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("serializing config: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	keys, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("serializing config secret keys: %w", err)
	}
	return []string{"PULUMI_CONFIG=" + string(config), "PULUMI_CONFIG_SECRET_KEYS=" + string(keys)}, nil
}

func runResponse(err error) *pulumirpc.RunResponse {
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if status, ok := exitErr.Sys().(syscall.WaitStatus); ok && status.ExitStatus() == exitAfterUserMessage {
			return &pulumirpc.RunResponse{Bail: true}
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode())}
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run the Python executor: %v", err)}
}
