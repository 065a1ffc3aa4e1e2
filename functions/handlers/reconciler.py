"""Scheduled reconciler: adopt running imports that no execution tracks, so every import gets a notification."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.handlers import _deps
from functions.logic.reconcile import adopt_untracked
from functions.observability import EVENTBRIDGE_CORRELATION, Metric, MetricUnit, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=EVENTBRIDGE_CORRELATION)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = adopt_untracked(
        _deps.settings(),
        pinecone=_deps.pinecone,
        ledger=_deps.require_ledger(),
        workflow=_deps.workflow(),
        now=datetime.now(UTC),
    )
    if result.adopted:
        metrics.add_metric(name=Metric.IMPORTS_ADOPTED, unit=MetricUnit.Count, value=len(result.adopted))
    logger.info("reconciled", extra=result.to_dict())
    return result.to_dict()
