"""Row rules, checked on the bounded sample: every problem names file, row (0-based) and column."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.integrations.storage import LocalStorage
from functions.logic.validation import validate_drop
from functions.models.imports import IndexStats
from functions.models.report import Severity, ValidationOptions, ValidationReport
from tests.fixtures.drops import DropBuilder, codes, good_rows, one


def validate(drop: DropBuilder, **kwargs: Any) -> ValidationReport:
    return validate_drop(drop.uri, storage=LocalStorage(), **kwargs)


def planted(row: int, change: dict[str, Any], *, n: int = 10, **kwargs: Any) -> list[dict[str, Any]]:
    rows = good_rows(n, **kwargs)
    rows[row].update(change)
    return rows


@pytest.mark.parametrize(
    ("change", "code", "column"),
    [
        ({"id": None}, "row.missing_id", "id"),
        ({"id": ""}, "row.missing_id", "id"),
        ({"id": "x" * 513}, "row.id_too_long", "id"),
        ({"values": None}, "row.missing_values", "values"),
        ({"values": [0.1, float("nan"), 0, 0, 0, 0, 0, 0]}, "row.non_finite", "values"),
        ({"values": [0.1, float("inf"), 0, 0, 0, 0, 0, 0]}, "row.non_finite", "values"),
        ({"values": [0.0] * 8}, "row.zero_vector", "values"),
        ({"values": [0.5] * 7}, "row.dimension_mismatch", "values"),
        ({"metadata": "{not json"}, "row.metadata_invalid_json", "metadata"),
        ({"metadata": "[1, 2]"}, "row.metadata_not_object", "metadata"),
        ({"metadata": json.dumps({"blob": "x" * 41_000})}, "row.metadata_too_large", "metadata"),
    ],
)
def test_dense_row_rules(drop: DropBuilder, change: dict[str, Any], code: str, column: str) -> None:
    drop.add("ns/f.parquet", planted(4, change))
    report = validate(drop, index=IndexStats(dimension=8, vector_type="dense"))
    problem = one(report, code)
    assert (problem.file, problem.row, problem.column) == ("ns/f.parquet", 4, column)
    assert problem.severity is Severity.ERROR
    assert not report.valid


@pytest.mark.parametrize(
    ("sparse", "code"),
    [
        ({"indices": [1, 2, 3], "values": [0.5, 0.5]}, "row.sparse_length_mismatch"),
        ({"indices": [7, 7], "values": [0.5, 0.25]}, "row.sparse_duplicate_index"),
        ({"indices": list(range(2049)), "values": [0.5] * 2049}, "row.sparse_too_many"),
        ({"indices": [1, 2], "values": [0.5, float("nan")]}, "row.non_finite"),
        (None, "row.missing_sparse"),
    ],
)
def test_sparse_row_rules(drop: DropBuilder, sparse: dict[str, Any] | None, code: str) -> None:
    drop.add("ns/f.parquet", planted(2, {"sparse_values": sparse}, sparse=True, dense=False))
    report = validate(drop, index=IndexStats(vector_type="sparse"))
    problem = one(report, code)
    assert (problem.file, problem.row, problem.column) == ("ns/f.parquet", 2, "sparse_values")


def test_null_sparse_values_are_fine_in_a_hybrid_file(drop: DropBuilder) -> None:
    drop.add("ns/f.parquet", planted(2, {"sparse_values": None}, sparse=True))
    assert validate(drop, index=IndexStats(dimension=8)).problems == []


def test_null_metadata_is_fine(drop: DropBuilder) -> None:
    drop.add("ns/f.parquet", planted(2, {"metadata": None}))
    assert validate(drop).problems == []


def test_dimension_unknown_files_that_disagree(drop: DropBuilder) -> None:
    drop.add("ns/a.parquet", good_rows(5, dim=8))
    drop.add("ns/b.parquet", good_rows(5, dim=6, start=5))
    problem = one(validate(drop), "row.inconsistent_dimension")
    assert (problem.file, problem.row, problem.column) == ("ns/b.parquet", 0, "values")
    assert "5 sampled rows" in problem.message  # folded: one problem per file and code, with a count


def test_duplicate_ids_within_a_namespace_are_an_error(drop: DropBuilder) -> None:
    drop.add("ns/a.parquet", good_rows(5))
    rows = good_rows(5, start=10)
    rows[3]["id"] = "id-2"
    drop.add("ns/b.parquet", rows)
    drop.add("other/c.parquet", good_rows(5))  # the same ids in another namespace are fine
    report = validate(drop)
    problem = one(report, "row.duplicate_id")
    assert (problem.file, problem.row, problem.column, problem.severity) == (
        "ns/b.parquet",
        3,
        "id",
        Severity.ERROR,
    )
    assert "ns/a.parquet row 2" in problem.message


def test_identical_vectors_are_a_duplicate_warning(drop: DropBuilder) -> None:
    rows = good_rows(6)
    rows[5]["values"] = list(rows[1]["values"])
    drop.add("ns/f.parquet", rows)
    report = validate(drop)
    problem = one(report, "row.duplicate_values")
    assert (problem.file, problem.row, problem.column) == ("ns/f.parquet", 5, "values")
    assert "Pinecone treats" in (problem.hint or "")
    assert report.valid


def test_only_the_sample_is_checked(drop: DropBuilder) -> None:
    drop.add("ns/f.parquet", planted(40, {"id": None}, n=50))
    assert validate(drop, options=ValidationOptions(sample_rows=20)).problems == []
    assert one(validate(drop, options=ValidationOptions(sample_rows=50)), "row.missing_id").row == 40


def test_every_problem_is_reported_in_a_stable_order(drop: DropBuilder) -> None:
    rows = good_rows(10)
    rows[1]["id"] = None
    rows[3]["metadata"] = "oops"
    rows[6]["values"] = [0.0] * 8
    drop.add("b/f.parquet", rows)
    drop.add("a/f.parquet", planted(0, {"values": [1.0] * 3}))
    report = validate(drop, dimension=8, options=ValidationOptions(concurrency=4))
    found = [(p.file, p.row, p.code) for p in report.problems]
    assert found == [
        ("a/f.parquet", 0, "row.dimension_mismatch"),
        ("b/f.parquet", 1, "row.missing_id"),
        ("b/f.parquet", 3, "row.metadata_invalid_json"),
        ("b/f.parquet", 6, "row.zero_vector"),
    ]
    assert codes(validate(drop, dimension=8, options=ValidationOptions(concurrency=1))) == {
        c for _, _, c in found
    }
