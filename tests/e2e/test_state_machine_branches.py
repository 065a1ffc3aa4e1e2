"""The synthesized state machine's remaining branches, run by moto's interpreter with the real handlers.

The marker-driven tests (test_pipeline.py) cover Completed, Failed and Cancelled. Here an execution is started
directly with an import handle, the way start_import starts it, to reach the two branches a healthy import never
takes: the deadline (PollImport → CancelImport → Finalize, "Timed Out") and a task error (Catch → Finalize,
"Pipeline Error").
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.logic.drop import make_drop
from functions.models.handle import ImportHandle
from functions.models.imports import ErrorMode
from local.demo import ROUTE_PREFIX
from local.sample_data import sample_drop
from tests.fixtures.e2e import E2E, E2E_DIMENSION
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.xdist_group("e2e")


def _upload_without_marker(e2e: E2E, name: str) -> tuple[str, str, int]:
    """Data files only (no marker, so start_import is not triggered); returns (prefix, uri, rows)."""
    pipeline = e2e.pipeline
    data = sample_drop(
        namespaces=[f"{name}-ns0"], rows_per_namespace=12, files_per_namespace=1, dimension=E2E_DIMENSION
    )
    prefix = f"{ROUTE_PREFIX}{name}/"
    s3 = pipeline.aws.client("s3")
    for relative, body in sorted(data.files.items()):
        s3.put_object(Bucket=pipeline.bucket, Key=prefix + relative, Body=body)
    return prefix, f"s3://{pipeline.bucket}/{prefix}", sum(data.rows_per_namespace.values())


def _start_execution(e2e: E2E, handle: ImportHandle) -> str:
    sfn = e2e.pipeline.aws.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=e2e.pipeline.deployed.state_machine_arn,
        name=f"branch-{os.urandom(4).hex()}",
        input=json.dumps(handle.to_event()),
    )
    return str(started["executionArn"])


def _handle(e2e: E2E, *, prefix: str, import_id: str, rows: int, deadline_in_s: float) -> ImportHandle:
    now = datetime.now(UTC)
    bucket = e2e.pipeline.bucket
    drop = make_drop(
        bucket=bucket,
        prefix=prefix,
        marker_key=prefix + "_SUCCESS",
        marker_etag=os.urandom(8).hex(),
        marker_version_id=None,
    )
    return ImportHandle(
        import_id=import_id,
        index_host=e2e.pipeline.index_host,
        index_name="e2e-index",
        route="demo",
        drop=drop,
        error_mode=ErrorMode.ABORT,
        expected_rows=rows,
        started_at=now - timedelta(minutes=20),
        deadline_at=now + timedelta(seconds=deadline_in_s),
        next_wait_s=0,
        attempt=0,
        status="Pending",
    )


def _execution_status(e2e: E2E, arn: str) -> str:
    described: dict[str, Any] = e2e.pipeline.aws.client("stepfunctions").describe_execution(executionArn=arn)
    return str(described["status"])


def _states_entered(e2e: E2E, arn: str) -> list[str]:
    history = e2e.pipeline.aws.client("stepfunctions").get_execution_history(
        executionArn=arn, maxResults=1000
    )
    return [
        e["stateEnteredEventDetails"]["name"] for e in history["events"] if "stateEnteredEventDetails" in e
    ]


def test_past_the_deadline_the_import_is_cancelled_and_timed_out_is_notified(
    e2e: E2E, drop_name: str
) -> None:
    # Given an import that stays Pending (the emulator's clock is paused) and whose deadline has passed
    pipeline = e2e.pipeline
    emulator = pipeline.emulator
    assert emulator is not None
    emulator.state.clock.pause()
    prefix, uri, rows = _upload_without_marker(e2e, drop_name)
    import_id = pipeline.pinecone.start_import(uri, error_mode=ErrorMode.ABORT).id
    handle = _handle(e2e, prefix=prefix, import_id=import_id, rows=rows, deadline_in_s=-1)

    # When the synthesized state machine tracks it
    arn = _start_execution(e2e, handle)

    # Then PollImport sends it to CancelImport, the import is cancelled, and Finalize says "Timed Out"
    note = pipeline.wait_for_notification(uri, timeout_s=60)
    assert note.outcome == "TimedOut", note.message
    assert note.attributes["outcome"] == "TimedOut"
    assert note.message["import_id"] == import_id
    assert note.message["status"] == "Cancelled"
    assert note.message["hint"]
    assert pipeline.wait_for_event(uri)["detail-type"] == "Import Timed Out"
    assert pipeline.pinecone.describe_import(import_id).status == "Cancelled"
    assert eventually(
        lambda: _execution_status(e2e, arn) == "FAILED", "the execution ended", log=e2e.server_log
    )
    entered = _states_entered(e2e, arn)
    assert entered.index("PollImport") < entered.index("CancelImport") < entered.index("Finalize")


def test_a_task_error_is_caught_and_ends_in_a_pipeline_error_notification(e2e: E2E, drop_name: str) -> None:
    # Given a handle whose import Pinecone does not know (describe answers 404: a terminal error, not retried)
    pipeline = e2e.pipeline
    prefix, uri, rows = _upload_without_marker(e2e, drop_name)
    handle = _handle(e2e, prefix=prefix, import_id="987654321", rows=rows, deadline_in_s=600)

    # When the state machine polls it
    arn = _start_execution(e2e, handle)

    # Then the Catch sends the error to Finalize, which tells people what failed and where; nothing stops silently
    note = pipeline.wait_for_notification(uri, timeout_s=60)
    assert note.outcome == "PipelineError", note.message
    assert note.message["error_type"] == "PineconeNotFound"
    assert "987654321" in (note.message["error"] or "")
    assert "Traceback" not in json.dumps(note.message)
    assert note.message["hint"]
    assert pipeline.wait_for_event(uri)["detail-type"] == "Import Pipeline Error"
    assert eventually(
        lambda: _execution_status(e2e, arn) == "FAILED", "the execution ended", log=e2e.server_log
    )
    assert "Finalize" in _states_entered(e2e, arn)
