"""pulumi-resource-lxdha: the SDK's component provider host serving BalancedContainer, HAProxyGroup and
HARegistry (lxdha_components/hosted.py) to any Pulumi language; the schema is inferred from their inputs.

Run by the engine: as a source plugin from this directory (PulumiPlugin.yaml, the project's venv), or by
bin/pulumi-resource-lxdha (`plugins.providers` with a path, as the LXD provider is run).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project: components/, config/, provisioners/, ansible/
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pulumi.provider.experimental import component_provider_host  # noqa: E402

from lxdha_components import VERSION  # noqa: E402
from lxdha_components.hosted import HOSTED  # noqa: E402

if __name__ == "__main__":
    component_provider_host(HOSTED, name="lxdha", version=VERSION)
