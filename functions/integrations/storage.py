"""Object storage behind one small interface: S3 (boto3) and plain local directories.

Everything is addressed by URI: ``s3://bucket/key`` or a local path (``/data/drop/ns/a.parquet`` or
``file:///data/drop/ns/a.parquet``). :func:`open_storage` picks the implementation from the URI.

Every S3 call has explicit connect/read timeouts and bounded retries: botocore's "standard" mode retries
throttling and 5xx with jittered backoff, and :func:`~functions.integrations.retry.call_with_retry` adds bounded
jittered retries for connection drops while a body is streamed. Failures surface as the project's storage errors:
:class:`StorageUnavailable` (retryable), :class:`StorageAccessDenied`, :class:`StorageNotFound` (terminal), each
naming the bucket/key and what to do.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from functions.errors import StorageAccessDenied, StorageError, StorageNotFound, StorageUnavailable
from functions.integrations.retry import RetryPolicy, call_with_retry

T = TypeVar("T")

DEFAULT_MAX_OBJECT_BYTES = 1024 * 1024
""":meth:`Storage.read_object` reads at most this much (markers, manifests and reports are small)."""

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
MAX_POOL_CONNECTIONS = 64
LIST_PAGE_SIZE = 1000

DEFAULT_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.2, max_delay_s=2.0, max_elapsed_s=20.0)


@dataclass(frozen=True)
class StoredObject:
    """One object under a listed prefix."""

    key: str
    """Path relative to the listed prefix, ``/``-separated (``ns/part-0.parquet``)."""
    size: int
    etag: str


@dataclass(frozen=True)
class Listing:
    objects: list[StoredObject]
    truncated: bool
    """True when more than ``max_objects`` objects exist: the listing stopped there."""


class Storage(Protocol):
    """What the validator (and the report writer) need from an object store."""

    def list_objects(self, prefix_uri: str, *, max_objects: int) -> Listing:
        """Objects under ``prefix_uri`` (treated as a folder), at most ``max_objects``, sorted by key."""
        ...

    def read_range(self, uri: str, start: int, length: int) -> bytes:
        """``length`` bytes of one object from offset ``start`` (fewer only at the end of the object)."""
        ...

    def read_object(self, uri: str, *, max_bytes: int = DEFAULT_MAX_OBJECT_BYTES) -> bytes:
        """A small object, whole (at most ``max_bytes``: the rest is not read)."""
        ...

    def write_object(self, uri: str, data: bytes, *, content_type: str = "application/json") -> None:
        """Create or replace a small object."""
        ...


def join_uri(prefix_uri: str, key: str) -> str:
    """``s3://b/drop/`` + ``ns/a.parquet`` → ``s3://b/drop/ns/a.parquet`` (works for local paths too)."""
    return folder_uri(prefix_uri) + key.lstrip("/")


def folder_uri(uri: str) -> str:
    """The URI with exactly one trailing ``/`` (a prefix is always a folder here)."""
    return uri.rstrip("/") + "/"


def is_s3_uri(uri: str) -> bool:
    return uri.startswith("s3://")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` → ``("bucket", "some/key")``."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise StorageNotFound(
            f"{uri!r} is not an S3 URI",
            hint="Use the form s3://BUCKET/PREFIX/ (the drop folder that holds one folder per namespace).",
        )
    return parsed.netloc, parsed.path.lstrip("/")


def local_path(uri: str) -> Path:
    """A local path from ``file:///x`` or a plain path."""
    if uri.startswith("file://"):
        parsed = urlparse(uri)
        return Path(unquote(parsed.path))
    return Path(uri)


def open_storage(uri: str, *, endpoint_url: str | None = None, region: str | None = None) -> Storage:
    """The storage that serves ``uri``: :class:`S3Storage` for ``s3://``, :class:`LocalStorage` otherwise.

    ``endpoint_url`` (e.g. a moto server) overrides boto3's own resolution, which already honours
    ``AWS_ENDPOINT_URL``. The boto3 client is created once per (endpoint_url, region) and process, so a Lambda
    reuses its connections across invocations.
    """
    if is_s3_uri(uri):
        return S3Storage(endpoint_url=endpoint_url, region=region)
    scheme = urlparse(uri).scheme
    if scheme not in ("", "file") and len(scheme) > 1:  # len 1: a Windows drive letter
        raise StorageNotFound(
            f"unsupported storage URI {uri!r}",
            hint="Use s3://BUCKET/PREFIX/ or a local directory path (file:// URIs work too).",
        )
    return LocalStorage()


# --- S3 ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _default_s3_client(endpoint_url: str | None, region: str | None) -> Any:
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": 3, "mode": "standard"},
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


_THROTTLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestLimitExceeded",
        "ServiceUnavailable",
    }
)
_NOT_FOUND_CODES = frozenset({"NoSuchBucket", "NoSuchKey", "NotFound", "404", "NoSuchUpload"})
_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "403",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "AllAccessDisabled",
    }
)


def _map_client_error(exc: ClientError, *, action: str, bucket: str, key: str) -> StorageError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    where = f"s3://{bucket}/{key}"
    if code in _DENIED_CODES or status in (401, 403):
        return StorageAccessDenied(
            f"{action} {where}: access denied ({code or status})",
            hint=f"Allow s3:ListBucket on bucket {bucket!r} and s3:GetObject/s3:PutObject on this prefix "
            "for the role or credentials running autoimport.",
            bucket=bucket,
            key=key,
        )
    if code in _NOT_FOUND_CODES or status == 404:
        what = "bucket" if code == "NoSuchBucket" else "object"
        return StorageNotFound(
            f"{action} {where}: {what} not found ({code or status})",
            hint="Check the bucket name, the region/endpoint and that the object was not deleted meanwhile.",
            bucket=bucket,
            key=key,
        )
    if code in _THROTTLE_CODES or status >= 500 or status == 429:
        return StorageUnavailable(
            f"{action} {where}: S3 is throttling or unavailable ({code or status})",
            hint="Transient: retry later.",
            bucket=bucket,
            key=key,
        )
    return StorageNotFound(
        f"{action} {where}: S3 refused the request ({code or status}: {error.get('Message', '')})",
        hint="Check the URI, bucket region and endpoint.",
        bucket=bucket,
        key=key,
    )


class S3Storage:
    """:class:`Storage` over S3 with boto3 (ranged GETs, bounded paginated listing)."""

    def __init__(
        self,
        *,
        s3_client: Any | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._client = s3_client if s3_client is not None else _default_s3_client(endpoint_url, region)
        self._retry = retry

    def _call(self, action: str, bucket: str, key: str, fn: Callable[[], T]) -> T:
        def attempt() -> T:
            try:
                return fn()
            except ClientError as exc:
                raise _map_client_error(exc, action=action, bucket=bucket, key=key) from exc
            except (NoCredentialsError, PartialCredentialsError) as exc:
                raise StorageAccessDenied(
                    f"{action} s3://{bucket}/{key}: no AWS credentials found",
                    hint="Configure AWS credentials (environment, profile or role) for autoimport.",
                ) from exc
            except BotoCoreError as exc:  # connection errors, timeouts, body streaming errors
                raise StorageUnavailable(
                    f"{action} s3://{bucket}/{key}: could not reach S3 ({type(exc).__name__})",
                    hint="Transient or a wrong endpoint: check network access / AWS_ENDPOINT_URL and retry.",
                    bucket=bucket,
                    key=key,
                ) from exc

        return call_with_retry(attempt, policy=self._retry, what=f"{action} s3://{bucket}/{key}")

    def list_objects(self, prefix_uri: str, *, max_objects: int) -> Listing:
        bucket, prefix = parse_s3_uri(folder_uri(prefix_uri))
        if prefix == "/":
            prefix = ""

        def run() -> Listing:
            paginator = self._client.get_paginator("list_objects_v2")
            pages = paginator.paginate(
                Bucket=bucket,
                Prefix=prefix,
                PaginationConfig={
                    "MaxItems": max_objects + 1,
                    "PageSize": min(LIST_PAGE_SIZE, max_objects + 1),
                },
            )
            objects: list[StoredObject] = []
            for page in pages:  # bounded by MaxItems
                for item in page.get("Contents", []):
                    objects.append(
                        StoredObject(
                            key=item["Key"][len(prefix) :],
                            size=int(item.get("Size", 0)),
                            etag=str(item.get("ETag", "")).strip('"'),
                        )
                    )
            truncated = len(objects) > max_objects
            return Listing(objects=sorted(objects[:max_objects], key=lambda o: o.key), truncated=truncated)

        return self._call("list", bucket, prefix, run)

    def read_range(self, uri: str, start: int, length: int) -> bytes:
        bucket, key = parse_s3_uri(uri)
        if length <= 0:
            return b""

        def run() -> bytes:
            try:
                response = self._client.get_object(
                    Bucket=bucket, Key=key, Range=f"bytes={start}-{start + length - 1}"
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                    return b""  # the range starts at or past the end (e.g. any range of an empty object)
                raise
            body = response["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()

        return self._call("read", bucket, key, run)

    def read_object(self, uri: str, *, max_bytes: int = DEFAULT_MAX_OBJECT_BYTES) -> bytes:
        return self.read_range(uri, 0, max_bytes)

    def write_object(self, uri: str, data: bytes, *, content_type: str = "application/json") -> None:
        bucket, key = parse_s3_uri(uri)
        self._call(
            "write",
            bucket,
            key,
            lambda: self._client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type),
        )


# --- local directories ------------------------------------------------------------------------------


def _map_os_error(exc: OSError, *, action: str, path: Path) -> StorageError:
    if isinstance(exc, FileNotFoundError | NotADirectoryError | IsADirectoryError):
        return StorageNotFound(
            f"{action} {path}: not found", hint="Check the path; the file may have been moved or deleted."
        )
    if isinstance(exc, PermissionError):
        return StorageAccessDenied(
            f"{action} {path}: permission denied", hint="Make the file readable (and the folder writable)."
        )
    return StorageUnavailable(f"{action} {path}: {exc.strerror or type(exc).__name__}", hint="Retry later.")


class LocalStorage:
    """:class:`Storage` over plain directories (the CLI, the demo and unit tests)."""

    def list_objects(self, prefix_uri: str, *, max_objects: int) -> Listing:
        root = local_path(prefix_uri)
        if not root.is_dir():
            if root.exists():
                return Listing(objects=[], truncated=False)
            raise StorageNotFound(
                f"list {root}: no such directory", hint="Point the URI at an existing drop directory."
            )
        objects: list[StoredObject] = []
        truncated = False
        try:
            for dirpath, dirnames, filenames in os.walk(root):  # bounded: stops after max_objects files
                dirnames.sort()
                for name in sorted(filenames):
                    if len(objects) >= max_objects:
                        truncated = True
                        break
                    path = Path(dirpath) / name
                    stat = path.stat()
                    objects.append(
                        StoredObject(
                            key=path.relative_to(root).as_posix(),
                            size=stat.st_size,
                            etag=f"{stat.st_mtime_ns:x}-{stat.st_size:x}",
                        )
                    )
                if truncated:
                    break
        except OSError as exc:
            raise _map_os_error(exc, action="list", path=root) from exc
        return Listing(objects=sorted(objects, key=lambda o: o.key), truncated=truncated)

    def read_range(self, uri: str, start: int, length: int) -> bytes:
        path = local_path(uri)
        if length <= 0:
            return b""
        try:
            with path.open("rb") as handle:
                handle.seek(start)
                return handle.read(length)
        except OSError as exc:
            raise _map_os_error(exc, action="read", path=path) from exc

    def read_object(self, uri: str, *, max_bytes: int = DEFAULT_MAX_OBJECT_BYTES) -> bytes:
        return self.read_range(uri, 0, max_bytes)

    def write_object(self, uri: str, data: bytes, *, content_type: str = "application/json") -> None:
        path = local_path(uri)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise _map_os_error(exc, action="write", path=path) from exc
