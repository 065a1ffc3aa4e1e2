"""Measurements that need a fresh process of their own (peak memory): ``python -m bench._probe KIND ARGS``.

Prints one JSON object on its last line. ``ru_maxrss`` is the process's high-water mark, so the figure reported is
its growth during the measured call (after imports and set-up).
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def _current_rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (resource.getpagesize() // 1024)


class RssSampler:
    """Samples the resident set every few milliseconds in a thread: ``growth_mib`` is peak minus start."""

    def __init__(self, interval_s: float = 0.005, *, trace_python: bool = True) -> None:
        self._interval = interval_s
        self._trace = trace_python
        self.python_peak_mib: float | None = None
        self._stop = threading.Event()
        self.start_kib = _current_rss_kib()
        self.peak_kib = self.start_kib
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):  # ends when stopped
            self.peak_kib = max(self.peak_kib, _current_rss_kib())

    def __enter__(self) -> RssSampler:
        if self._trace:
            tracemalloc.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.peak_kib = max(self.peak_kib, _current_rss_kib())
        if self._trace:
            self.python_peak_mib = tracemalloc.get_traced_memory()[1] / 1024**2
            tracemalloc.stop()

    @property
    def growth_mib(self) -> float:
        return (self.peak_kib - self.start_kib) / 1024


def validate(drop: str) -> dict[str, Any]:
    import pyarrow as pa

    from functions.integrations.storage import LocalStorage
    from functions.logic.validation import validate_drop

    with RssSampler() as rss:
        started = time.perf_counter()
        report = validate_drop(drop, storage=LocalStorage())
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rss_growth_mib": rss.growth_mib,
        "python_peak_mib": rss.python_peak_mib,
        "peak_rss_mib": _rss_kib() / 1024,
        "arrow_pool_peak_mib": pa.default_memory_pool().max_memory() / 1024**2,
        "bytes_read": report.bytes_read,
        "valid": report.valid,
    }


def read_table(drop: str) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(Path(drop).rglob("*.parquet"))
    tables = []
    with RssSampler(trace_python=False) as rss:
        started = time.perf_counter()
        for path in files:
            tables.append(pq.read_table(path))  # kept, as an importer holds what it read until it is indexed
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": sum(t.num_rows for t in tables),
        "rss_growth_mib": rss.growth_mib,
        "peak_rss_mib": _rss_kib() / 1024,
        "arrow_pool_peak_mib": pa.default_memory_pool().max_memory() / 1024**2,
    }


def emulator(drop: str, dimension: str) -> dict[str, Any]:
    from local.emulator.server import EmulatorServer

    server = EmulatorServer(time_scale=1e-6).start()
    try:
        server.create_index("bench", dimension=int(dimension))
        uri = Path(drop).resolve().as_uri() + "/"
        with RssSampler(interval_s=0.02, trace_python=False) as rss:
            started = time.perf_counter()
            job = server.state.start_import("bench", uri, "abort", None)
            deadline = started + 1800
            while job.running and time.perf_counter() < deadline:  # bounded by the deadline
                time.sleep(0.01)
            seconds = time.perf_counter() - started
        return {
            "seconds": seconds,
            "status": job.status,
            "error": job.error,
            "records": job.records_imported,
            "rss_growth_mib": rss.growth_mib,
            "peak_rss_mib": _rss_kib() / 1024,
        }
    finally:
        server.stop()


def demo() -> dict[str, Any]:
    from rich.console import Console

    from local.demo import run_demo

    result = run_demo(console=Console(quiet=True))
    return {
        "ok": result.ok,
        "error": result.error,
        "outcome": result.outcome,
        "marker_to_notification_s": result.marker_to_notification_s,
        "rejected_marker_to_notification_s": result.rejected_marker_to_notification_s,
        "total_s": result.total_s,
        "expected_rows": result.expected_rows,
        "rows_in_index": result.rows_in_index,
        "steps": [{"name": s.name, "seconds": round(s.seconds, 2), "ok": s.ok} for s in result.steps],
    }


KINDS: dict[str, Callable[..., dict[str, Any]]] = {
    "validate": validate,
    "read_table": read_table,
    "emulator": emulator,
    "demo": demo,
}

if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    print(json.dumps(KINDS[kind](*args)))
