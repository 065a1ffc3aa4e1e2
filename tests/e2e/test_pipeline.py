"""The offline pipeline end to end: the synthesized stack in the local AWS, the emulator as Pinecone.

Given a drop uploaded to the deployed bucket (marker last), when the S3 event flows EventBridge → start_import →
Step Functions → finalize, then the user sees one SNS message (body and attributes), one ``pinecone.autoimport``
EventBridge event, a closed ledger record, and (when it completed) the vectors in the index; a rejected drop leaves
its report in S3 and nothing in Pinecone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from typer.testing import CliRunner

from functions.cli import app as cli
from local.aws.event_targets import real_shaped
from local.demo import OfflinePipeline, UploadedDrop
from local.sample_data import drop_with_late_bad_record, sample_drop, schema_mistake_drop
from tests.fixtures.e2e import E2E, E2E_DIMENSION
from tests.fixtures.waiting import eventually as wait_until

pytestmark = pytest.mark.xdist_group("e2e")

NOTIFICATION_TIMEOUT_S = 60.0
REPORT_FILE = "_autoimport_report.json"


def eventually(probe: Callable[[], Any], what: str, e2e: E2E, timeout_s: float = 30.0) -> Any:
    """Poll ``probe`` until it returns something truthy (bounded); fail with the local AWS log."""
    return wait_until(probe, what, log=e2e.server_log, timeout_s=timeout_s)


def notification_for(e2e: E2E, drop: UploadedDrop) -> Any:
    try:
        return e2e.pipeline.wait_for_notification(drop.uri, timeout_s=NOTIFICATION_TIMEOUT_S)
    except Exception as exc:  # show what the server did
        pytest.fail(f"{exc}; local AWS log:\n{e2e.server_log()}")


def namespaces_for(drop_name: str, count: int) -> list[str]:
    return [f"{drop_name}-ns{i}" for i in range(count)]


def assert_attributes(attributes: dict[str, str], drop: UploadedDrop, outcome: str) -> None:
    assert attributes == {"drop": drop.uri, "index": "e2e-index", "outcome": outcome, "route": "demo"}


def test_a_valid_drop_is_imported_notified_recorded_and_queryable(e2e: E2E, drop_name: str) -> None:
    pipeline = e2e.pipeline
    data = sample_drop(
        namespaces=namespaces_for(drop_name, 2),
        rows_per_namespace=120,
        files_per_namespace=2,
        dimension=E2E_DIMENSION,
    )

    drop = pipeline.upload_drop(data, drop_name)
    note = notification_for(e2e, drop)

    # SNS: one message whose body reconciles the counts and whose attributes allow filtering
    assert note.outcome == "Completed", note.message
    assert note.subject == f"[Completed] e2e-index: {drop_name}"
    assert_attributes(note.attributes, drop, "Completed")
    body = note.message
    assert body["detail_type"] == "Import Completed"
    assert body["status"] == "Completed"
    assert body["drop"]["uri"] == drop.uri
    assert body["drop"]["marker_key"] == drop.marker_key
    assert body["error"] is None and body["hint"] is None and body["problems"] == []
    reconciliation = body["reconciliation"]
    assert reconciliation["consistent"] is True
    assert (
        reconciliation["expected_rows"]
        == reconciliation["records_imported"]
        == reconciliation["index_rows"]
        == 240
    )
    assert {
        n["namespace"]: (n["expected_rows"], n["in_index"], n["missing"])
        for n in reconciliation["namespaces"]
    } == {ns: (120, 120, 0) for ns in data.rows_per_namespace}
    import_id = body["import_id"]

    # EventBridge: the same outcome as an event other systems can match
    event = pipeline.wait_for_event(drop.uri)
    assert event["source"] == "pinecone.autoimport"
    assert event["detail-type"] == "Import Completed"
    assert event["detail"]["import_id"] == import_id
    assert event["detail"]["reconciliation"] == reconciliation

    # Ledger: closed with the outcome, the import and the tracker that followed it
    record = eventually(
        lambda: (r := pipeline.ledger_record(drop.uri)) and r.get("state") == "Closed" and r,
        "ledger closed",
        e2e,
    )
    assert record["outcome"] == "Completed"
    assert record["import_id"] == import_id
    [execution] = pipeline.executions(drop.uri)
    assert record["execution_arn"] == execution["executionArn"]
    assert eventually(
        lambda: pipeline.executions(drop.uri)[0]["status"] == "SUCCEEDED", "the execution succeeded", e2e
    )

    # Pinecone: every record is there, with its metadata, and a query finds it
    counts = pipeline.namespace_counts()
    assert {ns: counts.get(ns) for ns in data.rows_per_namespace} == data.rows_per_namespace
    first_ns = sorted(data.rows_per_namespace)[0]
    vector = _first_vector(data.files[f"{first_ns}/part-00000.parquet"])
    [best, *_] = pipeline.query(first_ns, vector)
    assert best["id"] == f"{first_ns}-000000"
    assert best["metadata"]["source"] == first_ns
    assert [m.status for m in pipeline.imports(drop.uri)] == ["Completed"]


def test_a_schema_mistake_is_rejected_with_a_report_and_nothing_is_imported(e2e: E2E, drop_name: str) -> None:
    pipeline = e2e.pipeline
    data = schema_mistake_drop(dimension=E2E_DIMENSION, rows=50)

    drop = pipeline.upload_drop(data, drop_name)
    note = notification_for(e2e, drop)

    assert note.outcome == "Rejected", note.message
    assert_attributes(note.attributes, drop, "Rejected")
    report_uri = f"{drop.uri}{REPORT_FILE}"
    assert note.message["report_uri"] == report_uri
    assert note.message["import_id"] is None
    assert report_uri in note.message["hint"]
    assert any("embedding" in p for p in note.message["problems"])

    report = pipeline.read_s3_json(report_uri)
    assert report["valid"] is False
    assert report["uri"] == drop.uri
    found = {(p["code"], p["column"], p["file"], p["severity"]) for p in report["problems"]}
    assert found == {
        ("schema.missing_column", "values", "reviews/part-00000.parquet", "error"),
        ("schema.extra_column", "embedding", "reviews/part-00000.parquet", "error"),
    }
    assert all(p["hint"] for p in report["problems"])
    assert report["totals"]["rows"] == 50

    event = pipeline.wait_for_event(drop.uri)
    assert event["detail-type"] == "Import Rejected"
    record = pipeline.ledger_record(drop.uri)
    assert record is not None and record["outcome"] == "Rejected"
    assert pipeline.imports(drop.uri) == []
    assert pipeline.executions(drop.uri) == []


def test_a_bad_record_past_the_validators_sample_fails_the_import_with_a_hint(
    e2e: E2E, drop_name: str
) -> None:
    pipeline = e2e.pipeline
    data = drop_with_late_bad_record(
        namespace=f"{drop_name}-ns", rows=300, bad_row=250, dimension=E2E_DIMENSION
    )

    drop = pipeline.upload_drop(data, drop_name)  # the route's errorMode is abort
    note = notification_for(e2e, drop)

    assert note.outcome == "Failed", note.message
    assert_attributes(note.attributes, drop, "Failed")
    body = note.message
    assert body["status"] == "Failed"
    assert "row 250" in body["error"]
    assert "dimension" in body["hint"]
    assert body["import_id"] is not None
    event = pipeline.wait_for_event(drop.uri)
    assert event["detail-type"] == "Import Failed"
    assert event["detail"]["error"] == body["error"]
    record = eventually(
        lambda: (r := pipeline.ledger_record(drop.uri)) and r.get("state") == "Closed" and r,
        "ledger closed",
        e2e,
    )
    assert record["outcome"] == "Failed"
    assert pipeline.namespace_counts().get(f"{drop_name}-ns", 0) == 0


def test_a_namespace_created_after_validation_fails_the_import_with_a_hint(e2e: E2E, drop_name: str) -> None:
    """The race a manifest cannot prevent: another writer creates the namespace while the import is pending."""
    pipeline = e2e.pipeline
    emulator = pipeline.emulator
    assert emulator is not None
    [taken, free] = namespaces_for(drop_name, 2)
    data = sample_drop(
        namespaces=[taken, free], rows_per_namespace=20, files_per_namespace=1, dimension=E2E_DIMENSION
    )
    emulator.state.clock.pause()  # the import stays Pending until the other writer has written

    drop = pipeline.upload_drop(data, drop_name)
    eventually(lambda: pipeline.imports(drop.uri), "the import started (Pending)", e2e)
    _upsert(pipeline, taken, "written-by-someone-else")
    emulator.state.clock.pause(False)
    note = notification_for(e2e, drop)

    assert note.outcome == "Failed", note.message
    assert f'namespace "{taken}" already exists' in note.message["error"]
    assert "namespaces that do not exist yet" in note.message["hint"]
    assert pipeline.wait_for_event(drop.uri)["detail-type"] == "Import Failed"
    counts = pipeline.namespace_counts()
    assert counts.get(taken) == 1  # only the other writer's record
    assert counts.get(free, 0) == 0


def test_cancel_from_the_cli_while_running_sends_a_cancelled_notification(e2e: E2E, drop_name: str) -> None:
    pipeline = e2e.pipeline
    emulator = pipeline.emulator
    assert emulator is not None
    data = sample_drop(
        namespaces=namespaces_for(drop_name, 1),
        rows_per_namespace=20,
        files_per_namespace=1,
        dimension=E2E_DIMENSION,
    )
    emulator.state.clock.pause()  # keeps the import running until the operator cancels it

    drop = pipeline.upload_drop(data, drop_name)
    [model] = eventually(lambda: pipeline.imports(drop.uri), "the import started", e2e)
    eventually(
        lambda: (r := pipeline.ledger_record(drop.uri)) and r.get("execution_arn"), "the tracker started", e2e
    )
    result = CliRunner().invoke(
        cli,
        ["cancel", model.id, "--index-host", pipeline.index_host],
        env={"PINECONE_API_KEY": pipeline.api_key},
    )
    note = notification_for(e2e, drop)

    assert result.exit_code == 0, result.output
    assert f"import {model.id}: Cancelled" in result.output
    assert note.outcome == "Cancelled", note.message
    assert_attributes(note.attributes, drop, "Cancelled")
    assert note.message["import_id"] == model.id
    assert pipeline.wait_for_event(drop.uri)["detail-type"] == "Import Cancelled"
    record = eventually(
        lambda: (r := pipeline.ledger_record(drop.uri)) and r.get("state") == "Closed" and r,
        "ledger closed",
        e2e,
    )
    assert record["outcome"] == "Cancelled"
    assert eventually(
        lambda: pipeline.executions(drop.uri)[0]["status"] == "FAILED",
        "the tracker ended (not completed)",
        e2e,
    )


def test_the_same_marker_event_delivered_again_starts_nothing_new(e2e: E2E, drop_name: str) -> None:
    pipeline = e2e.pipeline
    data = sample_drop(
        namespaces=namespaces_for(drop_name, 1),
        rows_per_namespace=30,
        files_per_namespace=1,
        dimension=E2E_DIMENSION,
    )

    drop = pipeline.upload_drop(data, drop_name)
    event = real_shaped(e2e.s3_event_for(drop.marker_key))  # as EventBridge hands it to a function
    assert (event["detail"]["object"]["etag"], event["detail"]["object"]["version-id"]) == (
        drop.marker_etag,
        drop.marker_version_id,
    )
    eventually(lambda: pipeline.imports(drop.uri), "the first delivery started the import", e2e)
    lam = pipeline.aws.client("lambda")
    replies = []
    for _ in range(2):  # EventBridge delivers at least once: the same event again, twice
        response = lam.invoke(
            FunctionName=pipeline.deployed.function("start_import"), Payload=json.dumps(event)
        )
        assert "FunctionError" not in response
        replies.append(json.loads(response["Payload"].read()))
    note = notification_for(e2e, drop)

    assert note.outcome == "Completed", note.message
    assert len(pipeline.imports(drop.uri)) == 1
    assert len(pipeline.executions(drop.uri)) == 1
    assert {reply.get("import_id") for reply in replies} == {note.message["import_id"]}
    # the replies came back before the notification: any second tracker would be a second execution by now
    assert eventually(
        lambda: pipeline.executions(drop.uri)[0]["status"] == "SUCCEEDED", "the one tracker ended", e2e
    )
    assert len(pipeline.notifications(drop.uri)) == 1
    assert len(pipeline.events(drop.uri)) == 1


def test_a_rejected_drop_fixed_and_marked_again_is_imported(e2e: E2E, drop_name: str) -> None:
    """What the report's guide says: fix the files, upload them again, then upload the marker again."""
    pipeline = e2e.pipeline
    first = pipeline.upload_drop(schema_mistake_drop(dimension=E2E_DIMENSION, rows=20), drop_name)
    assert notification_for(e2e, first).outcome == "Rejected"
    fixed = sample_drop(
        namespaces=["reviews"], rows_per_namespace=20, files_per_namespace=1, dimension=E2E_DIMENSION
    )
    namespace = f"{drop_name}-reviews"
    fixed_files = {f"{namespace}/part-00000.parquet": fixed.files["reviews/part-00000.parquet"]}
    pipeline.aws.client("s3").delete_object(
        Bucket=pipeline.bucket, Key=f"{first.prefix}reviews/part-00000.parquet"
    )

    again = pipeline.upload_drop(
        replace(fixed, files=fixed_files, rows_per_namespace={namespace: 20}), drop_name
    )
    try:
        note = pipeline.wait_for_notification(
            again.uri, outcome="Completed", timeout_s=NOTIFICATION_TIMEOUT_S
        )
    except Exception as exc:
        outcomes = [n.outcome for n in pipeline.notifications(again.uri)]
        pytest.fail(f"{exc}; notifications so far: {outcomes}; local AWS log:\n{e2e.server_log()}")

    assert note.message["drop"]["drop_id"] != pipeline.notifications(first.uri)[0].message["drop"]["drop_id"]
    assert pipeline.namespace_counts().get(namespace) == 20


def _first_vector(parquet: bytes) -> list[float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    row = pq.read_table(pa.BufferReader(parquet), columns=["values"]).slice(0, 1).to_pylist()[0]
    return [float(v) for v in row["values"]]


def _upsert(pipeline: OfflinePipeline, namespace: str, record_id: str) -> None:
    import httpx

    response = httpx.post(
        f"{pipeline.index_host}/vectors/upsert",
        headers={"Api-Key": pipeline.api_key, "X-Pinecone-Api-Version": "2025-10"},
        json={"namespace": namespace, "vectors": [{"id": record_id, "values": [0.5] * E2E_DIMENSION}]},
        timeout=10,
    )
    response.raise_for_status()
