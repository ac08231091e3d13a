"""What the benchmark needs from the lab, read from lab.json and the project's files only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolchain.pulumi_cli import ROOT

LAB_JSON = Path("/var/lib/lxdha-lab/lab.json")
DHCP_POOL = 100  # .100-.199, see lab/README.md


@dataclass(frozen=True)
class BenchSite:
    """The lab as the baselines see it: cluster, mirror, keys, playbook."""

    data: dict[str, Any]
    public_key_file: Path
    private_key_file: Path
    ansible_dir: Path
    playbook: str = "base.yml"

    @classmethod
    def load(cls, lab_json: Path = LAB_JSON) -> BenchSite:
        data = json.loads(lab_json.read_text())
        ssh = ROOT / ".state" / "ssh"
        return cls(data=data, public_key_file=ssh / "id_ed25519.pub", private_key_file=ssh / "id_ed25519",
                   ansible_dir=ROOT / "ansible")

    @property
    def members(self) -> list[str]:
        return [m["name"] for m in self.data["lxd"]["members"]]

    @property
    def leases_file(self) -> Path:
        return Path(self.data["lab_dir"]) / "dhcp" / "leases"

    def free_leases(self) -> int:
        """Addresses left in the DHCP pool: a deleted container keeps its lease until it expires."""
        try:
            used = sum(1 for line in self.leases_file.read_text().splitlines() if line.strip())
        except OSError:
            used = 0
        return DHCP_POOL - used
