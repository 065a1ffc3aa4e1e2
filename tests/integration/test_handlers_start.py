"""start_import against the real moto server (S3, DynamoDB, SNS→SQS, EventBridge→SQS, Step Functions) and a
real HTTP Pinecone server (the scripted server)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from functions.handlers import start_import
from functions.integrations.aws import DynamoLedger
from functions.logic.drop import make_drop
from tests.fixtures.events import load_event, object_created
from tests.fixtures.pipeline_aws import API_KEY, ROUTE, Pipeline
from tests.fixtures.scripted_server import Reply

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


def starts(pipeline: Pipeline) -> int:
    return len(pipeline.pinecone.requests_to("POST", "/bulk/imports"))


def test_a_valid_drop_starts_exactly_one_import_even_when_the_event_comes_twice(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # Given a valid drop whose marker event is delivered twice
    event = pipeline.upload_valid_drop(tmp_path)
    # When start_import handles it twice
    first = start_import.handler(event, pipeline.context)
    again = start_import.handler(dict(event, id="another-delivery"), pipeline.context)
    # Then one import was started, with an explicit error mode, and one execution tracks it
    assert first["outcome"] == "Started"
    assert again["import_id"] == first["import_id"]
    assert starts(pipeline) == 1
    body = pipeline.pinecone.requests_to("POST", "/bulk/imports")[0].body
    assert body["errorMode"] == {"onError": "continue"}
    assert body["uri"] == f"s3://{pipeline.bucket}/{event['detail']['object']['key'].rsplit('/', 1)[0]}/"
    executions = pipeline.executions()
    assert len(executions) == 1
    assert executions[0]["executionArn"] == first["execution_arn"]
    execution = pipeline.client("stepfunctions").describe_execution(executionArn=first["execution_arn"])
    handle = json.loads(execution["input"])
    assert handle["import_id"] == first["import_id"]
    assert handle["expected_rows"] == 15
    assert handle["expected_namespaces"] == {"shoes": 10, "hats": 5}
    assert handle["next_wait_s"] == 300
    assert handle["route"] == ROUTE
    assert API_KEY not in execution["input"]
    # And the ledger says it is tracked
    record = pipeline.ledger_item(first["drop_id"])
    assert record is not None
    assert (record["state"], record["import_id"]) == ("Tracking", first["import_id"])


def test_without_the_idempotency_table_the_ledger_still_prevents_a_second_import(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTOIMPORT_IDEMPOTENCY_TABLE")
    from functions.handlers import _deps

    _deps.reset()
    event = pipeline.upload_valid_drop(tmp_path)
    first = start_import.handler(event, pipeline.context)
    second = start_import.handler(event, pipeline.context)
    assert (first["outcome"], second["outcome"]) == ("Started", "AlreadyHandled")
    assert starts(pipeline) == 1


def test_a_new_marker_on_the_same_folder_is_a_new_drop(pipeline: Pipeline, tmp_path: Path) -> None:
    event = pipeline.upload_valid_drop(tmp_path, name="same-folder")
    first = start_import.handler(event, pipeline.context)
    again = object_created(bucket=pipeline.bucket, key=event["detail"]["object"]["key"], etag="0" * 32)
    second = start_import.handler(again, pipeline.context)
    assert first["drop_id"] != second["drop_id"]


def test_a_crash_before_start_execution_resumes_without_a_second_import(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.errors import AwsRequestFailed
    from functions.handlers import _deps

    event = pipeline.upload_valid_drop(tmp_path)
    # Given StartExecution fails once after Pinecone accepted the import (state machine not there)
    monkeypatch.setenv("AUTOIMPORT_STATE_MACHINE_ARN", pipeline.state_machine_arn + "-missing")
    _deps.reset()
    with pytest.raises(AwsRequestFailed):
        start_import.handler(event, pipeline.context)
    assert starts(pipeline) == 1
    # When the event is delivered again with the workflow back
    monkeypatch.setenv("AUTOIMPORT_STATE_MACHINE_ARN", pipeline.state_machine_arn)
    _deps.reset()
    result = start_import.handler(event, pipeline.context)
    # Then the recorded import is tracked, and no second import was started
    assert result["outcome"] == "Resumed"
    assert starts(pipeline) == 1
    assert len(pipeline.executions()) == 1


def test_a_crash_between_start_and_ledger_write_finds_the_import_by_uri(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    event = pipeline.upload_valid_drop(tmp_path)
    detail = event["detail"]
    prefix = detail["object"]["key"].rsplit("/", 1)[0] + "/"
    drop = make_drop(
        bucket=pipeline.bucket,
        prefix=prefix,
        marker_key=detail["object"]["key"],
        marker_etag=detail["object"]["etag"],
        marker_version_id=None,
    )
    # Given an earlier attempt claimed the drop and Pinecone accepted its import, then the function died
    DynamoLedger(pipeline.ledger_table).claim(
        drop, route=ROUTE, index_host=pipeline.pinecone.url, now=datetime.now(UTC)
    )
    earlier = pipeline.pinecone.add_import(drop.uri, status="InProgress")
    # When the event is redelivered
    result = start_import.handler(event, pipeline.context)
    # Then that import is adopted and tracked, and nothing new is started
    assert (result["outcome"], result["import_id"]) == ("Resumed", earlier.id)
    assert starts(pipeline) == 0
    assert len(pipeline.executions()) == 1


def test_an_ambiguous_start_failure_does_not_start_twice(pipeline: Pipeline, tmp_path: Path) -> None:
    event = pipeline.upload_valid_drop(tmp_path)
    # Pinecone accepts the import, then answers 503
    pipeline.pinecone.script(
        "POST", "/bulk/imports", Reply(503, {"code": 14, "message": "unavailable"}, apply=True)
    )
    result = start_import.handler(event, pipeline.context)
    assert result["outcome"] == "Started"
    assert len(pipeline.pinecone.imports) == 1


def test_an_invalid_drop_writes_its_report_and_publishes_rejected_without_starting(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # Given a drop whose vectors do not match the index dimension (8)
    event = pipeline.upload_valid_drop(tmp_path, dim=5)
    # When start_import handles its marker
    result = start_import.handler(event, pipeline.context)
    # Then nothing was started, the report sits next to the marker, and Rejected was published once
    assert result["outcome"] == "Rejected"
    assert starts(pipeline) == 0
    assert pipeline.executions() == []
    folder = event["detail"]["object"]["key"].rsplit("/", 1)[0]
    report = pipeline.object_json(f"{folder}/_autoimport_report.json")
    assert report["valid"] is False
    assert report["problems"]
    assert result["report_uri"] == f"s3://{pipeline.bucket}/{folder}/_autoimport_report.json"
    [sns] = pipeline.sns_messages()
    assert sns["MessageAttributes"]["outcome"]["Value"] == "Rejected"
    assert sns["Subject"].startswith("[Rejected] products:")
    message = json.loads(sns["Message"])
    assert message["report_uri"] == result["report_uri"]
    assert message["problems"]
    assert API_KEY not in sns["Message"]
    [event_out] = pipeline.events()
    assert (event_out["source"], event_out["detail-type"]) == ("pinecone.autoimport", "Import Rejected")
    record = pipeline.ledger_item(result["drop_id"])
    assert record is not None
    assert (record["state"], record["outcome"]) == ("Rejected", "Rejected")
    # And a redelivery does not notify again
    assert start_import.handler(dict(event, id="again"), pipeline.context)["outcome"] in (
        "Rejected",
        "AlreadyHandled",
    )
    assert pipeline.sns_messages(expected=0) == []


@pytest.mark.parametrize(
    "sample",
    [
        "s3/object_created_data_file",
        "s3/object_created_other_bucket",
        "s3/object_created_outside_routes",
        "s3/malformed",
    ],
)
def test_other_events_are_ignored_with_a_reason(pipeline: Pipeline, sample: str) -> None:
    event = load_event(sample)
    if sample.endswith(("data_file", "outside_routes")):
        event["detail"]["bucket"]["name"] = pipeline.bucket
    result = start_import.handler(event, pipeline.context)
    assert result["outcome"] == "Ignored"
    assert result["reason"]
    assert pipeline.pinecone.requests == []


def test_the_api_key_can_come_from_secrets_manager(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.handlers import _deps

    secret = pipeline.client("secretsmanager").create_secret(
        Name=f"pinecone-{os.urandom(3).hex()}", SecretString=json.dumps({"api_key": "pcsk_from_the_secret"})
    )
    monkeypatch.delenv("PINECONE_API_KEY")
    monkeypatch.setenv("PINECONE_API_KEY_SECRET_ID", secret["ARN"])
    _deps.reset()
    result = start_import.handler(pipeline.upload_valid_drop(tmp_path), pipeline.context)
    assert result["outcome"] == "Started"
    assert (
        pipeline.pinecone.requests_to("POST", "/bulk/imports")[0].headers["api-key"] == "pcsk_from_the_secret"
    )


def test_the_manifest_can_choose_the_error_mode(pipeline: Pipeline, tmp_path: Path) -> None:
    # Given a drop whose marker holds a manifest asking for abort (the route says continue)
    event = pipeline.upload_valid_drop(tmp_path)
    key = event["detail"]["object"]["key"]
    marker = pipeline.upload(key, json.dumps({"error_mode": "abort"}).encode())
    event = object_created(bucket=pipeline.bucket, key=key, etag=marker["etag"])
    # When it is handled
    result = start_import.handler(event, pipeline.context)
    # Then the import asks Pinecone for abort, and the handle says so
    assert result["outcome"] == "Started"
    assert pipeline.pinecone.requests_to("POST", "/bulk/imports")[0].body["errorMode"] == {"onError": "abort"}
    execution = pipeline.client("stepfunctions").describe_execution(executionArn=result["execution_arn"])
    assert json.loads(execution["input"])["error_mode"] == "abort"


def test_a_refused_api_key_notifies_a_pipeline_error_instead_of_retrying_forever(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # Given Pinecone refuses the configured key
    pipeline.pinecone.required_api_key = "pcsk_the_right_key"
    # When a valid drop arrives
    result = start_import.handler(pipeline.upload_valid_drop(tmp_path), pipeline.context)
    # Then nothing was started, and one Pipeline Error notification says what to fix (without the key)
    assert result["outcome"] == "PipelineError"
    assert "PineconeUnauthorized" in result["detail"]
    assert starts(pipeline) == 0
    [sns] = pipeline.sns_messages()
    message = json.loads(sns["Message"])
    assert (message["outcome"], message["error_type"]) == ("PipelineError", "PineconeUnauthorized")
    assert message["error"].startswith("StartImport failed:")
    assert "API key" in message["hint"]
    assert API_KEY not in sns["Message"]
    [event] = pipeline.events()
    assert event["detail-type"] == "Import Pipeline Error"
