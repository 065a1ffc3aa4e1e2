"""One customer-managed KMS key for the stack's queues, topic and log groups."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# Spelled out instead of ``kms:*`` so no statement in the stack grants a whole service.
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
KEY_USE_ACTIONS = (
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
SERVICE_USE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


class EncryptionKey(Construct):
    """A rotating key whose policy delegates to IAM in this account and lets the named AWS services use it."""

    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)
        self.key = kms.Key(
            self,
            "Key",
            description="pinecone-autoimport: SNS topic, SQS dead-letter queues and CloudWatch log groups",
            enable_key_rotation=True,
            pending_window=Duration.days(30),
            removal_policy=RemovalPolicy.RETAIN,
            policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="AccountAdministersAndDelegatesToIam",
                        principals=[iam.AccountRootPrincipal()],
                        actions=[*KEY_ADMIN_ACTIONS, *KEY_USE_ACTIONS],
                        resources=["*"],
                    ),
                    iam.PolicyStatement(
                        sid="EventBridgeWritesToEncryptedDeadLetterQueues",
                        principals=[iam.ServicePrincipal("events.amazonaws.com")],
                        actions=list(SERVICE_USE_ACTIONS),
                        resources=["*"],
                        conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
                    ),
                    iam.PolicyStatement(
                        sid="AlarmsPublishToEncryptedTopic",
                        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                        actions=list(SERVICE_USE_ACTIONS),
                        resources=["*"],
                    ),
                    iam.PolicyStatement(
                        sid="CloudWatchLogsEncryptsThisStacksLogGroups",
                        principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                        actions=[
                            "kms:Decrypt",
                            "kms:DescribeKey",
                            "kms:Encrypt",
                            "kms:GenerateDataKey",
                            "kms:ReEncryptFrom",
                            "kms:ReEncryptTo",
                        ],
                        resources=["*"],
                        conditions={
                            "ArnLike": {
                                "kms:EncryptionContext:aws:logs:arn": (
                                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                                )
                            }
                        },
                    ),
                ]
            ),
        )
