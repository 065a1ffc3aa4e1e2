"""Campaigns "duplicates", "pinecone-faults" and "crashes" at the start_import handler: the real handler in-process
(so deliveries can really run concurrently and a crash can be placed between two steps), the AWS side on the moto
server, Pinecone as the project's emulator with fault injection. tests/e2e/test_campaign_pipeline.py runs the same
campaigns through the deployed stack.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow.parquet as pq
import pytest

from functions.errors import RetryableError
from functions.integrations import aws
from tests.fixtures.campaigns import CAMPAIGN_DIMENSION, EmulatedPipeline
from tests.fixtures.drops import good_rows, table_from_rows

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

DELIVERIES = 20


def _parquet(rows: int, start: int = 0) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table_from_rows(good_rows(rows, dim=CAMPAIGN_DIMENSION, start=start)), sink)
    return sink.getvalue()


def _valid_drop(p: EmulatedPipeline, *, marker: bytes = b"", tag: str | None = None) -> dict[str, Any]:
    """Two namespaces (``shoes-<tag>``: 10 rows, ``hats-<tag>``: 5): unique, since imports need new namespaces."""
    tag = tag or os.urandom(2).hex()
    files = {f"shoes-{tag}/part-0.parquet": _parquet(10), f"hats-{tag}/part-0.parquet": _parquet(5, 100)}
    return p.upload(files, marker)


def _deliver_until_done(p: EmulatedPipeline, event: dict[str, Any], *, attempts: int = 8) -> list[Any]:
    """Deliver like EventBridge does: again after a (retryable) function error, a bounded number of times."""
    outcomes: list[Any] = []
    for n in range(attempts):
        try:
            result = p.handle(dict(event, id=f"{event['id']}-{n}"))
        except RetryableError as exc:
            outcomes.append(exc)
            continue
        outcomes.append(result)
        return outcomes
    raise AssertionError(f"not done after {attempts} deliveries: {outcomes}")


def _wait_until(probe: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")


# --- duplicates ------------------------------------------------------------------------------------------------


@pytest.mark.campaign(
    "duplicates", f"{DELIVERIES} concurrent deliveries of one marker event (in-process threads)"
)
def test_concurrent_deliveries_start_exactly_one_import(emulated_pipeline: EmulatedPipeline) -> None:
    p = emulated_pipeline
    event = _valid_drop(p)

    # When 20 deliveries of the same event (distinct EventBridge ids) run at once
    def deliver(n: int) -> Any:
        try:
            return p.handle(dict(event, id=f"delivery-{n}"))
        except Exception as exc:  # an in-flight duplicate may be refused: EventBridge retries it
            return exc

    with ThreadPoolExecutor(max_workers=DELIVERIES) as pool:
        results = list(pool.map(deliver, range(DELIVERIES)))
    # Then one import and one execution; every other delivery was told so, or refused as in progress (retryable)
    errors = [r for r in results if isinstance(r, Exception)]
    assert all(type(e).__name__ == "IdempotencyAlreadyInProgressError" for e in errors), errors
    answers = [r for r in results if not isinstance(r, Exception)]
    assert answers
    assert {a["outcome"] for a in answers} <= {"Started", "AlreadyHandled"}
    # And the retries EventBridge would make afterwards all point at the same import
    retried = [p.handle(dict(event, id=f"retry-{n}")) for n in range(len(errors))]
    import_ids = {a.get("import_id") for a in answers + retried}
    assert len(import_ids) == 1 and None not in import_ids
    assert len(p.requests("start_import")) == 1
    assert len(p.imports()) == 1
    assert len(p.pipeline.executions()) == 1


@pytest.mark.campaign("duplicates", f"{DELIVERIES} sequential deliveries of one marker event")
def test_sequential_deliveries_start_exactly_one_import(emulated_pipeline: EmulatedPipeline) -> None:
    p = emulated_pipeline
    event = _valid_drop(p)
    results = [p.handle(dict(event, id=f"delivery-{n}")) for n in range(DELIVERIES)]
    assert results[0]["outcome"] == "Started"
    assert {r["import_id"] for r in results} == {results[0]["import_id"]}
    assert len(p.requests("start_import")) == 1
    assert len(p.pipeline.executions()) == 1


@pytest.mark.campaign(
    "duplicates", f"{DELIVERIES} concurrent deliveries without the idempotency table (ledger only)"
)
def test_without_idempotency_table_the_ledger_alone_keeps_one_import(
    emulated_pipeline: EmulatedPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.handlers import _deps

    monkeypatch.delenv("AUTOIMPORT_IDEMPOTENCY_TABLE")
    _deps.reset()
    p = emulated_pipeline
    event = _valid_drop(p)
    with ThreadPoolExecutor(max_workers=DELIVERIES) as pool:
        results = list(pool.map(lambda n: _try(p, dict(event, id=f"d-{n}")), range(DELIVERIES)))
    assert len(p.requests("start_import")) == 1, [r for r in results if isinstance(r, Exception)]
    final = p.handle(dict(event, id="late"))
    assert final["outcome"] in ("AlreadyHandled", "Resumed")
    assert len(p.pipeline.executions()) == 1


def _try(p: EmulatedPipeline, event: dict[str, Any]) -> Any:
    try:
        return p.handle(event)
    except Exception as exc:
        return exc


@pytest.mark.campaign("duplicates", "the same marker uploaded again (same content) after the import")
def test_the_same_marker_uploaded_again_is_already_handled(emulated_pipeline: EmulatedPipeline) -> None:
    p = emulated_pipeline
    event = _valid_drop(p)
    first = p.handle(event)
    # S3 gives an identical re-upload the same ETag: the same drop, already handled
    key = event["detail"]["object"]["key"]
    again = p.pipeline.upload(key, b"")
    second = p.handle(
        dict(event, id="reupload", detail=dict(event["detail"], object={"key": key, "etag": again["etag"]}))
    )
    # (the idempotency layer answers with the first result; the ledger alone would say AlreadyHandled)
    assert second["outcome"] in ("Started", "AlreadyHandled")
    assert second["import_id"] == first["import_id"]
    assert len(p.requests("start_import")) == 1


@pytest.mark.campaign(
    "duplicates", "a changed marker for a drop that already imported: rejected, namespaces exist"
)
def test_a_new_marker_for_an_imported_drop_is_rejected_because_its_namespaces_exist(
    emulated_pipeline: EmulatedPipeline,
) -> None:
    p = emulated_pipeline
    event = _valid_drop(p, tag="once")
    first = p.handle(event)
    assert first["outcome"] == "Started"
    _wait_until(lambda: p.imports()[0].status == "Completed", "the first import completing")
    # When the producer writes the marker again with new content (a new ETag: a new drop identity)
    key = event["detail"]["object"]["key"]
    put = p.pipeline.upload(key, b"\n")
    p.pipeline.sns_messages(expected=0)  # nothing was notified yet by the handler-level first start
    result = p.handle(
        dict(event, id="new-marker", detail=dict(event["detail"], object={"key": key, "etag": put["etag"]}))
    )
    # Then it is rejected, naming the namespaces that already exist; no second import
    assert result["outcome"] == "Rejected"
    [sns] = p.pipeline.sns_messages()
    message = json.loads(sns["Message"])
    text = json.dumps(message["problems"])
    assert "shoes-once" in text and "hats-once" in text and "already holds" in text
    assert len(p.requests("start_import")) == 1
    assert len(p.imports()) == 1


# --- Pinecone faults -------------------------------------------------------------------------------------------


@pytest.mark.campaign("pinecone-faults", "30% of all requests answered 429 or 503")
def test_throttling_and_unavailability_still_end_with_exactly_one_import(
    emulated_pipeline: EmulatedPipeline,
) -> None:
    p = emulated_pipeline
    p.emulator.inject(operation="*", sequence=[429, 503])  # at least these two, then 30 % at random
    p.emulator.inject(operation="*", status=429, probability=0.15, retry_after=0.05)
    p.emulator.inject(operation="*", status=503, probability=0.18)
    events = [_valid_drop(p) for _ in range(3)]
    for event in events:
        outcomes = _deliver_until_done(p, event)
        assert outcomes[-1]["outcome"] == "Started", outcomes
    statuses = [r["status"] for r in p.requests()]
    assert {429, 503} <= set(statuses), "the faults were not injected: the case would prove nothing"
    assert len(p.imports()) == 3
    assert len({job.uri for job in p.imports()}) == 3
    assert len(p.pipeline.executions()) == 3


@pytest.mark.campaign("pinecone-faults", "start accepted, then answered 500: no second import")
def test_a_500_after_the_start_was_accepted_does_not_start_a_second_import(
    emulated_pipeline: EmulatedPipeline,
) -> None:
    p = emulated_pipeline
    p.emulator.inject(operation="start_import", action="accept_then_error", status=500, times=1)
    event = _valid_drop(p)
    outcomes = _deliver_until_done(p, event)
    assert outcomes[-1]["outcome"] in ("Started", "Resumed"), outcomes
    assert len(p.imports()) == 1
    assert len(p.pipeline.executions()) == 1
    assert outcomes[-1]["import_id"] == next(iter(p.imports())).id


@pytest.mark.campaign(
    "pinecone-faults", "a wrong API key: one PipelineError naming the secret, no retry storm"
)
def test_a_wrong_api_key_notifies_once_naming_the_secret_without_retrying(
    emulated_pipeline: EmulatedPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.handlers import _deps

    p = emulated_pipeline
    secret = p.pipeline.client("secretsmanager").create_secret(
        Name=f"pinecone/api-key-{os.urandom(3).hex()}",
        SecretString=json.dumps({"api_key": "pcsk_revoked_key"}),
    )
    monkeypatch.delenv("PINECONE_API_KEY")
    monkeypatch.setenv("PINECONE_API_KEY_SECRET_ID", secret["ARN"])
    _deps.reset()
    event = _valid_drop(p)
    first = p.handle(event)
    again = p.handle(dict(event, id="redelivered"))
    # Then one PipelineError notification whose hint names the secret to fix; the key itself appears nowhere
    assert first["outcome"] == "PipelineError", first
    assert again["outcome"] in ("PipelineError", "AlreadyHandled"), again  # the first answer, or the ledger's
    [sns] = p.pipeline.sns_messages()  # one notification for two deliveries
    assert sns["MessageAttributes"]["outcome"]["Value"] == "PipelineError"
    message = json.loads(sns["Message"])
    assert secret["Name"] in (message["hint"] or ""), message
    assert "pcsk_revoked_key" not in sns["Message"]
    # And Pinecone was asked once: a refused key is not retried
    assert [r["status"] for r in p.requests()] == [401]
    assert p.imports() == []


@pytest.mark.campaign(
    "pinecone-faults", "answers slower than the timeout: bounded retries, then a retryable error"
)
def test_answers_slower_than_the_timeout_are_retried_a_bounded_number_of_times(
    emulated_pipeline: EmulatedPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.handlers import _deps

    p = emulated_pipeline
    monkeypatch.setenv("AUTOIMPORT_HTTP_TIMEOUT_S", "0.3")
    _deps.reset()
    p.emulator.inject(operation="describe_index_stats", action="slow", delay_seconds=1.0)
    event = _valid_drop(p)
    with pytest.raises(RetryableError) as raised:
        p.handle(event)
    asked = len(p.requests("describe_index_stats"))
    assert type(raised.value).__name__ == "PineconeUnavailable"
    assert 1 < asked <= 6, asked  # retried, but a bounded number of times
    assert p.imports() == []
    # When Pinecone answers in time again, the next delivery starts the import once
    p.emulator.state.faults.clear()
    assert p.handle(dict(event, id="later"))["outcome"] in ("Started", "Resumed")
    assert len(p.imports()) == 1


# --- crashes ---------------------------------------------------------------------------------------------------


class Crash(RuntimeError):
    """The function dies here (a Lambda timeout or an out-of-memory kill would look the same to the next try)."""


def _crash_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    calls: list[int] = []
    original = getattr(owner, name)

    def crashing(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise Crash(f"died in {name}")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, crashing)
    return calls


@pytest.mark.parametrize(
    ("owner", "method"),
    [
        pytest.param(aws.StepFunctionsWorkflow, "start",
                     marks=pytest.mark.campaign("crashes", "dies after start_import, before StartExecution"),
                     id="before-start-execution"),
        pytest.param(aws.DynamoLedger, "record_import",
                     marks=pytest.mark.campaign("crashes", "dies after start_import, before the ledger write"),
                     id="before-ledger-write"),
        pytest.param(aws.DynamoLedger, "mark",
                     marks=pytest.mark.campaign("crashes", "dies after StartExecution, before marking Tracking"),
                     id="before-mark-tracking"),
    ],
)  # fmt: skip
def test_a_crash_between_steps_is_finished_by_the_redelivery_with_the_same_import(
    emulated_pipeline: EmulatedPipeline, monkeypatch: pytest.MonkeyPatch, owner: Any, method: str
) -> None:
    p = emulated_pipeline
    event = _valid_drop(p)
    calls = _crash_once(monkeypatch, owner, method)
    # Given the first attempt dies at that point (the idempotency record of an error is released)
    with pytest.raises(Crash):
        p.handle(event)
    assert calls
    assert len(p.imports()) == 1
    # When EventBridge delivers the event again
    result = p.handle(dict(event, id="redelivery"))
    # Then the same import is tracked by one execution; nothing was started twice
    assert result["outcome"] in ("Resumed", "Started", "AlreadyHandled"), result
    assert result["import_id"] == p.imports()[0].id
    assert len(p.requests("start_import")) == 1
    assert len(p.pipeline.executions()) == 1
    record = p.pipeline.ledger_item(result["drop_id"])
    assert record is not None and record["state"] == "Tracking" and record["import_id"] == result["import_id"]


@pytest.mark.campaign("crashes", "dies while validating, before anything was started")
def test_a_crash_before_the_start_is_retried_into_exactly_one_import(
    emulated_pipeline: EmulatedPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.integrations.pinecone import PineconeClient

    p = emulated_pipeline
    event = _valid_drop(p)
    _crash_once(monkeypatch, PineconeClient, "describe_index_stats")
    with pytest.raises(Crash):
        p.handle(event)
    assert p.imports() == []
    result = p.handle(dict(event, id="redelivery"))
    assert result["outcome"] == "Started"
    assert len(p.requests("start_import")) == 1
    assert len(p.pipeline.executions()) == 1


@pytest.mark.campaign("crashes", "every poll fails: bounded retries, then one PipelineError notification")
def test_a_poll_task_that_keeps_failing_ends_in_one_pipeline_error_notification(
    emulated_pipeline: EmulatedPipeline,
) -> None:
    from functions.handlers import finalize, poll_import

    p = emulated_pipeline
    started = p.handle(_valid_drop(p))
    execution = p.pipeline.client("stepfunctions").describe_execution(executionArn=started["execution_arn"])
    handle = json.loads(execution["input"])
    # Given Pinecone answers every describe_import with 500
    p.emulator.inject(operation="describe_import", status=500)
    # When Step Functions runs PollImport again and again (its Retry; tests/infra checks the policy itself)
    errors = []
    for _ in range(3):
        with pytest.raises(RetryableError) as raised:
            poll_import.handler(handle, p.pipeline.context)
        errors.append(raised.value)
    asked = len(p.requests("describe_import"))
    assert len(errors) <= asked <= 4 * len(errors)  # each task run retries a bounded number of times
    # And its Catch hands the last error (as Lambda reports it, with a stack trace) to Finalize
    last = errors[-1]
    cause = {
        "errorMessage": str(last),
        "errorType": type(last).__name__,
        "stackTrace": ['  File "/var/task/x.py"'],
    }
    failed = dict(handle, pipeline_error={"Error": type(last).__name__, "Cause": json.dumps(cause)})
    failed["failed_state"] = "PollImport"
    finalize.handler(failed, p.pipeline.context)
    finalize.handler(failed, p.pipeline.context)  # a retried Finalize does not notify twice
    # Then exactly one PipelineError notification, naming the state and the error, with a hint, no traceback
    [sns] = p.pipeline.sns_messages()
    message = json.loads(sns["Message"])
    assert message["outcome"] == "PipelineError"
    assert "PollImport" in message["error"] and "500" in message["error"], message["error"]
    assert message["hint"]
    assert "stackTrace" not in sns["Message"] and 'File "' not in sns["Message"]
    assert len(p.imports()) == 1
