"""PollImport task: describe the import, return the handle with its progress and the next step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.handlers import _deps
from functions.logic.polling import poll_import
from functions.models.handle import ImportHandle
from functions.observability import HANDLE_CORRELATION, logger, metrics, tracer
from functions.settings import PollPolicy


@logger.inject_lambda_context(correlation_id_path=HANDLE_CORRELATION)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    handle = ImportHandle.model_validate(event)
    s = _deps.settings()
    route = s.route_named(handle.route)
    updated = poll_import(
        handle,
        api=_deps.pinecone(handle.index_host),
        policy=route.poll if route else PollPolicy(),
        now=datetime.now(UTC),
        scale=s.poll_wait_scale,
    )
    logger.info(
        "polled",
        extra={
            "import_id": updated.import_id,
            "status": updated.status,
            "percent_complete": updated.percent_complete,
            "action": updated.action.value,
            "next_wait_s": updated.next_wait_s,
        },
    )
    return updated.to_event()
