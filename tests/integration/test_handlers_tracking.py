"""poll_import, cancel_import, finalize and the reconciler against moto and a real HTTP Pinecone server:
every ending publishes the right SNS message and EventBridge event, with reconciled counts, exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.handlers import cancel_import, finalize, poll_import, reconciler, start_import
from tests.fixtures.pipeline_aws import API_KEY, Pipeline

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


def started_handle(pipeline: Pipeline, tmp_path: Path) -> dict[str, Any]:
    """Start a valid 15-row drop (shoes: 10, hats: 5) and return the execution input (the handle)."""
    result = start_import.handler(pipeline.upload_valid_drop(tmp_path), pipeline.context)
    assert result["outcome"] == "Started"
    execution = pipeline.client("stepfunctions").describe_execution(executionArn=result["execution_arn"])
    handle: dict[str, Any] = json.loads(execution["input"])
    return handle


def set_import(pipeline: Pipeline, import_id: str, **fields: Any) -> None:
    stored = pipeline.pinecone.imports[import_id]
    for name, value in fields.items():
        setattr(stored, name, value)


def test_poll_returns_progress_and_the_next_wait(pipeline: Pipeline, tmp_path: Path) -> None:
    handle = started_handle(pipeline, tmp_path)
    set_import(pipeline, handle["import_id"], status="InProgress", percent_complete=40.0, records_imported=6)
    out = poll_import.handler(handle, pipeline.context)
    assert (out["action"], out["status"], out["attempt"], out["records_imported"]) == (
        "wait",
        "InProgress",
        1,
        6,
    )
    assert 30 <= out["next_wait_s"] <= 600
    assert out["eta_s"] is not None
    # the handle keeps everything the later states need
    assert out["drop"] == handle["drop"]
    assert out["expected_namespaces"] == {"shoes": 10, "hats": 5}


def test_poll_of_a_finished_import_goes_to_finalize(pipeline: Pipeline, tmp_path: Path) -> None:
    handle = started_handle(pipeline, tmp_path)
    set_import(pipeline, handle["import_id"], status="Completed", percent_complete=100.0, records_imported=15)
    out = poll_import.handler(handle, pipeline.context)
    assert (out["action"], out["next_wait_s"]) == ("finalize", 0)


def test_past_the_deadline_poll_says_cancel_and_cancel_times_out(pipeline: Pipeline, tmp_path: Path) -> None:
    handle = started_handle(pipeline, tmp_path)
    handle["deadline_at"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    set_import(pipeline, handle["import_id"], status="InProgress", percent_complete=70.0, records_imported=10)
    polled = poll_import.handler(handle, pipeline.context)
    assert polled["action"] == "cancel"
    cancelled = cancel_import.handler(polled, pipeline.context)
    assert (cancelled["status"], cancelled["outcome"], cancelled["action"]) == (
        "Cancelled",
        "TimedOut",
        "finalize",
    )
    assert len(pipeline.pinecone.requests_to("DELETE", f"/bulk/imports/{handle['import_id']}")) == 1


ENDINGS = {
    "Completed": {"status": "Completed", "percent_complete": 100.0, "records_imported": 14},
    "Failed": {
        "status": "Failed",
        "percent_complete": 0.0,
        "records_imported": 0,
        "error": 'User error: The namespace "shoes" already exists. Imports are only allowed into nonexistent '
        "namespaces.",
    },
    "Cancelled": {"status": "Cancelled", "percent_complete": 20.0, "records_imported": 3},
    "TimedOut": {"status": "InProgress", "percent_complete": 60.0, "records_imported": 9},
    "PipelineError": {"status": "InProgress", "percent_complete": 10.0, "records_imported": 1},
}
DETAIL_TYPES = {
    "Completed": "Import Completed",
    "Failed": "Import Failed",
    "Cancelled": "Import Cancelled",
    "TimedOut": "Import Timed Out",
    "PipelineError": "Import Pipeline Error",
}


def reach_finalize(pipeline: Pipeline, handle: dict[str, Any], ending: str) -> dict[str, Any]:
    """Drive the handle through the tasks the state machine would run for this ending."""
    set_import(pipeline, handle["import_id"], **ENDINGS[ending])
    if ending == "TimedOut":
        handle["deadline_at"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        return cancel_import.handler(poll_import.handler(handle, pipeline.context), pipeline.context)
    if ending == "PipelineError":
        polled = poll_import.handler(handle, pipeline.context)
        cause = {
            "errorMessage": "describe_import 503: upstream connect error",
            "errorType": "PineconeUnavailable",
            "stackTrace": ['  File "/var/task/functions/handlers/poll_import.py", line 20, in handler\n'],
        }
        return dict(
            polled,
            pipeline_error={"Error": "PineconeUnavailable", "Cause": json.dumps(cause)},
            failed_state="PollImport",
        )
    return poll_import.handler(handle, pipeline.context)


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_finalize_notifies_each_ending_once_with_reconciled_counts(
    pipeline: Pipeline, tmp_path: Path, ending: str
) -> None:
    # Given an import that reached this ending, and the index holding 14 of the 15 rows
    handle = started_handle(pipeline, tmp_path)
    pipeline.pinecone.stats["namespaces"] = {"shoes": {"vectorCount": 10}, "hats": {"vectorCount": 4}}
    payload = reach_finalize(pipeline, handle, ending)
    # When Finalize runs (twice: a Step Functions retry must not notify again)
    out = finalize.handler(payload, pipeline.context)
    again = finalize.handler(payload, pipeline.context)
    # Then one SNS message and one EventBridge event describe the ending
    assert out["outcome"] == again["outcome"] == ending
    [sns] = pipeline.sns_messages()
    [event] = pipeline.events()
    attributes = {k: v["Value"] for k, v in sns["MessageAttributes"].items()}
    assert attributes["outcome"] == ending
    assert attributes["index"] == "products"
    assert attributes["drop"] == handle["drop"]["uri"]
    assert sns["Subject"].startswith(f"[{ending}")
    assert len(sns["Subject"]) <= 100
    assert event["source"] == "pinecone.autoimport"
    assert event["detail-type"] == DETAIL_TYPES[ending]
    message = json.loads(sns["Message"])
    assert message == event["detail"]
    assert message["import_id"] == handle["import_id"]
    assert API_KEY not in sns["Message"]
    assert "Traceback" not in sns["Message"]
    assert "stackTrace" not in sns["Message"]
    rec = message["reconciliation"]
    assert rec["expected_rows"] == 15
    assert rec["records_imported"] == ENDINGS[ending]["records_imported"]
    if ending == "Completed":
        # rows skipped in continue mode become visible, per namespace
        assert rec["skipped_rows"] == 1
        assert {n["namespace"]: n["missing"] for n in rec["namespaces"]} == {"hats": 1, "shoes": 0}
        assert rec["consistent"] is False
        assert message["warnings"]
    if ending == "Failed":
        assert "already exists" in message["error"]
        assert "namespace" in message["hint"]
    if ending == "PipelineError":
        assert message["error_type"] == "PineconeUnavailable"
        assert message["error"] == "PollImport failed: describe_import 503: upstream connect error"
        assert message["hint"]
    # And the ledger record is closed with the outcome
    record = pipeline.ledger_item(handle["drop"]["drop_id"])
    assert record is not None
    assert (record["state"], record["outcome"]) == ("Closed", ending)


def test_the_reconciler_adopts_an_untracked_running_import_once(pipeline: Pipeline, tmp_path: Path) -> None:
    # Given an import started from the console an hour ago, one started by the pipeline, and a finished one
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    ours = started_handle(pipeline, tmp_path)
    set_import(pipeline, ours["import_id"], status="InProgress", created_at=old)
    foreign = pipeline.pinecone.add_import(
        f"s3://{pipeline.bucket}/imports/products/console/", status="InProgress", created_at=old
    )
    pipeline.pinecone.add_import("s3://elsewhere/finished/", status="Completed", created_at=old)
    # When the reconciler runs twice
    first = reconciler.handler({"id": "scheduled-1"}, pipeline.context)
    second = reconciler.handler({"id": "scheduled-2"}, pipeline.context)
    # Then the running one is tracked by one execution, and nothing else
    assert [a["import_id"] for a in first["adopted"]] == [foreign.id]
    assert second["adopted"] == []
    executions = [e for e in pipeline.executions() if not e["name"].endswith(ours["drop"]["drop_id"])]
    assert len(pipeline.executions()) == 2
    [execution] = executions
    handle = json.loads(
        pipeline.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])["input"]
    )
    assert (handle["import_id"], handle["adopted"], handle["status"]) == (foreign.id, True, "InProgress")
