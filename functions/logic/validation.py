"""Pre-flight validation of a drop: would Pinecone import it, and import what the producer meant?

:func:`validate_drop` lists the drop, reads every Parquet footer and a bounded sample of rows (concurrently), checks
the layout, schema, rows, limits, the target index and the optional manifest, and returns a
:class:`~functions.models.report.ValidationReport` listing *every* problem found. Each problem has a stable ``code``
from :data:`CODES` (the README documents them all), the file (relative to the drop), row and column when known, and a
hint. A drop is ``valid`` when no problem has error severity.

Only :class:`~functions.errors.StorageUnavailable` (retryable) and listing failures (``StorageNotFound``/
``StorageAccessDenied`` on the drop itself) are raised; everything about the data is reported.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from functions.integrations.parquet import ColumnType, ParquetInspection, inspect_parquet
from functions.integrations.storage import Storage, StoredObject, folder_uri, join_uri
from functions.models.imports import IndexStats
from functions.models.manifest import Manifest, looks_like_manifest
from functions.models.report import NamespaceTotals, Problem, Severity, ValidationOptions, ValidationReport

DEFAULT_NAMESPACE = "__default__"
PARQUET_SUFFIX = ".parquet"
MAX_NAMESPACE_LENGTH = 512
MAX_DENSE_DIMENSION = 20_000
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
KNOWN_COLUMNS = ("id", "values", "sparse_values", "metadata")
LISTING_SLACK = 10_000
"""Objects listed beyond ``max_files`` (markers, logs, .crc files…) before the listing stops."""

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
WARNING = W

CODES: dict[str, tuple[Severity, str]] = {
    # layout
    "layout.empty_drop": (
        E,
        "Upload <namespace>/<file>.parquet files under the URI before writing the marker.",
    ),
    "layout.uri_is_file": (
        E,
        "Point the URI at the drop folder (the parent of the namespace folders), not a file.",
    ),
    "layout.uri_is_namespace": (
        E,
        "The URI points at a namespace folder: point it at the parent directory, whose subfolders are namespaces.",
    ),
    "layout.no_namespace": (
        E,
        "Move the file into a namespace folder: <uri>/<namespace>/<file>.parquet (__default__ for the default "
        "namespace). Pinecone fails the import with 'No namespace detected'.",
    ),
    "layout.empty_namespace": (
        E,
        "Put at least one .parquet file in the namespace folder or remove the folder.",
    ),
    "layout.nested_file": (
        W,
        "Pinecone reads <namespace>/<file>.parquet; files in deeper folders may be skipped or imported: flatten them.",
    ),
    "layout.ignored_file": (INFO, "Pinecone ignores files that do not end in .parquet."),
    "layout.namespace_too_long": (E, "Namespace names are at most 512 characters: rename the folder."),
    "layout.namespace_unprintable": (E, "Rename the folder: namespace names must be printable characters."),
    "layout.namespace_unusual": (
        W,
        "Unusual namespace name (spaces or characters outside letters, digits, '-', '_', '.'): check the folder name.",
    ),
    # files
    "file.zero_bytes": (E, "The file is empty: re-upload it (an interrupted upload?)."),
    "file.unreadable_footer": (
        E,
        "Pinecone fails the whole import on an unreadable footer in either error mode: rewrite or remove the file.",
    ),
    "file.unreadable": (
        E,
        "The validator could not read the file: check permissions and that it still exists.",
    ),
    "file.corrupt_data": (E, "The first rows could not be decoded: rewrite the file."),
    "file.no_rows": (W, "The file holds no rows; remove it or check the writer."),
    "file.sample_skipped": (
        INFO,
        "This column was not checked in the sampled rows: its first data page exceeds the per-file read budget "
        "(write smaller pages, e.g. pyarrow write_batch_size=64, or raise sample_budget_bytes).",
    ),
    "file.footer_too_large": (
        WARNING,
        "The footer exceeds the per-file read budget, so the file was not checked: write fewer row groups "
        "or raise sample_budget_bytes.",
    ),
    # schema (from footers)
    "schema.missing_column": (
        E,
        "Add the column; Pinecone fails the whole import with 'Missing required column'.",
    ),
    "schema.wrong_type": (E, "Cast the column to the type Pinecone expects (see the message)."),
    "schema.values_float64": (
        W,
        "Pinecone documents list<float32> for values; float64 may be rejected: cast with pa.list_(pa.float32()).",
    ),
    "schema.sparse_indices_type": (
        W,
        "Pinecone documents list<uint32> for sparse indices: cast with pa.list_(pa.uint32()).",
    ),
    "schema.metadata_not_string": (
        E,
        "Metadata must be a UTF-8 JSON string column: write json.dumps(metadata) per row (pa.string()).",
    ),
    "schema.extra_column": (
        E,
        "Pinecone rejects files with columns other than id, values, sparse_values and metadata: drop the column "
        "(or move it into the metadata JSON).",
    ),
    "schema.dimension_mismatch": (E, "The fixed-size values list must have the index's dimension."),
    "schema.inconsistent_dimension": (E, "All files must have vectors of one dimension (the index's)."),
    # rows (from the sample)
    "row.missing_id": (E, "Every record needs a non-empty id."),
    "row.id_too_long": (E, "Record ids are at most 512 characters."),
    "row.missing_values": (E, "Dense and hybrid records need a non-empty values list."),
    "row.dimension_mismatch": (E, "Every dense vector must have exactly the index's dimension."),
    "row.inconsistent_dimension": (
        E,
        "Dense vectors in one drop must all have one length (the index's dimension).",
    ),
    "row.dimension_too_large": (E, "Dense vectors have at most 20,000 dimensions."),
    "row.non_finite": (E, "Vectors must not contain NaN, infinity or nulls."),
    "row.zero_vector": (E, "Dense vectors must contain at least one non-zero value."),
    "row.missing_sparse": (E, "Records for a sparse index need sparse_values with at least one index."),
    "row.sparse_length_mismatch": (
        E,
        "sparse_values.indices and sparse_values.values must have the same length.",
    ),
    "row.sparse_duplicate_index": (E, "Sparse indices must be unique within a record."),
    "row.sparse_too_many": (E, "Sparse vectors have at most 2048 non-zero values."),
    "row.metadata_invalid_json": (E, "Metadata must be valid JSON (write it with json.dumps)."),
    "row.metadata_not_object": (E, "Metadata must be a JSON object ({...}), not a list, string or number."),
    "row.metadata_too_large": (E, "Metadata is at most 40 KB per record: move large fields elsewhere."),
    "row.duplicate_id": (
        E,
        "Ids must be unique within a namespace: one record would silently replace the other and the imported "
        "count would not match the rows written.",
    ),
    "row.duplicate_values": (
        W,
        "Pinecone treats records with identical vector values as duplicates: with 'continue' all but the first are "
        "skipped silently, with 'abort' the import fails.",
    ),
    # limits
    "limits.too_many_files": (
        E,
        "Split the drop into several drops (Pinecone: at most 100,000 files per import).",
    ),
    "limits.file_too_large": (E, "Split the file (Pinecone: at most 10 GB per file)."),
    "limits.too_many_namespaces": (E, "Split the drop (Pinecone: at most 10,000 namespaces per import)."),
    "limits.total_bytes": (E, "Split the drop (Pinecone: at most 1 TB per import on on-demand indexes)."),
    "limits.total_records": (E, "Split the drop or raise max_total_records."),
    # against the index
    "index.namespace_exists": (
        E,
        "Pinecone would fail the import after ≥10 minutes: pick a new namespace name or delete the namespace.",
    ),
    "index.vector_type_mismatch": (
        E,
        "Dense values cannot go into a sparse index (and a dense index needs values).",
    ),
    # manifest
    "manifest.invalid_json": (
        E,
        "The marker starts with '{' but is not valid JSON: fix the manifest or empty it.",
    ),
    "manifest.invalid": (E, "The manifest does not match the documented shape (see the README)."),
    "manifest.too_large": (E, "Keep the marker/manifest under 4 MiB."),
    "manifest.missing_file": (
        E,
        "A file the manifest lists is not in the drop: finish uploading before the marker.",
    ),
    "manifest.unexpected_file": (
        E,
        "The drop holds a Parquet file the manifest does not list: remove it or list it.",
    ),
    "manifest.size_mismatch": (
        E,
        "The file's size differs from the manifest: re-upload it (partial upload?).",
    ),
    "manifest.rows_mismatch": (E, "The file's row count (footer) differs from the manifest."),
    "manifest.total_rows_mismatch": (E, "The rows in all footers differ from the manifest's total_rows."),
    "manifest.namespace_mismatch": (E, "A namespace's files or rows differ from the manifest."),
}
"""Every problem code → (default severity, hint). The README documents this table."""

FILE_LEVEL_PREFIXES = ("file.", "schema.", "row.", "limits.file_too_large", "manifest.size_mismatch")
"""Codes whose problems always name one file (the property tests rely on this)."""


def problem(
    code: str,
    message: str,
    *,
    file: str | None = None,
    row: int | None = None,
    column: str | None = None,
    severity: Severity | None = None,
) -> Problem:
    """A :class:`Problem` with the code's default severity and hint."""
    default_severity, hint = CODES[code]
    return Problem(
        severity=severity or default_severity,
        code=code,
        message=message,
        file=file,
        row=row,
        column=column,
        hint=hint,
    )


@dataclass
class _Layout:
    namespaces: dict[str, list[StoredObject]] = field(default_factory=dict)
    """Namespace → its Parquet files (including nested ones)."""
    folders: set[str] = field(default_factory=set)
    root_parquet: list[StoredObject] = field(default_factory=list)
    marker: StoredObject | None = None

    def parquet_files(self) -> list[StoredObject]:
        files = list(self.root_parquet)
        for objects in self.namespaces.values():
            files.extend(objects)
        return sorted(files, key=lambda o: o.key)


@dataclass
class _Target:
    dimension: int | None
    vector_type: str | None  # "dense" | "sparse" | None (unknown)


def validate_drop(
    uri: str,
    *,
    storage: Storage,
    options: ValidationOptions = ValidationOptions(),
    index: IndexStats | None = None,
    dimension: int | None = None,
    vector_type: str | None = None,
) -> ValidationReport:
    """Validate the drop at ``uri`` (``s3://bucket/prefix/``, a local directory or ``file://`` URI).

    ``index`` (from ``describe_index_stats``) enables the checks against the target index; ``dimension`` and
    ``vector_type`` (``"dense"``/``"sparse"``) override what it says or stand in for it.
    """
    started = time.monotonic()
    problems: list[Problem] = []
    report = ValidationReport(uri=uri, valid=False)
    target = _Target(
        dimension=dimension if dimension is not None else (index.dimension if index else None),
        vector_type=(vector_type or (index.vector_type or "dense" if index else None)),
    )
    if target.vector_type is not None:
        target.vector_type = target.vector_type.lower()

    if uri.rstrip("/").lower().endswith(PARQUET_SUFFIX):
        problems.append(
            problem("layout.uri_is_file", f"the URI {uri} names a Parquet file, not a drop folder", file=uri)
        )
        return _finish(report, problems, started)

    root = folder_uri(uri)
    listing = storage.list_objects(root, max_objects=options.max_files + LISTING_SLACK)
    if listing.truncated:
        problems.append(
            problem(
                "limits.too_many_files",
                f"more than {options.max_files + LISTING_SLACK} objects under {uri}; listing stopped there "
                "and no footer was read",
                file=uri,
            )
        )
    layout = _classify(listing.objects, options, problems)
    _check_layout(uri, layout, problems)
    files = layout.parquet_files()
    _check_limits(uri, layout, files, options, problems)

    # Over the file limit the drop is rejected anyway: do not spend minutes reading 100,000 footers.
    too_many_files = listing.truncated or len(files) > options.max_files
    inspections = {} if too_many_files else _inspect_all(root, files, storage, options)
    bytes_read = sum(i.bytes_read for i in inspections.values())

    if not too_many_files:
        for obj in files:
            _check_file(obj.key, inspections[obj.key], target, options, problems)
        _check_dimensions(layout, inspections, target, problems)
        _check_rows(layout, inspections, target, options, problems)

    rows_total = sum(i.num_rows or 0 for i in inspections.values())
    if options.max_total_records is not None and rows_total > options.max_total_records:
        problems.append(
            problem(
                "limits.total_records",
                f"{rows_total} records in all footers; the limit is {options.max_total_records}",
                file=uri,
            )
        )
    if index is not None:
        _check_index(layout, index, problems)
    if layout.marker is not None:
        bytes_read += _check_manifest(root, layout, inspections, storage, problems)

    report.namespaces = {
        ns: NamespaceTotals(
            files=len(objs),
            bytes=sum(o.size for o in objs),
            rows=sum(inspections[o.key].num_rows or 0 for o in objs if o.key in inspections),
        )
        for ns, objs in sorted(layout.namespaces.items())
        if objs
    }
    report.totals = NamespaceTotals(
        files=sum(t.files for t in report.namespaces.values()),
        bytes=sum(t.bytes for t in report.namespaces.values()),
        rows=sum(t.rows for t in report.namespaces.values()),
    )
    report.bytes_read = bytes_read
    return _finish(report, problems, started)


def _finish(report: ValidationReport, problems: list[Problem], started: float) -> ValidationReport:
    problems.sort(
        key=lambda p: (p.file or "", -1 if p.row is None else p.row, p.code, p.column or "", p.message)
    )
    report.problems = problems
    report.valid = not any(p.severity is Severity.ERROR for p in problems)
    report.duration_s = round(time.monotonic() - started, 6)
    return report


# --- layout ----------------------------------------------------------------------------------------


def _classify(
    objects: Iterable[StoredObject], options: ValidationOptions, problems: list[Problem]
) -> _Layout:
    layout = _Layout()
    for obj in objects:
        key = obj.key
        if not key or key.endswith("/"):
            continue  # the prefix itself or a "folder" placeholder object
        parts = key.split("/")
        name = parts[-1]
        is_parquet = name.endswith(PARQUET_SUFFIX)
        if len(parts) == 1:
            if name == options.marker_name:
                layout.marker = obj
            elif name == options.report_name:
                continue
            elif is_parquet:
                layout.root_parquet.append(obj)
            else:
                problems.append(
                    problem("layout.ignored_file", f"{key} is not a .parquet file: ignored", file=key)
                )
            continue
        namespace = parts[0]
        layout.folders.add(namespace)
        layout.namespaces.setdefault(namespace, [])
        if not is_parquet:
            problems.append(
                problem("layout.ignored_file", f"{key} is not a .parquet file: ignored", file=key)
            )
            continue
        if len(parts) > 2:
            problems.append(
                problem(
                    "layout.nested_file",
                    f"{key} is nested {len(parts) - 2} folder(s) below namespace {namespace!r}",
                    file=key,
                )
            )
        layout.namespaces[namespace].append(obj)
    return layout


def _check_layout(uri: str, layout: _Layout, problems: list[Problem]) -> None:
    has_namespace_files = any(layout.namespaces.values())
    if not has_namespace_files and not layout.root_parquet:
        detail = "no objects at all" if not layout.folders and layout.marker is None else "no .parquet files"
        problems.append(problem("layout.empty_drop", f"{uri} holds {detail}", file=uri))
    elif layout.root_parquet and not has_namespace_files:
        problems.append(
            problem(
                "layout.uri_is_namespace",
                f"{uri} holds {len(layout.root_parquet)} .parquet file(s) directly and no namespace folders: "
                "it looks like a namespace folder",
                file=uri,
            )
        )
    else:
        for obj in layout.root_parquet:
            problems.append(
                problem(
                    "layout.no_namespace",
                    f"{obj.key} sits directly under the URI, not in a namespace folder",
                    file=obj.key,
                )
            )
    for namespace in sorted(layout.folders):
        if not layout.namespaces.get(namespace) and has_namespace_files:
            problems.append(
                problem(
                    "layout.empty_namespace",
                    f"namespace folder {namespace!r} holds no .parquet file",
                    file=namespace + "/",
                )
            )
        _check_namespace_name(namespace, problems)


def _check_namespace_name(namespace: str, problems: list[Problem]) -> None:
    where = namespace + "/"
    if len(namespace) > MAX_NAMESPACE_LENGTH:
        problems.append(
            problem(
                "layout.namespace_too_long",
                f"namespace {namespace[:40]!r}… is {len(namespace)} characters (max {MAX_NAMESPACE_LENGTH})",
                file=where,
            )
        )
    if not namespace.isprintable():
        problems.append(
            problem(
                "layout.namespace_unprintable",
                f"namespace {namespace!r} has unprintable characters",
                file=where,
            )
        )
    elif namespace != DEFAULT_NAMESPACE and (
        namespace != namespace.strip()
        or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in namespace)
        or namespace.startswith("__")
    ):
        problems.append(
            problem("layout.namespace_unusual", f"namespace {namespace!r} has an unusual name", file=where)
        )


def _check_limits(
    uri: str, layout: _Layout, files: list[StoredObject], options: ValidationOptions, problems: list[Problem]
) -> None:
    if len(files) > options.max_files and not any(p.code == "limits.too_many_files" for p in problems):
        problems.append(
            problem(
                "limits.too_many_files",
                f"{len(files)} Parquet files; the limit is {options.max_files} (footers were not read)",
                file=uri,
            )
        )
    for obj in files:
        if obj.size > options.max_file_bytes:
            problems.append(
                problem(
                    "limits.file_too_large",
                    f"{obj.key} is {obj.size} bytes; the limit is {options.max_file_bytes}",
                    file=obj.key,
                )
            )
    namespaces = [ns for ns, objs in layout.namespaces.items() if objs]
    if len(namespaces) > options.max_namespaces:
        problems.append(
            problem(
                "limits.too_many_namespaces",
                f"{len(namespaces)} namespaces; the limit is {options.max_namespaces}",
                file=uri,
            )
        )
    total = sum(o.size for o in files)
    if total > options.max_total_bytes:
        problems.append(
            problem(
                "limits.total_bytes",
                f"{total} bytes of Parquet; the limit is {options.max_total_bytes}",
                file=uri,
            )
        )


# --- footers and samples ---------------------------------------------------------------------------


def _inspect_all(
    root: str, files: list[StoredObject], storage: Storage, options: ValidationOptions
) -> dict[str, ParquetInspection]:
    def inspect(obj: StoredObject) -> ParquetInspection:
        if obj.size == 0:
            return ParquetInspection(size=0)
        return inspect_parquet(
            storage,
            join_uri(root, obj.key),
            obj.size,
            sample_rows=options.sample_rows,
            sample_columns=KNOWN_COLUMNS,
            budget_bytes=options.sample_budget_bytes,
        )

    if not files:
        return {}
    workers = max(1, min(options.concurrency, len(files)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="validate") as pool:
        results = list(pool.map(inspect, files))  # map keeps order; the first storage outage propagates
    return {obj.key: result for obj, result in zip(files, results, strict=True)}


def _check_file(
    key: str, info: ParquetInspection, target: _Target, options: ValidationOptions, problems: list[Problem]
) -> None:
    if info.size == 0:
        problems.append(problem("file.zero_bytes", f"{key} is 0 bytes", file=key))
        return
    if info.unreadable:
        problems.append(problem("file.unreadable", f"{key}: {info.unreadable}", file=key))
        return
    if info.footer_too_large:
        problems.append(problem("file.footer_too_large", f"{key}: {info.footer_error}", file=key))
        return
    if info.footer_error:
        problems.append(problem("file.unreadable_footer", f"{key}: {info.footer_error}", file=key))
        return
    if info.num_rows == 0:
        problems.append(problem("file.no_rows", f"{key} has 0 rows", file=key))
    if info.data_error:
        problems.append(problem("file.corrupt_data", f"{key}: {info.data_error}", file=key))
    for column in info.skipped_columns:
        problems.append(problem("file.sample_skipped", f"{key}: {info.sample_note}", file=key, column=column))
    _check_schema(key, info.columns, target, options, problems)


def _check_schema(
    key: str,
    columns: dict[str, ColumnType],
    target: _Target,
    options: ValidationOptions,
    problems: list[Problem],
) -> None:
    def add(code: str, message: str, column: str, severity: Severity | None = None) -> None:
        problems.append(problem(code, f"{key}: {message}", file=key, column=column, severity=severity))

    id_type = columns.get("id")
    if id_type is None:
        add("schema.missing_column", "required column 'id' is missing", "id")
    elif id_type.kind != "string":
        add("schema.wrong_type", f"'id' must be a string column, found {id_type.text}", "id")

    values = columns.get("values")
    sparse = columns.get("sparse_values")
    if values is None:
        if target.vector_type == "dense" or (target.vector_type is None and sparse is None):
            add("schema.missing_column", "required column 'values' (the dense vector) is missing", "values")
    else:
        if target.vector_type == "sparse":
            add("index.vector_type_mismatch", "has a dense 'values' column but the index is sparse", "values")
        _check_float_list(add, values, "values", "'values'")

    if sparse is None:
        if target.vector_type == "sparse":
            add(
                "schema.missing_column",
                "required column 'sparse_values' is missing (the index is sparse)",
                "sparse_values",
            )
    elif sparse.kind != "struct":
        add(
            "schema.wrong_type",
            f"'sparse_values' must be struct<indices: list<uint32>, values: list<float>>, found {sparse.text}",
            "sparse_values",
        )
    else:
        indices = sparse.field("indices")
        sparse_vals = sparse.field("values")
        if indices is None or sparse_vals is None:
            add(
                "schema.wrong_type",
                f"'sparse_values' needs fields 'indices' and 'values', found {sparse.text}",
                "sparse_values",
            )
        if indices is not None:
            if indices.kind != "list" or indices.item is None or not indices.item.is_integer:
                add(
                    "schema.wrong_type",
                    f"'sparse_values.indices' must be list<uint32>, found {indices.text}",
                    "sparse_values",
                )
            elif indices.item.kind != "uint32":
                add(
                    "schema.sparse_indices_type",
                    f"'sparse_values.indices' is {indices.text}, not list<uint32>",
                    "sparse_values",
                )
        if sparse_vals is not None:
            _check_float_list(add, sparse_vals, "sparse_values", "'sparse_values.values'")
        extra = [name for name, _ in sparse.fields if name not in ("indices", "values")]
        if extra:
            add(
                "schema.wrong_type",
                f"'sparse_values' has unexpected field(s) {', '.join(extra)}",
                "sparse_values",
            )

    metadata = columns.get("metadata")
    if metadata is not None and metadata.kind != "string":
        if metadata.kind in ("struct", "map"):
            add("schema.metadata_not_string", f"'metadata' is {metadata.text}, not a JSON string", "metadata")
        else:
            add(
                "schema.wrong_type",
                f"'metadata' must be a UTF-8 JSON string column, found {metadata.text}",
                "metadata",
            )

    severity = Severity.ERROR if options.extra_columns_are_errors else Severity.WARNING
    for name in columns:
        if name not in KNOWN_COLUMNS:
            add("schema.extra_column", f"unsupported column {name!r}", name, severity)


def _check_float_list(add: Any, column_type: ColumnType, column: str, label: str) -> None:
    item = column_type.item
    if column_type.kind != "list" or item is None:
        add("schema.wrong_type", f"{label} must be list<float32>, found {column_type.text}", column)
    elif item.kind == "float64":
        add(
            "schema.values_float64",
            f"{label} is {column_type.text} (float64): Pinecone expects float32",
            column,
        )
    elif item.kind != "float32":
        add("schema.wrong_type", f"{label} must be list<float32>, found {column_type.text}", column)


def _check_dimensions(
    layout: _Layout, inspections: dict[str, ParquetInspection], target: _Target, problems: list[Problem]
) -> None:
    """Fixed-size ``values`` lists must match the index dimension, or (unknown) agree with each other."""
    sizes: dict[str, int] = {}
    for obj in layout.parquet_files():
        values = inspections[obj.key].columns.get("values")
        if values is not None and values.list_size is not None:
            sizes[obj.key] = values.list_size
    if target.dimension is not None:
        for key, size in sorted(sizes.items()):
            if size != target.dimension:
                problems.append(
                    problem(
                        "schema.dimension_mismatch",
                        f"{key}: 'values' is a fixed list of {size}, the index dimension is {target.dimension}",
                        file=key,
                        column="values",
                    )
                )
        return
    for namespace, objs in sorted(layout.namespaces.items()):
        ns_sizes = {o.key: sizes[o.key] for o in objs if o.key in sizes}
        if len(set(ns_sizes.values())) > 1:
            first_key = min(ns_sizes)
            for key, size in sorted(ns_sizes.items()):
                if size != ns_sizes[first_key]:
                    problems.append(
                        problem(
                            "schema.inconsistent_dimension",
                            f"{key}: 'values' is a fixed list of {size} but {first_key} (namespace {namespace!r}) "
                            f"has {ns_sizes[first_key]}",
                            file=key,
                            column="values",
                        )
                    )


# --- rows ------------------------------------------------------------------------------------------


class _RowFindings:
    """Row problems of one file, folded to the first row per (code, column) with a count."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._first: dict[tuple[str, str], tuple[int, str]] = {}
        self._count: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, code: str, row: int, column: str, message: str) -> None:
        slot = (code, column)
        self._count[slot] += 1
        if slot not in self._first:
            self._first[slot] = (row, message)

    def problems(self) -> Iterator[Problem]:
        for (code, column), (row, message) in self._first.items():
            count = self._count[(code, column)]
            more = f" ({count} sampled rows have this problem)" if count > 1 else ""
            yield problem(
                code, f"{self.key} row {row}: {message}{more}", file=self.key, row=row, column=column
            )


def _check_rows(
    layout: _Layout,
    inspections: dict[str, ParquetInspection],
    target: _Target,
    options: ValidationOptions,
    problems: list[Problem],
) -> None:
    lengths_seen: dict[
        int, tuple[str, int]
    ] = {}  # dense length → first (file, row), for an unknown dimension
    groups: list[tuple[str, list[StoredObject]]] = sorted(layout.namespaces.items())
    if layout.root_parquet:
        groups.append(("", layout.root_parquet))
    for _namespace, objs in groups:
        ids_seen: dict[str, tuple[str, int]] = {}
        vectors_seen: dict[Any, tuple[str, int]] = {}
        for obj in sorted(objs, key=lambda o: o.key):
            info = inspections[obj.key]
            if not info.sample:
                continue
            findings = _RowFindings(obj.key)
            sparse_target = target.vector_type == "sparse" or (
                target.vector_type is None
                and "values" not in info.columns
                and "sparse_values" in info.columns
            )
            for row, record in enumerate(info.sample):
                _check_record(record, row, findings, target, sparse_target, options, lengths_seen, obj.key)
                _check_duplicates(record, row, obj.key, findings, ids_seen, vectors_seen, sparse_target)
            problems.extend(findings.problems())


def _check_record(
    record: dict[str, Any],
    row: int,
    findings: _RowFindings,
    target: _Target,
    sparse_target: bool,
    options: ValidationOptions,
    lengths_seen: dict[int, tuple[str, int]],
    key: str,
) -> None:
    if "id" in record:
        record_id = record["id"]
        if record_id is None or record_id == "":
            findings.add("row.missing_id", row, "id", "id is null or empty")
        elif isinstance(record_id, str) and len(record_id) > options.max_id_length:
            findings.add(
                "row.id_too_long",
                row,
                "id",
                f"id is {len(record_id)} characters (max {options.max_id_length})",
            )

    if "values" in record:
        values = record["values"]
        if values is None or (isinstance(values, list) and not values):
            if not sparse_target:
                findings.add("row.missing_values", row, "values", "values is null or empty")
        elif isinstance(values, list):
            _check_dense(values, row, findings, target, lengths_seen, key)

    if "sparse_values" in record:
        sparse = record["sparse_values"]
        if isinstance(sparse, dict):
            _check_sparse(sparse, row, findings, sparse_target, options)
        elif sparse is None and sparse_target:
            findings.add("row.missing_sparse", row, "sparse_values", "sparse_values is null")

    metadata = record.get("metadata")
    if isinstance(metadata, str):
        size = len(metadata.encode("utf-8"))
        if size > options.max_metadata_bytes:
            findings.add(
                "row.metadata_too_large",
                row,
                "metadata",
                f"metadata is {size} bytes (max {options.max_metadata_bytes})",
            )
        try:
            parsed = json.loads(metadata)
        except ValueError as exc:
            findings.add("row.metadata_invalid_json", row, "metadata", f"metadata is not valid JSON ({exc})")
        else:
            if not isinstance(parsed, dict):
                findings.add(
                    "row.metadata_not_object",
                    row,
                    "metadata",
                    f"metadata is a JSON {type(parsed).__name__}, not an object",
                )


def _check_dense(
    values: list[Any],
    row: int,
    findings: _RowFindings,
    target: _Target,
    lengths_seen: dict[int, tuple[str, int]],
    key: str,
) -> None:
    length = len(values)
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
        findings.add("row.non_finite", row, "values", "values contain NaN, infinity or null")
    elif not any(values):
        findings.add("row.zero_vector", row, "values", "all values are zero")
    if target.dimension is not None:
        if length != target.dimension:
            findings.add(
                "row.dimension_mismatch",
                row,
                "values",
                f"{length} values; the index dimension is {target.dimension}",
            )
    else:
        if length > MAX_DENSE_DIMENSION:
            findings.add(
                "row.dimension_too_large", row, "values", f"{length} values (max {MAX_DENSE_DIMENSION})"
            )
        if not lengths_seen:
            lengths_seen[length] = (key, row)  # the first dense vector sets the reference length
        first_length, (first_key, first_row) = next(iter(lengths_seen.items()))
        if length != first_length:
            findings.add(
                "row.inconsistent_dimension",
                row,
                "values",
                f"{length} values, but {first_key} row {first_row} has {first_length}",
            )


def _check_sparse(
    sparse: dict[str, Any], row: int, findings: _RowFindings, sparse_target: bool, options: ValidationOptions
) -> None:
    indices = sparse.get("indices")
    values = sparse.get("values")
    if not isinstance(indices, list) or not isinstance(values, list):
        if sparse_target:
            findings.add(
                "row.missing_sparse", row, "sparse_values", "sparse_values.indices or .values is null"
            )
        return
    if not indices and sparse_target:
        findings.add("row.missing_sparse", row, "sparse_values", "sparse_values is empty")
    if len(indices) != len(values):
        findings.add(
            "row.sparse_length_mismatch",
            row,
            "sparse_values",
            f"{len(indices)} indices but {len(values)} values",
        )
    if len(set(indices)) != len(indices):
        findings.add("row.sparse_duplicate_index", row, "sparse_values", "sparse indices repeat")
    if len(indices) > options.max_sparse_nonzeros:
        findings.add(
            "row.sparse_too_many",
            row,
            "sparse_values",
            f"{len(indices)} non-zeros (max {options.max_sparse_nonzeros})",
        )
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
        findings.add("row.non_finite", row, "sparse_values", "sparse values contain NaN, infinity or null")


def _check_duplicates(
    record: dict[str, Any],
    row: int,
    key: str,
    findings: _RowFindings,
    ids_seen: dict[str, tuple[str, int]],
    vectors_seen: dict[Any, tuple[str, int]],
    sparse_target: bool,
) -> None:
    record_id = record.get("id")
    if isinstance(record_id, str) and record_id:
        if record_id in ids_seen:
            first_key, first_row = ids_seen[record_id]
            findings.add(
                "row.duplicate_id", row, "id", f"id {record_id[:80]!r} repeats {first_key} row {first_row}"
            )
        else:
            ids_seen[record_id] = (key, row)
    fingerprint = _vector_fingerprint(record, sparse_target)
    if fingerprint is not None:
        if fingerprint in vectors_seen:
            first_key, first_row = vectors_seen[fingerprint]
            column = "sparse_values" if sparse_target else "values"
            findings.add(
                "row.duplicate_values",
                row,
                column,
                f"vector values are identical to {first_key} row {first_row}",
            )
        else:
            vectors_seen[fingerprint] = (key, row)


def _vector_fingerprint(record: dict[str, Any], sparse_target: bool) -> Any:
    try:
        values = record.get("values")
        dense = tuple(values) if isinstance(values, list) and values else None
        sparse = record.get("sparse_values")
        sparse_fp = None
        if (
            isinstance(sparse, dict)
            and isinstance(sparse.get("indices"), list)
            and isinstance(sparse.get("values"), list)
        ):
            sparse_fp = (tuple(sparse["indices"]), tuple(sparse["values"]))
        if dense is None and (sparse_fp is None or not sparse_fp[0]):
            return None
        hash((dense, sparse_fp))
        return (dense, sparse_fp)
    except TypeError:
        return None


# --- index ------------------------------------------------------------------------------------------


def _check_index(layout: _Layout, index: IndexStats, problems: list[Problem]) -> None:
    for namespace, objs in sorted(layout.namespaces.items()):
        if not objs:
            continue
        names = ("", DEFAULT_NAMESPACE) if namespace == DEFAULT_NAMESPACE else (namespace,)
        count = max((index.namespaces[n].vector_count for n in names if n in index.namespaces), default=0)
        if count > 0:
            label = "the default namespace" if namespace == DEFAULT_NAMESPACE else f"namespace {namespace!r}"
            problems.append(
                problem(
                    "index.namespace_exists",
                    f"{label} already holds {count} vectors in the index; Pinecone imports only into new namespaces",
                    file=namespace + "/",
                )
            )


# --- manifest ---------------------------------------------------------------------------------------


def _check_manifest(
    root: str,
    layout: _Layout,
    inspections: dict[str, ParquetInspection],
    storage: Storage,
    problems: list[Problem],
) -> int:
    """Compare the drop with the marker's manifest (if it holds one); returns the bytes read."""
    marker = layout.marker
    assert marker is not None
    if marker.size == 0:
        return 0
    if marker.size > MAX_MANIFEST_BYTES:
        head = storage.read_range(join_uri(root, marker.key), 0, 64)
        if looks_like_manifest(head):
            problems.append(
                problem(
                    "manifest.too_large",
                    f"{marker.key} is {marker.size} bytes (max {MAX_MANIFEST_BYTES})",
                    file=marker.key,
                )
            )
        return len(head)
    data = storage.read_object(join_uri(root, marker.key), max_bytes=MAX_MANIFEST_BYTES)
    if not looks_like_manifest(data):
        return len(data)
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(
            problem("manifest.invalid_json", f"{marker.key} is not valid JSON: {exc}", file=marker.key)
        )
        return len(data)
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'manifest'}: {err['msg']}" for err in exc.errors()[:10]
        )
        problems.append(problem("manifest.invalid", f"{marker.key}: {detail}", file=marker.key))
        return len(data)
    _compare_manifest(marker.key, manifest, layout, inspections, problems)
    return len(data)


def _compare_manifest(
    marker_key: str,
    manifest: Manifest,
    layout: _Layout,
    inspections: dict[str, ParquetInspection],
    problems: list[Problem],
) -> None:
    actual = {o.key: o for o in layout.parquet_files()}
    if manifest.files is not None:
        listed = {f.path: f for f in manifest.files}
        for path, entry in sorted(listed.items()):
            obj = actual.get(path)
            if obj is None:
                problems.append(
                    problem(
                        "manifest.missing_file", f"{path} is in the manifest but not in the drop", file=path
                    )
                )
                continue
            if entry.size is not None and entry.size != obj.size:
                problems.append(
                    problem(
                        "manifest.size_mismatch",
                        f"{path} is {obj.size} bytes; the manifest says {entry.size}",
                        file=path,
                    )
                )
            rows = inspections[path].num_rows if path in inspections else None
            if entry.rows is not None and rows is not None and entry.rows != rows:
                problems.append(
                    problem(
                        "manifest.rows_mismatch",
                        f"{path} has {rows} rows; the manifest says {entry.rows}",
                        file=path,
                    )
                )
        for path in sorted(set(actual) - set(listed)):
            problems.append(
                problem(
                    "manifest.unexpected_file", f"{path} is in the drop but not in the manifest", file=path
                )
            )
    total = sum(inspections[k].num_rows or 0 for k in actual if k in inspections)
    if manifest.total_rows is not None and manifest.total_rows != total:
        problems.append(
            problem(
                "manifest.total_rows_mismatch",
                f"the footers hold {total} rows; the manifest's total_rows is {manifest.total_rows}",
                file=marker_key,
            )
        )
    for namespace, expected in sorted((manifest.namespaces or {}).items()):
        objs = layout.namespaces.get(namespace, [])
        rows = sum(inspections[o.key].num_rows or 0 for o in objs if o.key in inspections)
        mismatches = []
        if expected.files is not None and expected.files != len(objs):
            mismatches.append(f"{len(objs)} files (manifest: {expected.files})")
        if expected.rows is not None and expected.rows != rows:
            mismatches.append(f"{rows} rows (manifest: {expected.rows})")
        if mismatches:
            problems.append(
                problem(
                    "manifest.namespace_mismatch",
                    f"namespace {namespace!r} has {' and '.join(mismatches)}",
                    file=namespace + "/",
                )
            )


def codes_markdown() -> str:
    """The problem-code registry as a Markdown table (for the README)."""
    lines = ["| code | severity | what to do |", "|---|---|---|"]
    for code, (severity, hint) in sorted(CODES.items()):
        escaped = hint.replace("|", "\\|")
        lines.append(f"| `{code}` | {severity.value} | {escaped} |")
    return "\n".join(lines) + "\n"
