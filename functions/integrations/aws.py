"""The AWS side of the pipeline: ledger (DynamoDB), notifier (SNS + EventBridge), workflow (Step Functions),
report writer (S3) and the API key (Secrets Manager through Powertools Parameters).

Every client has explicit timeouts and bounded retries (botocore "standard" mode: jittered exponential
backoff); the endpoint comes from ``AWS_ENDPOINT_URL`` (boto3 reads it), so the same code runs against moto.
Failures become ``AwsUnavailable`` (retryable) or ``AwsRequestFailed`` (terminal).

Ledger table layout (``infra/contract.py``): one item per drop, partition key ``drop_id`` (string), with the
state, route, index host, URI, import id, execution ARN, outcome and the starting handle; a GSI ``by_import_id``
(partition key ``import_id``) lets the reconciler ask "is this import tracked?".
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from functions.errors import AwsRequestFailed, AwsUnavailable, ConfigurationError
from functions.models.handle import DropRef, ImportHandle, LedgerRecord, LedgerState, Outcome
from functions.models.notification import OutgoingMessage

logger = logging.getLogger(__name__)

CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=15,
    retries={"max_attempts": 4, "mode": "standard"},
)
SECRET_MAX_AGE_S = 300
LEDGER_KEY = "drop_id"
LEDGER_IMPORT_ID_INDEX = "by_import_id"
"""The ledger's key and GSI names (the same strings as ``infra/contract.py``; functions never import infra)."""

_RETRYABLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "RequestTimeout",
    "SlowDown",
}


@lru_cache(maxsize=16)
def client(service: str) -> Any:
    """A cached boto3 client with the project's timeouts and retries."""
    return boto3.client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]


def clear_caches() -> None:
    """Forget cached clients and secrets (tests; a new endpoint)."""
    from aws_lambda_powertools.utilities import parameters

    client.cache_clear()
    parameters.clear_caches()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(exc: Exception, what: str) -> Exception:
    """A botocore failure as one of ours: retryable when AWS might answer next time."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _RETRYABLE_CODES or status >= 500:
            return AwsUnavailable(f"{what}: {code or status}")
        return AwsRequestFailed(f"{what}: {code}: {exc.response.get('Error', {}).get('Message', '')}")
    return AwsUnavailable(f"{what}: {type(exc).__name__}")


def _now_iso(now: datetime) -> str:
    return now.isoformat()


# --- Ledger ---------------------------------------------------------------------------------------


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class DynamoLedger:
    def __init__(
        self, table: str, *, dynamodb: Any | None = None, import_id_index: str = LEDGER_IMPORT_ID_INDEX
    ) -> None:
        self.table = table
        self.import_id_index = import_id_index
        self._db = dynamodb

    @property
    def db(self) -> Any:
        return self._db if self._db is not None else client("dynamodb")

    @staticmethod
    def drop_key(drop_id: str) -> dict[str, dict[str, str]]:
        return {LEDGER_KEY: _s(drop_id)}

    def get(self, drop_id: str) -> LedgerRecord | None:
        try:
            item = self.db.get_item(
                TableName=self.table, Key=self.drop_key(drop_id), ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"ledger get {drop_id}") from exc
        return _record(item) if item else None

    def recent(self, *, limit: int = 50, max_pages: int = 100) -> list[LedgerRecord]:
        """The most recently updated drop records, newest first (a bounded scan: the ledger is small)."""
        records: list[LedgerRecord] = []
        kwargs: dict[str, Any] = {"TableName": self.table}
        for _ in range(max_pages):
            try:
                page = self.db.scan(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, f"ledger scan {self.table}") from exc
            for item in page.get("Items", []):
                try:
                    records.append(_record(item))
                except ValueError:  # a record written by hand or by an older version: skip, do not fail
                    logger.warning("unreadable ledger item skipped", extra={"drop_id": item.get(LEDGER_KEY)})
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        records.sort(key=lambda r: r.updated_at, reverse=True)
        return records[:limit]

    def claim(
        self, drop: DropRef, *, route: str, index_host: str, now: datetime
    ) -> tuple[LedgerRecord, bool]:
        item = {
            **self.drop_key(drop.drop_id),
            "state": _s(LedgerState.CLAIMED.value),
            "route": _s(route),
            "index_host": _s(index_host),
            "uri": _s(drop.uri),
            "drop": _s(drop.model_dump_json()),
            "claimed_at": _s(_now_iso(now)),
            "updated_at": _s(_now_iso(now)),
        }
        try:
            self.db.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(drop_id)"
            )
            return _record(item), True
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise translate(exc, f"ledger claim {drop.drop_id}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"ledger claim {drop.drop_id}") from exc
        existing = self.get(drop.drop_id)
        if existing is None:  # deleted between the two calls: extremely unlikely; let the caller retry
            raise AwsUnavailable(f"ledger claim {drop.drop_id}: record vanished")
        return existing, False

    def take_lease(self, drop_id: str, *, now: datetime, until: datetime) -> bool:
        try:
            self.db.update_item(
                TableName=self.table,
                Key=self.drop_key(drop_id),
                UpdateExpression="SET lease_until = :until, updated_at = :now_iso",
                ConditionExpression=(
                    "attribute_exists(drop_id) AND attribute_not_exists(import_id) "
                    "AND (attribute_not_exists(lease_until) OR lease_until <= :now)"
                ),
                ExpressionAttributeValues={
                    ":until": {"N": str(int(until.timestamp()))},
                    ":now": {"N": str(int(now.timestamp()))},
                    ":now_iso": _s(_now_iso(now)),
                },
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise translate(exc, f"ledger lease {drop_id}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"ledger lease {drop_id}") from exc

    def release_lease(self, drop_id: str, *, until: datetime) -> None:
        try:
            self.db.update_item(
                TableName=self.table,
                Key=self.drop_key(drop_id),
                UpdateExpression="REMOVE lease_until",
                ConditionExpression="lease_until = :mine",
                ExpressionAttributeValues={":mine": {"N": str(int(until.timestamp()))}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":  # not ours any more: nothing to give up
                raise translate(exc, f"ledger release {drop_id}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"ledger release {drop_id}") from exc

    def record_import(self, handle: ImportHandle, *, now: datetime) -> None:
        assert handle.import_id is not None
        try:
            self.db.update_item(
                TableName=self.table,
                Key=self.drop_key(handle.drop.drop_id),
                UpdateExpression="SET import_id = :id, handle = :h, #st = :started, updated_at = :now",
                ConditionExpression="attribute_exists(drop_id) AND (attribute_not_exists(import_id) OR import_id = :id)",
                ExpressionAttributeNames={"#st": "state"},
                ExpressionAttributeValues={
                    ":id": _s(handle.import_id),
                    ":h": _s(handle.model_dump_json()),
                    ":started": _s(LedgerState.STARTED.value),
                    ":now": _s(_now_iso(now)),
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise AwsRequestFailed(
                    f"drop {handle.drop.drop_id} already has a different import than {handle.import_id}",
                    hint="Two imports were started for one drop; cancel the newer one with `autoimport cancel`.",
                ) from exc
            raise translate(exc, f"ledger record_import {handle.drop.drop_id}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"ledger record_import {handle.drop.drop_id}") from exc

    def mark(
        self,
        drop_id: str,
        *,
        state: LedgerState,
        now: datetime,
        execution_arn: str | None = None,
        outcome: Outcome | None = None,
        report_uri: str | None = None,
    ) -> None:
        sets = ["#st = :state", "updated_at = :now"]
        values: dict[str, dict[str, str]] = {":state": _s(state.value), ":now": _s(_now_iso(now))}
        for name, value in (
            ("execution_arn", execution_arn),
            ("outcome", outcome),
            ("report_uri", report_uri),
        ):
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = _s(str(value))
        try:
            self.db.update_item(
                TableName=self.table,
                Key=self.drop_key(drop_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(drop_id)",
                ExpressionAttributeNames={"#st": "state"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                # An execution started by hand has no drop record: never create a partial one.
                logger.info("no ledger record to update", extra={"drop_id": drop_id, "state": state.value})
                return
            raise translate(exc, f"ledger mark {drop_id}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"ledger mark {drop_id}") from exc

    def is_tracked(self, index_host: str, import_id: str) -> bool:
        try:
            resp = self.db.query(
                TableName=self.table,
                IndexName=self.import_id_index,
                KeyConditionExpression="import_id = :id",
                FilterExpression="index_host = :host",
                ExpressionAttributeValues={":id": _s(import_id), ":host": _s(index_host)},
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"ledger is_tracked {import_id}") from exc
        return bool(resp.get("Items"))


def _record(item: dict[str, dict[str, str]]) -> LedgerRecord:
    raw: dict[str, Any] = {k: v["S"] for k, v in item.items() if "S" in v and k != "drop"}
    if "handle" in raw:
        raw["handle"] = ImportHandle.model_validate_json(raw["handle"])
    return LedgerRecord.model_validate(raw)


# --- Notifier -------------------------------------------------------------------------------------


class AwsNotifier:
    """One SNS message and one EventBridge event per notification; a partial failure raises (retryable)."""

    def __init__(
        self,
        *,
        topic_arn: str | None,
        event_bus: str = "default",
        sns: Any | None = None,
        events: Any | None = None,
    ) -> None:
        self.topic_arn = topic_arn
        self.event_bus = event_bus
        self._sns = sns
        self._events = events

    def publish(self, message: OutgoingMessage) -> None:
        if self.topic_arn:
            sns = self._sns if self._sns is not None else client("sns")
            try:
                sns.publish(
                    TopicArn=self.topic_arn,
                    Subject=message.subject,
                    Message=message.body,
                    MessageAttributes={
                        k: {"DataType": "String", "StringValue": v}
                        for k, v in message.attributes.items()
                        if v
                    },
                )
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "sns publish") from exc
        events = self._events if self._events is not None else client("events")
        try:
            resp = events.put_events(
                Entries=[
                    {
                        "Source": message.source,
                        "DetailType": message.detail_type,
                        "Detail": message.detail,
                        "EventBusName": self.event_bus,
                    }
                ]
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "events put_events") from exc
        if resp.get("FailedEntryCount", 0):
            failed = [e for e in resp.get("Entries", []) if e.get("ErrorCode")]
            codes = ", ".join(f"{e.get('ErrorCode')}: {e.get('ErrorMessage', '')}" for e in failed)
            raise AwsUnavailable(f"events put_events: {len(failed) or 1} entry failed ({codes})")


# --- Workflow -------------------------------------------------------------------------------------


class StepFunctionsWorkflow:
    def __init__(self, state_machine_arn: str, *, sfn: Any | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._sfn = sfn

    def execution_arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"

    def start(self, name: str, payload: dict[str, object]) -> str:
        sfn = self._sfn if self._sfn is not None else client("stepfunctions")
        try:
            resp = sfn.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload)
            )
            return str(resp["executionArn"])
        except ClientError as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                return self.execution_arn(name)  # ours: the name is derived from the drop identity
            raise translate(exc, f"start_execution {name}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"start_execution {name}") from exc


# --- Reports --------------------------------------------------------------------------------------


class S3ReportWriter:
    def __init__(self, *, s3: Any | None = None) -> None:
        self._s3 = s3

    def write_json(self, bucket: str, key: str, body: bytes) -> str:
        s3 = self._s3 if self._s3 is not None else client("s3")
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"write s3://{bucket}/{key}") from exc
        return f"s3://{bucket}/{key}"


# --- Secret ---------------------------------------------------------------------------------------


def parse_api_key(raw: str) -> str:
    """The key from a secret holding either the bare key or JSON ``{"api_key": ...}``."""
    text = raw.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError("the Pinecone API key secret holds invalid JSON") from exc
        for name in ("api_key", "apiKey", "PINECONE_API_KEY"):
            if isinstance(data, dict) and data.get(name):
                return str(data[name])
        raise ConfigurationError(
            "the Pinecone API key secret is JSON without an api_key field",
            hint='Store the bare key, or {"api_key": "<key>"}.',
        )
    if not text:
        raise ConfigurationError("the Pinecone API key secret is empty", hint="Put the key in the secret.")
    return text


def _secret(secret_id: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    try:
        value = parameters.get_secret(secret_id, max_age=SECRET_MAX_AGE_S)
    except parameters.exceptions.GetParameterError as exc:
        cause = exc.__cause__
        if isinstance(cause, ClientError) and error_code(cause) in (
            "ResourceNotFoundException",
            "AccessDeniedException",
        ):
            raise ConfigurationError(
                f"cannot read the Pinecone API key secret ({error_code(cause)})",
                hint="Create the secret named by PINECONE_API_KEY_SECRET_ID and allow the function to read it.",
            ) from exc
        raise AwsUnavailable("reading the Pinecone API key secret failed") from exc
    if isinstance(value, bytes):
        value = value.decode()
    return parse_api_key(str(value))


def read_api_key(secret_id: str) -> str:
    """The Pinecone API key from Secrets Manager (Powertools caches it for ``SECRET_MAX_AGE_S``)."""
    return _secret(secret_id)
