"""Storage: local directories, URI handling and how S3 errors become the project's storage errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.errors import StorageAccessDenied, StorageNotFound, StorageUnavailable
from functions.integrations.storage import (
    LocalStorage,
    S3Storage,
    _map_client_error,
    join_uri,
    open_storage,
    parse_s3_uri,
)
from functions.logic.validation import validate_drop
from functions.models.report import ValidationOptions
from tests.fixtures.drops import DropBuilder, good_rows


def client_error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Op")


def test_open_storage_picks_by_scheme(tmp_path: Path) -> None:
    assert isinstance(open_storage(str(tmp_path)), LocalStorage)
    assert isinstance(open_storage(f"file://{tmp_path}"), LocalStorage)
    assert isinstance(open_storage("s3://bucket/drop/", endpoint_url="http://127.0.0.1:1"), S3Storage)
    with pytest.raises(StorageNotFound, match="unsupported"):
        open_storage("gs://bucket/drop/")


def test_uri_helpers() -> None:
    assert parse_s3_uri("s3://b/imports/d1/") == ("b", "imports/d1/")
    assert join_uri("s3://b/imports/d1", "ns/a.parquet") == "s3://b/imports/d1/ns/a.parquet"
    assert join_uri("/data/drop/", "ns/a.parquet") == "/data/drop/ns/a.parquet"
    with pytest.raises(StorageNotFound):
        parse_s3_uri("s3:///no-bucket")


def test_local_listing_is_sorted_relative_and_bounded(tmp_path: Path) -> None:
    for name in ("b/2.parquet", "a/1.parquet", "a/sub/3.parquet", "_SUCCESS"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"12345")
    storage = LocalStorage()

    listing = storage.list_objects(f"file://{tmp_path}", max_objects=10)
    bounded = storage.list_objects(str(tmp_path), max_objects=2)

    assert [o.key for o in listing.objects] == ["_SUCCESS", "a/1.parquet", "a/sub/3.parquet", "b/2.parquet"]
    assert all(o.size == 5 and o.etag for o in listing.objects)
    assert not listing.truncated
    assert len(bounded.objects) == 2
    assert bounded.truncated


def test_local_read_write_and_errors(tmp_path: Path) -> None:
    storage = LocalStorage()
    target = str(tmp_path / "out" / "_autoimport_report.json")
    storage.write_object(target, b'{"valid": true}')
    assert storage.read_object(target) == b'{"valid": true}'
    assert storage.read_range(target, 2, 5) == b"valid"
    assert storage.read_object(target, max_bytes=3) == b'{"v'
    with pytest.raises(StorageNotFound, match="missing"):
        storage.read_range(str(tmp_path / "missing"), 0, 10)
    with pytest.raises(StorageNotFound, match="no such directory"):
        storage.list_objects(str(tmp_path / "nope"), max_objects=10)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AccessDenied", 403, StorageAccessDenied),
        ("InvalidAccessKeyId", 403, StorageAccessDenied),
        ("NoSuchBucket", 404, StorageNotFound),
        ("NoSuchKey", 404, StorageNotFound),
        ("SlowDown", 503, StorageUnavailable),
        ("InternalError", 500, StorageUnavailable),
        ("InvalidRequest", 400, StorageNotFound),
    ],
)
def test_s3_errors_map_to_storage_errors_naming_the_object(code: str, status: int, expected: type) -> None:
    error = _map_client_error(
        client_error(code, status), action="read", bucket="drops", key="imports/d1/a.parquet"
    )
    assert type(error) is expected
    assert "s3://drops/imports/d1/a.parquet" in error.message
    assert error.hint
    assert error.retryable is (expected is StorageUnavailable)


class FlakyStorage(LocalStorage):
    """Local storage whose reads of one file fail like S3 under throttling or with access denied."""

    def __init__(self, failing: str, error: Exception) -> None:
        self.failing = failing
        self.error = error

    def read_range(self, uri: str, start: int, length: int) -> bytes:
        if uri.endswith(self.failing):
            raise self.error
        return super().read_range(uri, start, length)


def test_a_storage_outage_during_footer_reads_is_raised_not_reported(tmp_path: Path) -> None:
    drop = DropBuilder(tmp_path / "drop")
    for n in range(6):
        drop.add(f"ns/part-{n}.parquet", good_rows(3, start=n * 3))
    storage = FlakyStorage("part-4.parquet", StorageUnavailable("read s3://b/ns/part-4.parquet: SlowDown"))

    with pytest.raises(StorageUnavailable, match="part-4"):
        validate_drop(drop.uri, storage=storage, options=ValidationOptions(concurrency=3))


def test_a_file_that_cannot_be_read_is_reported_with_its_name(tmp_path: Path) -> None:
    drop = DropBuilder(tmp_path / "drop")
    drop.add("ns/part-0.parquet")
    drop.add("ns/part-1.parquet", good_rows(3, start=50))
    storage = FlakyStorage(
        "part-1.parquet", StorageAccessDenied("read s3://b/ns/part-1.parquet: access denied")
    )

    report = validate_drop(drop.uri, storage=storage)

    problem = [p for p in report.problems if p.code == "file.unreadable"]
    assert [(p.file, p.severity.value) for p in problem] == [("ns/part-1.parquet", "error")]
    assert "access denied" in problem[0].message
    assert report.namespaces["ns"].rows == 10
