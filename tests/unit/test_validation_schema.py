"""Schema rules, read from the Parquet footers only."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from functions.integrations.storage import LocalStorage
from functions.logic.validation import validate_drop
from functions.models.imports import IndexStats
from functions.models.report import Severity, ValidationOptions, ValidationReport
from tests.fixtures.drops import SPARSE_TYPE, DropBuilder, codes, good_rows, one


def validate(drop: DropBuilder, **kwargs: Any) -> ValidationReport:
    return validate_drop(drop.uri, storage=LocalStorage(), **kwargs)


def table(columns: dict[str, pa.Array]) -> pa.Table:
    return pa.table(columns)


IDS = pa.array(["a", "b"], pa.string())
VALUES = pa.array([[0.1, 0.2], [0.3, 0.4]], pa.list_(pa.float32()))
META = pa.array(['{"a":1}', None], pa.string())


def test_missing_id_column(drop: DropBuilder) -> None:
    drop.add("ns/f.parquet", table({"values": VALUES}))
    problem = one(validate(drop), "schema.missing_column")
    assert (problem.file, problem.column, problem.row) == ("ns/f.parquet", "id", None)


def test_id_must_be_a_string(drop: DropBuilder) -> None:
    drop.add("ns/f.parquet", table({"id": pa.array([1, 2], pa.int64()), "values": VALUES}))
    problem = one(validate(drop), "schema.wrong_type")
    assert (problem.file, problem.column) == ("ns/f.parquet", "id")
    assert "int64" in problem.message


def test_missing_values_for_a_dense_index(drop: DropBuilder) -> None:
    drop.add("ns/f.parquet", table({"id": IDS, "metadata": META}))
    problem = one(validate(drop, dimension=2, vector_type="dense"), "schema.missing_column")
    assert (problem.file, problem.column) == ("ns/f.parquet", "values")


def test_integer_values_are_an_error(drop: DropBuilder) -> None:
    drop.add("ns/f.parquet", table({"id": IDS, "values": pa.array([[1, 2], [3, 4]], pa.list_(pa.int32()))}))
    problem = one(validate(drop), "schema.wrong_type")
    assert (problem.file, problem.column) == ("ns/f.parquet", "values")


def test_float64_values_are_a_warning(drop: DropBuilder) -> None:
    drop.add(
        "ns/f.parquet",
        table({"id": IDS, "values": pa.array([[0.1, 0.2], [0.3, 0.4]], pa.list_(pa.float64()))}),
    )
    report = validate(drop)
    problem = one(report, "schema.values_float64")
    assert problem.severity is Severity.WARNING
    assert (problem.file, problem.column) == ("ns/f.parquet", "values")
    assert report.valid


def test_sparse_index_requires_sparse_values(drop: DropBuilder) -> None:
    drop.add("ns/f.parquet", table({"id": IDS, "metadata": META}))
    report = validate(drop, index=IndexStats(dimension=None, vector_type="sparse"))
    problem = one(report, "schema.missing_column")
    assert (problem.file, problem.column) == ("ns/f.parquet", "sparse_values")


def test_sparse_values_with_wrong_field_types(drop: DropBuilder) -> None:
    bad = pa.struct([("indices", pa.list_(pa.string())), ("values", pa.list_(pa.float32()))])
    sparse = pa.array([{"indices": ["1"], "values": [0.5]}] * 2, bad)
    drop.add("ns/f.parquet", table({"id": IDS, "sparse_values": sparse}))
    problem = one(validate(drop, vector_type="sparse"), "schema.wrong_type")
    assert (problem.file, problem.column) == ("ns/f.parquet", "sparse_values")
    assert "indices" in problem.message


def test_int64_sparse_indices_are_a_warning(drop: DropBuilder) -> None:
    loose = pa.struct([("indices", pa.list_(pa.int64())), ("values", pa.list_(pa.float32()))])
    sparse = pa.array([{"indices": [1], "values": [0.5]}, {"indices": [2], "values": [0.5]}], loose)
    drop.add("ns/f.parquet", table({"id": IDS, "sparse_values": sparse}))
    report = validate(drop, vector_type="sparse")
    assert one(report, "schema.sparse_indices_type").severity is Severity.WARNING
    assert report.valid


def test_dense_values_into_a_sparse_index(drop: DropBuilder) -> None:
    sparse = pa.array([{"indices": [1], "values": [0.5]}, {"indices": [2], "values": [0.5]}], SPARSE_TYPE)
    drop.add("ns/f.parquet", table({"id": IDS, "values": VALUES, "sparse_values": sparse}))
    problem = one(validate(drop, index=IndexStats(vector_type="sparse")), "index.vector_type_mismatch")
    assert (problem.file, problem.column) == ("ns/f.parquet", "values")


def test_struct_metadata_says_json_dumps(drop: DropBuilder) -> None:
    meta = pa.array([{"genre": "a"}, {"genre": "b"}], pa.struct([("genre", pa.string())]))
    drop.add("ns/f.parquet", table({"id": IDS, "values": VALUES, "metadata": meta}))
    problem = one(validate(drop), "schema.metadata_not_string")
    assert (problem.file, problem.column) == ("ns/f.parquet", "metadata")
    assert "json.dumps" in (problem.hint or "")


def test_extra_column_is_an_error_by_default_and_a_warning_on_request(drop: DropBuilder) -> None:
    drop.add("ns/f.parquet", table({"id": IDS, "values": VALUES, "blob": pa.array(["x", "y"])}))
    strict = one(validate(drop), "schema.extra_column")
    assert (strict.file, strict.column, strict.severity) == ("ns/f.parquet", "blob", Severity.ERROR)
    lenient = validate(drop, options=ValidationOptions(extra_columns_are_errors=False))
    assert one(lenient, "schema.extra_column").severity is Severity.WARNING
    assert lenient.valid


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", None),
        (b"PAR1", "too small"),
        (b"not a parquet file at all, just text", "magic"),
    ],
)
def test_unreadable_files(drop: DropBuilder, content: bytes, needle: str | None) -> None:
    drop.add("ns/good.parquet")
    drop.add_bytes("ns/bad.parquet", content)
    report = validate(drop)
    code = "file.zero_bytes" if not content else "file.unreadable_footer"
    problem = one(report, code)
    assert problem.file == "ns/bad.parquet"
    if needle:
        assert needle in problem.message
    assert not report.valid


def test_truncated_file_names_the_file(drop: DropBuilder) -> None:
    path = drop.add("ns/f.parquet", good_rows(50))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    problem = one(validate(drop), "file.unreadable_footer")
    assert problem.file == "ns/f.parquet"


def test_corrupt_footer_bytes_names_the_file(drop: DropBuilder) -> None:
    path = drop.add("ns/f.parquet", good_rows(50))
    data = bytearray(path.read_bytes())
    footer_len = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - footer_len
    data[start : start + footer_len] = b"\xff" * footer_len
    path.write_bytes(bytes(data))
    problem = one(validate(drop), "file.unreadable_footer")
    assert problem.file == "ns/f.parquet"
    assert "parsed" in problem.message


def test_fixed_size_lists_must_match_the_dimension(drop: DropBuilder) -> None:
    fixed = pa.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], pa.list_(pa.float32(), 3))
    drop.add("ns/f.parquet", table({"id": IDS, "values": fixed}))
    problem = one(validate(drop, dimension=4), "schema.dimension_mismatch")
    assert (problem.file, problem.column) == ("ns/f.parquet", "values")


def test_fixed_size_lists_must_agree_within_a_namespace(drop: DropBuilder) -> None:
    drop.add(
        "ns/a.parquet", table({"id": IDS, "values": pa.array([[0.1, 0.2]] * 2, pa.list_(pa.float32(), 2))})
    )
    drop.add(
        "ns/b.parquet",
        table(
            {"id": pa.array(["c", "d"]), "values": pa.array([[0.1, 0.2, 0.3]] * 2, pa.list_(pa.float32(), 3))}
        ),
    )
    report = validate(drop)
    problem = one(report, "schema.inconsistent_dimension")
    assert problem.file == "ns/b.parquet"
    assert "ns/a.parquet" in problem.message


def test_zero_row_file_is_a_warning(drop: DropBuilder) -> None:
    drop.add("ns/a.parquet")
    drop.add("ns/empty.parquet", [])
    report = validate(drop)
    assert one(report, "file.no_rows").file == "ns/empty.parquet"
    assert report.valid


def test_hybrid_file_is_valid_for_a_dense_index(drop: DropBuilder) -> None:
    drop.add("ns/a.parquet", good_rows(5, sparse=True))
    report = validate(drop, index=IndexStats(dimension=8, vector_type="dense"))
    assert report.problems == []


def test_sparse_only_file_is_valid_for_a_sparse_index(drop: DropBuilder) -> None:
    drop.add("ns/a.parquet", good_rows(5, sparse=True, dense=False))
    report = validate(drop, index=IndexStats(vector_type="sparse"))
    assert report.problems == [], report.problems
    assert "schema.missing_column" not in codes(report)


def test_undecodable_rows_are_corrupt_data(drop: DropBuilder) -> None:
    bad_ids = pa.array([b"ok", b"\xff\xfe"], pa.binary()).view(
        pa.string()
    )  # invalid UTF-8 in a string column
    drop.add("ns/f.parquet", table({"id": bad_ids, "values": VALUES}))
    problem = one(validate(drop), "file.corrupt_data")
    assert problem.file == "ns/f.parquet"
    assert "converted" in problem.message
