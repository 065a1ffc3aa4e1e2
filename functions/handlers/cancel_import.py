"""CancelImport task: cancel an import past its deadline, then describe it (outcome TimedOut)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.handlers import _deps
from functions.logic.polling import cancel_import
from functions.models.handle import ImportHandle
from functions.observability import HANDLE_CORRELATION, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=HANDLE_CORRELATION)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    handle = ImportHandle.model_validate(event)
    updated = cancel_import(handle, api=_deps.pinecone(handle.index_host), now=datetime.now(UTC))
    logger.info("cancelled", extra={"import_id": updated.import_id, "status": updated.status})
    return updated.to_event()
