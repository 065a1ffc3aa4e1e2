"""Smoke tests of the benchmark harness (bench/): the polling simulation on tiny inputs, targets and the report.

No timings are asserted: these check that the simulation drives the real policy to the right ending and that
results turn into the README section.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import polling_cost, report
from bench.__main__ import main as bench_main
from bench.common import BenchResult, Target
from functions.settings import PollPolicy


def test_the_simulated_import_reports_its_phases() -> None:
    job = polling_cost.SimulatedImport(duration_s=1000)

    assert job.at(10).status == "Pending"
    assert job.at(450).status == "InProgress" and 0 < (job.at(450).percent_complete or 0) < 100
    assert (job.at(900).status, job.at(900).percent_complete) == ("InProgress", 100.0)  # indexing
    assert job.at(1000).status == "Completed"


def test_the_real_policy_ends_a_short_import_with_few_polls_and_a_small_lag() -> None:
    tracked = polling_cost.simulate_policy(600, seed=1)

    assert not tracked.cancelled
    assert 1 <= tracked.calls < polling_cost.simulate_fixed(600).calls
    assert 0 <= tracked.lag_s <= PollPolicy().max_wait_s
    assert tracked.transitions == 3 * tracked.calls


def test_an_import_longer_than_the_deadline_is_cancelled() -> None:
    policy = PollPolicy(first_wait_s=60, min_wait_s=30, max_wait_s=120, deadline_s=600)

    tracked = polling_cost.simulate_policy(3600, policy=policy, seed=0)

    assert tracked.cancelled


def test_a_fixed_poll_sees_the_ending_at_its_next_tick() -> None:
    tracked = polling_cost.simulate_fixed(95, interval_s=30)

    assert (tracked.calls, tracked.lag_s) == (4, 25)


def test_targets_pass_or_fail_by_their_operator() -> None:
    assert Target("a", 5.0, 4.0, ">=").passed is True
    assert Target("b", 5.0, 4.0, "<=").passed is False
    assert Target("c", None, 4.0, "<=").passed is None


def test_the_polling_benchmark_writes_results_and_the_report_renders_them(tmp_path: Path) -> None:
    output = tmp_path / "results.json"

    assert bench_main(["--only", "polling", "--quick", "--output", str(output)]) == 0

    document = json.loads(output.read_text())
    (polling,) = document["benchmarks"]
    assert polling["name"] == "polling" and polling["quick"] is True
    assert [row["import"] for row in polling["rows"]] == ["10 min", "1 h", "6 h"]
    assert all(t["passed"] is not None for t in polling["targets"])
    section = report.markdown(document)
    assert section.startswith("## Performance\n")
    assert "| 1 h |" in section and f"{document['machine']['cores']} cores" in section


def test_a_missed_target_is_stated_with_its_limit() -> None:
    result = BenchResult(name="x", title="X", columns=["a"], rows=[{"a": 1}])
    result.targets.append(Target("a >= 2", 1.0, 2.0, ">=", limit="the disk"))
    document = {
        "generated_at": "2026-11-29T07:00:00+00:00",
        "machine": {"cores": 2, "ram_gib": 8, "python": "3.11", "platform": "Linux"},
        "benchmarks": [result.to_json()],
    }

    section = report.markdown(document)

    assert "**not met**. Limited by: the disk" in section
    assert "0 of 1 targets met" in section
