"""The small interfaces the logic depends on. Integrations implement them; tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Protocol

from functions.models.handle import DropRef, ImportHandle, LedgerRecord, LedgerState, Outcome
from functions.models.imports import ErrorMode, ImportModel, IndexStats, StartImportResponse
from functions.models.manifest import Manifest
from functions.models.notification import OutgoingMessage
from functions.models.report import ValidationReport
from functions.settings import Route


class PineconeApi(Protocol):
    """The part of ``functions.integrations.pinecone.PineconeClient`` the pipeline uses (one index host)."""

    def start_import(
        self, uri: str, *, error_mode: ErrorMode, integration_id: str | None = None
    ) -> StartImportResponse: ...

    def describe_import(self, import_id: str, /) -> ImportModel: ...

    def list_imports(self, *, limit: int | None = None, max_pages: int = 1000) -> Iterator[ImportModel]: ...

    def cancel_import(self, import_id: str, /) -> None: ...

    def describe_index_stats(self) -> IndexStats: ...


PineconeFactory = Callable[[str], PineconeApi]
"""index host → a client for that index."""

ManifestReader = Callable[[DropRef], Manifest | None]
"""The drop's manifest (JSON in the marker), or None when the marker holds none or it cannot be read."""

Validator = Callable[[DropRef, Route, IndexStats | None], ValidationReport]
"""Validate a drop against the target index (reads footers and a bounded sample); without index stats
only the drop itself is checked."""


class Ledger(Protocol):
    def get(self, drop_id: str) -> LedgerRecord | None: ...

    def claim(
        self, drop: DropRef, *, route: str, index_host: str, now: datetime
    ) -> tuple[LedgerRecord, bool]:
        """Create the drop's record unless one exists; returns (record, created)."""
        ...

    def take_lease(self, drop_id: str, *, now: datetime, until: datetime) -> bool:
        """Become the one delivery allowed to start the drop's import (until ``until``).

        Succeeds only while no import is recorded and no other delivery holds an unexpired lease.
        """
        ...

    def release_lease(self, drop_id: str, *, until: datetime) -> None:
        """Give up a lease taken with ``until`` (a failed attempt lets the next delivery retry at once)."""
        ...

    def record_import(self, handle: ImportHandle, *, now: datetime) -> None:
        """Store the started import (its handle) on the drop record; never overwrite a different import id."""
        ...

    def mark(
        self,
        drop_id: str,
        *,
        state: LedgerState,
        now: datetime,
        execution_arn: str | None = None,
        outcome: Outcome | None = None,
        report_uri: str | None = None,
    ) -> None: ...

    def is_tracked(self, index_host: str, import_id: str) -> bool:
        """Whether a drop record holds this import (the reconciler leaves those alone)."""
        ...


class Notifier(Protocol):
    def publish(self, message: OutgoingMessage) -> None:
        """Publish to SNS and EventBridge; raise a retryable error when either did not take it."""
        ...


class Workflow(Protocol):
    def start(self, name: str, payload: dict[str, object]) -> str:
        """Start (or find, when the name is taken) the tracking execution; returns its ARN."""
        ...


class ReportWriter(Protocol):
    def write_json(self, bucket: str, key: str, body: bytes) -> str:
        """Write a small JSON object; returns its ``s3://`` URI."""
        ...
