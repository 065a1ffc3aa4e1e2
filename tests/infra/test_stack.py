"""Template assertions on the synthesized stack: each concern has the properties that make it safe."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.settings import ENV_VARS
from infra import contract
from tests.fixtures.infra import Synthesized, template_refs

pytestmark = pytest.mark.xdist_group("infra")

# One worker synthesizes both apps once (each synth is seconds of CPU; a second worker would repeat them).
VARIANTS = ["synthesized", "synthesized_variant"]


def _functions_by_name(s: Synthesized) -> dict[str, tuple[str, dict[str, Any]]]:
    by_handler = {
        fn["Properties"]["Handler"]: (lid, fn) for lid, fn in s.resources("AWS::Lambda::Function").items()
    }
    return {name: by_handler[handler] for name, handler in contract.HANDLERS.items()}


def _denies_insecure_transport(policy_document: dict[str, Any]) -> bool:
    return any(
        st["Effect"] == "Deny"
        and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for st in policy_document["Statement"]
    )


def test_drop_bucket_is_private_versioned_encrypted_and_emits_eventbridge_events(
    synthesized: Synthesized,
) -> None:
    buckets = synthesized.resources("AWS::S3::Bucket")
    drop = [b for b in buckets.values() if "NotificationConfiguration" in b["Properties"]]
    assert len(drop) == 1
    props = drop[0]["Properties"]
    assert props["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }  # fmt: skip
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "LoggingConfiguration" in props
    for policy in synthesized.resources("AWS::S3::BucketPolicy").values():
        assert _denies_insecure_transport(policy["Properties"]["PolicyDocument"])
    assert len(synthesized.resources("AWS::S3::BucketPolicy")) == len(buckets)
    # No custom resource (event_bridge_enabled=True would add a Lambda-backed one).
    assert not [r for r in synthesized.template["Resources"].values() if r["Type"].startswith("Custom::")]


def test_topic_and_dead_letter_queue_are_kms_encrypted_and_tls_only(synthesized: Synthesized) -> None:
    _, topic = synthesized.only("AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic["Properties"]
    _, queue = synthesized.only("AWS::SQS::Queue")
    assert "KmsMasterKeyId" in queue["Properties"]
    for type_ in ("AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
        _, policy = synthesized.only(type_)
        assert _denies_insecure_transport(policy["Properties"]["PolicyDocument"])
    _, key = synthesized.only("AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True


def test_marker_rule_targets_start_import_with_retries_and_dead_letter_queue(
    synthesized: Synthesized,
) -> None:
    start_id, _ = _functions_by_name(synthesized)["start_import"]
    queue_id, _ = synthesized.only("AWS::SQS::Queue")
    rules = [
        r for r in synthesized.resources("AWS::Events::Rule").values() if "EventPattern" in r["Properties"]
    ]
    assert len(rules) == 1
    props = rules[0]["Properties"]
    pattern = props["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"wildcard": "imports/*/_SUCCESS"}]
    assert len(pattern["detail"]["bucket"]["name"]) == 1
    (target,) = props["Targets"]
    assert template_refs(target["Arn"]) == {start_id}
    assert template_refs(target["DeadLetterConfig"]) == {queue_id}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] > 0


def test_reconciler_runs_on_the_configured_schedule(synthesized: Synthesized) -> None:
    reconciler_id, _ = _functions_by_name(synthesized)["reconciler"]
    scheduled = [
        r
        for r in synthesized.resources("AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert len(scheduled) == 1
    assert scheduled[0]["Properties"]["ScheduleExpression"] == "rate(15 minutes)"
    (target,) = scheduled[0]["Properties"]["Targets"]
    assert template_refs(target["Arn"]) == {reconciler_id}
    assert "DeadLetterConfig" in target


def test_tables_have_expected_keys_pitr_and_encryption(synthesized: Synthesized) -> None:
    tables = synthesized.resources("AWS::DynamoDB::Table")
    by_key = {t["Properties"]["KeySchema"][0]["AttributeName"]: t["Properties"] for t in tables.values()}
    assert set(by_key) == {"id", "drop_id"}
    assert by_key["id"]["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    (index,) = by_key["drop_id"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == contract.LEDGER_IMPORT_ID_INDEX
    assert index["KeySchema"] == [{"AttributeName": "import_id", "KeyType": "HASH"}]
    for props in by_key.values():
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert "TableName" not in props  # no physical names


def test_functions_have_handlers_runtime_tracing_and_settings_environment(synthesized: Synthesized) -> None:
    functions = _functions_by_name(synthesized)
    machine_id = next(iter(synthesized.resources("AWS::StepFunctions::StateMachine")))
    secret_id, _ = synthesized.only("AWS::SecretsManager::Secret")
    for name, (_, fn) in functions.items():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert "FunctionName" not in props
        env = props["Environment"]["Variables"]
        for field in ("routes", "marker_name", "api_version", "api_key_secret_id", "idempotency_table",
                      "ledger_table", "topic_arn", "event_bus_name", "poll_wait_scale"):  # fmt: skip
            assert ENV_VARS[field] in env, (name, field)
        assert "PINECONE_API_KEY" not in env
        assert template_refs(env["PINECONE_API_KEY_SECRET_ID"]) == {secret_id}
        routes = json.loads(env["AUTOIMPORT_ROUTES"])
        assert [r["prefix"] for r in routes] == ["imports/"]
        assert env["POWERTOOLS_SERVICE_NAME"] == contract.SERVICE_NAME
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == contract.METRICS_NAMESPACE
        assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
        has_machine = ENV_VARS["state_machine_arn"] in env
        assert has_machine == (name in ("start_import", "reconciler")), name
        if has_machine:
            assert template_refs(env[ENV_VARS["state_machine_arn"]]) == {machine_id}
        layers = json.dumps(props.get("Layers", []))
        assert "AWSLambdaPowertoolsPythonV3-python312-x86_64" in layers
        assert ("AWSSDKPandas-Python312" in layers) == (name == "start_import")


def test_secret_is_readable_by_every_function_and_nothing_else(synthesized: Synthesized) -> None:
    secret_id, secret = synthesized.only("AWS::SecretsManager::Secret")
    assert "GenerateSecretString" in secret["Properties"]
    readers = [
        lid
        for lid, policy in synthesized.resources("AWS::IAM::Policy").items()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in _actions(st) and template_refs(st["Resource"]) == {secret_id}
    ]
    assert len(readers) == len(contract.HANDLERS)


def test_alarms_cover_failures_timeouts_dead_letters_and_function_errors(synthesized: Synthesized) -> None:
    topic_id, _ = synthesized.only("AWS::SNS::Topic")
    alarms = list(synthesized.resources("AWS::CloudWatch::Alarm").values())
    metrics = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms}
    assert ("AWS/States", "ExecutionsFailed") in metrics
    assert ("AWS/States", "ExecutionsTimedOut") in metrics
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    lambda_error_alarms = [a for a in alarms if a["Properties"]["MetricName"] == "Errors"]
    assert len(lambda_error_alarms) == len(contract.HANDLERS)
    for alarm in alarms:
        assert template_refs(alarm["Properties"]["AlarmActions"]) == {topic_id}
    synthesized.only("AWS::CloudWatch::Dashboard")


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def _policy_documents(s: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    docs: list[tuple[str, dict[str, Any]]] = []
    for lid, res in s.template["Resources"].items():
        props = res.get("Properties", {})
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if key in props:
                docs.append((lid, props[key]))
        for policy in props.get("Policies", []):
            docs.append((lid, policy["PolicyDocument"]))
    return docs


@pytest.mark.parametrize("which", VARIANTS)
def test_no_policy_grants_a_wildcard_action(which: str, request: pytest.FixtureRequest) -> None:
    s: Synthesized = request.getfixturevalue(which)
    docs = _policy_documents(s)
    assert len(docs) > 10
    offenders = [
        (lid, action)
        for lid, doc in docs
        for st in doc["Statement"]
        if st["Effect"] == "Allow"
        for action in _actions(st)
        if action == "*" or action.endswith(":*")
    ]
    assert offenders == []


def test_drop_access_is_scoped_to_route_prefixes(synthesized: Synthesized) -> None:
    _, start = _functions_by_name(synthesized)["start_import"]
    role_id = start["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [
        p
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if role_id in template_refs(p["Properties"]["Roles"])
    ]
    statements = [st for p in policies for st in p["Properties"]["PolicyDocument"]["Statement"]]
    s3_statements = [st for st in statements if any(a.startswith("s3:") for a in _actions(st))]
    rendered = json.dumps(s3_statements)
    assert "/imports/*" in rendered
    for st in s3_statements:
        if "s3:ListBucket" in _actions(st):
            assert st["Condition"] == {"StringLike": {"s3:prefix": ["imports/*"]}}
    assert {a for st in s3_statements for a in _actions(st)} == {
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
    }


def test_no_physical_names_and_no_lookups(synthesized: Synthesized) -> None:
    for res in synthesized.template["Resources"].values():
        props = res.get("Properties", {})
        for name_key in ("BucketName", "TopicName", "QueueName", "TableName", "StateMachineName", "RoleName"):
            assert name_key not in props, res["Type"]
    # Layer ARNs are built from the region token, not looked up.
    assert set(synthesized.template.get("Parameters", {})) <= {"BootstrapVersion"}
    assert "Fn::ImportValue" not in json.dumps(synthesized.template)


def test_variant_uses_existing_bucket_and_secret_and_creates_pinecone_role(
    synthesized_variant: Synthesized,
) -> None:
    s = synthesized_variant
    assert s.resources("AWS::S3::Bucket") == {}
    assert s.resources("AWS::SecretsManager::Secret") == {}
    assert [
        r for r in s.resources("AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]
    ] == []
    (rule,) = s.resources("AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"]["detail"]["bucket"]["name"] == ["producer-drops"]
    assert rule["Properties"]["EventPattern"]["detail"]["object"]["key"] == [
        {"wildcard": "docs/*/_SUCCESS"},
        {"wildcard": "media/images/*/_SUCCESS"},
    ]
    (subscription,) = s.resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    pinecone_roles = [
        r for r in s.resources("AWS::IAM::Role").values()
        if "pinecone-storage-integration" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]  # fmt: skip
    (role,) = pinecone_roles
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "pinecone-ext-1234"}}
    (policy,) = (
        role["Properties"]["Policies"]
        if "Policies" in role["Properties"]
        else [
            p["Properties"]
            for p in s.resources("AWS::IAM::Policy").values()
            if "PineconeAccess" in json.dumps(p)
        ]
    )
    actions = {a for st in policy["PolicyDocument"]["Statement"] for a in _actions(st)}
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    rendered = json.dumps(policy["PolicyDocument"])
    assert "arn:" in rendered and ":s3:::producer-drops/docs/*" in rendered
    assert ":s3:::producer-drops/media/images/*" in rendered
    outputs = json.dumps(s.template["Outputs"])
    assert "PineconeRoleArn" in outputs.replace("PineconeAccess", "")
    assert "s3://producer-drops/docs/" in outputs
    for _, fn in s.resources("AWS::Lambda::Function").items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["PINECONE_API_KEY_SECRET_ID"].endswith(":secret:pinecone/api-key-AbCdEf")
        assert "Layers" not in fn["Properties"]


UNSCOPABLE_ACTIONS = {
    # X-Ray and CloudWatch Logs vended delivery have no resource-level permissions.
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}


@pytest.mark.parametrize("which", VARIANTS)
def test_identity_policies_scope_resources_except_where_aws_allows_none(
    which: str, request: pytest.FixtureRequest
) -> None:
    s: Synthesized = request.getfixturevalue(which)
    unscoped = [
        (lid, _actions(st))
        for lid, policy in s.resources("AWS::IAM::Policy").items()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if "*" in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
        and not set(_actions(st)) <= UNSCOPABLE_ACTIONS
    ]
    assert unscoped == []


def test_function_environment_is_what_the_settings_model_accepts(synthesized: Synthesized) -> None:
    from functions.settings import settings_from_env

    for name, (_, fn) in _functions_by_name(synthesized).items():
        env = fn["Properties"]["Environment"]["Variables"]
        # Tokens (ARNs, table names) resolve at deploy time: stand in plain strings for them.
        plain = {k: v if isinstance(v, str) else f"resolved-{k.lower()}" for k, v in env.items()}
        settings = settings_from_env(plain)
        assert [r.name for r in settings.routes] == ["default"], name
        assert settings.marker_name == "_SUCCESS"
        assert settings.api_key_secret_id == "resolved-pinecone_api_key_secret_id"
        assert settings.poll_wait_scale == 1.0
