"""Benchmark 5: the Pinecone emulator's import throughput (records per second) and peak memory.

A local ``file://`` drop of 100,000 x 768 dense records in 10 files is imported by the emulator with its clock at
time scale 1e-6 (pacing takes microseconds, so reading and storing dominate): time from ``start_import`` to
``Completed``. Baseline: ``pq.read_table`` of the same files, in a fresh process too. Both run in subprocesses so
their peak memory (resident set sampled every few ms, growth over the start) is their own.
"""

from __future__ import annotations

from bench.common import BenchResult, ratio, run_json_subprocess
from bench.data import local_drop

FULL = (100_000, 768, 10)
QUICK = (10_000, 768, 2)


def run(quick: bool = False) -> BenchResult:
    records, dim, files = QUICK if quick else FULL
    drop = local_drop(f"emulator-{records}x{dim}", files=files, rows_per_file=records // files, dim=dim)
    result = BenchResult(
        name="emulator_import",
        title=f"Emulator import throughput: {records:,} x {dim} records in {files} files (file:// drop)",
        columns=["measure", "emulator", "read_table", "ratio"],
    )
    emu = run_json_subprocess(["-m", "bench._probe", "emulator", str(drop), str(dim)], timeout_s=1800)
    base = run_json_subprocess(["-m", "bench._probe", "read_table", str(drop)], timeout_s=600)
    if emu["status"] != "Completed" or emu["records"] != records:
        result.status = "error"
        result.notes.append(f"the import ended {emu['status']} with {emu['records']} records: {emu['error']}")
    emu_rate = emu["records"] / emu["seconds"]
    base_rate = base["rows"] / base["seconds"]
    result.rows = [
        {
            "measure": "seconds",
            "emulator": round(emu["seconds"], 2),
            "read_table": round(base["seconds"], 2),
            "ratio": round(ratio(emu["seconds"], base["seconds"]) or 0, 1),
        },
        {
            "measure": "records/s",
            "emulator": round(emu_rate),
            "read_table": round(base_rate),
            "ratio": round(ratio(emu_rate, base_rate) or 0, 3),
        },
        {
            "measure": "peak RSS growth (MiB)",
            "emulator": round(emu["rss_growth_mib"], 1),
            "read_table": round(base["rss_growth_mib"], 1),
            "ratio": round(ratio(emu["rss_growth_mib"], base["rss_growth_mib"]) or 0, 1),
        },
    ]
    result.notes.append(
        "No target: the emulator is a test double. It turns every row into Python records (ids, float tuples, "
        "metadata dicts) and keeps them in memory as the index, so it is slower and larger than a columnar read."
    )
    return result
