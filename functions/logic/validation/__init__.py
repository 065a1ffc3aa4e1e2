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

import time

from functions.integrations.storage import Storage, folder_uri
from functions.logic.validation.codes import CODES, FILE_LEVEL_PREFIXES, codes_markdown, problem
from functions.logic.validation.layout import (
    DEFAULT_NAMESPACE,
    PARQUET_SUFFIX,
    Target,
    check_index,
    check_layout,
    check_limits,
    classify,
)
from functions.logic.validation.manifest import check_manifest
from functions.logic.validation.rows import check_rows
from functions.logic.validation.schema import check_dimensions, check_file, inspect_all
from functions.models.imports import IndexStats
from functions.models.report import NamespaceTotals, Problem, Severity, ValidationOptions, ValidationReport

__all__ = [
    "CODES",
    "DEFAULT_NAMESPACE",
    "FILE_LEVEL_PREFIXES",
    "LISTING_SLACK",
    "codes_markdown",
    "problem",
    "validate_drop",
]

LISTING_SLACK = 10_000
"""Objects listed beyond ``max_files`` (markers, logs, .crc files…) before the listing stops."""


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
    if index is not None:
        dimension = dimension if dimension is not None else index.dimension
        vector_type = vector_type or index.vector_type or "dense"  # no vector_type (older APIs): dense
    target = Target(dimension=dimension, vector_type=vector_type.lower() if vector_type else None)

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
    layout = classify(listing.objects, options, problems)
    check_layout(uri, layout, problems)
    files = layout.parquet_files()
    check_limits(uri, layout, files, options, problems)

    # Over the file limit the drop is rejected anyway: do not spend minutes reading 100,000 footers.
    too_many_files = listing.truncated or len(files) > options.max_files
    inspections = {} if too_many_files else inspect_all(root, files, storage, options)
    bytes_read = sum(i.bytes_read for i in inspections.values())

    if not too_many_files:
        for obj in files:
            check_file(obj.key, inspections[obj.key], target, options, problems)
        check_dimensions(layout, inspections, target, problems)
        check_rows(layout, inspections, target, options, problems)

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
        check_index(layout, index, problems)
    if layout.marker is not None and not too_many_files:
        bytes_read += check_manifest(root, layout, inspections, storage, problems)

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
