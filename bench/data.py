"""Deterministic Parquet drops for the benchmarks, written once into a cache directory and reused.

Vectors come from one pool of pseudo-random float32 values (incompressible, like real embeddings); each file takes
a different slice and its own ids, so files are distinct and a drop is valid.
"""

from __future__ import annotations

import array
import json
import random
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import CACHE_DIR

POOL_FLOATS = 1 << 21
"""2 Mi floats (8 MiB) of pseudo-random values shared by every generated file."""
BATCH_ROWS = 8192


@lru_cache(maxsize=1)
def _pool() -> pa.Array:
    rng = random.Random(20261129)
    values = array.array("f", (rng.uniform(-1.0, 1.0) for _ in range(POOL_FLOATS)))
    return pa.array(memoryview(values).cast("B").cast("f"), type=pa.float32())


@lru_cache(maxsize=1)
def _pool_values() -> array.array[float]:
    values = array.array("f")
    buffer = _pool().buffers()[1]
    assert buffer is not None
    values.frombytes(buffer)
    return values


def _batch(rows: int, dim: int, *, seed: int, id_prefix: str, first_row: int) -> pa.RecordBatch:
    pool = _pool()
    need = rows * dim
    if need > len(pool):
        raise ValueError(f"{rows} x {dim} floats do not fit the {len(pool)}-value pool: write in batches")
    start = (seed * 7919 * dim) % (len(pool) - need + 1)
    values = _pool_values()[start : start + need]
    # Windows of the pool can coincide: the first component (seed + row) keeps every vector of a drop distinct.
    values[0::dim] = array.array("f", (float(seed + k) for k in range(rows)))
    floats = pa.array(memoryview(values).cast("B").cast("f"), type=pa.float32())
    offsets = pa.array(range(0, need + 1, dim), type=pa.int32())
    vectors = pa.ListArray.from_arrays(offsets, floats)
    ids = pa.array([f"{id_prefix}-{first_row + i}" for i in range(rows)], type=pa.string())
    metadata = pa.array(
        [json.dumps({"n": first_row + i, "src": id_prefix}, separators=(",", ":")) for i in range(rows)],
        type=pa.string(),
    )
    return pa.RecordBatch.from_arrays(
        [ids, vectors, metadata],
        schema=pa.schema(
            [("id", pa.string()), ("values", pa.list_(pa.float32())), ("metadata", pa.string())]
        ),
    )


def write_file(path: Path, *, rows: int, dim: int, seed: int, id_prefix: str) -> Path:
    """A dense-vector Parquet file (``id``, ``values``, ``metadata``) written with pyarrow's default settings."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    written = 0
    with pq.ParquetWriter(partial, _batch(1, dim, seed=0, id_prefix="x", first_row=0).schema) as writer:
        batch_rows = max(1, min(BATCH_ROWS, POOL_FLOATS // dim // 2))
        while written < rows:  # bounded: advances by at least one row per pass
            n = min(batch_rows, rows - written)
            writer.write_batch(_batch(n, dim, seed=seed + written, id_prefix=id_prefix, first_row=written))
            written += n
    partial.rename(path)
    return path


def drop_files(count: int, *, rows: int = 500, dim: int = 256) -> list[Path]:
    """``count`` files of ``rows`` x ``dim`` for the validation benchmark (``files-<rows>x<dim>/part-NNNNN``)."""
    folder = CACHE_DIR / f"files-{rows}x{dim}"

    def one(i: int) -> Path:
        return write_file(folder / f"part-{i:05d}.parquet", rows=rows, dim=dim, seed=i + 1, id_prefix=f"f{i}")

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, range(count)))


def sized_file(target_bytes: int, *, dim: int = 256) -> Path:
    """One file of about ``target_bytes`` (rows chosen from the row width)."""
    row_bytes = round(dim * 4 * 1.2)  # pyarrow defaults (dictionary fallback, snappy) on random float32
    rows = max(1, target_bytes // row_bytes)
    return write_file(
        CACHE_DIR / f"sized-{target_bytes}-{dim}.parquet", rows=rows, dim=dim, seed=3, id_prefix="s"
    )


def local_drop(name: str, *, files: int, rows_per_file: int, dim: int, namespace: str = "ns") -> Path:
    """A local drop folder ``<cache>/<name>/<namespace>/part-N.parquet`` plus an empty ``_SUCCESS`` marker."""
    root = CACHE_DIR / f"{name}-v2"
    for i in range(files):
        write_file(
            root / namespace / f"part-{i:05d}.parquet",
            rows=rows_per_file,
            dim=dim,
            seed=1000 + i * rows_per_file,
            id_prefix=f"{name}-{i}",
        )
    (root / "_SUCCESS").touch()
    return root


def upload_drop(client: Any, bucket: str, prefix: str, files: list[Path], *, namespace: str = "ns") -> str:
    """Upload ``files`` as ``s3://bucket/<prefix><namespace>/…`` with a marker, concurrently; the drop URI."""

    def put(path: Path) -> None:
        client.put_object(Bucket=bucket, Key=f"{prefix}{namespace}/{path.name}", Body=path.read_bytes())

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, files))
    client.put_object(Bucket=bucket, Key=f"{prefix}_SUCCESS", Body=b"")
    return f"s3://{bucket}/{prefix}"
