"""Deliver EventBridge events to Lambda and Step Functions targets.

moto's ``Rule.send_to_targets`` delivers to SQS, Logs, archives and buses only (a Lambda or Step
Functions target makes ``put_events`` answer 500, and S3-originated events are dropped silently).
We wrap that method: targets moto handles are passed on unchanged; Lambda and Step Functions
targets are queued and delivered in the background, like EventBridge does:

- Lambda targets are *asynchronous invocations*: a function error is retried by "Lambda"
  (the function's ``MaximumRetryAttempts`` from its event invoke config, default 2) and then an
  invocation record goes to its ``OnFailure`` destination (SQS or SNS). moto does not keep a
  function's own ``DeadLetterConfig``, so that one is only honoured if moto ever returns it.
- A delivery that fails (function or state machine missing, throttled) is retried per the target's
  ``RetryPolicy`` (bounded here) and then sent to the target's ``DeadLetterConfig`` queue with
  EventBridge's ``ERROR_CODE`` / ``ERROR_MESSAGE`` / ``RULE_ARN`` / ``TARGET_ARN`` attributes.

Runs inside the moto server process; deliveries call the server's own API (so moto resolves
aliases and the Lambda seam runs the handler).
"""

from __future__ import annotations

import copy
import json
import logging
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger("local.aws.events")

OUR_SERVICES = ("lambda", "states")
MAX_DELIVERY_ATTEMPTS = 4
"""EventBridge retries for up to 24 h / 185 times; offline we stop after this many attempts."""
S3_PLACEHOLDER_EVENT_ID = "17793124-05d4-b198-2fde-7ededc63b103"
"""moto gives every S3 event this same id; real events have unique ids (idempotency keys use them)."""


@dataclass(frozen=True)
class Delivery:
    rule_arn: str
    target: dict[str, Any]
    payload: Any


@dataclass(frozen=True)
class DeliveryPolicy:
    """Delays between attempts (seconds, before jitter). Offline runs keep them short."""

    lambda_retry_delay_s: float = 0.5
    delivery_retry_delay_s: float = 0.5


class EventTargetDispatcher:
    """Delivers queued events in the background (bounded pool, bounded retries)."""

    def __init__(self, *, endpoint_url: str, region: str, policy: DeliveryPolicy | None = None) -> None:
        self.policy = policy or DeliveryPolicy()
        config = Config(
            connect_timeout=5,
            read_timeout=900,
            retries={"max_attempts": 1, "mode": "standard"},
        )
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
            region_name=region,
        )
        self._lambda: Any = session.client("lambda", endpoint_url=endpoint_url, config=config)
        self._sfn: Any = session.client("stepfunctions", endpoint_url=endpoint_url, config=config)
        self._sqs: Any = session.client("sqs", endpoint_url=endpoint_url, config=config)
        self._sns: Any = session.client("sns", endpoint_url=endpoint_url, config=config)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="events-delivery")
        self._lock = threading.Lock()
        self.delivered = 0
        self.failed = 0

    def submit(self, delivery: Delivery) -> None:
        self._pool.submit(self._deliver_logged, delivery)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- delivery ------------------------------------------------------------------------------------
    def _deliver_logged(self, delivery: Delivery) -> None:
        try:
            self._deliver(delivery)
        except Exception:  # a background thread must never die silently
            log.exception("delivery to %s crashed", delivery.target.get("Arn"))

    def _deliver(self, delivery: Delivery) -> None:
        arn = delivery.target["Arn"]
        service = arn.split(":")[2]
        retry = delivery.target.get("RetryPolicy") or {}
        attempts = max(1, min(MAX_DELIVERY_ATTEMPTS, int(retry.get("MaximumRetryAttempts", 185)) + 1))
        error: tuple[str, str] = ("", "")
        for attempt in range(attempts):
            try:
                if service == "lambda":
                    self._invoke_lambda(arn, delivery.payload)
                else:
                    self._start_execution(arn, delivery.payload)
            except ClientError as exc:
                err = exc.response.get("Error", {})
                error = (str(err.get("Code", "ClientError")), str(err.get("Message", exc)))
            except BotoCoreError as exc:
                error = (type(exc).__name__, str(exc))
            else:
                with self._lock:
                    self.delivered += 1
                log.info("delivered an event from %s to %s", delivery.rule_arn, arn)
                return
            log.warning("delivery to %s failed (attempt %d): %s", arn, attempt + 1, error)
            if attempt + 1 < attempts:
                _sleep_jittered(self.policy.delivery_retry_delay_s * (2**attempt))
        with self._lock:
            self.failed += 1
        dlq = (delivery.target.get("DeadLetterConfig") or {}).get("Arn")
        if dlq:
            self._send_to_queue(
                dlq,
                delivery.payload,
                {
                    "ERROR_CODE": error[0],
                    "ERROR_MESSAGE": error[1][:1000] or "delivery failed",
                    "RULE_ARN": delivery.rule_arn,
                    "TARGET_ARN": arn,
                },
            )

    def _invoke_lambda(self, arn: str, payload: Any) -> None:
        """An asynchronous invocation: Lambda itself retries function errors, then its on-failure destination."""
        config = self._lambda.get_function_configuration(FunctionName=arn)
        retries = 2
        on_failure: str | None = (config.get("DeadLetterConfig") or {}).get("TargetArn")
        try:
            invoke_config = self._lambda.get_function_event_invoke_config(FunctionName=arn)
        except ClientError:
            invoke_config = {}
        retries = int(invoke_config.get("MaximumRetryAttempts", retries))
        destination = ((invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        body = json.dumps(payload)
        last: bytes = b""
        attempts = retries + 1
        for attempt in range(attempts):
            response = self._lambda.invoke(FunctionName=arn, InvocationType="RequestResponse", Payload=body)
            last = response["Payload"].read()
            if not response.get("FunctionError"):
                return
            log.warning("function %s failed (attempt %d of %d): %s", arn, attempt + 1, attempts, last[:300])
            if attempt + 1 < attempts:
                _sleep_jittered(self.policy.lambda_retry_delay_s * (2**attempt))
        log.warning(
            "function %s failed %d times; the event goes to %s",
            arn,
            attempts,
            destination or on_failure or "no destination (dropped, as Lambda does)",
        )
        if destination:
            record = {
                "version": "1.0",
                "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": f"{arn}:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": attempts,
                },
                "requestPayload": payload,
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "responsePayload": _json_or_text(last),
            }
            self._send_to_queue(destination, record, {})
        elif on_failure:  # a function dead-letter queue gets the event itself
            self._send_to_queue(
                on_failure,
                payload,
                {"RequestID": str(uuid.uuid4()), "ErrorCode": "200", "ErrorMessage": last.decode()[:1000]},
            )

    def _start_execution(self, arn: str, payload: Any) -> None:
        self._sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))

    def _send_to_queue(self, arn: str, payload: Any, attributes: dict[str, str]) -> None:
        message_attributes = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items() if v}
        try:
            if arn.split(":")[2] == "sns":
                self._sns.publish(
                    TopicArn=arn, Message=json.dumps(payload), MessageAttributes=message_attributes
                )
                return
            account, name = arn.split(":")[4], arn.split(":")[5]
            url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            self._sqs.send_message(
                QueueUrl=url, MessageBody=json.dumps(payload), MessageAttributes=message_attributes
            )
        except (ClientError, BotoCoreError) as exc:
            log.error("could not dead-letter an event to %s: %s", arn, exc)


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")


def _sleep_jittered(seconds: float) -> None:
    time.sleep(seconds * random.uniform(0.8, 1.2))


def real_shaped(event: dict[str, Any]) -> dict[str, Any]:
    """What EventBridge hands a target: ISO time, a unique id and ``etag`` (not ``eTag``) for S3 events."""
    event = copy.deepcopy(event)
    stamp = event.get("time")
    if isinstance(stamp, int | float):
        event["time"] = datetime.fromtimestamp(float(stamp), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    elif isinstance(stamp, datetime):
        event["time"] = stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if event.get("id") == S3_PLACEHOLDER_EVENT_ID or not event.get("id"):
        event["id"] = str(uuid.uuid4())
    event.pop("ingestion-time", None)
    obj = (event.get("detail") or {}).get("object") if event.get("source") == "aws.s3" else None
    if isinstance(obj, dict) and "eTag" in obj and "etag" not in obj:
        obj["etag"] = obj.pop("eTag")  # moto spells it eTag; S3's EventBridge events say etag
    return event


def target_input(target: dict[str, Any], event: dict[str, Any], transform_input: bool) -> Any:
    """Apply the target's ``Input`` / ``InputPath`` / ``InputTransformer``."""
    if "Input" in target and target["Input"] is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    transformer = target.get("InputTransformer")
    if transformer and transform_input:
        from moto.events.utils import EventTemplateParser

        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=cast(Any, {"ingestion-time": time.time(), **event}),  # moto's template needs it
        )
    return event


_dispatcher: EventTargetDispatcher | None = None


def check_seam() -> Any:
    from moto.events.models import Rule

    if not callable(getattr(Rule, "send_to_targets", None)):
        raise RuntimeError(
            "moto.events.models.Rule.send_to_targets is gone: update local/aws/event_targets.py"
        )
    return Rule


def install(dispatcher: EventTargetDispatcher) -> EventTargetDispatcher:
    """Wrap moto's rule dispatch so Lambda and Step Functions targets receive events."""
    global _dispatcher
    rule_class = check_seam()
    original: Callable[..., None] = getattr(
        rule_class.send_to_targets, "__local_aws_original__", rule_class.send_to_targets
    )

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if getattr(self, "state", "ENABLED") == "DISABLED":
            return
        if getattr(self, "scheduled_expression", None) and not self.event_pattern.get_pattern():
            return  # a schedule-only rule matches no events (moto would deliver every event to it)
        if not self.event_pattern.matches_event(original_event):
            return
        original_event = _with_unique_id(original_event)
        ours = [t for t in self.targets if _service(t.get("Arn", "")) in OUR_SERVICES]
        if not ours:
            original(self, original_event, transform_input)
            return
        others = [t for t in self.targets if t not in ours]
        if others:
            clone = copy.copy(self)
            clone.targets = others
            original(clone, original_event, transform_input)
        event = real_shaped(dict(original_event))
        for target in ours:
            try:
                # EventBridge applies a target's input settings to every event, S3-originated ones included
                payload = target_input(target, event, True)
            except (ValueError, KeyError) as exc:
                log.error("rule %s target %s: bad input configuration: %s", self.name, target.get("Id"), exc)
                continue
            dispatcher.submit(Delivery(rule_arn=self.arn, target=dict(target), payload=payload))

    send_to_targets.__local_aws_original__ = original  # type: ignore[attr-defined]
    rule_class.send_to_targets = send_to_targets
    _dispatcher = dispatcher
    return dispatcher


_ids_lock = threading.Lock()
_ids: OrderedDict[int, tuple[Any, str]] = OrderedDict()
"""Event object → the unique id given to it. moto hands the same S3 event object to every rule, so every
target of every rule sees one id, as in AWS. Holding the object keeps its ``id()`` from being reused."""


def _with_unique_id(event: Any) -> Any:
    """``event`` as AWS would send it to every target: a unique id instead of moto's fixed S3 placeholder
    (one id per event, whichever rule), ``etag`` spelled as S3 does. ``time`` stays as moto has it (its own
    SQS delivery converts it)."""
    if not isinstance(event, dict) or event.get("id") not in (S3_PLACEHOLDER_EVENT_ID, None, ""):
        return event
    with _ids_lock:
        known = _ids.get(id(event))
        if known is None or known[0] is not event:
            known = (event, str(uuid.uuid4()))
            _ids[id(event)] = known
            while len(_ids) > 1024:
                _ids.popitem(last=False)
    fixed = {**event, "id": known[1]}
    detail = fixed.get("detail")
    obj = detail.get("object") if isinstance(detail, dict) and fixed.get("source") == "aws.s3" else None
    if isinstance(obj, dict) and "eTag" in obj and "etag" not in obj:
        obj = {("etag" if k == "eTag" else k): v for k, v in obj.items()}
        fixed["detail"] = {**detail, "object": obj}  # type: ignore[dict-item]
    return fixed


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 else ""
