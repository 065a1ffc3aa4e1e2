"""The one structured message every ending produces (SNS body and EventBridge ``detail``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from functions.models.handle import DropRef, Outcome

DETAIL_TYPES: dict[Outcome, str] = {
    Outcome.COMPLETED: "Import Completed",
    Outcome.FAILED: "Import Failed",
    Outcome.CANCELLED: "Import Cancelled",
    Outcome.TIMED_OUT: "Import Timed Out",
    Outcome.REJECTED: "Import Rejected",
    Outcome.PIPELINE_ERROR: "Import Pipeline Error",
}
"""EventBridge ``detail-type`` per outcome (source ``pinecone.autoimport``)."""


class NamespaceCount(BaseModel):
    namespace: str
    expected_rows: int | None = None
    in_index: int | None = None
    """Vector count ``describe_index_stats`` reports for the namespace (None when it was not read)."""
    missing: int | None = None
    """expected - in_index when both are known and positive: rows that did not arrive."""


class Reconciliation(BaseModel):
    expected_rows: int | None = None
    records_imported: int | None = None
    skipped_rows: int | None = None
    """expected - records_imported: in ``continue`` mode these were skipped silently by Pinecone."""
    index_rows: int | None = None
    namespaces: list[NamespaceCount] = Field(default_factory=list)
    consistent: bool | None = None
    """True when every count agrees; False when rows are missing; None when counts were not available."""


class Notification(BaseModel):
    outcome: Outcome
    summary: str
    """One readable sentence, also the start of the SNS subject."""
    route: str
    index: str
    index_host: str
    drop: DropRef
    import_id: str | None = None
    status: str | None = None
    error_mode: str | None = None
    error: str | None = None
    """Pinecone's error text or the pipeline's error message; never a traceback."""
    error_type: str | None = None
    hint: str | None = None
    report_uri: str | None = None
    problems: list[str] = Field(default_factory=list)
    """For a rejected drop: the first problems of the report, one line each."""
    reconciliation: Reconciliation = Field(default_factory=Reconciliation)
    warnings: list[str] = Field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime
    duration_s: float | None = None
    adopted: bool = False

    @property
    def detail_type(self) -> str:
        return DETAIL_TYPES[self.outcome]


class OutgoingMessage(BaseModel):
    """A notification rendered for the wire: the SNS publish and the EventBridge entry."""

    subject: str = Field(max_length=100)
    body: str
    attributes: dict[str, str]
    source: str
    detail_type: str
    detail: str
