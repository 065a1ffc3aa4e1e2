"""Notification text: one structured message per ending, rendered for SNS and EventBridge.

Nothing here may leak a traceback or a secret: causes from Step Functions are reduced to their message,
and anything shaped like a Pinecone API key is redacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from functions.models.handle import Outcome
from functions.models.notification import Notification, OutgoingMessage
from functions.settings import EVENT_SOURCE

SUBJECT_MAX = 100
ERROR_TEXT_MAX = 1000
_KEY_PATTERN = re.compile(r"pcsk_[A-Za-z0-9_-]+|(?i:api[-_ ]?key)\s*[:=]\s*\S+")
_TRACE_LINE = re.compile(r'^\s*(Traceback \(most recent call last\)|File "[^"]*", line \d+)')

_VERBS: dict[Outcome, str] = {
    Outcome.COMPLETED: "completed",
    Outcome.FAILED: "failed",
    Outcome.CANCELLED: "was cancelled",
    Outcome.TIMED_OUT: "timed out and was cancelled",
    Outcome.REJECTED: "was rejected by validation",
    Outcome.PIPELINE_ERROR: "stopped on a pipeline error",
}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("***", text)


def clean_error_text(text: str | None, secrets: Iterable[str] = ()) -> str | None:
    """A readable one-paragraph error: the message of a Lambda error payload, no stack trace, no secret."""
    if not text:
        return None
    text = text.strip()
    try:
        payload = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        payload = None
    if isinstance(payload, dict):
        text = str(payload.get("errorMessage") or payload.get("message") or payload.get("Cause") or "")
    kept = []
    for line in text.splitlines():
        if _TRACE_LINE.match(line):
            break
        kept.append(line.strip())
    cleaned = " ".join(part for part in kept if part)
    cleaned = redact(cleaned, secrets)
    if len(cleaned) > ERROR_TEXT_MAX:
        cleaned = cleaned[: ERROR_TEXT_MAX - 1] + "…"
    return cleaned or None


def _drop_label(notification: Notification) -> str:
    return notification.drop.prefix.rstrip("/").rsplit("/", 1)[-1] or notification.drop.prefix


def summary(notification: Notification) -> str:
    n = notification
    what = f"Import {n.import_id}" if n.import_id else "Drop"
    sentence = f"{what} of {n.drop.uri} into index {n.index} {_VERBS[n.outcome]}"
    rec = n.reconciliation
    if n.outcome is Outcome.COMPLETED and rec.records_imported is not None:
        if rec.expected_rows is not None:
            sentence += f": {rec.records_imported:,} of {rec.expected_rows:,} rows imported"
        else:
            sentence += f": {rec.records_imported:,} rows imported"
    elif n.outcome is Outcome.REJECTED and n.problems:
        sentence += f": {len(n.problems)} problem(s), first: {n.problems[0]}"
    elif n.error:
        sentence += f": {n.error}"
    return sentence + "."


def subject(notification: Notification) -> str:
    """SNS subject: ASCII, one line, at most 100 characters."""
    raw = f"[{notification.outcome.value}] {notification.index}: {_drop_label(notification)}"
    if notification.outcome is Outcome.COMPLETED and notification.reconciliation.consistent is False:
        raw = (
            f"[{notification.outcome.value}, rows missing] {notification.index}: {_drop_label(notification)}"
        )
    ascii_only = raw.encode("ascii", "replace").decode().replace("\n", " ").replace("\r", " ")
    if len(ascii_only) > SUBJECT_MAX:
        ascii_only = ascii_only[: SUBJECT_MAX - 3] + "..."
    return ascii_only


def render(notification: Notification) -> OutgoingMessage:
    """The SNS publish (subject, JSON body, filterable attributes) and the EventBridge entry."""
    body = notification.model_dump(mode="json")
    body["detail_type"] = notification.detail_type
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return OutgoingMessage(
        subject=subject(notification),
        body=text,
        attributes={
            "outcome": notification.outcome.value,
            "index": notification.index,
            "drop": notification.drop.uri,
            "route": notification.route,
        },
        source=EVENT_SOURCE,
        detail_type=notification.detail_type,
        detail=text,
    )
