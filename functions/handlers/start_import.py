"""S3 "Object Created" (via EventBridge) → one validated Pinecone import per drop, tracked by Step Functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.parser import envelopes, parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from functions.errors import InvalidEvent
from functions.handlers import _deps
from functions.logic.drop import make_drop
from functions.logic.pipeline import DEFAULT_START_LEASE, start_drop
from functions.logic.routing import Ignored, resolve_marker
from functions.models.events import ObjectCreatedDetail
from functions.models.handle import DropRef
from functions.observability import EVENTBRIDGE_CORRELATION, Metric, MetricUnit, logger, metrics, tracer

IDEMPOTENCY_TTL_S = 30 * 24 * 3600


def _ignored(reason: str, **extra: Any) -> dict[str, Any]:
    logger.info("event ignored", extra={"reason": reason, **extra})
    metrics.add_metric(name=Metric.DROPS_IGNORED, unit=MetricUnit.Count, value=1)
    return {"outcome": "Ignored", "reason": reason, **extra}


def _lease(context: LambdaContext | None) -> timedelta:
    """The start lease lasts as long as this invocation may still run (plus a margin), like Powertools'."""
    try:
        remaining_ms = int(context.get_remaining_time_in_millis())  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        return DEFAULT_START_LEASE
    return timedelta(milliseconds=max(remaining_ms, 0)) + timedelta(seconds=10)


def _start(*, drop: dict[str, Any], lease: timedelta = DEFAULT_START_LEASE) -> dict[str, Any]:
    ref = DropRef.model_validate(drop)
    s = _deps.settings()
    routed = resolve_marker(s, bucket=ref.bucket, key=ref.marker_key)
    if isinstance(routed, Ignored):  # settings changed between the two calls: cannot really happen
        return _ignored(routed.reason)
    result = start_drop(
        routed,
        ref,
        deps=_deps.collaborators(routed.route),
        settings=s,
        now=datetime.now(UTC),
        lease=lease,
    )
    if result.outcome in ("Started", "Resumed"):
        metrics.add_metric(name=Metric.IMPORTS_STARTED, unit=MetricUnit.Count, value=1)
    elif result.outcome == "Rejected":
        metrics.add_metric(name=Metric.DROPS_REJECTED, unit=MetricUnit.Count, value=1)
    return result.to_dict()


@logger.inject_lambda_context(correlation_id_path=EVENTBRIDGE_CORRELATION)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        parsed = parse(event=event, model=ObjectCreatedDetail, envelope=envelopes.EventBridgeEnvelope)
        if not isinstance(parsed, ObjectCreatedDetail):
            raise TypeError("detail is missing")
        detail = parsed
    except (ValidationError, ValueError, TypeError, KeyError) as exc:
        err = InvalidEvent(f"not an S3 Object Created event: {type(exc).__name__}")
        logger.warning("malformed event ignored", extra={"error": err.to_dict()})
        return _ignored(err.message)
    s = _deps.settings()
    routed = resolve_marker(s, bucket=detail.bucket.name, key=detail.object.key)
    if isinstance(routed, Ignored):
        return _ignored(routed.reason, key=detail.object.key)
    drop = make_drop(
        bucket=routed.bucket,
        prefix=routed.prefix,
        marker_key=routed.marker_key,
        marker_etag=detail.object.etag,
        marker_version_id=detail.object.version_id,
    )
    logger.append_keys(drop_id=drop.drop_id, route=routed.route.name)
    if not s.idempotency_table:
        return _start(drop=drop.model_dump(mode="json"), lease=_lease(context))
    config = IdempotencyConfig(
        event_key_jmespath="drop_id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_TTL_S,
    )
    config.register_lambda_context(context)
    guarded = idempotent_function(
        _start,
        data_keyword_argument="drop",
        persistence_store=_deps.idempotency_store(s.idempotency_table),
        config=config,
    )
    result: dict[str, Any] = guarded(drop=drop.model_dump(mode="json"), lease=_lease(context))
    return result
