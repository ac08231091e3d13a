"""toolchain.conformance without a registry: the suite's config (fixed spec, every disabled area with a
reason) and how its output becomes figures and problems."""

from __future__ import annotations

from pathlib import Path

from toolchain.conformance import DISABLED, ENABLED_BEYOND_PROFILE, SPEC_VERSION, SuiteResult, parse, suite_config

OUTPUT = """OCI Conformance Result: Pass
  Disabled......................:          1
  Skip..........................:          1
  Pass..........................:         10
  FAIL..........................:          0
  Error.........................:          0
  Total.........................:         12
"""
JUNIT = """<testsuites tests="12"><testsuite name="OCI Conformance Test" tests="12">
  <testcase name="OCI Conformance Test/empty/referrers" status="skipped">
    <system-err>skipping test: api Referrers is disabled in the configuration</system-err></testcase>
  <testcase name="OCI Conformance Test/sha256 blobs/post only/blob-post-only" status="skipped">
    <system-out>registry does not support content in the POST, fallback to PUT</system-out></testcase>
  <testcase name="OCI Conformance Test/sha256 blobs/get" status="passed"/>
</testsuite></testsuites>
"""


def _lookup(config: dict, dotted: str) -> object:
    for key in dotted.split("."):
        config = config[key]
    return config


def test_config_fixes_the_spec_and_turns_off_exactly_the_declared_areas(tmp_path: Path) -> None:
    config = suite_config("10.0.0.250:5000", "user", "password", tmp_path)
    assert config["version"] == SPEC_VERSION and config["tls"] == "enabled"
    assert all(_lookup(config, item.switch) is False and item.reason for item in DISABLED)
    assert all(_lookup(config, switch) is True for switch in ENABLED_BEYOND_PROFILE)


def test_figures_and_allowed_skips_are_parsed(tmp_path: Path) -> None:
    (tmp_path / "results.yaml").write_text("apis:\n  Referrers: Disabled\n  Blob get: Pass\n"
                                           "data:\n  Image: Pass\n  Blobs sha512: Disabled\n")
    (tmp_path / "junit.xml").write_text(JUNIT)
    result = parse(OUTPUT, tmp_path, 3.0)
    assert result.counts["Pass"] == 10 and result.counts["FAIL"] == 0
    assert [name for name, _ in result.skipped] == ["OCI Conformance Test/sha256 blobs/post only/blob-post-only"]
    assert result.problems() == []
    assert "pass 10, fail 0" in result.summary() and "data.sha512" in result.summary()


def test_failures_unexplained_areas_and_other_skips_are_problems() -> None:
    result = SuiteResult(counts={"Pass": 5, "FAIL": 1}, areas={"Tag listing": "FAIL", "Mystery": "Disabled"},
                         skipped=[("OCI Conformance Test/x/blob-get", "not supported")],
                         failed=[("OCI Conformance Test/x/tag-list", "missing tag")], seconds=1.0)
    problems = "\n".join(result.problems())
    for expected in ("tag-list: missing tag", "Tag listing: FAIL", "Mystery is disabled without a declared reason",
                     "blob-get skipped", "suite counts"):
        assert expected in problems


def test_no_figures_is_a_problem(tmp_path: Path) -> None:
    assert any("no result figures" in problem for problem in parse("failed to load config", tmp_path, 0.1).problems())
