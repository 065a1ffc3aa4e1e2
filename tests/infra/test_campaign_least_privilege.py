"""Campaign "least-privilege": what the synthesized template lets each principal do, and how data is protected.

Complements tests/infra/test_stack.py (which checks each concern's own properties) with whole-template sweeps: every
Allow statement in every policy, every topic, queue, bucket, table, log group and asynchronous invocation, in both
the default app and the variant (existing bucket and secret, Pinecone role, no reconciler).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from infra import contract
from tests.fixtures.infra import Synthesized, template_refs

pytestmark = pytest.mark.xdist_group("infra")

CAMPAIGN = "least-privilege"
APPS = ("synthesized", "synthesized_variant")

UNSCOPABLE_ACTIONS = frozenset(
    {
        # X-Ray and the Step Functions log delivery APIs have no resource-level permissions: "*" is the only form.
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)

SERVICE_RESOURCE_TYPES: dict[str, set[str]] = {
    "dynamodb": {"AWS::DynamoDB::Table"},
    "sns": {"AWS::SNS::Topic"},
    "sqs": {"AWS::SQS::Queue"},
    "kms": {"AWS::KMS::Key"},
    "states": {"AWS::StepFunctions::StateMachine"},
    "lambda": {"AWS::Lambda::Function"},
    "logs": {"AWS::Logs::LogGroup"},
    "s3": {"AWS::S3::Bucket"},
    "secretsmanager": {"AWS::SecretsManager::Secret"},
}
"""Which resource types a statement of each service may point at (by Ref / Fn::GetAtt)."""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _literal(value: Any) -> str:
    """The literal text of a resource (Fn::Join parts with references as <Ref>), for pattern checks."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return str(sep).join(_literal(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{value['Fn::GetAtt'][0]}.{value['Fn::GetAtt'][1]}>"
    return json.dumps(value)


def _statements(s: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id of the policy holder, statement) for every identity and resource policy in the template."""
    for lid, res in s.template["Resources"].items():
        props = res.get("Properties", {})
        for key in ("PolicyDocument", "KeyPolicy"):
            if key in props:
                for st in props[key]["Statement"]:
                    yield lid, st
        for policy in props.get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                yield lid, st


def _identity_statements(s: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    """Allow statements of IAM policies attached to roles (what our functions and the state machine may do)."""
    for lid, res in s.template["Resources"].items():
        props = res.get("Properties", {})
        docs = []
        if res["Type"] == "AWS::IAM::Policy":
            docs.append(props["PolicyDocument"])
        if res["Type"] == "AWS::IAM::Role":
            docs += [p["PolicyDocument"] for p in props.get("Policies", [])]
        for doc in docs:
            for st in doc["Statement"]:
                if st["Effect"] == "Allow":
                    yield lid, st


def _role_statements(s: Synthesized, handler_name: str) -> list[dict[str, Any]]:
    handler = contract.HANDLERS[handler_name]
    (fn,) = [
        f for f in s.resources("AWS::Lambda::Function").values() if f["Properties"]["Handler"] == handler
    ]
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        st
        for p in s.resources("AWS::IAM::Policy").values()
        if role_id in template_refs(p["Properties"]["Roles"])
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for st in statements for a in _as_list(st.get("Action", []))}


def _denies_insecure_transport(statements: list[dict[str, Any]]) -> bool:
    return any(
        st["Effect"] == "Deny"
        and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for st in statements
    )


@pytest.mark.campaign(CAMPAIGN, "no Allow grants '*', 'service:*', NotAction or NotResource")
@pytest.mark.parametrize("which", APPS)
def test_no_allow_statement_uses_a_wildcard_action_or_a_negation(
    which: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(which)
    offenders = []
    for lid, st in _statements(s):
        if st["Effect"] != "Allow":
            continue
        if "NotAction" in st or "NotResource" in st:
            offenders.append((lid, "negation"))
        for action in _as_list(st.get("Action", [])):
            if action == "*" or action.endswith(":*"):
                offenders.append((lid, action))
        if st.get("Principal") == "*" or st.get("Principal") == {"AWS": "*"}:
            offenders.append((lid, "public principal"))
    assert offenders == []


@pytest.mark.campaign(CAMPAIGN, "Resource '*' only for actions that have no resource-level permissions")
@pytest.mark.parametrize("which", APPS)
def test_resource_star_only_where_aws_offers_nothing_narrower(
    which: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(which)
    offenders = [
        (lid, sorted(set(_as_list(st["Action"])) - UNSCOPABLE_ACTIONS))
        for lid, st in _identity_statements(s)
        if "*" in _as_list(st["Resource"]) and set(_as_list(st["Action"])) - UNSCOPABLE_ACTIONS
    ]
    assert offenders == []


@pytest.mark.campaign(
    CAMPAIGN, "every scoped statement points at this stack's own resources of the right type"
)
@pytest.mark.parametrize("which", APPS)
def test_every_statement_points_at_resources_of_its_service(
    which: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(which)
    types = {lid: r["Type"] for lid, r in s.template["Resources"].items()}
    checked = 0
    for lid, st in _identity_statements(s):
        services = {a.split(":")[0] for a in _as_list(st["Action"])}
        resources = [r for r in _as_list(st["Resource"]) if r != "*"]
        for service in services & set(SERVICE_RESOURCE_TYPES):
            for resource in resources:
                referenced = {types.get(ref, "parameter/pseudo") for ref in template_refs(resource)} - {
                    "parameter/pseudo"
                }
                text = _literal(resource)
                if referenced:
                    assert referenced <= SERVICE_RESOURCE_TYPES[service], (lid, service, text)
                else:
                    # A literal ARN (an existing bucket or secret, the default event bus): its service must match.
                    assert f":{service}:" in text or (service == "events"), (lid, service, text)
                checked += 1
    assert checked > 10


@pytest.mark.campaign(CAMPAIGN, "each function holds only the permissions its job needs")
def test_each_function_role_is_limited_to_its_job(synthesized: Synthesized) -> None:
    s = synthesized
    by_function = {name: _actions(_role_statements(s, name)) for name in contract.HANDLERS}
    common = {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    secret = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    for name, actions in by_function.items():
        assert secret <= actions, name
        writes = {a for a in actions if a.split(":")[1].startswith(("Delete", "Create", "Put", "Update"))}
        allowed_writes = {
            "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
            "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "s3:PutObject", "events:PutEvents",
        }  # fmt: skip
        assert writes <= allowed_writes, (name, writes - allowed_writes)
        assert not {a for a in actions if a.startswith("dynamodb:") and a not in
                    {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                     "dynamodb:Query"}}, name  # fmt: skip
        assert common <= actions, name
    # Only start_import reads drops and writes reports; only it and the reconciler start executions.
    assert {n for n, a in by_function.items() if any(x.startswith("s3:") for x in a)} == {"start_import"}
    assert {n for n, a in by_function.items() if "states:StartExecution" in a} == {
        "start_import",
        "reconciler",
    }
    # Only start_import uses the idempotency table, and only start_import may delete an item (a failed claim).
    idempotency = [
        lid
        for lid, r in s.resources("AWS::DynamoDB::Table").items()
        if "TimeToLiveSpecification" in r["Properties"]
    ]
    assert len(idempotency) == 1
    users = {n for n in contract.HANDLERS if idempotency[0] in template_refs(_role_statements(s, n))}
    assert users == {"start_import"}
    # Pollers and the canceller never notify and never touch S3 or the workflow.
    for name in ("poll_import", "cancel_import"):
        assert not {a for a in by_function[name] if a.split(":")[0] in ("sns", "events", "s3", "states")}, (
            name
        )


@pytest.mark.campaign(CAMPAIGN, "S3 writes only to report files under the route prefixes")
@pytest.mark.parametrize("which", APPS)
def test_s3_access_is_scoped_to_route_prefixes_and_report_files(
    which: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(which)
    s3_statements = [
        st for _, st in _identity_statements(s) if any(a.startswith("s3:") for a in _as_list(st["Action"]))
    ]
    assert s3_statements
    for st in s3_statements:
        actions = set(_as_list(st["Action"]))
        for resource in _as_list(st["Resource"]):
            text = _literal(resource)
            if "s3:ListBucket" in actions:
                assert "/" not in text.split(":::")[-1] or text.endswith(">"), text
                prefixes = st["Condition"]["StringLike"]["s3:prefix"]
                assert prefixes and all(p.endswith("/*") and p != "/*" for p in prefixes), st
            elif "s3:PutObject" in actions:
                assert text.endswith("/*/_autoimport_report.json"), text
            else:
                assert actions <= {"s3:GetObject"}, actions
                assert text.endswith("/*") and not text.endswith(">/*"), text


@pytest.mark.campaign(CAMPAIGN, "TLS-only policies on every bucket, topic and queue")
@pytest.mark.parametrize("which", APPS)
def test_every_bucket_topic_and_queue_refuses_plain_http(which: str, request: pytest.FixtureRequest) -> None:
    s: Synthesized = request.getfixturevalue(which)
    protected: dict[str, str] = {}
    for policy_type, target_key in (
        ("AWS::S3::BucketPolicy", "Bucket"),
        ("AWS::SNS::TopicPolicy", "Topics"),
        ("AWS::SQS::QueuePolicy", "Queues"),
    ):
        for policy in s.resources(policy_type).values():
            if _denies_insecure_transport(policy["Properties"]["PolicyDocument"]["Statement"]):
                for ref in template_refs(policy["Properties"][target_key]):
                    protected[ref] = policy_type
    owned = [
        lid
        for type_ in ("AWS::S3::Bucket", "AWS::SNS::Topic", "AWS::SQS::Queue")
        for lid in s.resources(type_)
    ]
    assert owned
    assert [lid for lid in owned if lid not in protected] == []


@pytest.mark.campaign(CAMPAIGN, "KMS on topics, queues and log groups; encryption at rest everywhere")
@pytest.mark.parametrize("which", APPS)
def test_topics_queues_and_logs_use_the_stack_key_and_data_is_encrypted(
    which: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(which)
    keys = set(s.resources("AWS::KMS::Key"))
    assert keys
    for type_, prop in (("AWS::SNS::Topic", "KmsMasterKeyId"), ("AWS::SQS::Queue", "KmsMasterKeyId"),
                        ("AWS::Logs::LogGroup", "KmsKeyId")):  # fmt: skip
        found = s.resources(type_)
        assert found, type_
        for lid, res in found.items():
            assert template_refs(res["Properties"].get(prop)) & keys, (lid, type_)
    for lid, key in s.resources("AWS::KMS::Key").items():
        assert key["Properties"]["EnableKeyRotation"] is True, lid
    for lid, table in s.resources("AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True, lid
    for lid, bucket in s.resources("AWS::S3::Bucket").items():
        assert bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"], lid


@pytest.mark.campaign(CAMPAIGN, "a dead-letter queue on every asynchronous target and invocation")
@pytest.mark.parametrize("which", APPS)
def test_every_asynchronous_target_has_retries_and_a_dead_letter_queue(
    which: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(which)
    queues = set(s.resources("AWS::SQS::Queue"))
    functions = set(s.resources("AWS::Lambda::Function"))
    async_functions: set[str] = set()
    for lid, rule in s.resources("AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            assert template_refs(target.get("DeadLetterConfig", {}).get("Arn")) & queues, (lid, target["Id"])
            assert 0 < target["RetryPolicy"]["MaximumRetryAttempts"] <= 185, (lid, target["Id"])
            async_functions |= template_refs(target["Arn"]) & functions
    assert async_functions
    # EventBridge invokes Lambda asynchronously: its DLQ only catches undelivered events. A failed run must land in
    # a queue too (on-failure destination), or the event is dropped after Lambda's own retries.
    on_failure = {
        ref
        for cfg in s.resources("AWS::Lambda::EventInvokeConfig").values()
        if template_refs(
            cfg["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        )
        & queues
        for ref in template_refs(cfg["Properties"]["FunctionName"])
    }
    assert async_functions <= on_failure, sorted(async_functions - on_failure)
    for cfg in s.resources("AWS::Lambda::EventInvokeConfig").values():
        assert cfg["Properties"]["MaximumRetryAttempts"] <= 2
    # The functions may send to that queue, and nothing beyond it.
    for lid, st in _identity_statements(s):
        if "sqs:SendMessage" in _as_list(st["Action"]):
            assert template_refs(st["Resource"]) <= queues, lid
    # EventBridge may deliver to the queue only on behalf of this stack's rules.
    for policy in s.resources("AWS::SQS::QueuePolicy").values():
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            if st["Effect"] == "Allow":
                assert st["Principal"] == {"Service": "events.amazonaws.com"}
                assert template_refs(st["Condition"]["ArnEquals"]["aws:SourceArn"]) <= set(
                    s.resources("AWS::Events::Rule")
                )


@pytest.mark.campaign(CAMPAIGN, "Lambda invoke permissions only for this stack's rules and state machine")
@pytest.mark.parametrize("which", APPS)
def test_functions_can_be_invoked_only_by_their_own_callers(
    which: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(which)
    rules = set(s.resources("AWS::Events::Rule"))
    for lid, permission in s.resources("AWS::Lambda::Permission").items():
        props = permission["Properties"]
        assert props["Action"] == "lambda:InvokeFunction", lid
        assert props["Principal"] == "events.amazonaws.com", lid
        assert template_refs(props["SourceArn"]) <= rules and template_refs(props["SourceArn"]), lid
    machines = s.resources("AWS::StepFunctions::StateMachine")
    (machine,) = machines.values()
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    invokes = [
        st
        for p in s.resources("AWS::IAM::Policy").values()
        if role_id in template_refs(p["Properties"]["Roles"])
        for st in p["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in _as_list(st["Action"])
    ]
    invoked = set().union(*(template_refs(st["Resource"]) for st in invokes))
    tasks = {lid for lid, fn in s.resources("AWS::Lambda::Function").items()
             if fn["Properties"]["Handler"] in {contract.HANDLERS[n] for n in ("poll_import", "cancel_import", "finalize")}}  # fmt: skip
    assert invoked == tasks


@pytest.mark.campaign(CAMPAIGN, "the Pinecone role is read-only, prefix-scoped and needs the external id")
def test_the_pinecone_role_reads_only_the_route_prefixes_with_an_external_id(
    synthesized_variant: Synthesized,
) -> None:
    s = synthesized_variant
    trusted = [
        (lid, r) for lid, r in s.resources("AWS::IAM::Role").items()
        if "pinecone-storage-integration" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]  # fmt: skip
    [(role_id, role)] = trusted
    for st in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
        assert st["Condition"]["StringEquals"]["sts:ExternalId"]
    statements = [st for lid, st in _identity_statements(s) if lid == role_id] + [
        st
        for p in s.resources("AWS::IAM::Policy").values()
        if role_id in template_refs(p["Properties"]["Roles"])
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert _actions(statements) == {"s3:GetObject", "s3:ListBucket"}


@pytest.mark.campaign(CAMPAIGN, "cdk-nag AwsSolutions clean; every acknowledgement has a reason")
@pytest.mark.parametrize("which", APPS)
def test_cdk_nag_is_clean_and_every_suppression_is_explained(
    which: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(which)
    report = s.validation_report
    assert report is not None, "the nag plugin did not run"
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert plugin["conclusion"] == "success"
    assert plugin["violations"] == []
    for suppressed in plugin["suppressedViolations"]:
        assert suppressed["ruleName"].startswith("AwsSolutions-"), suppressed["ruleName"]
        assert len(suppressed["reason"].split()) >= 5, suppressed["ruleName"]
        # A wildcard suppression is only for the unscopable actions or object keys under a prefix.
        if suppressed["ruleName"].startswith("AwsSolutions-IAM5[Action::"):
            raise AssertionError(f"a wildcard action is suppressed: {suppressed['ruleName']}")
