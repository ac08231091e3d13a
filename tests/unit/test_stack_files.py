"""The committed lab stack file stays as committed: the machine's salt lives in the private copy."""

from __future__ import annotations

from pathlib import Path

from toolchain.stack_files import PrivateSalt

COMMITTED = "config:\n  lxd:remote: https://10.91.0.10:8443\n"
SALT = "encryptionsalt: v1:abc=:v1:def:ghi=="


def test_salt_moves_to_the_private_copy_and_edits_reach_it(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.lab.yaml").write_text(COMMITTED + SALT + "\n")  # as `pulumi stack init` leaves it
    salt = PrivateSalt(tmp_path, "lab", tmp_path / ".state")
    private = salt.refresh()
    assert (tmp_path / "Pulumi.lab.yaml").read_text() == COMMITTED
    assert private.read_text() == COMMITTED + SALT + "\n"
    edited = COMMITTED + "  lxdha:containers:\n    count: 2\n"
    (tmp_path / "Pulumi.lab.yaml").write_text(edited)
    assert salt.refresh().read_text() == edited + SALT + "\n"
    assert (tmp_path / "Pulumi.lab.yaml").read_text() == edited
    salt.forget()
    assert salt.refresh().read_text() == edited
    assert PrivateSalt.applies("lab") and not PrivateSalt.applies("prod")
