"""The import handle: the Step Functions execution input, returned updated by every task.

The field names are a contract with the state machine (``infra/``): the Wait state reads ``next_wait_s``,
the Choice state reads ``action``, and a failed task's ``Catch`` puts ``{Error, Cause}`` in ``pipeline_error``.
Never put a secret in here: the handle is visible in the Step Functions console.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from functions.models.imports import ErrorMode


class Action(StrEnum):
    WAIT = "wait"
    FINALIZE = "finalize"
    CANCEL = "cancel"


class Outcome(StrEnum):
    """How a drop ended. Each maps to one EventBridge detail-type and one SNS ``outcome`` attribute."""

    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    TIMED_OUT = "TimedOut"
    REJECTED = "Rejected"
    PIPELINE_ERROR = "PipelineError"


class DropRef(BaseModel):
    """Where a drop lives and what identifies it (bucket, drop prefix, marker ETag / version)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    bucket: str
    prefix: str
    """The drop folder's key prefix, ending in ``/`` (for example ``imports/2026-11-29/``)."""
    uri: str
    """``s3://<bucket>/<prefix>``: what Pinecone is asked to import."""
    marker_key: str
    marker_etag: str | None = None
    marker_version_id: str | None = None
    drop_id: str


class PipelineErrorInfo(BaseModel):
    """What a Step Functions ``Catch`` hands to Finalize: the error class name and its cause text."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    error: str = Field(default="Unknown", alias="Error")
    cause: str | None = Field(default=None, alias="Cause")


class ImportHandle(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    import_id: str | None = None
    index_host: str
    index_name: str | None = None
    route: str
    drop: DropRef
    error_mode: ErrorMode = ErrorMode.ABORT
    expected_rows: int | None = None
    expected_namespaces: dict[str, int] = Field(default_factory=dict)
    started_at: datetime
    deadline_at: datetime
    next_wait_s: int = 0
    attempt: int = 0
    status: str | None = None
    percent_complete: float | None = None
    records_imported: int | None = None
    eta_s: int | None = None
    action: Action = Action.WAIT
    outcome: Outcome | None = None
    error: str | None = None
    """Pinecone's ``error`` text for a failed import (as Pinecone wrote it)."""
    pipeline_error: PipelineErrorInfo | None = None
    failed_state: str | None = None
    """The state whose task failed (set by the state machine's Catch together with ``pipeline_error``)."""
    report_uri: str | None = None
    adopted: bool = False
    """True when the reconciler started tracking an import this pipeline did not start."""

    def to_event(self) -> dict[str, object]:
        """The JSON the state machine passes on (aliases off: snake_case everywhere)."""
        out = self.model_dump(mode="json")
        if self.pipeline_error is not None:
            out["pipeline_error"] = self.pipeline_error.model_dump(mode="json", by_alias=True)
        return out


class LedgerState(StrEnum):
    CLAIMED = "Claimed"
    """The drop was seen; no import started yet (or a previous attempt died before recording one)."""
    STARTED = "Started"
    """Pinecone accepted the import; its id is recorded."""
    TRACKING = "Tracking"
    """A Step Functions execution is tracking the import."""
    REJECTED = "Rejected"
    CLOSED = "Closed"


class LedgerRecord(BaseModel):
    """One drop's line in the ledger (DynamoDB): what happened to it, so nothing happens twice."""

    model_config = ConfigDict(extra="ignore")

    drop_id: str
    state: LedgerState
    route: str
    index_host: str
    uri: str
    import_id: str | None = None
    execution_arn: str | None = None
    outcome: Outcome | None = None
    report_uri: str | None = None
    handle: ImportHandle | None = None
    """The handle as it was when the import started: lets a redelivered event resume without a second import."""
    claimed_at: datetime
    updated_at: datetime
