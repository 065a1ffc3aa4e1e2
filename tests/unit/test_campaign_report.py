"""The campaign machinery: the plugin records marked tests per process, the report renders them as a table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.campaign_report import CaseResult, load_results, main, render

REPO = Path(__file__).resolve().parents[2]

SAMPLE_TESTS = """
import sys

import pytest

@pytest.mark.campaign("hostile-input", "zero-byte parquet")
def test_passes():
    assert True

@pytest.mark.campaign("hostile-input", "truncated footer")
def test_fails():
    assert 1 == 2

@pytest.mark.campaign("duplicates")
@pytest.mark.parametrize("n", [1, 20])
def test_parametrized(n):
    assert n

@pytest.fixture
def broken():
    raise RuntimeError("setup dies")

@pytest.mark.campaign("crashes", "setup error")
def test_setup_error(broken):
    pass

@pytest.mark.campaign("crashes", "skipped case")
@pytest.mark.skipif(sys.platform != "sample-os", reason="sample of a case skipped on this platform")
def test_skipped():
    pass

@pytest.mark.campaign("crashes", "known gap")
@pytest.mark.xfail(strict=True, reason="documented gap")
def test_known_gap():
    assert False

def test_not_a_campaign():
    pass
"""


def _run_sample(tmp_path: Path, results: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(SAMPLE_TESTS))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # not this run's xdist worker
    env.update(AUTOIMPORT_CAMPAIGN_REPORT=str(results), PYTHONPATH=str(REPO))
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only what the run needs: starts in a fraction of the time
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.fixtures.campaigns", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-o", "markers=campaign(name, case): c", *extra, str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_plugin_writes_one_line_per_marked_test_with_its_outcome(tmp_path: Path) -> None:
    # Given a test file with passing, failing, parametrized, broken-setup, skipped and unmarked tests
    results = tmp_path / "results"
    # When it runs with the report variable set
    run = _run_sample(tmp_path, results)
    # Then the main process wrote one line per marked test, nothing for the unmarked one
    assert run.returncode == 1, run.stdout + run.stderr
    (written,) = list(results.glob("*.jsonl"))
    assert written.name.startswith("campaign-main-")
    lines = [json.loads(line) for line in written.read_text().splitlines()]
    outcomes = {(r["campaign"], r["case"]): r["outcome"] for r in lines}
    assert outcomes == {
        ("hostile-input", "zero-byte parquet"): "passed",
        ("hostile-input", "truncated footer"): "failed",
        ("duplicates", "test_parametrized[1]"): "passed",
        ("duplicates", "test_parametrized[20]"): "passed",
        ("crashes", "setup error"): "failed",
        ("crashes", "skipped case"): "skipped",
        ("crashes", "known gap"): "xfailed",
    }
    assert all(r["duration"] >= 0 and r["nodeid"].startswith("test_sample.py::") for r in lines)


def test_under_xdist_each_worker_writes_its_own_file(tmp_path: Path) -> None:
    results = tmp_path / "results"
    run = _run_sample(tmp_path, results, "-p", "xdist", "-n", "2")
    assert run.returncode == 1, run.stdout + run.stderr
    files = sorted(p.name for p in results.glob("*.jsonl"))
    assert files and all(name.startswith("campaign-gw") for name in files)
    merged = load_results(results)
    assert len(merged) == 7
    assert sum(r.outcome == "failed" for r in merged) == 2


def test_without_the_variable_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(SAMPLE_TESTS))
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "AUTOIMPORT_CAMPAIGN_REPORT" and not k.startswith("PYTEST_")
    }
    env.update(PYTHONPATH=str(REPO), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.fixtures.campaigns", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert list(tmp_path.rglob("*.jsonl")) == []


def _case(campaign: str, case: str, outcome: str, node: str | None = None) -> CaseResult:
    return CaseResult(campaign, case, outcome, 0.5, node or f"tests/x.py::{case}")


def test_the_report_counts_cases_per_campaign_in_a_fixed_order_and_names_failures() -> None:
    results = [
        _case("least-privilege", "no wildcard", "passed"),
        _case("hostile-input", "zero-byte", "passed"),
        _case("hostile-input", "pipe | in name", "failed"),
        _case("hostile-input", "skipped one", "skipped"),
        _case("duplicates", "a gap", "xfailed"),
        _case("my-new-campaign", "x", "passed"),
    ]
    text = render(results, generated_at=datetime(2026, 11, 29, 7, 0, tzinfo=UTC))
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| campaign | what it tries | cases tried | passed | failed | notes |")
    names = [row.split("|")[1].strip() for row in rows[1:5]]
    assert names == ["duplicates", "hostile-input", "least-privilege", "my-new-campaign"]
    assert "known gap (expected failure): `a gap`" in rows[1]
    hostile = rows[2].split(" | ")
    assert hostile[2:5] == ["3", "1", "1"]
    assert "failed: `pipe \\| in name`" in rows[2] and "1 skipped" in rows[2]
    assert "all passed" in rows[3]
    assert "2026-11-29 07:00 UTC: 6 case(s), 3 passed, 1 failed, 1 known gap(s)" in text
    assert "| pipe \\| in name | failed | `tests/x.py::pipe \\| in name` |" in text


def test_a_case_recorded_twice_keeps_its_worst_outcome_and_bad_lines_are_named(tmp_path: Path) -> None:
    line = {"campaign": "crashes", "case": "c", "outcome": "passed", "duration": 1, "nodeid": "t::c"}
    (tmp_path / "a.jsonl").write_text(json.dumps(line) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps(dict(line, outcome="failed")) + "\n\n")
    [merged] = load_results(tmp_path)
    assert merged.outcome == "failed"
    (tmp_path / "c.jsonl").write_text("{not json\n")
    with pytest.raises(SystemExit, match=r"c\.jsonl:1"):
        load_results(tmp_path)


def test_main_renders_into_the_given_file_and_refuses_an_empty_run(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    output = tmp_path / "docs" / "campaigns.md"
    assert main([str(results), str(output)]) == 1
    assert not output.exists()
    (results / "w.jsonl").write_text(
        json.dumps({"campaign": "duplicates", "case": "20 deliveries", "outcome": "passed", "duration": 2.0})
        + "\n"
    )
    assert main([str(results), str(output)]) == 0
    assert "| duplicates |" in output.read_text()
    assert main([str(tmp_path / "missing")]) == 2
