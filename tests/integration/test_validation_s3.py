"""The validator against a real moto S3 server over HTTP: listing, ranged reads, errors and the report."""

from __future__ import annotations

from collections.abc import Callable

import boto3
import pyarrow as pa
import pytest
from botocore.config import Config

from functions.errors import StorageNotFound, StorageUnavailable
from functions.integrations.retry import RetryPolicy
from functions.integrations.storage import S3Storage, open_storage
from functions.logic.validation import validate_drop
from functions.models.imports import IndexStats, NamespaceStats
from functions.models.report import ValidationReport
from tests.fixtures.drops import DropBuilder, good_rows, one, vector_table
from tests.fixtures.moto import MotoServer, free_port

MiB = 1024 * 1024
Upload = Callable[[DropBuilder, str], str]


def test_clean_multi_namespace_drop_is_valid_with_totals(drop: DropBuilder, upload_drop: Upload) -> None:
    drop.add("products/part-0.parquet", good_rows(30))
    drop.add("products/part-1.parquet", good_rows(20, start=30))
    drop.add("reviews/part-0.parquet", good_rows(12, start=100, sparse=True))
    drop.add("__default__/part-0.parquet", good_rows(5, start=200))
    drop.marker(drop.manifest())
    uri = upload_drop(drop, "imports/2026-11-29/")

    report = validate_drop(uri, storage=open_storage(uri), index=IndexStats(dimension=8, vector_type="dense"))

    assert report.valid, report.problems
    assert report.problems == []
    assert {ns: (t.files, t.rows) for ns, t in report.namespaces.items()} == {
        "products": (2, 50),
        "reviews": (1, 12),
        "__default__": (1, 5),
    }
    assert report.totals.rows == 67
    assert report.totals.bytes == sum(p.stat().st_size for p in drop.parquet_files())
    assert report.bytes_read > 0


def test_planted_problems_are_each_reported_with_their_file(drop: DropBuilder, upload_drop: Upload) -> None:
    drop.add("good/part-0.parquet", good_rows(10))
    rows = good_rows(10, start=100)
    rows[1]["id"] = None
    rows[2]["values"] = [0.5] * 7
    rows[3]["metadata"] = "{broken"
    rows[4]["values"] = [0.0] * 8
    rows[5]["values"] = [float("nan")] + [0.5] * 7
    rows[6]["id"] = "id-102"  # repeats row 2
    drop.add("rows/part-0.parquet", rows)
    drop.add("schema/no-id.parquet", pa.table({"values": pa.array([[0.5] * 8], pa.list_(pa.float32()))}))
    drop.add(
        "schema/extra.parquet",
        pa.table(
            {
                "id": pa.array(["e-1"]),
                "values": pa.array([[0.25] * 8], pa.list_(pa.float32())),
                "blob": pa.array(["x"]),
            }
        ),
    )
    drop.add_bytes("schema/garbage.parquet", b"this is not parquet")
    drop.add_bytes("schema/empty.parquet", b"")
    drop.add("stray.parquet", good_rows(2, start=300))
    drop.add_bytes("empty-ns/notes.txt", b"hello")
    drop.add("existing/part-0.parquet", good_rows(3, start=400))
    drop.marker({"files": [{"path": "good/part-0.parquet", "rows": 10}, {"path": "gone/part-9.parquet"}]})
    uri = upload_drop(drop, "imports/bad-drop/")
    s3 = boto3.client("s3")
    bucket = uri.split("/")[2]
    s3.put_object(
        Bucket=bucket,
        Key=f"imports/bad-drop/{'n' * 513}/part-0.parquet",
        Body=drop.path("good/part-0.parquet").read_bytes(),
    )

    index = IndexStats(
        dimension=8, vector_type="dense", namespaces={"existing": NamespaceStats(vector_count=5)}
    )
    report = validate_drop(uri, storage=open_storage(uri), index=index)

    expected = {
        "row.missing_id": "rows/part-0.parquet",
        "row.dimension_mismatch": "rows/part-0.parquet",
        "row.metadata_invalid_json": "rows/part-0.parquet",
        "row.zero_vector": "rows/part-0.parquet",
        "row.non_finite": "rows/part-0.parquet",
        "row.duplicate_id": "rows/part-0.parquet",
        "schema.missing_column": "schema/no-id.parquet",
        "schema.extra_column": "schema/extra.parquet",
        "file.unreadable_footer": "schema/garbage.parquet",
        "file.zero_bytes": "schema/empty.parquet",
        "layout.no_namespace": "stray.parquet",
        "layout.empty_namespace": "empty-ns/",
        "layout.namespace_too_long": "n" * 513 + "/",
        "index.namespace_exists": "existing/",
        "manifest.missing_file": "gone/part-9.parquet",
    }
    found = {(p.code, p.file) for p in report.problems}
    missing = {code: file for code, file in expected.items() if (code, file) not in found}
    assert not missing, f"not reported: {missing}; got {sorted(found, key=str)}"
    assert one(report, "row.missing_id").row == 1
    assert one(report, "row.dimension_mismatch").row == 2
    assert not report.valid
    assert report.problems == sorted(
        report.problems,
        key=lambda p: (p.file or "", -1 if p.row is None else p.row, p.code, p.column or "", p.message),
    )


def _bytes_read_for(
    drop: DropBuilder, upload_drop: Upload, rows: int, prefix: str
) -> tuple[int, ValidationReport]:
    drop.add(f"{prefix}/ns/part-0.parquet", vector_table(rows, 768))
    uri = upload_drop(DropBuilder(drop.root / prefix), f"imports/{prefix}/")
    report = validate_drop(uri, storage=open_storage(uri), dimension=768)
    return report.bytes_read, report


def test_bytes_read_do_not_grow_with_file_size(drop: DropBuilder, upload_drop: Upload) -> None:
    small_read, small = _bytes_read_for(drop, upload_drop, 300, "small")  # ~1 MiB
    large_read, large = _bytes_read_for(drop, upload_drop, 20_000, "large")  # ~60 MiB

    assert small.valid, small.problems
    assert large.valid, large.problems
    assert large.totals.bytes > 50 * MiB
    assert large_read < 4 * MiB
    assert large_read <= 3 * max(small_read, MiB)


def test_report_can_be_written_next_to_the_marker(drop: DropBuilder, upload_drop: Upload) -> None:
    drop.add("ns/part-0.parquet")
    uri = upload_drop(drop, "imports/with-report/")
    storage = open_storage(uri)
    report = validate_drop(uri, storage=storage)

    storage.write_object(uri + "_autoimport_report.json", report.model_dump_json().encode())

    again = validate_drop(uri, storage=storage)
    assert again.problems == []  # the report itself is ignored
    stored = ValidationReport.model_validate_json(storage.read_object(uri + "_autoimport_report.json"))
    assert stored.totals.rows == 10


def test_missing_bucket_raises_not_found(aws_env: MotoServer) -> None:
    with pytest.raises(StorageNotFound, match="s3://no-such-bucket-"):
        validate_drop(
            "s3://no-such-bucket-x1/imports/d/", storage=S3Storage(endpoint_url=aws_env.endpoint_url)
        )


def test_unreachable_endpoint_is_retryable_unavailable() -> None:
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1, "mode": "standard"}),
    )
    storage = S3Storage(
        s3_client=client, retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02)
    )
    with pytest.raises(StorageUnavailable) as info:
        validate_drop("s3://drops/imports/d/", storage=storage)
    assert info.value.retryable
    assert info.value.details.get("attempts") == 2
    assert "s3://drops/imports/d/" in info.value.message


def test_small_objects_round_trip_and_an_empty_marker_reads_as_empty(
    aws_env: MotoServer, s3_bucket: str
) -> None:
    storage = S3Storage(endpoint_url=aws_env.endpoint_url)
    aws_env.client("s3").put_object(Bucket=s3_bucket, Key="imports/d/_SUCCESS", Body=b"")
    storage.write_object(f"s3://{s3_bucket}/imports/d/_autoimport_report.json", b'{"valid": false}')

    assert storage.read_object(f"s3://{s3_bucket}/imports/d/_SUCCESS") == b""
    assert storage.read_object(f"s3://{s3_bucket}/imports/d/_autoimport_report.json") == b'{"valid": false}'
    assert storage.read_range(f"s3://{s3_bucket}/imports/d/_autoimport_report.json", 2, 5) == b"valid"
    listing = storage.list_objects(f"s3://{s3_bucket}/imports/d", max_objects=1)
    assert [o.key for o in listing.objects] == ["_SUCCESS"]
    assert listing.truncated
    with pytest.raises(StorageNotFound, match="not found"):
        storage.read_object(f"s3://{s3_bucket}/imports/d/missing")
