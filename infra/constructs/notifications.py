"""Where outcomes go: an encrypted SNS topic (optional email subscriptions) and the default event bus."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

DEFAULT_EVENT_BUS = "default"


class Notifications(Construct):
    """The topic every outcome is published to, and the bus the ``pinecone.autoimport`` events go to."""

    def __init__(self, scope: Construct, id_: str, *, key: kms.IKey, emails: Sequence[str]) -> None:
        super().__init__(scope, id_)
        self.key = key
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Pinecone auto-import",
            master_key=key,
            enforce_ssl=True,
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.event_bus_name = DEFAULT_EVENT_BUS
        self.event_bus_arn = Stack.of(self).format_arn(
            service="events",
            resource="event-bus",
            resource_name=DEFAULT_EVENT_BUS,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        CfnOutput(
            self, "TopicArn", value=self.topic.topic_arn, description="Subscribe here for import outcomes"
        )

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        """sns:Publish on the topic, the key use that needs, and events:PutEvents on the default bus."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn])
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self.key.key_arn])
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.event_bus_arn])
        )
