"""The seams local AWS installs in moto, checked directly (fails loudly if a moto upgrade moves them)."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from typing import Any

import moto
import pytest

from local.aws import event_targets, lambda_runtime
from local.aws.runtime import LocalAws
from tests.fixtures.waiting import eventually

HANDLERS = "tests.fixtures.lambda_handlers"


def test_moto_is_the_pinned_version_and_the_seams_exist() -> None:
    assert moto.__version__ == lambda_runtime.PINNED_MOTO_VERSION
    backend_class = lambda_runtime.check_seam()
    assert backend_class.__name__ == "LambdaSimpleBackend"
    assert callable(event_targets.check_seam().send_to_targets)
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    assert callable(StepFunctionsParserBackend.start_execution)


def _eventually(probe: Callable[[], Any], what: str, aws: LocalAws, timeout_s: float = 20.0) -> Any:
    return eventually(probe, what, log=aws.log_tail, timeout_s=timeout_s)


def _create_function(aws: LocalAws, handler: str, env: dict[str, str] | None = None, timeout: int = 3) -> str:
    lam = aws.client("lambda")
    role = aws.client("iam").create_role(RoleName=f"r-{os.urandom(4).hex()}", AssumeRolePolicyDocument="{}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "")
    name = f"fn-{os.urandom(4).hex()}"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler=f"{HANDLERS}.{handler}",
        Code={"ZipFile": buffer.getvalue()},
        Environment={"Variables": env or {}},
        Timeout=timeout,
    )
    return str(lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"])


def _bucket(aws: LocalAws) -> str:
    name = f"seam-{os.urandom(4).hex()}"
    aws.client("s3").create_bucket(Bucket=name)
    return name


def test_invoking_a_function_runs_our_handler_not_moto_echo(local_aws: LocalAws) -> None:
    arn = _create_function(local_aws, "echo", {"GREETING": "hi"})

    response = local_aws.client("lambda").invoke(FunctionName=arn, Payload=b'{"x": 1}')

    body = json.loads(response["Payload"].read())
    assert body["event"] == {"x": 1}
    assert body["greeting"] == "hi"


def test_put_events_delivers_to_a_lambda_target(local_aws: LocalAws) -> None:
    bucket = _bucket(local_aws)
    arn = _create_function(local_aws, "record_event", {"RECORD_BUCKET": bucket})
    events = local_aws.client("events")
    rule = f"rule-{os.urandom(4).hex()}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [rule]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": arn}])

    result = events.put_events(Entries=[{"Source": rule, "DetailType": "Test", "Detail": '{"n": 7}'}])

    assert result["FailedEntryCount"] == 0
    event_id = result["Entries"][0]["EventId"]
    s3 = local_aws.client("s3")

    def recorded() -> dict[str, Any] | None:
        listing = s3.list_objects_v2(Bucket=bucket, Prefix="received/").get("Contents", [])
        if not listing:
            return None
        return json.loads(s3.get_object(Bucket=bucket, Key=listing[0]["Key"])["Body"].read())

    event = _eventually(recorded, "delivery to the Lambda target", local_aws)
    assert event["id"] == event_id
    assert event["detail"] == {"n": 7}


def test_undeliverable_events_go_to_the_target_dead_letter_queue(local_aws: LocalAws) -> None:
    sqs = local_aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"dlq-{os.urandom(4).hex()}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = local_aws.client("events")
    rule = f"rule-{os.urandom(4).hex()}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [rule]}))
    missing = "arn:aws:lambda:us-east-1:123456789012:function:does-not-exist"
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "gone",
                "Arn": missing,
                "RetryPolicy": {"MaximumRetryAttempts": 1},
                "DeadLetterConfig": {"Arn": queue_arn},
            }
        ],
    )

    events.put_events(Entries=[{"Source": rule, "DetailType": "Test", "Detail": "{}"}])

    def dead_lettered() -> list[dict[str, Any]]:
        return sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=1).get(
            "Messages", []
        )

    messages = _eventually(dead_lettered, "dead-lettering", local_aws)
    attributes = {k: v["StringValue"] for k, v in messages[0]["MessageAttributes"].items()}
    assert attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"] == "ResourceNotFoundException"
    assert json.loads(messages[0]["Body"])["source"] == rule


def test_failed_async_invocations_are_retried_then_sent_on_failure(local_aws: LocalAws) -> None:
    bucket = _bucket(local_aws)
    sqs = local_aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"fn-dlq-{os.urandom(4).hex()}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    arn = _create_function(local_aws, "counter", {"COUNTER_BUCKET": bucket})
    lam = local_aws.client("lambda")
    lam.put_function_event_invoke_config(
        FunctionName=arn,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    events = local_aws.client("events")
    rule = f"rule-{os.urandom(4).hex()}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [rule]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": arn, "InputPath": "$.detail"}])

    events.put_events(
        Entries=[{"Source": rule, "DetailType": "Test", "Detail": json.dumps({"name": "c", "fail_times": 5})}]
    )

    def dead_lettered() -> list[dict[str, Any]]:
        return sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])

    messages = _eventually(dead_lettered, "the function's on-failure destination", local_aws)
    record = json.loads(messages[0]["Body"])
    assert record["requestPayload"] == {"name": "c", "fail_times": 5}
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responsePayload"]["errorType"] == "FlakyUpstream"
    calls = local_aws.client("s3").get_object(Bucket=bucket, Key="counters/c")["Body"].read()
    assert calls == b"2"  # the first attempt and one retry (MaximumRetryAttempts=1)


def test_a_function_past_its_timeout_is_a_sandbox_timeout(local_aws: LocalAws) -> None:
    arn = _create_function(local_aws, "sleepy", timeout=1)
    cutoff = 1 * local_aws.timeout_scale

    response = local_aws.client("lambda").invoke(
        FunctionName=arn, Payload=json.dumps({"seconds": cutoff + 1})
    )

    body = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]


def test_an_s3_event_has_one_unique_id_across_targets_and_s3_spelling(local_aws: LocalAws) -> None:
    bucket = _bucket(local_aws)
    s3 = local_aws.client("s3")
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    records = _bucket(local_aws)
    arn = _create_function(local_aws, "record_event", {"RECORD_BUCKET": records})
    sqs = local_aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"capture-{os.urandom(4).hex()}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = local_aws.client("events")
    rule = f"rule-{os.urandom(4).hex()}"
    events.put_rule(
        Name=rule,
        EventPattern=json.dumps(
            # moto also emits "Object Tags Added" on every PUT: match only what the pipeline listens to
            {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": [bucket]}},
            }
        ),
    )
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": arn}, {"Id": "queue", "Arn": queue_arn}])

    s3.put_object(Bucket=bucket, Key="imports/d1/_SUCCESS", Body=b"")

    def recorded() -> dict[str, Any] | None:
        listing = s3.list_objects_v2(Bucket=records, Prefix="received/").get("Contents", [])
        if not listing:
            return None
        return json.loads(s3.get_object(Bucket=records, Key=listing[0]["Key"])["Body"].read())

    to_function = _eventually(recorded, "delivery to the Lambda target", local_aws)
    queued = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5).get("Messages", [])
    assert queued, "the SQS target got nothing"
    to_queue = json.loads(queued[0]["Body"])
    assert to_function["id"] == to_queue["id"]
    assert to_function["id"] != event_targets.S3_PLACEHOLDER_EVENT_ID
    assert "etag" in to_function["detail"]["object"]
    assert "etag" in to_queue["detail"]["object"]


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("no_such_function", "Runtime.HandlerNotFound"),
        ("missing_module.handler", "Runtime.ImportModuleError"),
    ],
)
def test_a_handler_that_cannot_be_loaded_fails_like_lambda(
    local_aws: LocalAws, handler: str, error_type: str
) -> None:
    arn = _create_function(local_aws, handler)

    response = local_aws.client("lambda").invoke(FunctionName=arn, Payload=b"{}")

    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == error_type
