"""Per-import limits, checks against the target index, and the optional manifest in the marker."""

from __future__ import annotations

from typing import Any

import pytest

from functions.integrations.storage import LocalStorage
from functions.logic.validation import validate_drop
from functions.models.imports import IndexStats, NamespaceStats
from functions.models.manifest import parse_manifest
from functions.models.report import ValidationOptions, ValidationReport
from tests.fixtures.drops import DropBuilder, codes, good_rows, one


def validate(drop: DropBuilder, **kwargs: Any) -> ValidationReport:
    return validate_drop(drop.uri, storage=LocalStorage(), **kwargs)


@pytest.fixture
def two_namespaces(drop: DropBuilder) -> DropBuilder:
    drop.add("a/part-0.parquet", good_rows(4))
    drop.add("b/part-0.parquet", good_rows(4, start=4))
    return drop


# --- limits -----------------------------------------------------------------------------------------


def test_too_many_files_is_refused_without_reading_footers(two_namespaces: DropBuilder) -> None:
    two_namespaces.marker(two_namespaces.manifest())  # total_rows 8: not compared when no footer is read
    two_namespaces.add_bytes("a/broken.parquet", b"not parquet")
    report = validate(two_namespaces, options=ValidationOptions(max_files=1))
    assert one(report, "limits.too_many_files").file == two_namespaces.uri
    assert [p.code for p in report.errors] == ["limits.too_many_files"]
    assert report.bytes_read == 0
    assert report.totals.files == 3


def test_file_too_large(two_namespaces: DropBuilder) -> None:
    size = two_namespaces.path("a/part-0.parquet").stat().st_size
    report = validate(two_namespaces, options=ValidationOptions(max_file_bytes=size - 1))
    flagged = {p.file for p in report.problems if p.code == "limits.file_too_large"}
    assert "a/part-0.parquet" in flagged
    assert not report.valid


def test_too_many_namespaces(two_namespaces: DropBuilder) -> None:
    assert "limits.too_many_namespaces" in codes(
        validate(two_namespaces, options=ValidationOptions(max_namespaces=1))
    )


def test_total_bytes(two_namespaces: DropBuilder) -> None:
    assert "limits.total_bytes" in codes(
        validate(two_namespaces, options=ValidationOptions(max_total_bytes=100))
    )


def test_total_records_from_footers(two_namespaces: DropBuilder) -> None:
    report = validate(two_namespaces, options=ValidationOptions(max_total_records=7))
    assert "8 records" in one(report, "limits.total_records").message
    assert validate(two_namespaces, options=ValidationOptions(max_total_records=8)).valid


# --- against the index ------------------------------------------------------------------------------


def test_existing_namespace_is_an_error(two_namespaces: DropBuilder) -> None:
    index = IndexStats(
        dimension=8, namespaces={"a": NamespaceStats(vector_count=3), "c": NamespaceStats(vector_count=9)}
    )
    problem = one(validate(two_namespaces, index=index), "index.namespace_exists")
    assert problem.file == "a/"
    assert "10 minutes" in (problem.hint or "")


def test_empty_existing_namespace_is_fine(two_namespaces: DropBuilder) -> None:
    index = IndexStats(dimension=8, namespaces={"a": NamespaceStats(vector_count=0)})
    assert validate(two_namespaces, index=index).valid


@pytest.mark.parametrize("stats_name", ["", "__default__"])
def test_non_empty_default_namespace_blocks_a_default_drop(drop: DropBuilder, stats_name: str) -> None:
    drop.add("__default__/part-0.parquet")
    index = IndexStats(dimension=8, namespaces={stats_name: NamespaceStats(vector_count=1)})
    assert "default namespace" in one(validate(drop, index=index), "index.namespace_exists").message


def test_index_dimension_is_checked_per_row(two_namespaces: DropBuilder) -> None:
    report = validate(two_namespaces, index=IndexStats(dimension=16, vector_type="dense"))
    assert {(p.file, p.row) for p in report.problems if p.code == "row.dimension_mismatch"} == {
        ("a/part-0.parquet", 0),
        ("b/part-0.parquet", 0),
    }


def test_explicit_dimension_overrides_the_index(two_namespaces: DropBuilder) -> None:
    assert validate(two_namespaces, index=IndexStats(dimension=16), dimension=8).valid


# --- manifest ---------------------------------------------------------------------------------------


def test_matching_manifest_is_valid(two_namespaces: DropBuilder) -> None:
    manifest = two_namespaces.manifest()
    manifest["namespaces"] = {"a": {"files": 1, "rows": 4}, "b": {"rows": 4}}
    two_namespaces.marker(manifest)
    assert validate(two_namespaces).problems == []


def test_manifest_mismatches_are_each_reported(two_namespaces: DropBuilder) -> None:
    manifest = two_namespaces.manifest()
    manifest["files"][0]["size"] += 1  # a/part-0.parquet
    manifest["files"][1]["rows"] = 99  # b/part-0.parquet
    manifest["files"].append({"path": "c/part-0.parquet", "size": 10, "rows": 1})
    manifest["total_rows"] = 1000
    manifest["namespaces"] = {"a": {"files": 2}}
    two_namespaces.marker(manifest)
    two_namespaces.add("b/part-1.parquet", good_rows(2, start=50))

    report = validate(two_namespaces)

    assert one(report, "manifest.size_mismatch").file == "a/part-0.parquet"
    assert one(report, "manifest.rows_mismatch").file == "b/part-0.parquet"
    assert one(report, "manifest.missing_file").file == "c/part-0.parquet"
    assert one(report, "manifest.unexpected_file").file == "b/part-1.parquet"
    assert one(report, "manifest.total_rows_mismatch").file == "_SUCCESS"
    assert one(report, "manifest.namespace_mismatch").file == "a/"
    assert not report.valid


@pytest.mark.parametrize("content", [b"", b"   ", b"done\n", b"2026-11-29T05:00:00Z"])
def test_empty_or_plain_marker_means_no_manifest(two_namespaces: DropBuilder, content: bytes) -> None:
    two_namespaces.marker(content)
    assert validate(two_namespaces).problems == []


def test_invalid_json_manifest_names_the_marker(two_namespaces: DropBuilder) -> None:
    two_namespaces.marker(b'{"files": [')
    assert one(validate(two_namespaces), "manifest.invalid_json").file == "_SUCCESS"


def test_manifest_with_wrong_shape_names_the_field(two_namespaces: DropBuilder) -> None:
    two_namespaces.marker({"files": [{"path": "a/part-0.parquet", "rows": -1}]})
    problem = one(validate(two_namespaces), "manifest.invalid")
    assert "files.0.rows" in problem.message


def test_parse_manifest_normalises_paths_and_keeps_error_mode() -> None:
    manifest = parse_manifest(b' {"files": [{"path": "./a/x.parquet"}], "error_mode": "continue", "x": 1}')
    assert manifest is not None
    assert manifest.files is not None
    assert manifest.files[0].path == "a/x.parquet"
    assert manifest.error_mode is not None
    assert manifest.error_mode.value == "continue"
    assert parse_manifest(b"") is None
