"""Benchmark 1: validation throughput over S3 with real first-byte latency.

A moto server (own process) sits behind :class:`~bench.proxy.LatencyProxy`, which adds 20 ms before every request.
Drops of N files (500 rows x 256 dimensions each) are validated three ways in the same run:

* ours: :func:`functions.logic.validation.validate_drop` with default options (footers + sampled rows, concurrent);
* baseline (a), naive: every file read whole with ``pq.read_table``, one after another;
* baseline (b), footers: only each file's footer (one ranged GET of the tail), one after another.

Large baselines may be measured on a subset and extrapolated linearly (reported in the notes).
"""

from __future__ import annotations

import io
import os
import time
from typing import Any

import pyarrow.parquet as pq

from bench.common import BenchResult, MotoProcess, Target, aws_env, s3_client
from bench.data import drop_files, upload_drop
from bench.proxy import LatencyProxy

FULL_SIZES = (10, 100, 1000, 3000)
QUICK_SIZES = (10, 100)
ROWS, DIM = 500, 256
DELAY_MS = 20.0
TARGET_AT = 1000
BASELINE_MAX_MEASURED = 1000
"""Baselines over more files than this are measured on this many files and extrapolated."""
TAIL_BYTES = 64 * 1024


def naive_validate(client: Any, bucket: str, keys: list[str]) -> tuple[int, int]:
    """Baseline (a): read every file whole and decode it; returns (rows, bytes read)."""
    rows = read = 0
    for key in keys:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        read += len(body)
        rows += pq.read_table(io.BytesIO(body)).num_rows
    return rows, read


def footer_validate(client: Any, bucket: str, keys: list[str]) -> tuple[int, int]:
    """Baseline (b): one ranged GET of each file's tail, footer parsed; returns (rows, bytes read)."""
    rows = read = 0
    for key in keys:
        tail = client.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{TAIL_BYTES}")["Body"].read()
        read += len(tail)
        footer_len = int.from_bytes(tail[-8:-4], "little")
        if footer_len + 8 > len(tail):  # bounded: at most one more read
            tail = client.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{footer_len + 8}")["Body"].read()
            read += len(tail)
        rows += pq.read_metadata(io.BytesIO(tail)).num_rows
    return rows, read


def _timed(fn: Any, *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - started, out


def run(quick: bool = False) -> BenchResult:
    from functions.integrations.storage import S3Storage
    from functions.logic.validation import validate_drop

    sizes = QUICK_SIZES if quick else FULL_SIZES
    cap = 100 if quick else BASELINE_MAX_MEASURED
    result = BenchResult(
        name="validation",
        title=f"Validation throughput over S3 (+{DELAY_MS:g} ms per request), files of {ROWS} rows x {DIM} dims",
        columns=[
            "files",
            "ours_s",
            "ours_files_per_s",
            "ours_cpu_ms_per_file",
            "server_cpu_ms_per_file",
            "naive_s",
            "footer_s",
            "x_vs_naive",
            "x_vs_footer",
        ],
    )
    result.notes.append(
        "ours = validate_drop with default options (footer + 64 sampled rows per file, 32 concurrent readers); "
        "naive = pq.read_table of each whole file, sequential; footer = one ranged GET of each file's tail, sequential."
    )
    files = drop_files(max(sizes), rows=ROWS, dim=DIM)
    sizes_bytes = [p.stat().st_size for p in files]
    result.notes.append(
        f"file size ≈ {sum(sizes_bytes) / len(sizes_bytes) / 1024:.0f} KiB (pyarrow defaults, snappy)"
    )
    saved_env = {k: os.environ.get(k) for k in aws_env("")}
    with MotoProcess() as moto, LatencyProxy(upstream_port=moto.port, delay_ms=DELAY_MS) as proxy:
        os.environ.update(aws_env(proxy.url))
        try:
            direct = s3_client(moto.url)
            bucket = f"bench-{os.urandom(4).hex()}"
            direct.create_bucket(Bucket=bucket)
            uris = {n: upload_drop(direct, bucket, f"imports/d{n}/", files[:n]) for n in sizes}
            slow = s3_client(proxy.url, pool=4)
            storage = S3Storage(endpoint_url=proxy.url)
            validate_drop(uris[sizes[0]], storage=storage)  # warm-up: imports, connection pool
            for n in sizes:
                keys = [f"imports/d{n}/ns/{p.name}" for p in files[:n]]
                server_cpu, client_cpu = moto.cpu_seconds(), time.process_time()
                ours_s, report = _timed(lambda uri=uris[n]: validate_drop(uri, storage=storage))
                client_cpu = time.process_time() - client_cpu
                server_cpu = moto.cpu_seconds() - server_cpu
                if not report.valid:
                    result.notes.append(f"{n} files: the report is not valid ({len(report.errors)} errors)")
                measured = keys[: min(n, cap)]
                naive_s, (_naive_rows, naive_bytes) = _timed(naive_validate, slow, bucket, measured)
                footer_s, _ = _timed(footer_validate, slow, bucket, measured)
                scale = n / len(measured)
                if scale != 1:
                    result.notes.append(
                        f"{n} files: baselines measured on the first {len(measured)} files and extrapolated x{scale:g}"
                    )
                naive_s *= scale
                footer_s *= scale
                result.rows.append(
                    {
                        "files": n,
                        "ours_s": round(ours_s, 3),
                        "ours_files_per_s": round(n / ours_s, 1),
                        "ours_mib_read": round(report.bytes_read / 1024**2, 2),
                        "ours_cpu_ms_per_file": round(client_cpu / n * 1000, 2),
                        "server_cpu_ms_per_file": round(server_cpu / n * 1000, 2),
                        "ours_rows_in_footers": report.totals.rows,
                        "naive_s": round(naive_s, 2),
                        "naive_mib_read": round(naive_bytes * scale / 1024**2, 1),
                        "footer_s": round(footer_s, 2),
                        "x_vs_naive": round(naive_s / ours_s, 1),
                        "x_vs_footer": round(footer_s / ours_s, 1),
                        "extrapolated": scale != 1,
                    }
                )
        finally:
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    for row in result.rows:
        # Any validator that makes at least one GET per file needs at least the server's CPU for those GETs.
        floor_s = row["server_cpu_ms_per_file"] * row["files"] / 1000
        row["server_floor_s"] = round(floor_s, 2)
        row["best_x_vs_naive"] = round(row["naive_s"] / floor_s, 1) if floor_s else None
        row["best_x_vs_footer"] = round(row["footer_s"] / floor_s, 1) if floor_s else None
    at = next((r for r in result.rows if r["files"] == TARGET_AT), None)
    if at is not None and at["server_floor_s"]:
        result.notes.append(
            f"Ceiling of this rig at {TARGET_AT} files: the moto server alone spends {at['server_cpu_ms_per_file']} ms "
            f"of CPU per file, so even a validator costing nothing itself could be at most "
            f"{at['best_x_vs_naive']}x naive and {at['best_x_vs_footer']}x sequential footers here."
        )
    limit = (
        "CPU, not latency: 32 concurrent readers hide the 20 ms, but each ~0.8 MiB file still costs our process "
        f"{at['ours_cpu_ms_per_file'] if at else '?'} ms of CPU under the GIL (boto3 request, pyarrow decoding the "
        "sampled pages, to_pylist and row checks of 64 rows) and the moto server, on the same 2 cores, "
        f"{at['server_cpu_ms_per_file'] if at else '?'} ms per GET; that server cost alone caps any validator "
        f"making one request per file at {at['best_x_vs_naive'] if at else '?'}x naive and "
        f"{at['best_x_vs_footer'] if at else '?'}x sequential footers on this rig"
    )
    result.targets = [
        Target(f"{TARGET_AT} files: ≥ 20x naive", at["x_vs_naive"] if at else None, 20.0, ">=", limit=limit),
        Target(
            f"{TARGET_AT} files: ≥ 10x sequential footers",
            at["x_vs_footer"] if at else None,
            10.0,
            ">=",
            limit=limit,
        ),
    ]
    if at is None:
        result.notes.append(f"--quick: no {TARGET_AT}-file drop, targets not evaluated")
    return result
