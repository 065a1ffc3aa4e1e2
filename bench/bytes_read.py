"""Benchmark 2: bytes the validator reads per file as the file grows (1 MB → 1 GB), and its peak memory.

Each file (256-dimension dense vectors, pyarrow defaults) is the only file of a local drop. Bytes are counted by a
wrapper around the storage (every ranged read) and checked against the report's ``bytes_read``. The baseline is
reading the whole file (what ``pq.read_table`` does). Peak memory is measured in a fresh process (``ru_maxrss``
growth during ``validate_drop``, plus the Arrow memory pool's peak).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import CACHE_DIR, BenchResult, Target, run_json_subprocess
from bench.data import sized_file
from functions.integrations.storage import DEFAULT_MAX_OBJECT_BYTES, Listing, LocalStorage

MIB = 1024 * 1024
FULL_SIZES = (1 * MIB, 10 * MIB, 100 * MIB, 1024 * MIB)
QUICK_SIZES = (1 * MIB, 10 * MIB, 100 * MIB)
BUDGET_TARGET = 4 * MIB


@dataclass
class CountingStorage:
    """A local storage that counts every byte and call it serves."""

    inner: LocalStorage = field(default_factory=LocalStorage)
    bytes_read: int = 0
    reads: int = 0

    def list_objects(self, prefix_uri: str, *, max_objects: int) -> Listing:
        return self.inner.list_objects(prefix_uri, max_objects=max_objects)

    def read_range(self, uri: str, start: int, length: int) -> bytes:
        data = self.inner.read_range(uri, start, length)
        self.bytes_read += len(data)
        self.reads += 1
        return data

    def read_object(self, uri: str, *, max_bytes: int = DEFAULT_MAX_OBJECT_BYTES) -> bytes:
        return self.read_range(uri, 0, max_bytes)

    def write_object(self, uri: str, data: bytes, *, content_type: str = "application/json") -> None:
        self.inner.write_object(uri, data, content_type=content_type)


def drop_for(path: Path) -> Path:
    """A drop folder holding ``path`` as its only file (a hard link, no copy)."""
    root = CACHE_DIR / f"drop-{path.stem}"
    target = root / "ns" / "part-0.parquet"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
    return root


def _label(size: int) -> str:
    return f"{size // (1024 * MIB)} GB" if size >= 1024 * MIB else f"{size // MIB} MB"


def run(quick: bool = False) -> BenchResult:
    from functions.logic.validation import validate_drop

    sizes = QUICK_SIZES if quick else FULL_SIZES
    result = BenchResult(
        name="bytes_read",
        title="Bytes read per file vs file size (validator, one file per drop)",
        columns=[
            "file",
            "file_mib",
            "ours_kib_read",
            "ranged_reads",
            "naive_mib_read",
            "read_fraction",
            "peak_rss_growth_mib",
            "arrow_pool_peak_mib",
        ],
    )
    rows_by_size: dict[int, dict[str, object]] = {}
    kib_read: dict[int, float] = {}
    for size in sizes:
        path = sized_file(size)
        drop = drop_for(path)
        storage = CountingStorage()
        report = validate_drop(str(drop), storage=storage)
        actual = path.stat().st_size
        row: dict[str, object] = {
            "file": _label(size),
            "file_mib": round(actual / MIB, 1),
            "ours_kib_read": round(storage.bytes_read / 1024, 1),
            "report_bytes_read": report.bytes_read,
            "ranged_reads": storage.reads,
            "naive_mib_read": round(actual / MIB, 1),
            "read_fraction": round(storage.bytes_read / actual, 5),
            "valid": report.valid,
        }
        rows_by_size[size] = row
        kib_read[size] = storage.bytes_read / 1024
        result.rows.append(row)
        result.targets.append(
            Target(f"{_label(size)}: bytes read ≤ 4 MiB", storage.bytes_read / MIB, BUDGET_TARGET / MIB, "<=")
        )
    largest, reference = sizes[-1], sizes[1]
    flat = kib_read[largest] / kib_read[reference]
    result.targets.append(
        Target(f"flat: bytes read at {_label(largest)} ≤ 1.5x at {_label(reference)}", flat, 1.5, "<=")
    )
    mem = run_json_subprocess(["-m", "bench._probe", "validate", str(drop_for(sized_file(largest)))])
    small = run_json_subprocess(["-m", "bench._probe", "validate", str(drop_for(sized_file(sizes[0])))])
    result.rows.append(
        {
            "file": f"memory, {_label(largest)}",
            "file_mib": rows_by_size[largest]["file_mib"],
            "ours_kib_read": round(mem["bytes_read"] / 1024, 1),
            "peak_rss_growth_mib": round(mem["rss_growth_mib"], 1),
            "arrow_pool_peak_mib": round(mem["arrow_pool_peak_mib"], 1),
        }
    )
    result.rows.append(
        {
            "file": f"memory, {_label(sizes[0])}",
            "file_mib": rows_by_size[sizes[0]]["file_mib"],
            "ours_kib_read": round(small["bytes_read"] / 1024, 1),
            "peak_rss_growth_mib": round(small["rss_growth_mib"], 1),
            "arrow_pool_peak_mib": round(small["arrow_pool_peak_mib"], 1),
        }
    )
    result.notes.append(
        f"Peak memory while validating the {_label(largest)} file in a fresh process: RSS grew "
        f"{mem['rss_growth_mib']:.1f} MiB (Arrow pool peak {mem['arrow_pool_peak_mib']:.1f} MiB); for the "
        f"{_label(sizes[0])} file: {small['rss_growth_mib']:.1f} MiB."
    )
    result.notes.append(
        "The 1 MB file is read almost whole: its sampled column's first data page spans most of the file "
        "(pyarrow writes 1 MiB pages). Bigger files cost the footer plus those first pages."
    )
    return result
