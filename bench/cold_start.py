"""Benchmark 4: cold start - how long importing each Lambda handler module takes, against ``import boto3``.

Each figure is the median, over fresh interpreters (``python -c``), of the CPU time (``time.process_time``) spent in
the import statement alone: interpreter start-up is excluded, and CPU time (unlike wall time) does not grow when other
processes compete for the machine's cores. Wall time is recorded too.

Two environments:

* ``venv``: this repository's virtualenv, where the CLI's libraries (rich, click, typer, pygments) are installed and
  ``import httpx`` pulls them in (httpx imports its command-line entry point when click is present);
* ``lambda``: the same, with those CLI-only libraries made unimportable, as in the Lambda asset (which bundles
  httpx alone on top of the Powertools layer and the runtime's boto3).

The same subprocess reports which heavy libraries got imported: the poll and finalize handlers must not import
pyarrow.
"""

from __future__ import annotations

import statistics

from bench.common import BenchResult, Target, run_json_subprocess

HANDLERS = ("start_import", "poll_import", "cancel_import", "finalize", "reconciler")
MUST_NOT_IMPORT_PYARROW = ("poll_import", "finalize")
HEAVY = ("pyarrow", "httpx", "boto3", "pydantic", "aws_lambda_powertools", "aws_xray_sdk", "rich")
NOT_IN_LAMBDA = ("rich", "click", "typer", "pygments", "markdown_it", "shellingham")
POLL_TARGET_RATIO = 2.0

_PROBE = """
import json, sys, time
if {block!r}:
    import importlib.abc

    class _NotInTheLambdaAsset(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {block!r}:
                raise ModuleNotFoundError(name)
            return None

    sys.meta_path.insert(0, _NotInTheLambdaAsset())
cpu, wall = time.process_time(), time.perf_counter()
import {module}
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({{"cpu": cpu, "wall": wall, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""

HANDLER_ENV = {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "pinecone-autoimport"}


def measure(module: str, repeat: int, *, lambda_like: bool) -> tuple[float, float, list[str]]:
    """Median CPU and wall seconds of importing ``module`` in fresh interpreters, and the heavy modules loaded."""
    cpu: list[float] = []
    wall: list[float] = []
    loaded: list[str] = []
    block = NOT_IN_LAMBDA if lambda_like else ()
    for _ in range(repeat):
        out = run_json_subprocess(
            ["-c", _PROBE.format(module=module, heavy=HEAVY, block=block)], env=HANDLER_ENV, timeout_s=120
        )
        cpu.append(float(out["cpu"]))
        wall.append(float(out["wall"]))
        loaded = list(out["loaded"])
    return statistics.median(cpu), statistics.median(wall), loaded


def run(quick: bool = False) -> BenchResult:
    repeat = 3 if quick else 5
    result = BenchResult(
        name="cold_start",
        title=f"Cold start: module import CPU time vs `import boto3` (median of {repeat} fresh interpreters)",
        columns=["module", "venv_ms", "venv_x_boto3", "lambda_ms", "lambda_x_boto3", "pyarrow", "wall_ms"],
    )
    base_cpu, base_wall, _ = measure("boto3", repeat, lambda_like=False)
    result.rows.append(
        {
            "module": "boto3 (baseline)",
            "venv_ms": round(base_cpu * 1000, 1),
            "venv_x_boto3": 1.0,
            "lambda_ms": round(base_cpu * 1000, 1),
            "lambda_x_boto3": 1.0,
            "pyarrow": False,
            "wall_ms": round(base_wall * 1000, 1),
        }
    )
    xray_cpu, xray_wall, _ = measure("aws_xray_sdk.core", repeat, lambda_like=True)
    result.rows.append(
        {
            "module": "aws_xray_sdk.core (Tracer)",
            "lambda_ms": round(xray_cpu * 1000, 1),
            "lambda_x_boto3": round(xray_cpu / base_cpu, 2),
            "pyarrow": False,
            "wall_ms": round(xray_wall * 1000, 1),
        }
    )
    lambda_ratio: dict[str, float] = {}
    pyarrow_in: dict[str, bool] = {}
    for name in HANDLERS:
        module = f"functions.handlers.{name}"
        venv_cpu, venv_wall, loaded = measure(module, repeat, lambda_like=False)
        lam_cpu, _, lam_loaded = measure(module, repeat, lambda_like=True)
        lambda_ratio[name] = lam_cpu / base_cpu
        pyarrow_in[name] = "pyarrow" in loaded or "pyarrow" in lam_loaded
        result.rows.append(
            {
                "module": f"handlers.{name}",
                "venv_ms": round(venv_cpu * 1000, 1),
                "venv_x_boto3": round(venv_cpu / base_cpu, 2),
                "lambda_ms": round(lam_cpu * 1000, 1),
                "lambda_x_boto3": round(lam_cpu / base_cpu, 2),
                "pyarrow": pyarrow_in[name],
                "wall_ms": round(venv_wall * 1000, 1),
                "heavy_modules": ", ".join(loaded),
            }
        )
    result.targets.append(
        Target(
            "poll handler import <= 2x boto3 (Lambda asset)",
            lambda_ratio["poll_import"],
            POLL_TARGET_RATIO,
            "<=",
            limit=(
                "the X-Ray SDK that Powertools' Tracer loads (functions run with active tracing) costs about as "
                "much as boto3 on its own; the rest is pydantic, httpx and the handler's models"
            ),
        )
    )
    for name in MUST_NOT_IMPORT_PYARROW:
        result.targets.append(
            Target(f"{name} does not import pyarrow (1 = imported)", float(pyarrow_in[name]), 0.0, "<=")
        )
    result.notes.append(
        "CPU time of the import statement (wall time shown for the venv; it varies with the machine's load). "
        "'lambda' makes rich/click/typer/pygments unimportable, as in the Lambda asset."
    )
    return result
