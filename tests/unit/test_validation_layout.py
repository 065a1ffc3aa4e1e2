"""Layout rules: namespaces are the immediate subfolders of the drop; everything else is flagged or ignored."""

from __future__ import annotations

from typing import Any

from functions.integrations.storage import LocalStorage
from functions.logic.validation import CODES, codes_markdown, validate_drop
from functions.models.report import Severity, ValidationOptions, ValidationReport
from tests.fixtures.drops import DropBuilder, codes, good_rows, one


def validate(drop: DropBuilder, **kwargs: Any) -> ValidationReport:
    return validate_drop(drop.uri, storage=LocalStorage(), **kwargs)


def test_clean_multi_namespace_drop_is_valid_with_totals(drop: DropBuilder) -> None:
    drop.add("products/part-0.parquet", good_rows(10))
    drop.add("products/part-1.parquet", good_rows(7, start=10))
    drop.add("__default__/part-0.parquet", good_rows(3, start=100))
    drop.marker()

    report = validate(drop)

    assert report.valid, report.problems
    assert report.problems == []
    assert set(report.namespaces) == {"products", "__default__"}
    assert report.namespaces["products"].files == 2
    assert report.namespaces["products"].rows == 17
    assert report.namespaces["__default__"].rows == 3
    assert report.totals.rows == 20
    assert report.totals.files == 3
    assert report.totals.bytes == sum(p.stat().st_size for p in drop.parquet_files())
    assert 0 < report.bytes_read <= report.totals.bytes


def test_empty_drop_is_an_error(drop: DropBuilder) -> None:
    drop.marker()
    report = validate(drop)
    assert not report.valid
    assert one(report, "layout.empty_drop").file == drop.uri


def test_parquet_file_directly_under_uri_has_no_namespace(drop: DropBuilder) -> None:
    drop.add("ns/part-0.parquet")
    drop.add("stray.parquet", good_rows(2, start=50))
    report = validate(drop)
    problem = one(report, "layout.no_namespace")
    assert problem.file == "stray.parquet"
    assert problem.severity is Severity.ERROR
    assert "namespace" in (problem.hint or "")


def test_uri_pointing_at_a_namespace_folder_says_use_the_parent(drop: DropBuilder) -> None:
    drop.add("part-0.parquet")
    drop.add("part-1.parquet", good_rows(3, start=20))
    report = validate(drop)
    problem = one(report, "layout.uri_is_namespace")
    assert problem.file == drop.uri
    assert "parent directory" in (problem.hint or "")
    assert "layout.no_namespace" not in codes(report)


def test_uri_naming_a_parquet_file_is_an_error(drop: DropBuilder) -> None:
    path = drop.add("ns/part-0.parquet")
    report = validate_drop(str(path), storage=LocalStorage())
    assert not report.valid
    assert "parent" in (one(report, "layout.uri_is_file").hint or "")


def test_namespace_without_parquet_is_an_error(drop: DropBuilder) -> None:
    drop.add("good/part-0.parquet")
    drop.add_bytes("empty-ns/readme.txt", b"nothing here")
    report = validate(drop)
    assert one(report, "layout.empty_namespace").file == "empty-ns/"
    assert one(report, "layout.ignored_file").file == "empty-ns/readme.txt"


def test_nested_parquet_is_a_warning_and_other_files_are_info(drop: DropBuilder) -> None:
    drop.add("ns/part-0.parquet")
    drop.add("ns/sub/part-1.parquet", good_rows(2, start=30))
    drop.add_bytes("ns/.part-0.parquet.crc", b"crc")
    drop.add_bytes("notes.log", b"log")
    report = validate(drop)
    assert report.valid
    assert one(report, "layout.nested_file").severity is Severity.WARNING
    assert one(report, "layout.nested_file").file == "ns/sub/part-1.parquet"
    ignored = {p.file for p in report.problems if p.code == "layout.ignored_file"}
    assert ignored == {"ns/.part-0.parquet.crc", "notes.log"}
    assert all(p.severity is Severity.INFO for p in report.problems if p.code == "layout.ignored_file")


def test_marker_and_report_are_ignored_silently(drop: DropBuilder) -> None:
    drop.add("ns/part-0.parquet")
    drop.marker(b"")
    drop.add_bytes("_autoimport_report.json", b'{"old": true}')
    report = validate(drop)
    assert report.problems == []


def test_custom_marker_name_is_honoured(drop: DropBuilder) -> None:
    drop.add("ns/part-0.parquet")
    drop.marker(b"", name="READY")
    report = validate(drop, options=ValidationOptions(marker_name="READY"))
    assert report.problems == []


def test_namespace_name_rules(drop: DropBuilder) -> None:
    drop.add("ok-name_1.2/part-0.parquet")
    drop.add("has space/part-0.parquet", good_rows(2, start=10))
    drop.add("n" * 250 + "/part-0.parquet", good_rows(2, start=20))  # long but legal (> 512: see the S3 test)
    drop.add("tab\tname/part-0.parquet", good_rows(2, start=40))
    report = validate(drop)
    assert one(report, "layout.namespace_unusual").file == "has space/"
    assert one(report, "layout.namespace_unprintable").file == "tab\tname/"
    assert "layout.namespace_too_long" not in codes(report)


def test_every_code_has_a_severity_and_a_hint() -> None:
    for code, (severity, hint) in CODES.items():
        assert code.count(".") == 1, code
        assert isinstance(severity, Severity)
        assert hint.strip(), code


def test_codes_table_lists_every_code() -> None:
    table = codes_markdown()
    assert all(f"`{code}`" in table for code in CODES)
    assert table.count("\n") == len(CODES) + 2


def test_file_uri_works_like_a_path(drop: DropBuilder) -> None:
    drop.add("ns/part-0.parquet")
    report = validate_drop(f"file://{drop.root}", storage=LocalStorage())
    assert report.valid
    assert report.totals.rows == 10


def test_concurrency_does_not_change_the_report(drop: DropBuilder) -> None:
    for n in range(12):
        rows = good_rows(6, start=n * 10)
        rows[n % 6]["id"] = None
        drop.add(f"ns{n % 3}/part-{n}.parquet", rows)
    drop.add_bytes("ns1/broken.parquet", b"PAR1 nope")

    serial = validate(drop, options=ValidationOptions(concurrency=1))
    parallel = validate(drop, options=ValidationOptions(concurrency=16))

    assert serial.problems == parallel.problems
    assert len(serial.problems) == 13
    assert serial.bytes_read == parallel.bytes_read
