"""README.md is a short entry page; the details live in docs/, one file per topic.

Checks that README.md stays short, starts with the two commands a new user runs and links every page
of docs/; that every relative link in README.md and docs/*.md points at a file that exists; and that
no measured duration is copied into them: measured numbers live only in the generated
bench/BENCHMARKS.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]

README_MAX_LINES = 150

# Durations that are design constants or defaults, not measurements. Keep this list small: a
# measured duration belongs in bench/BENCHMARKS.md, linked from the docs, never copied.
DESIGN_CONSTANTS = {
    "0.3 s",   # lxdha:registry.advertIntervalS default
    "0.5 s",   # the database backends' HAProxy check interval
    "1 s",     # the VRRPv2 advert interval default (whole seconds only)
    "40.95 s",  # the longest VRRPv3 advert interval (4095 centiseconds)
    "2 s",     # member-down poll interval; how long one cluster listing answers reads; fast retryTimeoutS
    "3 s",     # lxdha:postgres.patroni.retryTimeoutS default
    "10 s",    # connect timeout of one attempt to lxd:remote
    "20 s",    # LXD's cluster.offline_threshold default: a dead member still listed ONLINE
    "60 s",    # the database's archive_timeout (a WAL segment at least every minute)
    "30 s",    # bound of the reachability check of lxd:remote before anything is declared
    "120 s",   # bounded wait for a member; default gate timeout of a maintenance roll
    "240 s",   # time window of a move's retries
    "300 s",   # bounded wait for another apt-get/dpkg/apk run in a container
    "10 min",  # the lab's DHCP lease time
}

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`[^`]*`")
DURATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?(ms|s|seconds?|min|minutes?|h|hours?)\b")
UNIT = {"second": "s", "seconds": "s", "minute": "min", "minutes": "min", "hour": "h", "hours": "h"}


def _relative_links(path: Path) -> list[str]:
    text = CODE_SPAN.sub("", path.read_text())
    return [target for target in LINK.findall(text)
            if not target.startswith(("http://", "https://", "mailto:", "#"))]


def test_readme_is_short() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move details into docs/"


def test_readme_starts_with_the_two_commands() -> None:
    title, _, rest = README.read_text().partition("\n")
    assert title.startswith("# ")
    intro = rest.split("\n## ", 1)[0]  # everything before the first section
    assert "make demo" in intro and "make test" in intro


def test_readme_links_every_doc() -> None:
    linked = {(ROOT / target.split("#", 1)[0]).resolve() for target in _relative_links(README)}
    unlinked = [doc.name for doc in DOCS[1:] if doc not in linked]
    assert not unlinked, f"README.md does not link: {unlinked}"
    assert ROOT / "bench" / "BENCHMARKS.md" in linked


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    broken = []
    for target in _relative_links(doc):
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            broken.append(target)
    assert not broken, f"{doc.name}: links to missing files: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_measured_durations(doc: Path) -> None:
    found = []
    for number, line in enumerate(doc.read_text().splitlines(), start=1):
        for value, unit in DURATION.findall(line):
            duration = f"{value} {UNIT.get(unit, unit)}"
            if duration not in DESIGN_CONSTANTS:
                found.append(f"line {number}: {duration}")
    assert not found, (f"{doc.name}: measured durations belong in bench/BENCHMARKS.md (link it), "
                       f"or add a design constant to DESIGN_CONSTANTS: {found}")
