"""Campaigns through the deployed offline pipeline (synthesized stack in the local AWS, the emulator as Pinecone):
duplicate deliveries, Pinecone faults for a whole run, a poll task that keeps failing, and secret hygiene.

Faults are injected on the session's shared emulator and always cleared afterwards (the e2e tests share one worker).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from local.demo import DEMO_API_KEY, Notification, UploadedDrop
from local.sample_data import sample_drop, schema_mistake_drop
from tests.fixtures.e2e import E2E, E2E_DIMENSION
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.xdist_group("e2e")

NOTIFICATION_TIMEOUT_S = 90.0


def _eventually(probe: Callable[[], Any], what: str, e2e: E2E, timeout_s: float = 30.0) -> Any:
    return eventually(probe, what, log=e2e.server_log, timeout_s=timeout_s)


def _notification(e2e: E2E, drop: UploadedDrop, outcome: str | None = None) -> Notification:
    try:
        return e2e.pipeline.wait_for_notification(drop.uri, outcome=outcome, timeout_s=NOTIFICATION_TIMEOUT_S)
    except Exception as exc:
        pytest.fail(f"{exc}; local AWS log:\n{e2e.server_log()}")


def _upload_valid(e2e: E2E, drop_name: str, rows: int = 30) -> UploadedDrop:
    data = sample_drop(
        namespaces=[f"{drop_name}-ns0"],
        rows_per_namespace=rows,
        files_per_namespace=1,
        dimension=E2E_DIMENSION,
    )
    return e2e.pipeline.upload_drop(data, drop_name)


@pytest.fixture
def faults(e2e: E2E) -> Iterator[Any]:
    """The shared emulator, its fault rules cleared after the test whatever happens."""
    emulator = e2e.pipeline.emulator
    assert emulator is not None
    emulator.state.faults.clear()
    try:
        yield emulator
    finally:
        emulator.state.faults.clear()


@pytest.mark.campaign(
    "duplicates", "20 more deliveries of the marker event to the deployed function (10 at once)"
)
def test_twenty_more_deliveries_of_the_marker_event_change_nothing(e2e: E2E, drop_name: str) -> None:
    pipeline = e2e.pipeline
    drop = _upload_valid(e2e, drop_name)
    event = e2e.s3_event_for(drop.marker_key)
    _eventually(lambda: pipeline.imports(drop.uri), "the first delivery started the import", e2e)
    lam = pipeline.aws.client("lambda")
    function = pipeline.deployed.function("start_import")

    def deliver(n: int) -> dict[str, Any]:
        response = lam.invoke(FunctionName=function, Payload=json.dumps(dict(event, id=f"{event['id']}-{n}")))
        assert "FunctionError" not in response, response["Payload"].read()
        reply: dict[str, Any] = json.loads(response["Payload"].read())
        return reply

    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(deliver, range(10)))
    replies += [deliver(n) for n in range(10, 20)]
    note = _notification(e2e, drop)

    assert note.outcome == "Completed", note.message
    assert {r.get("import_id") for r in replies} == {note.message["import_id"]}
    assert len(pipeline.imports(drop.uri)) == 1
    assert len(pipeline.executions(drop.uri)) == 1
    _eventually(
        lambda: pipeline.executions(drop.uri)[0]["status"] == "SUCCEEDED", "the one tracker ended", e2e
    )
    assert len(pipeline.notifications(drop.uri)) == 1


@pytest.mark.campaign("duplicates", "the marker re-uploaded after the import completed (deployed stack)")
def test_a_marker_written_again_after_completion_is_rejected_not_imported_twice(
    e2e: E2E, drop_name: str
) -> None:
    pipeline = e2e.pipeline
    drop = _upload_valid(e2e, drop_name)
    assert _notification(e2e, drop).outcome == "Completed"
    # When the producer writes the marker again (a new object version: a new drop identity)
    pipeline.aws.client("s3").put_object(Bucket=pipeline.bucket, Key=drop.marker_key, Body=b"")
    # Then that drop is rejected because its namespace now exists; still one import
    note = _notification(e2e, drop, outcome="Rejected")
    assert "already holds" in json.dumps(note.message["problems"]), note.message
    assert len(pipeline.imports(drop.uri)) == 1


@pytest.mark.campaign("pinecone-faults", "30% of all requests 429/503 for a whole run (deployed stack)")
def test_a_whole_run_under_throttling_ends_with_one_import_and_completed(
    e2e: E2E, drop_name: str, faults: Any
) -> None:
    faults.inject(operation="*", sequence=[429, 503])  # at least these two, then 30 % at random
    faults.inject(operation="*", status=429, probability=0.15, retry_after=0.05)
    faults.inject(operation="*", status=503, probability=0.18)
    drop = _upload_valid(e2e, drop_name)
    note = _notification(e2e, drop)
    faults.state.faults.clear()
    assert note.outcome == "Completed", note.message
    assert len(e2e.pipeline.imports(drop.uri)) == 1
    assert len(e2e.pipeline.executions(drop.uri)) == 1
    assert len(e2e.pipeline.notifications(drop.uri)) == 1
    assert {429, 503} <= {r["status"] for r in faults.state.requests}, "the faults were not injected"


def _execution_texts(e2e: E2E, drop: UploadedDrop) -> list[str]:
    sfn = e2e.pipeline.aws.client("stepfunctions")
    texts = []
    for execution in e2e.pipeline.executions(drop.uri):
        texts.append(json.dumps(execution, default=str))
        history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
        texts.append(json.dumps(history["events"], default=str))
    return texts


@pytest.mark.campaign(
    "secret-hygiene", "the API key in no log, message, event, execution, ledger item or report"
)
def test_the_api_key_appears_nowhere_the_pipeline_writes(e2e: E2E, drop_name: str) -> None:
    pipeline = e2e.pipeline
    key = DEMO_API_KEY
    assert key.startswith("pcsk_") and len(key) > 12  # recognisable, and really used: the emulator checks it
    imported = _upload_valid(e2e, f"{drop_name}-ok")
    rejected = pipeline.upload_drop(schema_mistake_drop(dimension=E2E_DIMENSION, rows=20), f"{drop_name}-bad")
    done = _notification(e2e, imported)
    refused = _notification(e2e, rejected)
    assert (done.outcome, refused.outcome) == ("Completed", "Rejected")
    _eventually(
        lambda: pipeline.executions(imported.uri)[0]["status"] == "SUCCEEDED", "the tracker ended", e2e
    )

    places: dict[str, list[str]] = {
        "SNS messages": [
            json.dumps({"subject": n.subject, "message": n.message, "attributes": n.attributes})
            for drop in (imported, rejected)
            for n in pipeline.notifications(drop.uri)
        ],
        "EventBridge events": [
            json.dumps(e) for drop in (imported, rejected) for e in pipeline.events(drop.uri)
        ],
        "state machine input/output/history": _execution_texts(e2e, imported),
        "ledger items": [
            json.dumps(pipeline.ledger_record(d.uri), default=str) for d in (imported, rejected)
        ],
        "validation report": [json.dumps(pipeline.read_s3_json(refused.message["report_uri"]))],
        "function logs (local AWS server log)": [pipeline.aws.log_path.read_text(errors="replace")],
    }
    for where, texts in places.items():
        assert texts and all(texts), f"nothing captured from {where}: the check would prove nothing"
        leaks = [t[max(0, t.find(key) - 80) : t.find(key) + 80] for t in texts if key in t]
        assert leaks == [], f"the API key leaked into {where}: {leaks}"
    # The logs are the functions' structured logs (the check looked at the real thing)
    assert '"message":"import started"' in places["function logs (local AWS server log)"][0].replace(
        ": ", ":"
    )
