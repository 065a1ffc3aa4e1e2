"""The drop bucket: where producers write ``<prefix><drop>/...`` and the marker."""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge


class DropBucket(Construct):
    """A new hardened bucket with EventBridge notifications on, or an existing bucket by name.

    EventBridge is switched on with a property override rather than ``event_bridge_enabled=True``, which would
    add a custom-resource Lambda function just to call ``PutBucketNotificationConfiguration``.
    An existing bucket is referenced by name only (no lookup); switch its EventBridge notifications on yourself:
    ``aws s3api put-bucket-notification-configuration --bucket NAME
    --notification-configuration '{"EventBridgeConfiguration": {}}'``.
    """

    def __init__(self, scope: Construct, id_: str, *, existing_bucket_name: str | None) -> None:
        super().__init__(scope, id_)
        self.created = existing_bucket_name is None
        if existing_bucket_name is not None:
            self.bucket: s3.IBucket = s3.Bucket.from_bucket_name(self, "Bucket", existing_bucket_name)
            return
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            access_logs,
            "AwsSolutions-S1",
            "This is the access-log bucket of the drop bucket; logging it to itself would loop.",
        )
        bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="drop-bucket/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        cfn_bucket = bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )
        self.bucket = bucket
        CfnOutput(self, "BucketName", value=bucket.bucket_name, description="Drop bucket: write drops here")
