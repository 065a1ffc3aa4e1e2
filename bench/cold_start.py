"""Benchmark 4: cold start — how long importing each Lambda handler module takes, against ``import boto3``.

Each figure is the median over fresh interpreters (``python -c``) of the wall time of the import statement
alone (interpreter start-up excluded). The same subprocess reports which heavy libraries got imported: the poll and
finalize handlers must not import pyarrow.
"""

from __future__ import annotations

import json
import statistics

from bench.common import BenchResult, Target, run_json_subprocess

HANDLERS = ("start_import", "poll_import", "cancel_import", "finalize", "reconciler")
MUST_NOT_IMPORT_PYARROW = ("poll_import", "finalize")
HEAVY = ("pyarrow", "httpx", "boto3", "pydantic", "aws_lambda_powertools", "aws_xray_sdk")
POLL_TARGET_RATIO = 2.0

_PROBE = """
import json, sys, time
started = time.perf_counter()
import {module}
elapsed = time.perf_counter() - started
print(json.dumps({{"s": elapsed, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""

HANDLER_ENV = {
    "POWERTOOLS_SERVICE_NAME": "autoimport",
    "POWERTOOLS_METRICS_NAMESPACE": "AutoImport",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def measure(module: str, repeat: int) -> tuple[float, list[str]]:
    """Median import time of ``module`` in fresh interpreters, and the heavy modules it loaded."""
    times: list[float] = []
    loaded: list[str] = []
    for _ in range(repeat):
        out = run_json_subprocess(
            ["-c", _PROBE.format(module=module, heavy=HEAVY)], env=HANDLER_ENV, timeout_s=120
        )
        times.append(float(out["s"]))
        loaded = list(out["loaded"])
    return statistics.median(times), loaded


def run(quick: bool = False) -> BenchResult:
    repeat = 3 if quick else 7
    result = BenchResult(
        name="cold_start",
        title=f"Cold start: handler import time vs `import boto3` (median of {repeat} fresh interpreters)",
        columns=["module", "import_ms", "x_boto3", "pyarrow_loaded", "heavy_modules"],
    )
    baseline, _ = measure("boto3", repeat)
    result.rows.append(
        {
            "module": "boto3 (baseline)",
            "import_ms": round(baseline * 1000, 1),
            "x_boto3": 1.0,
            "pyarrow_loaded": False,
            "heavy_modules": "boto3",
        }
    )
    ratios: dict[str, float] = {}
    pyarrow_in: dict[str, bool] = {}
    for name in HANDLERS:
        seconds, loaded = measure(f"functions.handlers.{name}", repeat)
        ratios[name] = seconds / baseline
        pyarrow_in[name] = "pyarrow" in loaded
        result.rows.append(
            {
                "module": f"handlers.{name}",
                "import_ms": round(seconds * 1000, 1),
                "x_boto3": round(seconds / baseline, 2),
                "pyarrow_loaded": "pyarrow" in loaded,
                "heavy_modules": ", ".join(loaded),
            }
        )
    result.targets.append(
        Target(
            "poll handler import ≤ 2x boto3",
            ratios["poll_import"],
            POLL_TARGET_RATIO,
            "<=",
            limit="the handler's own imports (powertools, pydantic models, httpx) on top of boto3",
        )
    )
    for name in MUST_NOT_IMPORT_PYARROW:
        result.targets.append(
            Target(f"{name} does not import pyarrow (1 = imported)", float(pyarrow_in[name]), 0.0, "<=")
        )
    result.notes.append(
        "Measured with POWERTOOLS_TRACE_DISABLED=true (no X-Ray daemon offline); "
        "timings include the first import of boto3 itself where a handler needs it."
    )
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick=True).to_json(), indent=1))
