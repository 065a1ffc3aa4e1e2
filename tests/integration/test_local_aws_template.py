"""The template preparation and event shaping of the local AWS, as plain functions (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from local.aws.deploy import (
    DeploymentError,
    _replace_references,
    _role_of,
    dropped_resources,
    prepare_template,
)
from local.aws.event_targets import S3_PLACEHOLDER_EVENT_ID, real_shaped, target_input


def template() -> dict[str, Any]:
    return {
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"}},
        "Rules": {"CheckBootstrapVersion": {}},
        "Resources": {
            "CDKMetadata": {"Type": "AWS::CDK::Metadata"},
            "Notifications": {"Type": "Custom::S3BucketNotifications", "Properties": {}},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Handler": "functions.handlers.poll_import.handler",
                    "Code": {"S3Bucket": "cdk-hnb659fds-assets", "S3Key": "abc.zip"},
                    "Environment": {"Variables": {"KEEP": "1"}},
                },
                "DependsOn": ["Notifications", "Role"],
            },
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        },
        "Outputs": {
            "AlarmName": {"Value": {"Ref": "Alarm"}},
            "FunctionName": {"Value": {"Ref": "Fn"}},
        },
    }


def test_prepare_template_drops_what_moto_cannot_run_and_its_references() -> None:
    body = prepare_template(template(), environment={"AWS_ENDPOINT_URL": "http://x"}, inline_code=True)

    assert set(body["Resources"]) == {"Fn", "Role"}
    assert "Rules" not in body and "Parameters" not in body
    assert body["Resources"]["Fn"]["DependsOn"] == ["Role"]
    assert set(body["Outputs"]) == {"FunctionName"}
    props = body["Resources"]["Fn"]["Properties"]
    assert props["Environment"]["Variables"] == {"KEEP": "1", "AWS_ENDPOINT_URL": "http://x"}
    assert "ZipFile" in props["Code"]
    assert set(dropped_resources(template())) == {"CDKMetadata", "Notifications", "Alarm"}


def test_prepare_template_keeps_asset_code_when_assets_are_uploaded() -> None:
    body = prepare_template(template(), environment={}, inline_code=False)

    assert body["Resources"]["Fn"]["Properties"]["Code"] == {
        "S3Bucket": "cdk-hnb659fds-assets",
        "S3Key": "abc.zip",
    }


def test_a_property_that_needs_a_custom_resource_is_a_clear_error() -> None:
    broken = template()
    broken["Resources"]["Role"]["Properties"] = {"Path": {"Fn::GetAtt": ["Notifications", "Path"]}}

    with pytest.raises(DeploymentError, match=r"resource Role uses Notifications, a custom resource"):
        prepare_template(broken, environment={}, inline_code=True)


def test_references_to_pre_created_resources_become_their_arn() -> None:
    node = {
        "Resource": [{"Ref": "Secret"}, {"Fn::GetAtt": ["Secret", "Arn"]}, {"Ref": "Other"}],
        "DependsOn": ["Secret", "Other"],
    }

    replaced = _replace_references(node, {"Secret": "arn:secret"})

    assert replaced == {"Resource": ["arn:secret", "arn:secret", {"Ref": "Other"}], "DependsOn": ["Other"]}


@pytest.mark.parametrize(
    ("handler", "role"),
    [
        ("functions.handlers.start_import.handler", "start_import"),
        ("tests.fixtures.lambda_handlers.echo", "echo"),
        ("index", "fallback-name"),
    ],
)
def test_function_roles_come_from_handlers(handler: str, role: str) -> None:
    assert _role_of(handler, "fallback-name") == role


def test_events_reach_targets_real_shaped() -> None:
    event: dict[str, Any] = {
        "id": S3_PLACEHOLDER_EVENT_ID,
        "time": 0,
        "source": "aws.s3",
        "detail": {"object": {"eTag": "e"}},
    }

    shaped = real_shaped(event)

    assert shaped["time"] == "1970-01-01T00:00:00Z"
    assert shaped["id"] != S3_PLACEHOLDER_EVENT_ID
    assert shaped["detail"]["object"] == {"etag": "e"}
    assert event["detail"]["object"] == {"eTag": "e"}  # the original is not modified


def test_target_input_options() -> None:
    event = {"id": "1", "source": "s", "detail-type": "d", "detail": {"drop": "d1"}}

    assert target_input({"Input": '{"fixed": true}'}, event, True) == {"fixed": True}
    assert target_input({"InputPath": "$.detail"}, event, True) == {"drop": "d1"}
    assert target_input({}, event, True) is event
    transformed = target_input(
        {"InputTransformer": {"InputPathsMap": {"d": "$.detail.drop"}, "InputTemplate": '{"drop": "<d>"}'}},
        event,
        True,
    )
    assert transformed == {"drop": "d1"}
