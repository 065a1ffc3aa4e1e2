"""Typed models of Pinecone's bulk-import API (wire format is camelCase; Python attributes are snake_case)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """Base for Pinecone wire models: camelCase aliases, extra fields tolerated, populate by name."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_wire(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ImportStatus(StrEnum):
    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"

    @property
    def terminal(self) -> bool:
        return self in (ImportStatus.FAILED, ImportStatus.COMPLETED, ImportStatus.CANCELLED)


class ErrorMode(StrEnum):
    ABORT = "abort"
    CONTINUE = "continue"


class ValidationResult(WireModel):
    """2026-07 only: counts of records that passed and failed Pinecone's own validation."""

    import_successes: int | None = None
    import_errors: int | None = None


class ImportModel(WireModel):
    """One import operation as ``describe_import`` / ``list_imports`` return it."""

    id: str
    uri: str
    status: str  # one of ImportStatus, kept as str so an unknown future status does not break parsing
    created_at: str | None = None
    finished_at: str | None = None
    percent_complete: float | None = None
    records_imported: int | None = None
    error: str | None = None
    validation_result: ValidationResult | None = None

    @property
    def known_status(self) -> ImportStatus | None:
        try:
            return ImportStatus(self.status)
        except ValueError:
            return None

    @property
    def is_terminal(self) -> bool:
        status = self.known_status
        return status is not None and status.terminal


class StartImportRequest(WireModel):
    uri: str = Field(min_length=1, max_length=1500)
    integration_id: str | None = Field(default=None, max_length=1000)
    error_mode: ErrorMode

    def to_wire(self) -> dict[str, object]:
        body: dict[str, object] = {"uri": self.uri, "errorMode": {"onError": self.error_mode.value}}
        if self.integration_id:
            body["integrationId"] = self.integration_id
        return body


class StartImportResponse(WireModel):
    id: str


class ImportPage(WireModel):
    """One page of ``list_imports``; ``next_token`` is the opaque ``pagination.next`` (None on the last page)."""

    data: list[ImportModel] = Field(default_factory=list)
    next_token: str | None = None


class NamespaceStats(WireModel):
    vector_count: int = 0


class IndexStats(WireModel):
    """``describe_index_stats``: what the validator and the reconciler need to know about the target index."""

    dimension: int | None = None
    vector_type: str | None = None  # "dense" | "sparse" (absent on older API versions: assume dense)
    metric: str | None = None
    total_vector_count: int = 0
    namespaces: dict[str, NamespaceStats] = Field(default_factory=dict)

    @property
    def is_sparse(self) -> bool:
        return (self.vector_type or "dense") == "sparse"
