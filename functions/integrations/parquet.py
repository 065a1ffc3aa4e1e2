"""Read what the validator needs from a Parquet file without reading the file: its footer and a few rows.

The footer is found with ranged reads (the last 8 bytes give its length and the ``PAR1`` magic) and parsed by
pyarrow over :class:`RangeFile`, a small read-only file object that serves ranged reads from a
:class:`~functions.integrations.storage.Storage`, keeps what it fetched (read-ahead blocks), counts every byte and
refuses to read past a per-file budget. The row sample reads only the first row group's wanted columns, page by page
(buffered column streams, no pre-buffering), and stops after the first batch, so bytes read per file do not grow with
the file's size. Results are plain Python (:class:`ColumnType`, lists of dicts): the logic never sees pyarrow.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from functions.errors import StorageAccessDenied, StorageError, StorageNotFound
from functions.integrations.storage import Storage

MAGIC = b"PAR1"
TAIL_READ_BYTES = 64 * 1024
"""First footer read: the last 64 KiB (pyarrow's own default), which holds nearly every footer whole."""
READ_AHEAD_BYTES = 256 * 1024
WHOLE_FILE_BYTES = 1024 * 1024
"""A file this small (and within the budget) is fetched whole in one ranged read when rows are sampled: its
sampled pages span most of it anyway, and one request instead of four or five is what makes thousands of small
files fast over a high-latency store (bench/validation.py)."""
STREAM_BUFFER_BYTES = 64 * 1024


class BudgetExceeded(OSError):
    """Raised inside pyarrow's reads when a file's byte budget is spent."""


@dataclass(frozen=True)
class ColumnType:
    """A Parquet/Arrow column type, described without pyarrow.

    ``kind`` is one of ``string``, ``binary``, ``bool``, ``int8`` … ``uint64``, ``float16``, ``float32``,
    ``float64``, ``list``, ``struct``, ``map``, ``null``, ``other``.
    """

    kind: str
    text: str
    item: ColumnType | None = None
    list_size: int | None = None
    """Length of a fixed-size list (``None`` for variable-length lists)."""
    fields: tuple[tuple[str, ColumnType], ...] = ()

    def field(self, name: str) -> ColumnType | None:
        return dict(self.fields).get(name)

    @property
    def is_integer(self) -> bool:
        return self.kind.startswith(("int", "uint"))

    @property
    def is_float(self) -> bool:
        return self.kind in ("float16", "float32", "float64")


@dataclass
class ParquetInspection:
    """What one Parquet file's footer and sample say (``footer_error`` set: nothing else is known)."""

    size: int
    bytes_read: int = 0
    footer_error: str | None = None
    unreadable: str | None = None
    """The storage refused to serve the file (access denied / vanished)."""
    num_rows: int | None = None
    num_row_groups: int = 0
    columns: dict[str, ColumnType] = field(default_factory=dict)
    sample: list[dict[str, Any]] | None = None
    skipped_columns: list[str] = field(default_factory=list)
    """Columns left out of the sample because their first pages exceed the budget."""
    sample_note: str | None = None
    """Why the sample is missing columns (the budget)."""
    footer_too_large: bool = False
    """The footer alone exceeds the budget (``footer_error`` says so): the file was not checked."""
    data_error: str | None = None
    """The sampled pages could not be decoded (the file is corrupt)."""


def describe_type(arrow_type: pa.DataType) -> ColumnType:
    """An Arrow type as a :class:`ColumnType`."""
    t = arrow_type
    text = str(t)
    types = pa.types
    if types.is_dictionary(t):
        return describe_type(t.value_type)
    if types.is_string(t) or types.is_large_string(t) or getattr(types, "is_string_view", lambda _: False)(t):
        return ColumnType("string", text)
    if types.is_binary(t) or types.is_large_binary(t) or types.is_fixed_size_binary(t):
        return ColumnType("binary", text)
    if types.is_boolean(t):
        return ColumnType("bool", text)
    if types.is_integer(t):
        return ColumnType(text, text)
    if types.is_float16(t):
        return ColumnType("float16", text)
    if types.is_float32(t):
        return ColumnType("float32", text)
    if types.is_float64(t):
        return ColumnType("float64", text)
    if types.is_fixed_size_list(t):
        return ColumnType("list", text, item=describe_type(t.value_type), list_size=t.list_size)
    if types.is_list(t) or types.is_large_list(t) or getattr(types, "is_list_view", lambda _: False)(t):
        return ColumnType("list", text, item=describe_type(t.value_type))
    if types.is_map(t):
        return ColumnType("map", text)
    if types.is_struct(t):
        return ColumnType(
            "struct",
            text,
            fields=tuple((t.field(i).name, describe_type(t.field(i).type)) for i in range(t.num_fields)),
        )
    if types.is_null(t):
        return ColumnType("null", text)
    return ColumnType("other", text)


class RangeFile(io.RawIOBase):
    """A read-only, seekable file over ranged reads of one stored object, with a read-ahead cache.

    ``bytes_read`` counts the bytes fetched from storage (cache hits are free). A fetch that would take the total
    past ``budget`` raises :class:`BudgetExceeded` and sets ``budget_hit``.
    """

    def __init__(self, storage: Storage, uri: str, size: int, *, budget: int) -> None:
        super().__init__()
        self._storage = storage
        self._uri = uri
        self._size = size
        self.budget = budget
        self._pos = 0
        self._blocks: list[tuple[int, bytes]] = []
        self._lock = threading.Lock()
        self.bytes_read = 0
        self.budget_hit = False

    # io.RawIOBase interface ---------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self._pos = offset
        elif whence == io.SEEK_CUR:
            self._pos += offset
        elif whence == io.SEEK_END:
            self._pos = self._size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        self._pos = max(0, self._pos)
        return self._pos

    def size(self) -> int:
        return self._size

    def read(self, n: int | None = -1) -> bytes:
        with self._lock:
            start = self._pos
            if n is None or n < 0:
                n = self._size - start
            data = self.read_at(start, n)
            self._pos = start + len(data)
            return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    # ranged reads ---------------------------------------------------------------------------------
    def read_at(self, start: int, n: int) -> bytes:
        """``n`` bytes from ``start`` (fewer at the end of the file), from cache or storage.

        Bytes already fetched are never fetched again; a fetch reads ahead up to the next cached block.
        """
        end = min(self._size, start + max(0, n))
        out = bytearray()
        pos = start
        while pos < end:  # bounded: every pass advances pos or returns
            block = next(((s, b) for s, b in self._blocks if s <= pos < s + len(b)), None)
            if block is not None:
                block_start, data = block
                take = min(end, block_start + len(data)) - pos
                out += data[pos - block_start : pos - block_start + take]
                pos += take
                continue
            next_start = min((s for s, _ in self._blocks if s > pos), default=self._size)
            want = min(end, next_start) - pos
            remaining = self.budget - self.bytes_read
            if want > remaining:
                self.budget_hit = True
                raise BudgetExceeded(f"read budget of {self.budget} bytes spent")
            fetch = min(max(want, READ_AHEAD_BYTES), next_start - pos, remaining)
            data = self._storage.read_range(self._uri, pos, fetch)
            if not data:
                break
            self.bytes_read += len(data)
            self._blocks.append((pos, data))
        return bytes(out)


def _footer_problem(storage: Storage, uri: str, size: int, reader: RangeFile) -> str | None:
    """Check the trailing magic and footer length with ranged reads; ``None`` when the footer looks sound."""
    if size < 12:
        return f"only {size} bytes: too small to be a Parquet file (at least 12 bytes: magic, footer, magic)"
    tail_len = min(
        size, TAIL_READ_BYTES, max(1024, reader.budget // 4)
    )  # leave most of a small budget to rows
    tail = reader.read_at(size - tail_len, tail_len)
    if tail[-4:] != MAGIC:
        if tail[-4:] == b"PARE":
            return "the footer is encrypted (PARE); Pinecone cannot read encrypted Parquet"
        return "does not end with the Parquet magic 'PAR1': not a Parquet file, or truncated (upload incomplete?)"
    footer_len = int.from_bytes(tail[-8:-4], "little")
    if footer_len <= 0 or footer_len + 12 > size:
        return (
            f"footer length {footer_len} does not fit in a {size}-byte file: the file is truncated or corrupt"
        )
    if footer_len + 8 > len(tail):  # raises BudgetExceeded when the footer does not fit in the budget
        reader.read_at(size - footer_len - 8, footer_len + 8)
    return None


def inspect_parquet(
    storage: Storage,
    uri: str,
    size: int,
    *,
    sample_rows: int,
    sample_columns: Iterable[str],
    budget_bytes: int,
) -> ParquetInspection:
    """Footer, schema and a bounded sample of one Parquet file; never raises for bad data.

    Raises only :class:`~functions.errors.StorageUnavailable` (retryable: the whole validation should be retried);
    access-denied / not-found land in ``unreadable``.
    """
    result = ParquetInspection(size=size)
    reader = RangeFile(storage, uri, size, budget=budget_bytes)
    try:
        if sample_rows > 0 and 12 <= size <= min(WHOLE_FILE_BYTES, budget_bytes):
            # One request; the footer and sample reads below are served from the cache.
            reader.read_at(0, size)
        try:
            problem = _footer_problem(storage, uri, size, reader)
            if problem is not None:
                result.footer_error = problem
                return result
            parquet = pq.ParquetFile(reader, pre_buffer=False, buffer_size=STREAM_BUFFER_BYTES)
            metadata = parquet.metadata
            schema = parquet.schema_arrow
        except BudgetExceeded:
            result.footer_too_large = True
            result.footer_error = f"the footer is larger than the per-file read budget ({budget_bytes} bytes)"
            return result
        except (pa.ArrowException, OSError, ValueError, TypeError, IndexError, KeyError) as exc:
            if reader.budget_hit:
                result.footer_too_large = True
                result.footer_error = (
                    f"the footer is larger than the per-file read budget ({budget_bytes} bytes)"
                )
                return result
            result.footer_error = f"the footer could not be parsed: {_short(exc)}"
            return result
        result.num_rows = int(metadata.num_rows)
        result.num_row_groups = int(metadata.num_row_groups)
        result.columns = {f.name: describe_type(f.type) for f in schema}
        _sample(parquet, result, reader, sample_rows=sample_rows, sample_columns=sample_columns)
    except (StorageAccessDenied, StorageNotFound) as exc:
        result.unreadable = exc.message
    finally:
        result.bytes_read = reader.bytes_read
    return result


def _sample(
    parquet: pq.ParquetFile,
    result: ParquetInspection,
    reader: RangeFile,
    *,
    sample_rows: int,
    sample_columns: Iterable[str],
) -> None:
    """Read the first ``sample_rows`` rows of the first row group, one column at a time.

    Column by column, so a column whose first pages do not fit in the budget (typically big metadata written in
    huge pages) is skipped alone and the other columns are still checked.
    """
    columns = [c for c in sample_columns if c in result.columns]
    if sample_rows <= 0 or not columns:
        return
    if result.num_row_groups == 0 or not result.num_rows:
        result.sample = []
        return
    rows: list[dict[str, Any]] | None = None
    for column in columns:
        reader.budget_hit = False
        try:
            batches = parquet.iter_batches(
                batch_size=sample_rows, row_groups=[0], columns=[column], use_threads=False
            )
            batch = next(iter(batches), None)
            values = [] if batch is None else batch.column(0).slice(0, sample_rows).to_pylist()
        except StorageError:
            raise
        except Exception as exc:  # pyarrow raises many types for corrupt pages
            if isinstance(exc.__context__, StorageError):
                raise exc.__context__ from exc
            if isinstance(exc, BudgetExceeded) or reader.budget_hit:
                result.skipped_columns.append(column)
                continue
            verb = "converted" if isinstance(exc, UnicodeDecodeError) else "decoded"
            result.data_error = f"the first rows of column {column!r} could not be {verb}: {_short(exc)}"
            continue
        if rows is None:
            rows = [{} for _ in values]
        for row, value in zip(rows, values, strict=False):
            row[column] = value
    result.sample = rows
    if result.skipped_columns:
        result.sample_note = (
            f"column(s) {', '.join(result.skipped_columns)} not checked: their first pages do not fit in the "
            f"per-file read budget ({reader.budget} bytes)"
        )


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
