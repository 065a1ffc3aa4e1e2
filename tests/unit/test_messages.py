"""Notifications: readable, filterable, one per ending, never a traceback or a secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from functions.logic import messages
from functions.logic.finalize import build_notification, outcome_of, reconcile
from functions.models.handle import Outcome, PipelineErrorInfo
from functions.models.imports import ErrorMode, IndexStats, NamespaceStats
from functions.models.notification import DETAIL_TYPES
from tests.fixtures.events import EVENTS_DIR, SAMPLE_NOW, render_samples, sample_handle


def test_every_outcome_has_its_detail_type() -> None:
    assert DETAIL_TYPES == {
        Outcome.COMPLETED: "Import Completed",
        Outcome.FAILED: "Import Failed",
        Outcome.CANCELLED: "Import Cancelled",
        Outcome.TIMED_OUT: "Import Timed Out",
        Outcome.REJECTED: "Import Rejected",
        Outcome.PIPELINE_ERROR: "Import Pipeline Error",
    }


@pytest.mark.parametrize("outcome", list(Outcome))
def test_rendered_message_has_attributes_subject_and_json_body(outcome: Outcome) -> None:
    handle = sample_handle().model_copy(update={"status": "Failed", "error": "boom"})
    msg = messages.render(build_notification(handle, outcome=outcome, now=SAMPLE_NOW))
    assert msg.attributes["outcome"] == outcome.value
    assert msg.attributes["index"] == "products"
    assert msg.attributes["drop"] == handle.drop.uri
    assert msg.source == "pinecone.autoimport"
    assert msg.detail_type == DETAIL_TYPES[outcome]
    assert len(msg.subject) <= 100
    assert msg.subject.isascii()
    assert "\n" not in msg.subject
    assert json.loads(msg.body)["outcome"] == outcome.value


def test_a_long_index_name_and_unicode_still_give_a_valid_subject() -> None:
    handle = sample_handle().model_copy(update={"index_name": "ïndex-" + "x" * 200})
    subject = messages.render(build_notification(handle, outcome=Outcome.FAILED, now=SAMPLE_NOW)).subject
    assert len(subject) <= 100
    assert subject.isascii()
    assert subject.endswith("...")


def test_a_lambda_error_cause_loses_its_stack_trace() -> None:
    cause = json.dumps(
        {
            "errorMessage": "describe_import 503",
            "errorType": "PineconeUnavailable",
            "stackTrace": ['  File "/var/task/functions/handlers/poll_import.py", line 20, in handler\n'],
        }
    )
    handle = sample_handle().model_copy(
        update={"pipeline_error": PipelineErrorInfo(error="PineconeUnavailable", cause=cause)}
    )
    note = build_notification(handle, outcome=Outcome.PIPELINE_ERROR, now=SAMPLE_NOW)
    body = messages.render(note).body
    assert note.error == "describe_import 503"
    assert "stackTrace" not in body
    assert 'File "' not in body
    assert note.hint
    assert "Pinecone" in note.hint


def test_a_plain_text_traceback_is_cut_at_the_trace() -> None:
    text = 'Task failed: bad thing\nTraceback (most recent call last):\n  File "x.py", line 1, in <module>\nValueError'
    assert messages.clean_error_text(text) == "Task failed: bad thing"


def test_api_keys_never_reach_a_message() -> None:
    secret = "pcsk_5Zx9-supersecretvalue"
    handle = sample_handle().model_copy(update={"status": "Failed", "error": f"denied for key {secret}"})
    note = build_notification(handle, outcome=Outcome.FAILED, now=SAMPLE_NOW, secrets=["other-secret"])
    rendered = messages.render(note)
    assert secret not in rendered.body
    assert "supersecret" not in rendered.subject
    assert messages.redact("Api-Key: abc123 and other-secret", ["other-secret"]) == "*** and ***"


def test_reconcile_finds_rows_skipped_in_continue_mode_per_namespace() -> None:
    stats = IndexStats(
        namespaces={"a": NamespaceStats(vector_count=90), "b": NamespaceStats(vector_count=50)}
    )
    rec, warnings = reconcile(
        expected_rows=150,
        expected_namespaces={"a": 100, "b": 50},
        records_imported=140,
        stats=stats,
        error_mode=ErrorMode.CONTINUE,
    )
    assert rec.skipped_rows == 10
    assert rec.index_rows == 140
    assert [(n.namespace, n.missing) for n in rec.namespaces] == [("a", 10), ("b", 0)]
    assert rec.consistent is False
    assert any("continue" in w for w in warnings)


def test_reconcile_of_matching_counts_is_consistent() -> None:
    stats = IndexStats(namespaces={"a": NamespaceStats(vector_count=100)})
    rec, warnings = reconcile(
        expected_rows=100, expected_namespaces={"a": 100}, records_imported=100, stats=stats
    )
    assert rec.consistent is True
    assert warnings == []


def test_reconcile_without_counts_says_nothing() -> None:
    rec, warnings = reconcile(expected_rows=None, expected_namespaces={}, records_imported=None, stats=None)
    assert rec.consistent is None
    assert warnings == []


def test_outcome_follows_error_then_decision_then_status() -> None:
    h = sample_handle()
    assert outcome_of(h.model_copy(update={"status": "Completed"}), SAMPLE_NOW) is Outcome.COMPLETED
    assert outcome_of(h.model_copy(update={"status": "Failed"}), SAMPLE_NOW) is Outcome.FAILED
    assert outcome_of(
        h.model_copy(update={"status": "Cancelled", "outcome": Outcome.TIMED_OUT}), SAMPLE_NOW
    ) is (Outcome.TIMED_OUT)
    errored = h.model_copy(update={"status": "Completed", "pipeline_error": PipelineErrorInfo(error="X")})
    assert outcome_of(errored, SAMPLE_NOW) is Outcome.PIPELINE_ERROR
    late = h.model_copy(update={"status": "InProgress"})
    assert outcome_of(late, h.deadline_at + timedelta(seconds=1)) is Outcome.TIMED_OUT
    assert outcome_of(late, datetime(2026, 11, 29, 7, tzinfo=UTC)) is Outcome.PIPELINE_ERROR


def test_event_samples_match_what_the_code_renders() -> None:
    # The files in events/ are a contract (state machine, subscribers): regenerate them deliberately with
    # `python -m tests.fixtures.events` when the shape changes on purpose.
    for rel, data in render_samples().items():
        on_disk = json.loads((EVENTS_DIR / rel).read_text())
        assert on_disk == json.loads(json.dumps(data)), rel
