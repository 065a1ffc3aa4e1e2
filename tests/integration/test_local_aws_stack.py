"""The local AWS runs a small synthesized CDK stack like the cloud would.

Given a tiny stack (built here, with test-only handlers from tests/fixtures/lambda_handlers.py),
deployed from its synthesized template, when objects are uploaded / events put / executions
started, then the real handler code runs: through the EventBridge rule, inside the state machine
(with Retry and Catch by error class name), and SNS delivers to SQS.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.aws.deploy import Deployment
from local.aws.runtime import LocalAws
from tests.fixtures.waiting import eventually as wait_until

pytestmark = pytest.mark.xdist_group("infra")
"""Synthesizes with CDK: runs on the worker that already has the CDK app loaded (and, for the real stack,
shares its session ``synthesized`` fixture)."""

HANDLERS = "tests.fixtures.lambda_handlers"
WAIT_S = 30.0


@dataclass(frozen=True)
class Synthesized:
    template: dict[str, Any]
    assets_dir: Path


def synthesize_test_stack(outdir: Path) -> Synthesized:
    import aws_cdk as cdk
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sns as sns
    from aws_cdk import aws_sns_subscriptions as subs
    from aws_cdk import aws_sqs as sqs
    from aws_cdk import aws_stepfunctions as sfn
    from aws_cdk import aws_stepfunctions_tasks as tasks

    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    code_dir = outdir / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    (code_dir / "README.txt").write_text("The local runtime imports handlers from the project.\n")

    app = cdk.App(outdir=str(outdir / "cdk.out"))
    stack = cdk.Stack(app, "LocalAwsFixture", env=cdk.Environment(account="123456789012", region="us-east-1"))
    bucket = s3.Bucket(stack, "Drops")
    bucket.node.default_child.add_property_override(  # type: ignore[union-attr]
        "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
    )

    def function(id_: str, handler: str, env: dict[str, str]) -> lambda_.Function:
        fn = lambda_.Function(
            stack,
            id_,
            runtime=lambda_.Runtime.PYTHON_3_11,
            handler=f"{HANDLERS}.{handler}",
            code=lambda_.Code.from_asset(str(code_dir)),
            environment=env,
            timeout=cdk.Duration.seconds(10),
        )
        bucket.grant_read_write(fn)
        return fn

    echo = function("Echo", "echo", {"GREETING": "hello from the template"})
    counter = function("Counter", "counter", {"COUNTER_BUCKET": bucket.bucket_name})
    boom = function("Boom", "boom", {})
    recorder = function("Recorder", "record_event", {"RECORD_BUCKET": bucket.bucket_name})

    dlq = sqs.Queue(stack, "TriggerDlq")
    events.Rule(
        stack,
        "DropMarker",
        event_pattern=events.EventPattern(
            source=["aws.s3"],
            detail_type=["Object Created"],
            detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": [{"prefix": "incoming/"}]}},
        ),
        targets=[targets.LambdaFunction(recorder, dead_letter_queue=dlq, retry_attempts=2)],
    )

    count = tasks.LambdaInvoke(stack, "Count", lambda_function=counter, output_path="$.Payload")
    count.add_retry(
        errors=["FlakyUpstream"], interval=cdk.Duration.seconds(1), max_attempts=3, backoff_rate=1
    )
    reject = tasks.LambdaInvoke(
        stack, "Reject", lambda_function=boom, payload_response_only=True, result_path="$.rejected"
    )
    rejected = sfn.Pass(stack, "Rejected")
    reject.add_catch(rejected, errors=["DropRejected"], result_path="$.error")
    greet = tasks.LambdaInvoke(stack, "Greet", lambda_function=echo, payload_response_only=True)
    choice = (
        sfn.Choice(stack, "ShouldReject")
        .when(sfn.Condition.boolean_equals("$.reject", True), reject)
        .otherwise(greet)
    )
    machine = sfn.StateMachine(
        stack, "Workflow", definition_body=sfn.DefinitionBody.from_chainable(count.next(choice))
    )
    events.Rule(
        stack,
        "Kick",
        event_pattern=events.EventPattern(source=["test.local"], detail_type=["Kick"]),
        targets=[targets.SfnStateMachine(machine, input=events.RuleTargetInput.from_event_path("$.detail"))],
    )

    topic = sns.Topic(stack, "Notifications")
    inbox = sqs.Queue(stack, "Inbox")
    topic.add_subscription(subs.SqsSubscription(inbox, raw_message_delivery=True))
    cdk.CfnOutput(stack, "TopicArn", value=topic.topic_arn)

    assembly = app.synth()
    return Synthesized(
        template=assembly.get_stack_by_name("LocalAwsFixture").template, assets_dir=Path(assembly.directory)
    )


@pytest.fixture(scope="module")
def small_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize_test_stack(tmp_path_factory.mktemp("cdk"))


@pytest.fixture(scope="module")
def deployed(local_aws: LocalAws, small_stack: Synthesized) -> Deployment:
    return local_aws.deploy_template(
        small_stack.template,
        assets_dir=small_stack.assets_dir,
        stack_name=f"LocalAwsFixture{time.time_ns()}",
        environment={"GREETING": "hello from the deployment"},
    )


def eventually(probe: Callable[[], Any], what: str, local_aws: LocalAws, timeout_s: float = WAIT_S) -> Any:
    """Poll ``probe`` until it returns something truthy (bounded); fail with the server log."""
    return wait_until(probe, what, log=local_aws.log_tail, timeout_s=timeout_s)


def run_execution(local_aws: LocalAws, arn: str, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = local_aws.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]

    def finished() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=execution)
        return described if described["status"] != "RUNNING" else None

    return eventually(finished, "the execution", local_aws)


def test_deployment_finds_resources_by_role(deployed: Deployment) -> None:
    assert set(deployed.functions) == {"echo", "counter", "boom", "record_event"}
    assert deployed.bucket in deployed.eventbridge_buckets
    assert deployed.topic_arn.startswith("arn:aws:sns:")
    assert deployed.outputs["TopicArn"] == deployed.topic_arn
    assert deployed.state_machine_arn.startswith("arn:aws:states:")
    assert len(deployed.rules) == 2


def test_invoking_a_function_runs_its_handler_with_the_deployed_environment(
    local_aws: LocalAws, deployed: Deployment
) -> None:
    response = local_aws.client("lambda").invoke(
        FunctionName=deployed.function("echo"), Payload=json.dumps({"drop": "d1"})
    )

    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response
    assert body["event"] == {"drop": "d1"}
    assert body["function_name"] == deployed.function("echo")
    assert body["greeting"] == "hello from the deployment"  # deploy-time override wins
    assert body["endpoint"] == local_aws.endpoint_url
    assert body["remaining_ms_positive"] is True


def test_a_handler_exception_is_a_function_error_named_by_its_class(
    local_aws: LocalAws, deployed: Deployment
) -> None:
    response = local_aws.client("lambda").invoke(
        FunctionName=deployed.function("boom"), Payload=json.dumps({"key": "imports/d1/_SUCCESS"})
    )

    body = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "DropRejected"
    assert body["errorMessage"] == "rejected imports/d1/_SUCCESS"


def test_uploading_an_object_triggers_the_rule_target_function(
    local_aws: LocalAws, deployed: Deployment
) -> None:
    s3 = local_aws.client("s3")
    s3.put_object(Bucket=deployed.bucket, Key="incoming/d1/_SUCCESS", Body=b"{}")
    s3.put_object(Bucket=deployed.bucket, Key="elsewhere/ignored.txt", Body=b"x")

    def recorded() -> list[dict[str, Any]]:
        listing = s3.list_objects_v2(Bucket=deployed.bucket, Prefix="received/").get("Contents", [])
        return [
            json.loads(s3.get_object(Bucket=deployed.bucket, Key=o["Key"])["Body"].read()) for o in listing
        ]

    events = eventually(recorded, "delivery of the S3 event to the function", local_aws)
    keys = [e["detail"]["object"]["key"] for e in events]
    assert "incoming/d1/_SUCCESS" in keys
    assert "elsewhere/ignored.txt" not in keys
    event = next(e for e in events if e["detail"]["object"]["key"] == "incoming/d1/_SUCCESS")
    assert event["source"] == "aws.s3"
    assert event["detail-type"] == "Object Created"
    assert event["detail"]["bucket"]["name"] == deployed.bucket
    assert event["time"].endswith("Z")  # ISO time, as EventBridge sends it


def test_state_machine_retries_a_named_error_then_succeeds(local_aws: LocalAws, deployed: Deployment) -> None:
    name = f"retry-{time.time_ns()}"

    result = run_execution(
        local_aws, deployed.state_machine_arn, {"name": name, "fail_times": 2, "reject": False}
    )

    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["event"]["calls"] == 3  # two FlakyUpstream failures were retried
    assert output["greeting"] == "hello from the deployment"


def test_state_machine_catches_an_error_by_class_name(local_aws: LocalAws, deployed: Deployment) -> None:
    result = run_execution(
        local_aws, deployed.state_machine_arn, {"name": f"catch-{time.time_ns()}", "reject": True}
    )

    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["error"]["Error"] == "DropRejected"
    assert "rejected" in json.loads(output["error"]["Cause"])["errorMessage"]


def test_an_event_rule_starts_the_state_machine(local_aws: LocalAws, deployed: Deployment) -> None:
    name = f"kick-{time.time_ns()}"
    sfn = local_aws.client("stepfunctions")

    entries = local_aws.client("events").put_events(
        Entries=[
            {
                "Source": "test.local",
                "DetailType": "Kick",
                "Detail": json.dumps({"name": name, "reject": False}),
            }
        ]
    )

    assert entries["FailedEntryCount"] == 0

    def succeeded_with_our_input() -> bool:
        for execution in sfn.list_executions(stateMachineArn=deployed.state_machine_arn)["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if json.loads(described["input"]).get("name") == name and described["status"] == "SUCCEEDED":
                return True
        return False

    eventually(succeeded_with_our_input, "an execution started by the rule", local_aws)


def test_sns_topic_delivers_to_its_sqs_subscription(local_aws: LocalAws, deployed: Deployment) -> None:
    local_aws.client("sns").publish(TopicArn=deployed.topic_arn, Message='{"status": "Completed"}')
    sqs = local_aws.client("sqs")
    url = sqs.get_queue_url(QueueName=deployed.one("AWS::SQS::Queue", prefix="Inbox").rsplit("/", 1)[-1])[
        "QueueUrl"
    ]

    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])

    assert [m["Body"] for m in messages] == ['{"status": "Completed"}']
