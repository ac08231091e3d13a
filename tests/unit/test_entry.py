"""Every command ends with its code or one message: never a Python traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cluster.errors import ConfigError
from ops import entry


def test_a_command_ends_with_one_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    cases = [
        (lambda: 3, 3, ""),
        (lambda: (_ for _ in ()).throw(ConfigError("lxd:remote", "is not set", "set it")), 2,
         "tool: lxd:remote: is not set. Fix: set it"),
        (lambda: subprocess.run(["sh", "-c", "echo broken >&2; exit 4"], check=True, capture_output=True, text=True),
         1, "exited 4:\nbroken"),
        (lambda: {}["missing"], 1, f"tool: KeyError: 'missing'; details in {tmp_path / '.state/logs/commands.log'}"),
    ]
    for main, code, message in cases:
        with pytest.raises(SystemExit) as ended:
            entry.run(main, "tool")
        assert ended.value.code == code
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert "Traceback" in (tmp_path / ".state/logs/commands.log").read_text()
