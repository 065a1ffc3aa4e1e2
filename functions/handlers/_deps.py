"""The composition root: real collaborators built from settings, once per warm container.

Handlers take their collaborators from here; tests point the environment at moto and a local Pinecone server
and call :func:`reset` between cases.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from functions.errors import AutoImportError, ConfigurationError
from functions.integrations import aws
from functions.integrations.pinecone import PineconeClient
from functions.logic.ports import Ledger, PineconeApi, Validator
from functions.settings import REPORT_FILE_NAME, Route, Settings, get_settings

if TYPE_CHECKING:
    # Imported where used, so the poll, cancel and finalize handlers load neither pyarrow (validator) nor the
    # start_import pipeline, manifest and report models, nor the idempotency layer: a shorter cold start.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from functions.logic.pipeline import Collaborators
    from functions.models.handle import DropRef
    from functions.models.imports import IndexStats
    from functions.models.manifest import Manifest
    from functions.models.report import ValidationOptions, ValidationReport


def settings() -> Settings:
    return get_settings()


def api_key() -> str:
    s = settings()
    if s.api_key:
        return s.api_key
    if s.api_key_secret_id:
        return aws.read_api_key(s.api_key_secret_id)
    raise ConfigurationError(
        "no Pinecone API key is configured",
        hint="Set PINECONE_API_KEY_SECRET_ID (cloud) or PINECONE_API_KEY (local runs).",
    )


@lru_cache(maxsize=32)
def _client(host: str, key: str) -> PineconeClient:
    s = settings()
    return PineconeClient(host=host, api_key=key, api_version=s.api_version, timeout=s.http_timeout_s)


def pinecone(host: str) -> PineconeApi:
    """A client for one index host (cached per host and key: a rotated secret gets a new client)."""
    return _client(host, api_key())


def ledger() -> Ledger | None:
    table = settings().ledger_table
    return aws.DynamoLedger(table) if table else None


def require_ledger() -> Ledger:
    led = ledger()
    if led is None:
        raise ConfigurationError(
            "AUTOIMPORT_LEDGER_TABLE is not set", hint="Deploy the stack or set the variable."
        )
    return led


def notifier() -> aws.AwsNotifier:
    s = settings()
    return aws.AwsNotifier(topic_arn=s.topic_arn, event_bus=s.event_bus_name)


def workflow() -> aws.StepFunctionsWorkflow:
    arn = settings().state_machine_arn
    if not arn:
        raise ConfigurationError(
            "AUTOIMPORT_STATE_MACHINE_ARN is not set", hint="Deploy the stack or set it."
        )
    return aws.StepFunctionsWorkflow(arn)


def validation_options(s: Settings) -> ValidationOptions:
    from functions.models.report import ValidationOptions

    return ValidationOptions(
        marker_name=s.marker_name,
        report_name=REPORT_FILE_NAME,
        sample_rows=s.validation_sample_rows,
        concurrency=s.validation_concurrency,
        extra_columns_are_errors=s.extra_columns_are_errors,
    )


def validator() -> Validator:
    from functions.integrations.storage import open_storage
    from functions.logic.validation import validate_drop

    options = validation_options(settings())

    def validate(drop: DropRef, route: Route, stats: IndexStats | None) -> ValidationReport:
        return validate_drop(drop.uri, storage=open_storage(drop.uri), options=options, index=stats)

    return validate


MANIFEST_MAX_BYTES = 4 * 1024 * 1024


def read_manifest(drop: DropRef) -> Manifest | None:
    """The manifest in the drop's marker; None when there is none or it is unreadable (the validator has
    already reported an invalid manifest, so this only ever adds the producer's error mode)."""
    from functions.integrations.storage import open_storage
    from functions.models.manifest import parse_manifest

    marker_uri = f"s3://{drop.bucket}/{drop.marker_key}"
    try:
        return parse_manifest(open_storage(marker_uri).read_object(marker_uri, max_bytes=MANIFEST_MAX_BYTES))
    except (AutoImportError, ValueError):
        return None


def collaborators(route: Route) -> Collaborators:
    from functions.logic.pipeline import Collaborators

    return Collaborators(
        api=pinecone(route.index_host),
        validate=validator(),
        ledger=require_ledger(),
        workflow=workflow(),
        notifier=notifier(),
        reports=aws.S3ReportWriter(),
        manifest=read_manifest,
    )


def secrets() -> tuple[str, ...]:
    """Values to redact from anything sent out (the API key, when one can be read)."""
    try:
        return (api_key(),)
    except Exception:  # redaction must never be the reason a notification fails
        return ()


@lru_cache(maxsize=4)
def idempotency_store(table: str) -> DynamoDBPersistenceLayer:
    """Powertools Idempotency persistence (partition key ``id``, TTL attribute ``expiration``)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=table)


def reset() -> None:
    """Forget settings, clients and secrets (tests; never needed in Lambda)."""
    get_settings.cache_clear()
    _client.cache_clear()
    idempotency_store.cache_clear()
    aws.clear_caches()
