"""Finalize task: reconcile counts, notify once (SNS + EventBridge), close the ledger record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.handlers import _deps
from functions.logic.finalize import finalize
from functions.logic.pipeline import key_source
from functions.logic.ports import PineconeApi
from functions.models.handle import ImportHandle, Outcome
from functions.observability import HANDLE_CORRELATION, Metric, MetricUnit, logger, metrics, tracer

_OUTCOME_METRICS = {
    Outcome.COMPLETED: Metric.IMPORTS_COMPLETED,
    Outcome.FAILED: Metric.IMPORTS_FAILED,
    Outcome.CANCELLED: Metric.IMPORTS_FAILED,
    Outcome.TIMED_OUT: Metric.IMPORTS_TIMED_OUT,
    Outcome.REJECTED: Metric.DROPS_REJECTED,
    Outcome.PIPELINE_ERROR: Metric.PIPELINE_ERRORS,
}


def _api(handle: ImportHandle) -> PineconeApi | None:
    """A client for the reconciliation read; a pipeline error must still notify when Pinecone is unreachable."""
    if handle.pipeline_error is not None or handle.import_id is None:
        return None
    return _deps.pinecone(handle.index_host)


@logger.inject_lambda_context(correlation_id_path=HANDLE_CORRELATION)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    handle = ImportHandle.model_validate(event)
    final, sent = finalize(
        handle,
        api=_api(handle),
        notifier=_deps.notifier(),
        ledger=_deps.ledger(),
        now=datetime.now(UTC),
        secrets=_deps.secrets(),
        key_source=key_source(_deps.settings()),
    )
    if sent is not None and final.outcome is not None:
        metrics.add_metric(name=_OUTCOME_METRICS[final.outcome], unit=MetricUnit.Count, value=1)
        if sent.reconciliation.records_imported:
            metrics.add_metric(
                name=Metric.RECORDS_IMPORTED,
                unit=MetricUnit.Count,
                value=sent.reconciliation.records_imported,
            )
        if sent.duration_s is not None:
            metrics.add_metric(name=Metric.IMPORT_DURATION, unit=MetricUnit.Seconds, value=sent.duration_s)
    logger.info("finalized", extra={"outcome": final.outcome, "notified": sent is not None})
    return final.to_event()
