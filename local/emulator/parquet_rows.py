"""Turn one Parquet file into records, applying Pinecone's documented column and record rules.

File-level problems (unreadable file, missing or extra columns, wrong column types) raise FileRejected: they fail the
import in both error modes. Record-level problems are returned per row so the caller can abort or skip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from local.emulator.store import Index, Record, SparseVector, StoreError

MAX_ID_LENGTH = 512  # Pinecone's record limits (operation limits page, 2026)
MAX_METADATA_BYTES = 40 * 1024


class FileRejected(Exception):
    """The whole file is unusable; ``str(exc)`` is the reason without the ``User error:`` prefix."""


@dataclass(frozen=True)
class RowResult:
    row: int
    record: Record | None
    problem: str | None


def _is_string(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _is_list_of(t: pa.DataType, predicate: Any) -> bool:
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return bool(predicate(t.value_type))
    return False


def _is_float_list(t: pa.DataType) -> bool:
    return _is_list_of(t, pa.types.is_floating)


def _is_sparse_struct(t: pa.DataType) -> bool:
    if not pa.types.is_struct(t):
        return False
    names = {t.field(i).name: t.field(i).type for i in range(t.num_fields)}
    return (
        set(names) == {"indices", "values"}
        and _is_list_of(names["indices"], pa.types.is_integer)
        and _is_float_list(names["values"])
    )


_EXPECTED = {
    "id": ("STRING", _is_string),
    "values": ("LIST<FLOAT>", _is_float_list),
    "sparse_values": ("STRUCT<indices: LIST<UINT_32>, values: LIST<FLOAT>>", _is_sparse_struct),
}


def check_schema(schema: pa.Schema, index: Index, *, allow_extra_columns: bool) -> None:
    names = list(schema.names)
    required = ["id", "sparse_values"] if index.vector_type == "sparse" else ["id", "values"]
    allowed = {"id", "values", "sparse_values", "metadata"}
    for column in required:
        if column not in names:
            raise FileRejected(f'Missing required column "{column}"')
    if not allow_extra_columns:
        for column in names:
            if column not in allowed:
                raise FileRejected(f'Unsupported column "{column}"')
    for column in names:
        dtype = schema.field(column).type
        if column == "metadata":
            if not _is_string(dtype):
                raise FileRejected(
                    "The expected data type for metadata is a JSON encoded string in UTF-8 format, "
                    f"but got {dtype}"
                )
            continue
        expected = _EXPECTED.get(column)
        if expected is not None and not expected[1](dtype):
            raise FileRejected(f"The expected data type for {column} is {expected[0]}, but got {dtype}")


def read_rows(data: bytes, index: Index, *, allow_extra_columns: bool = False) -> Iterator[RowResult]:
    """Yield every row of the file as a record or a record-level problem (raises FileRejected first if needed)."""
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise FileRejected(
            f"Parquet footer could not be parsed; the file is not valid Parquet ({exc})"
        ) from exc
    check_schema(table.schema, index, allow_extra_columns=allow_extra_columns)
    columns = {name: table.column(name).to_pylist() for name in table.schema.names if name in _KNOWN}
    for row in range(table.num_rows):
        try:
            record = _record(row, columns, index)
        except _RowProblem as problem:
            yield RowResult(row=row, record=None, problem=str(problem))
            continue
        yield RowResult(row=row, record=record, problem=None)


_KNOWN = ("id", "values", "sparse_values", "metadata")


class _RowProblem(Exception):
    pass


def _record(row: int, columns: dict[str, list[Any]], index: Index) -> Record:
    rid = columns["id"][row]
    if rid is None or rid == "":
        raise _RowProblem('missing required values in column "id"')
    if len(rid) > MAX_ID_LENGTH:
        raise _RowProblem(f"Record ID length {len(rid)} exceeds the maximum of {MAX_ID_LENGTH} characters")
    values = _values(columns, row, index)
    sparse = _sparse(columns, row, index)
    metadata = _metadata(columns, row)
    record = Record(id=rid, values=values, sparse=sparse, metadata=metadata)
    try:
        index.check_record(record)
    except StoreError as exc:
        raise _RowProblem(exc.message) from exc
    return record


def _values(columns: dict[str, list[Any]], row: int, index: Index) -> tuple[float, ...] | None:
    if "values" not in columns:
        return None
    raw = columns["values"][row]
    if index.vector_type == "sparse":
        if raw:
            raise _RowProblem("Upserting dense vectors is not supported for sparse indexes")
        return None
    if raw is None or len(raw) == 0 or any(v is None for v in raw):
        raise _RowProblem('missing required values in column "values"')
    return tuple(float(v) for v in raw)


def _sparse(columns: dict[str, list[Any]], row: int, index: Index) -> SparseVector | None:
    raw = columns.get("sparse_values", [None] * (row + 1))[row]
    if raw is None:
        if index.vector_type == "sparse":
            raise _RowProblem('missing required values in column "sparse_values"')
        return None
    indices = raw.get("indices")
    vals = raw.get("values")
    if indices is None or vals is None or any(v is None for v in [*indices, *vals]):
        raise _RowProblem('missing required values in column "sparse_values"')
    if len(indices) != len(vals):
        raise _RowProblem("sparse_values: indices and values must have the same length")
    if any(i < 0 or i > 0xFFFFFFFF for i in indices):
        raise _RowProblem("sparse_values: indices must fit in an unsigned 32-bit integer")
    return SparseVector(indices=tuple(int(i) for i in indices), values=tuple(float(v) for v in vals))


def _metadata(columns: dict[str, list[Any]], row: int) -> dict[str, Any] | None:
    if "metadata" not in columns:
        return None
    raw = columns["metadata"][row]
    if raw is None:
        return None
    size = len(raw.encode())
    if size > MAX_METADATA_BYTES:
        raise _RowProblem(
            f"Metadata size is {size} bytes, which exceeds the limit of {MAX_METADATA_BYTES} bytes"
        )
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _RowProblem(
            f"Failed to parse metadata: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(parsed, dict):
        raise _RowProblem(f"Failed to parse metadata: expected a JSON object, got {type(parsed).__name__}")
    return parsed
