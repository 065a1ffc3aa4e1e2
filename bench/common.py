"""What every benchmark shares: the result shape, a moto server in its own process, timing and machine facts."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.proxy import free_port, stop_process, wait_for_port

REGION = "us-east-1"
CACHE_DIR = Path(tempfile.gettempdir()) / "autoimport-bench-cache"
"""Generated Parquet files are written once and reused by later runs (they are deterministic)."""


@dataclass
class Target:
    """One target: ``value`` compared with ``threshold`` (``op`` is ``>=`` or ``<=``)."""

    description: str
    value: float | None
    threshold: float
    op: str = ">="
    passed: bool | None = None
    """``None`` when the value could not be measured (the target is then not met either)."""
    limit: str | None = None
    """When missed: what limits it."""

    def __post_init__(self) -> None:
        if self.value is None:
            self.passed = None
        elif self.op == ">=":
            self.passed = self.value >= self.threshold
        else:
            self.passed = self.value <= self.threshold


@dataclass
class BenchResult:
    name: str
    title: str
    status: str = "ok"
    """``ok``, ``not run`` (with ``note`` saying why) or ``error``."""
    columns: list[str] = field(default_factory=list)
    """Keys of ``rows`` shown in the table, in order."""
    rows: list[dict[str, Any]] = field(default_factory=list)
    """One dict per case: measured values, baseline values and ratios (plain JSON values)."""
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def all_passed(self) -> bool | None:
        if self.status != "ok" or not self.targets:
            return None
        return all(t.passed is True for t in self.targets)


def cell(value: Any, *, none: str = "-") -> str:
    """A table cell: thousands separators, short floats, yes/no."""
    if value is None:
        return none
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls (seconds)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def machine() -> dict[str, Any]:
    mem_bytes = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        mem_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(mem_bytes / 1024**3, 1) if mem_bytes else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.machine(),
    }


def aws_env(endpoint_url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


class MotoProcess:
    """A moto server in its own process (so its CPU work does not share our GIL)."""

    def __init__(self) -> None:
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (user + system; Linux /proc)."""
        if self._proc is None:
            return 0.0
        try:
            with open(f"/proc/{self._proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> MotoProcess:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, timeout_s=60)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            stop_process(self._proc)


def s3_client(endpoint_url: str, *, pool: int = 64) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's dummy credentials
        config=Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=pool,
        ),
    )


def run_json_subprocess(args: list[str], *, env: dict[str, str] | None = None, timeout_s: float = 600) -> Any:
    """Run ``python -m ...`` and parse the JSON object on its last stdout line."""
    import json

    full_env = dict(os.environ)
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=full_env, timeout=timeout_s, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {' | '.join(tail)}")
    return json.loads(done.stdout.strip().splitlines()[-1])
