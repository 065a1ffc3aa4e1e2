"""The names the state machine and the Lambda handlers agree on.

The execution input is the import *handle* (JSON)::

    {"import_id", "index_host", "route", "drop": {"bucket", "prefix", "uri", "marker_key", "marker_etag"},
     "expected_rows", "started_at", "deadline_at", "next_wait_s", "attempt"}

Every task receives the handle and returns it updated (Lambda ``payload_response_only``: the function's
return value *is* the next state's input). PollImport adds ``status``, ``percent_complete``,
``records_imported``, ``eta_s``, ``action`` and ``next_wait_s``; Finalize adds ``outcome``. When a task fails
after its retries, the Catch stores the Step Functions error object (``{"Error", "Cause"}``) at
``pipeline_error`` and the name of the state that failed at ``failed_state``, then goes to Finalize.

Renaming any of these is a contract change: the handlers (``functions/``) must change with it.
"""

from __future__ import annotations

from typing import Final

# --- handle fields the state machine itself reads or writes ----------------------------------------------
NEXT_WAIT_S: Final = "next_wait_s"
"""Seconds the Wait state sleeps before the next poll (``SecondsPath``)."""
ATTEMPT: Final = "attempt"
"""How many polls have happened; the Choice cancels once it reaches the bound (a second loop bound)."""
ACTION: Final = "action"
"""What PollImport decided: one of ``ACTION_*``."""
OUTCOME: Final = "outcome"
"""What Finalize concluded: ``OUTCOME_COMPLETED`` ends in Succeed, anything else in Fail."""
PIPELINE_ERROR: Final = "pipeline_error"
FAILED_STATE: Final = "failed_state"

HANDLE_FIELDS: Final = (
    "import_id",
    "index_host",
    "route",
    "drop",
    "expected_rows",
    "started_at",
    "deadline_at",
    NEXT_WAIT_S,
    ATTEMPT,
)
DROP_FIELDS: Final = ("bucket", "prefix", "uri", "marker_key", "marker_etag")
POLL_FIELDS: Final = ("status", "percent_complete", "records_imported", "eta_s", ACTION, NEXT_WAIT_S)

# --- actions (PollImport → Choice) ----------------------------------------------------------------------
ACTION_WAIT: Final = "wait"
"""Still Pending / InProgress: sleep ``next_wait_s`` and poll again."""
ACTION_FINALIZE: Final = "finalize"
"""Completed, Failed or Cancelled: go to Finalize."""
ACTION_CANCEL: Final = "cancel"
"""The deadline passed: CancelImport, then Finalize (outcome TimedOut)."""

# --- outcomes (Finalize) --------------------------------------------------------------------------------
OUTCOME_COMPLETED: Final = "Completed"
OUTCOMES: Final = ("Completed", "Failed", "Cancelled", "TimedOut", "PipelineError")

# --- state names (stable: the offline runtime and tests look them up) ---------------------------------
STATE_WAIT: Final = "WaitBeforePoll"
STATE_POLL: Final = "PollImport"
STATE_CHOICE: Final = "NextStep"
STATE_CANCEL: Final = "CancelImport"
STATE_FINALIZE: Final = "Finalize"
STATE_OUTCOME: Final = "Outcome"
STATE_SUCCEEDED: Final = "ImportSucceeded"
STATE_NOT_COMPLETED: Final = "ImportNotCompleted"
STATE_FINALIZE_FAILED: Final = "FinalizeFailed"
STATE_UNKNOWN_ACTION: Final = "UnknownAction"

LAMBDA_SERVICE_ERRORS: Final = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)

# --- function handlers (the asset is the repo's ``functions/`` package) -------------------------------
HANDLERS: Final = {
    "start_import": "functions.handlers.start_import.handler",
    "poll_import": "functions.handlers.poll_import.handler",
    "cancel_import": "functions.handlers.cancel_import.handler",
    "finalize": "functions.handlers.finalize.handler",
    "reconciler": "functions.handlers.reconciler.handler",
}

# --- DynamoDB -------------------------------------------------------------------------------------------
IDEMPOTENCY_KEY: Final = "id"
IDEMPOTENCY_TTL: Final = "expiration"
LEDGER_KEY: Final = "drop_id"
LEDGER_IMPORT_ID_INDEX: Final = "by_import_id"
"""GSI of the ledger, partition key ``import_id``."""
LEDGER_IMPORT_ID: Final = "import_id"

# --- observability -------------------------------------------------------------------------------------
SERVICE_NAME: Final = "pinecone-autoimport"
METRICS_NAMESPACE: Final = "PineconeAutoImport"
