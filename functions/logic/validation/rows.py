"""Row rules, checked on each file's bounded sample; problems are folded to the first row per file and code."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from functions.integrations.parquet import ParquetInspection
from functions.integrations.storage import StoredObject
from functions.logic.validation.codes import problem
from functions.logic.validation.layout import Layout, Target
from functions.models.report import Problem, ValidationOptions

MAX_DENSE_DIMENSION = 20_000


class RowFindings:
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


def check_rows(
    layout: Layout,
    inspections: dict[str, ParquetInspection],
    target: Target,
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
            findings = RowFindings(obj.key)
            sparse_target = target.vector_type == "sparse" or (
                target.vector_type is None
                and "values" not in info.columns
                and "sparse_values" in info.columns
            )
            for row, record in enumerate(info.sample):
                check_record(record, row, findings, target, sparse_target, options, lengths_seen, obj.key)
                check_duplicates(record, row, obj.key, findings, ids_seen, vectors_seen, sparse_target)
            problems.extend(findings.problems())


def check_record(
    record: dict[str, Any],
    row: int,
    findings: RowFindings,
    target: Target,
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
            check_dense(values, row, findings, target, lengths_seen, key)

    if "sparse_values" in record:
        sparse = record["sparse_values"]
        if isinstance(sparse, dict):
            check_sparse(sparse, row, findings, sparse_target, options)
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


def all_finite(values: list[Any]) -> bool:
    """Every value is a finite number (the hot loop of row checks: ``map`` over C ``isfinite``, ~8x faster than
    a per-value ``isinstance`` test). A null, a string or a nested list raises TypeError, an int too large for a
    float OverflowError: both mean "not a finite number"."""
    try:
        return all(map(math.isfinite, values))
    except (TypeError, OverflowError):
        return False


def check_dense(
    values: list[Any],
    row: int,
    findings: RowFindings,
    target: Target,
    lengths_seen: dict[int, tuple[str, int]],
    key: str,
) -> None:
    length = len(values)
    if not all_finite(values):
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


def check_sparse(
    sparse: dict[str, Any], row: int, findings: RowFindings, sparse_target: bool, options: ValidationOptions
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
    if not all_finite(values):
        findings.add("row.non_finite", row, "sparse_values", "sparse values contain NaN, infinity or null")


def check_duplicates(
    record: dict[str, Any],
    row: int,
    key: str,
    findings: RowFindings,
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
    fingerprint = vector_fingerprint(record, sparse_target)
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


def vector_fingerprint(record: dict[str, Any], sparse_target: bool) -> Any:
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
