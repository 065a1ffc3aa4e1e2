"""The one set of Powertools singletons. Every handler uses the same decorator order:

@logger.inject_lambda_context(correlation_id_path=...)   # Logger first: correlation id from the event
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context): ...
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "pinecone-autoimport"
NAMESPACE = "PineconeAutoImport"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

EVENTBRIDGE_CORRELATION = correlation_paths.EVENT_BRIDGE
"""``id`` of the EventBridge event (start_import, reconciler)."""
HANDLE_CORRELATION = "drop.drop_id"
"""The drop id carried by the import handle (state machine tasks)."""


class Metric:
    """Metric names (CloudWatch, namespace ``PineconeAutoImport``)."""

    IMPORTS_STARTED = "ImportsStarted"
    DROPS_REJECTED = "DropsRejected"
    DROPS_IGNORED = "EventsIgnored"
    IMPORTS_COMPLETED = "ImportsCompleted"
    IMPORTS_FAILED = "ImportsFailed"
    IMPORTS_TIMED_OUT = "ImportsTimedOut"
    IMPORTS_ADOPTED = "ImportsAdopted"
    PIPELINE_ERRORS = "PipelineErrors"
    RECORDS_IMPORTED = "RecordsImported"
    IMPORT_DURATION = "ImportDuration"


__all__ = [
    "EVENTBRIDGE_CORRELATION",
    "HANDLE_CORRELATION",
    "Metric",
    "MetricUnit",
    "logger",
    "metrics",
    "tracer",
]
