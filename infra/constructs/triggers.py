"""What starts work: the S3 "Object Created" rule for drop markers, and the reconciler's schedule."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge

TARGET_RETRY_ATTEMPTS = 8
TARGET_MAX_EVENT_AGE = Duration.hours(6)
ASYNC_RETRY_ATTEMPTS = 2


def _escape_wildcard(text: str) -> str:
    """EventBridge wildcard patterns treat ``*`` and ``\\`` as special: escape them in literal key parts."""
    return text.replace("\\", "\\\\").replace("*", "\\*")


def marker_key_patterns(prefixes: Sequence[str], marker_name: str) -> list[dict[str, str]]:
    """One ``wildcard`` filter per route: ``<prefix>*/<marker>`` (``*`` spans the drop path, nested or not)."""
    return [{"wildcard": f"{_escape_wildcard(p)}*/{_escape_wildcard(marker_name)}"} for p in prefixes]


class Triggers(Construct):
    """EventBridge rules with a retry policy and an encrypted, TLS-only dead-letter queue on every target."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        bucket: s3.IBucket,
        prefixes: Sequence[str],
        marker_name: str,
        start_import: lambda_.IFunction,
        reconciler: lambda_.IFunction,
        reconciler_rate_minutes: int,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, id_)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the EventBridge targets.",
        )
        self.drop_rule = events.Rule(
            self,
            "DropMarkerCreated",
            description="A drop marker was written: validate the drop and start its Pinecone import",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [bucket.bucket_name]},
                    "object": {"key": marker_key_patterns(prefixes, marker_name)},
                },
            ),
        )
        self.drop_rule.add_target(
            targets.LambdaFunction(
                start_import,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=TARGET_RETRY_ATTEMPTS,
                max_event_age=TARGET_MAX_EVENT_AGE,
            )
        )
        self._dead_letter_failed_invocations("StartImportFailures", start_import, key)
        self.reconciler_rule: events.Rule | None = None
        if reconciler_rate_minutes > 0:
            self.reconciler_rule = events.Rule(
                self,
                "ReconcilerSchedule",
                description="Adopt Pinecone imports that have no tracker (started from the console or the CLI)",
                schedule=events.Schedule.rate(Duration.minutes(reconciler_rate_minutes)),
            )
            self.reconciler_rule.add_target(
                targets.LambdaFunction(
                    reconciler,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=2,
                    max_event_age=Duration.minutes(max(reconciler_rate_minutes, 1)),
                )
            )
            self._dead_letter_failed_invocations("ReconcilerFailures", reconciler, key)

    def _dead_letter_failed_invocations(self, id_: str, fn: lambda_.IFunction, key: kms.IKey) -> None:
        """EventBridge invokes asynchronously: its target DLQ only catches events it could not deliver. An event
        whose function run fails (after Lambda's own retries) goes to the same queue instead of vanishing."""
        lambda_.CfnEventInvokeConfig(
            self,
            id_,
            function_name=fn.function_name,
            qualifier="$LATEST",
            maximum_retry_attempts=ASYNC_RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=int(TARGET_MAX_EVENT_AGE.to_seconds()),
            destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(
                    destination=self.dead_letter_queue.queue_arn
                )
            ),
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dead_letter_queue.queue_arn])
        )
        key.grant(fn, "kms:Decrypt", "kms:GenerateDataKey")
