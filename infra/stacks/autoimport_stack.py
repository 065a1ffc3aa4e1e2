"""The stack: composes one construct per concern and grants each function only what it uses."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, CfnElement, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from functions.settings import ENV_VARS, REPORT_FILE_NAME
from infra import contract
from infra.config import InfraConfig
from infra.constructs.data import DataTables
from infra.constructs.encryption import EncryptionKey
from infra.constructs.functions import Functions, retention
from infra.constructs.monitoring import Monitoring
from infra.constructs.notifications import Notifications
from infra.constructs.pinecone_access import PineconeAccessRole
from infra.constructs.secret import PineconeApiKeySecret
from infra.constructs.storage import DropBucket
from infra.constructs.triggers import Triggers
from infra.constructs.workflow import Workflow
from infra.nag import acknowledge

STACK_NAME = "PineconeAutoImport"


class AutoImportStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, config: InfraConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            id_,
            description="pinecone-autoimport: S3 drop -> validate -> Pinecone import -> notify",
            **kwargs,
        )
        self.config = config
        prefixes = [r.prefix for r in config.routes]

        key = EncryptionKey(self, "Encryption").key
        storage = DropBucket(self, "Storage", existing_bucket_name=config.existing_bucket_name)
        bucket = storage.bucket
        data = DataTables(self, "Data")
        secret = PineconeApiKeySecret(
            self, "PineconeApiKey", existing_secret_arn=config.existing_secret_arn
        ).secret
        notifications = Notifications(self, "Notifications", key=key, emails=config.notification_emails)

        environment = {
            ENV_VARS["routes"]: config.routes_json(),
            ENV_VARS["marker_name"]: config.marker_name,
            ENV_VARS["api_version"]: config.api_version,
            ENV_VARS["api_key_secret_id"]: secret.secret_arn,
            ENV_VARS["idempotency_table"]: data.idempotency.table_name,
            ENV_VARS["ledger_table"]: data.ledger.table_name,
            ENV_VARS["topic_arn"]: notifications.topic.topic_arn,
            ENV_VARS["event_bus_name"]: notifications.event_bus_name,
            ENV_VARS["poll_wait_scale"]: str(config.poll_wait_scale),
        }
        fns = Functions(self, "Functions", config=config, environment=environment, key=key)
        self.functions = fns

        workflow = Workflow(
            self,
            "Workflow",
            poll_import=fns.poll_import,
            cancel_import=fns.cancel_import,
            finalize=fns.finalize,
            deadline_s=config.max_deadline_s,
            min_wait_s=config.min_wait_s,
            max_wait_s=config.max_wait_s,
            key=key,
            log_retention=retention(config.log_retention_days),
        )
        state_machine = workflow.state_machine
        self.workflow = workflow
        for fn in (fns.start_import, fns.reconciler):
            fn.add_environment(ENV_VARS["state_machine_arn"], state_machine.state_machine_arn)

        # --- grants, where resources meet --------------------------------------------------------------------
        for fn in fns.all():
            secret.grant_read(fn)
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    sid="Ledger",
                    actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
                    resources=[
                        data.ledger.table_arn,
                        f"{data.ledger.table_arn}/index/{contract.LEDGER_IMPORT_ID_INDEX}",
                    ],
                )
            )
        start = fns.start_import
        start.add_to_role_policy(
            iam.PolicyStatement(
                sid="Idempotency",
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                ],
                resources=[data.idempotency.table_arn],
            )
        )
        start.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReadDrops",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{p}*") for p in prefixes],
            )
        )
        start.add_to_role_policy(
            iam.PolicyStatement(
                sid="ListDrops",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
            )
        )
        start.add_to_role_policy(
            iam.PolicyStatement(
                sid="WriteValidationReports",
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{p}*/{REPORT_FILE_NAME}") for p in prefixes],
            )
        )
        execution_arns = self.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for fn in (start, fns.reconciler):
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    sid="StartTrackers",
                    actions=["states:StartExecution", "states:ListExecutions"],
                    resources=[state_machine.state_machine_arn],
                )
            )
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    sid="DescribeTrackers", actions=["states:DescribeExecution"], resources=[execution_arns]
                )
            )
        for fn in (start, fns.finalize, fns.reconciler):
            notifications.grant_publish(fn)

        triggers = Triggers(
            self,
            "Triggers",
            bucket=bucket,
            prefixes=prefixes,
            marker_name=config.marker_name,
            start_import=fns.start_import,
            reconciler=fns.reconciler,
            reconciler_rate_minutes=config.reconciler_rate_minutes,
            key=key,
        )
        self.triggers = triggers
        Monitoring(
            self,
            "Monitoring",
            state_machine=state_machine,
            dead_letter_queue=triggers.dead_letter_queue,
            functions=fns.all(),
            topic=notifications.topic,
            dlq_threshold=config.dlq_alarm_threshold,
        )
        # How cdk-nag spells the bucket ARN in finding ids.
        bucket_nag_arn = (
            self._arn_ref(bucket)
            if storage.created
            else f"arn:<AWS::Partition>:s3:::{config.existing_bucket_name}"
        )
        if config.pinecone_role.enabled:
            assert config.pinecone_role.trusted_principal_arn and config.pinecone_role.external_id
            pinecone_access = PineconeAccessRole(
                self,
                "PineconeAccess",
                bucket=bucket,
                prefixes=prefixes,
                trusted_principal_arn=config.pinecone_role.trusted_principal_arn,
                external_id=config.pinecone_role.external_id,
            )
            access_policy = pinecone_access.role.node.try_find_child("DefaultPolicy")
            assert access_policy is not None
            for prefix in prefixes:
                acknowledge(
                    access_policy,
                    f"AwsSolutions-IAM5[Resource::{bucket_nag_arn}/{prefix}*]",
                    f"Pinecone reads every file of an import under the routed prefix {prefix!r} (read-only).",
                )

        CfnOutput(self, "StateMachineArn", value=state_machine.state_machine_arn)
        CfnOutput(self, "LedgerTableName", value=data.ledger.table_name)
        CfnOutput(self, "DeadLetterQueueUrl", value=triggers.dead_letter_queue.queue_url)

        self._acknowledge_findings(bucket_arn=bucket_nag_arn, prefixes=prefixes)

    def _arn_ref(self, construct: IConstruct) -> str:
        """How cdk-nag spells ``Fn::GetAtt [<logical id>, Arn]`` in a finding id."""
        default_child = construct.node.default_child
        assert isinstance(default_child, CfnElement)
        return f"<{self.resolve(self.get_logical_id(default_child))}.Arn>"

    def _acknowledge_findings(self, *, bucket_arn: str, prefixes: list[str]) -> None:
        """Each acknowledgement names one finding and says why it is acceptable (tests check both)."""
        for fn in self.functions.all():
            acknowledge(
                fn,
                "AwsSolutions-L1",
                "Python 3.12 on purpose: the managed Powertools and AWS SDK for pandas layers and the bundled "
                "wheels are built for it; move to a newer runtime together with them.",
            )
            policy = fn.role.node.try_find_child("DefaultPolicy") if fn.role else None
            assert policy is not None
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Resource::*]",
                "Lambda active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level "
                "permissions.",
            )
        start_policy = self.functions.start_import.role.node.try_find_child("DefaultPolicy")  # type: ignore[union-attr]
        assert start_policy is not None
        for prefix in prefixes:
            acknowledge(
                start_policy,
                f"AwsSolutions-IAM5[Resource::{bucket_arn}/{prefix}*]",
                f"start_import validates any drop under the routed prefix {prefix!r}: drop names are chosen by "
                "producers; reads only (s3:GetObject).",
            )
            acknowledge(
                start_policy,
                f"AwsSolutions-IAM5[Resource::{bucket_arn}/{prefix}*/{REPORT_FILE_NAME}]",
                f"start_import writes only the validation report file ({REPORT_FILE_NAME}) next to a drop's "
                "marker, in any drop under the routed prefix.",
            )
        sm_logical_id = self._arn_ref(self.workflow.state_machine).removesuffix(".Arn>").removeprefix("<")
        executions = (
            f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<{sm_logical_id}.Name>:*"
        )
        for fn in (self.functions.start_import, self.functions.reconciler):
            policy = fn.role.node.try_find_child("DefaultPolicy")  # type: ignore[union-attr]
            assert policy is not None
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{executions}]",
                "states:DescribeExecution on executions of this stack's state machine only (execution names are "
                "derived from drops at run time).",
            )
        sm_policy = self.workflow.state_machine.role.node.try_find_child("DefaultPolicy")
        assert sm_policy is not None
        acknowledge(
            sm_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions logging to CloudWatch Logs (log delivery actions) and X-Ray tracing have no "
            "resource-level permissions; CDK adds exactly the actions AWS documents for them.",
        )
        for fn in (self.functions.poll_import, self.functions.cancel_import, self.functions.finalize):
            acknowledge(
                sm_policy,
                f"AwsSolutions-IAM5[Resource::{self._arn_ref(fn)}:*]",
                "lambda:InvokeFunction on this one function's qualified ARNs (versions/aliases), as CDK grants it.",
            )
