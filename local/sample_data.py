"""Realistic sample drops for the demo and the end-to-end tests (pyarrow only, no numpy).

A drop is ``{relative path: Parquet bytes}``, laid out as Pinecone reads it: one folder per namespace,
``<namespace>/part-NNNNN.parquet``. Every vector is distinct (the emulator, like Pinecone, treats identical
vectors in one namespace as duplicates) and carries JSON metadata a user would filter on.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

DEFAULT_NAMESPACES = ("articles", "products", "support-tickets")
CATEGORIES = ("billing", "shipping", "returns", "search", "accounts", "catalog", "mobile", "security")
WORDS = (
    "fast", "vector", "import", "cloud", "search", "guide", "release", "update", "index", "retrieval",
    "pipeline", "notes", "customer", "order", "refund", "summary", "semantic", "question", "answer", "report",
)  # fmt: skip


@dataclass(frozen=True)
class SampleDrop:
    """Files of one drop and what they hold."""

    files: dict[str, bytes]
    """Relative path (``<namespace>/<file>.parquet``) → Parquet bytes."""
    rows_per_namespace: dict[str, int]
    dimension: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows_per_namespace.values())

    @property
    def total_bytes(self) -> int:
        return sum(len(b) for b in self.files.values())


def vector(rng: random.Random, dimension: int) -> list[float]:
    """A random vector with values in [-1, 1) and a non-zero first component (never a zero vector)."""
    values = [rng.uniform(-1.0, 1.0) for _ in range(dimension)]
    values[0] = values[0] or 0.5
    return values


def metadata(rng: random.Random, namespace: str, n: int) -> str:
    title = " ".join(rng.choice(WORDS) for _ in range(4)).capitalize()
    return json.dumps(
        {
            "title": f"{title} #{n}",
            "category": rng.choice(CATEGORIES),
            "year": rng.randint(2018, 2026),
            "source": namespace,
            "score": round(rng.random(), 3),
        },
        separators=(",", ":"),
    )


def dense_table(
    namespace: str, rows: int, dimension: int, *, start: int = 0, seed: int = 0, vector_column: str = "values"
) -> pa.Table:
    """``rows`` records ``<namespace>-<n>`` with distinct float32 vectors and JSON metadata."""
    rng = random.Random(f"{seed}:{namespace}:{start}")
    ids = [f"{namespace}-{n:06d}" for n in range(start, start + rows)]
    vectors = [vector(rng, dimension) for _ in range(rows)]
    meta = [metadata(rng, namespace, n) for n in range(start, start + rows)]
    return pa.table(
        {
            "id": pa.array(ids, pa.string()),
            vector_column: pa.array(vectors, pa.list_(pa.float32())),
            "metadata": pa.array(meta, pa.string()),
        }
    )


def parquet_bytes(table: pa.Table, *, row_group_size: int | None = None) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


def sample_drop(
    *,
    namespaces: Sequence[str] = DEFAULT_NAMESPACES,
    rows_per_namespace: int = 1500,
    files_per_namespace: int = 2,
    dimension: int = 64,
    seed: int = 0,
) -> SampleDrop:
    """A valid drop: ``files_per_namespace`` Parquet files per namespace, ``rows_per_namespace`` rows each."""
    if rows_per_namespace < files_per_namespace or files_per_namespace < 1:
        raise ValueError("need at least one row per file and at least one file per namespace")
    files: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for namespace in namespaces:
        per_file = -(-rows_per_namespace // files_per_namespace)
        start = 0
        for part in range(files_per_namespace):
            rows = min(per_file, rows_per_namespace - start)
            table = dense_table(namespace, rows, dimension, start=start, seed=seed)
            files[f"{namespace}/part-{part:05d}.parquet"] = parquet_bytes(table)
            start += rows
        counts[namespace] = rows_per_namespace
    return SampleDrop(files=files, rows_per_namespace=counts, dimension=dimension)


def schema_mistake_drop(*, dimension: int = 64, rows: int = 200, seed: int = 1) -> SampleDrop:
    """A drop a producer got wrong: the vectors are in a column named ``embedding`` instead of ``values``.

    Validation rejects it (missing ``values``, extra ``embedding``) before anything reaches Pinecone.
    """
    table = dense_table("reviews", rows, dimension, seed=seed, vector_column="embedding")
    return SampleDrop(
        files={"reviews/part-00000.parquet": parquet_bytes(table)},
        rows_per_namespace={"reviews": rows},
        dimension=dimension,
    )


def drop_with_late_bad_record(
    *, namespace: str = "late-errors", rows: int = 600, bad_row: int = 500, dimension: int = 64, seed: int = 2
) -> SampleDrop:
    """A drop whose first rows are fine but row ``bad_row`` has a vector of the wrong length.

    The validator checks footers and the first rows only, so it passes the drop; Pinecone (and the emulator)
    reads every row and, with ``errorMode: abort``, fails the import on that record.
    """
    if not 0 <= bad_row < rows:
        raise ValueError("bad_row must be one of the rows")
    table = dense_table(namespace, rows, dimension, seed=seed)
    vectors = table.column("values").to_pylist()
    vectors[bad_row] = vectors[bad_row][: dimension // 2]
    table = table.set_column(1, "values", pa.array(vectors, pa.list_(pa.float32())))
    return SampleDrop(
        files={f"{namespace}/part-00000.parquet": parquet_bytes(table, row_group_size=rows)},
        rows_per_namespace={namespace: rows},
        dimension=dimension,
    )


def read_source(directory: Path) -> SampleDrop:
    """A user's drop directory (``<namespace>/*.parquet``) as a :class:`SampleDrop`.

    Raises ``ValueError`` naming the directory and what to change when it is not laid out as a drop or its
    vectors have no single dense dimension.
    """
    if not directory.is_dir():
        raise ValueError(f"--source {directory}: not a directory")
    paths = sorted(p for p in directory.rglob("*.parquet") if p.is_file())
    if not paths:
        raise ValueError(
            f"--source {directory}: no .parquet files; lay it out as <namespace>/<file>.parquet "
            "(one folder per namespace)"
        )
    files: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    dimension: int | None = None
    for path in paths:
        relative = path.relative_to(directory).as_posix()
        if "/" not in relative:
            raise ValueError(
                f"--source {directory}: {relative} is not in a namespace folder; move it to "
                f"<namespace>/{relative} (__default__ for the default namespace)"
            )
        parquet = pq.ParquetFile(path)
        namespace = relative.split("/", 1)[0]
        counts[namespace] = counts.get(namespace, 0) + parquet.metadata.num_rows
        if dimension is None:
            dimension = _first_dimension(parquet, relative)
        files[relative] = path.read_bytes()
    if dimension is None:
        raise ValueError(f"--source {directory}: no file has a non-empty 'values' vector to size the index")
    return SampleDrop(files=files, rows_per_namespace=counts, dimension=dimension)


def _first_dimension(parquet: pq.ParquetFile, relative: str) -> int | None:
    if "values" not in parquet.schema_arrow.names:
        raise ValueError(
            f"{relative}: no 'values' column; the demo creates a dense index and needs id, values (list<float32>) "
            "and optional metadata columns"
        )
    if parquet.metadata.num_rows == 0:
        return None
    batch = next(parquet.iter_batches(batch_size=1, columns=["values"]))
    first: Any = batch.column(0)[0].as_py()
    return len(first) if first else None


def write_drop(root: Path, files: Mapping[str, bytes]) -> Path:
    """Write a drop's files under ``root`` (for ``autoimport demo --source`` or ``autoimport validate``)."""
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root
