"""Where an import reads its files from: an S3-compatible endpoint (s3://) or a local directory (file://)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

SUPPORTED_SCHEMES = ("s3://", "gs://", "https://", "file://")
_MAX_LIST_PAGES = 1_000  # 1,000 pages x 1,000 keys: the documented 100,000-file limit with room to spare


class SourceError(Exception):
    """The files under the URI could not be listed or read."""


@dataclass(frozen=True)
class StoredFile:
    relative: str  # path below the URI, '/'-separated, no leading '/'
    size: int


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None


class FileSource(Protocol):
    uri: str

    def display(self, relative: str) -> str: ...

    def object_name(self, relative: str) -> str: ...

    def is_single_file(self) -> bool: ...

    def list_files(self) -> list[StoredFile]: ...

    def read(self, relative: str) -> bytes: ...


def is_supported_uri(uri: str) -> bool:
    if uri.startswith("https://"):
        return ".blob.core.windows.net/" in uri
    return uri.startswith(SUPPORTED_SCHEMES)


def open_source(uri: str, s3: S3Settings) -> FileSource:
    if uri.startswith("s3://"):
        return S3Source(uri, s3)
    if uri.startswith("file://"):
        return LocalSource(uri)
    raise SourceError(
        f"The emulator cannot read {uri.split('://', 1)[0]}:// URIs; use s3:// (via the configured S3 endpoint) "
        "or file://"
    )


class LocalSource:
    def __init__(self, uri: str) -> None:
        self.uri = uri
        parts = urlsplit(uri)
        self._path = Path(unquote(parts.netloc + parts.path) if parts.netloc else unquote(parts.path))

    def display(self, relative: str) -> str:
        return "/" + relative

    def object_name(self, relative: str) -> str:
        return f"{self._path.name}/{relative}"

    def is_single_file(self) -> bool:
        return self._path.is_file()

    def list_files(self) -> list[StoredFile]:
        if not self._path.is_dir():
            return []
        return sorted(
            (
                StoredFile(relative=p.relative_to(self._path).as_posix(), size=p.stat().st_size)
                for p in self._path.rglob("*")
                if p.is_file()
            ),
            key=lambda f: f.relative,
        )

    def read(self, relative: str) -> bytes:
        try:
            return (self._path / relative).read_bytes()
        except OSError as exc:
            raise SourceError(f"Cannot read {self._path / relative}: {exc.strerror}") from exc


class S3Source:
    def __init__(self, uri: str, settings: S3Settings) -> None:
        self.uri = uri
        parts = urlsplit(uri)
        self.bucket = parts.netloc
        self.key = parts.path.lstrip("/")
        self._prefix = self.key.rstrip("/") + "/" if self.key.rstrip("/") else ""
        kwargs: dict[str, Any] = {
            "region_name": settings.region,
            "config": Config(
                connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}
            ),
        }
        if settings.endpoint_url:
            kwargs["endpoint_url"] = settings.endpoint_url
        if settings.access_key_id and settings.secret_access_key:
            kwargs["aws_access_key_id"] = settings.access_key_id
            kwargs["aws_secret_access_key"] = settings.secret_access_key
        self._client = boto3.client("s3", **kwargs)

    def display(self, relative: str) -> str:
        return "/" + relative

    def object_name(self, relative: str) -> str:
        return self._prefix + relative

    def is_single_file(self) -> bool:
        if not self.key or self.key.endswith("/"):
            return False
        try:
            self._client.head_object(Bucket=self.bucket, Key=self.key)
        except ClientError:
            return False
        except BotoCoreError as exc:
            raise SourceError(f"Cannot reach the S3 endpoint for {self.uri}: {exc}") from exc
        return True

    def list_files(self) -> list[StoredFile]:
        files: list[StoredFile] = []
        token: str | None = None
        try:
            for _ in range(_MAX_LIST_PAGES):
                kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._prefix}
                if token:
                    kwargs["ContinuationToken"] = token
                page = self._client.list_objects_v2(**kwargs)
                for item in page.get("Contents", []):
                    relative = item["Key"][len(self._prefix) :]
                    if relative and not relative.endswith("/"):
                        files.append(StoredFile(relative=relative, size=int(item.get("Size", 0))))
                token = page.get("NextContinuationToken")
                if not token:
                    break
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Error")
            raise SourceError(f"Cannot list {self.uri}: {code}") from exc
        except BotoCoreError as exc:
            raise SourceError(f"Cannot reach the S3 endpoint for {self.uri}: {exc}") from exc
        return sorted(files, key=lambda f: f.relative)

    def read(self, relative: str) -> bytes:
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=self._prefix + relative)["Body"]
            return bytes(body.read())
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Error")
            raise SourceError(f"Cannot read s3://{self.bucket}/{self._prefix}{relative}: {code}") from exc
        except BotoCoreError as exc:
            raise SourceError(f"Cannot reach the S3 endpoint for {self.uri}: {exc}") from exc
