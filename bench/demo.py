"""Benchmark 6: the offline demo — time from the marker upload to the notification.

Runs :func:`local.demo.run_demo` (synthesized stack in the local AWS, the emulator, a sample drop) in a fresh
process and reports its own timings: marker upload → ``Completed`` notification for the happy path, and marker
upload → ``Rejected`` notification for the drop with a schema mistake. When ``local/demo.py`` or its ``run_demo``
is missing, the entry says so ("not run: demo not available") instead of a number.
"""

from __future__ import annotations

import importlib.util

from bench.common import BenchResult, run_json_subprocess


def demo_available() -> bool:
    try:
        spec = importlib.util.find_spec("local.demo")
    except ModuleNotFoundError:
        return False
    if spec is None or spec.origin is None:
        return False
    with open(spec.origin, encoding="utf-8") as f:
        return "def run_demo(" in f.read()


def run(quick: bool = False) -> BenchResult:
    result = BenchResult(
        name="demo",
        title="Offline demo: marker upload → notification (local AWS + emulator)",
        columns=["measure", "seconds"],
    )
    if not demo_available():
        result.status = "not run"
        result.notes.append("not run: demo not available (local/demo.py with run_demo() is missing)")
        return result
    out = run_json_subprocess(["-m", "bench._probe", "demo"], timeout_s=600)
    if not out["ok"]:
        result.status = "error"
        result.notes.append(f"the demo failed: {out['error'] or out['outcome']}")
    result.rows = [
        {"measure": "marker → Completed notification", "seconds": _round(out["marker_to_notification_s"])},
        {
            "measure": "marker → Rejected notification",
            "seconds": _round(out["rejected_marker_to_notification_s"]),
        },
        {"measure": "whole demo (start-up, both drops, shut-down)", "seconds": _round(out["total_s"])},
    ]
    result.rows.extend(
        {"measure": f"step: {_short(s['name'])}", "seconds": s["seconds"]} for s in out["steps"]
    )
    result.notes.append(
        "Default demo settings: emulator time scale 0.01 and shortened poll waits, so the figure measures the "
        "pipeline's own overhead (events, Lambda runs, state machine), not a real import's duration. The figures "
        "are run_demo()'s own timings (DemoResult), counted from the moment the marker upload call returns. No target."
    )
    return result


def _short(text: str, limit: int = 70) -> str:
    text = text.split(" s3://")[0].rstrip(",: ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
