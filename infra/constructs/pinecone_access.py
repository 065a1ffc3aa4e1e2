"""The IAM role Pinecone's storage integration assumes to read the routed prefixes (optional)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct


class PineconeAccessRole(Construct):
    """Read-only access to ``<bucket>/<prefix>*`` for each route, trusted only with Pinecone's external ID.

    Paste the ``PineconeRoleArn`` output into Pinecone's console (Storage integrations → Add → Amazon S3 →
    IAM role ARN); the integration id Pinecone gives back goes into the route's ``integration_id``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        bucket: s3.IBucket,
        prefixes: Sequence[str],
        trusted_principal_arn: str,
        external_id: str,
    ) -> None:
        super().__init__(scope, id_)
        self.role = iam.Role(
            self,
            "Role",
            description="Pinecone storage integration: read the pinecone-autoimport drop prefixes",
            assumed_by=iam.ArnPrincipal(trusted_principal_arn),
            external_ids=[external_id],
            max_session_duration=None,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadDropObjects",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{p}*") for p in prefixes],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListDropPrefixes",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
            )
        )
        CfnOutput(
            self,
            "PineconeRoleArn",
            value=self.role.role_arn,
            description="Paste into Pinecone's console as the storage integration's IAM role ARN",
        )
        for i, prefix in enumerate(prefixes):
            CfnOutput(
                self,
                f"ImportUri{i}",
                value=f"s3://{bucket.bucket_name}/{prefix}",
                description="Import URIs under this prefix are readable by the role",
            )
