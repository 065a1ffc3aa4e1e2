"""DynamoDB: the Powertools idempotency table and the import ledger."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra import contract


class DataTables(Construct):
    """On-demand tables with point-in-time recovery and encryption at rest.

    - idempotency: partition key ``id``, TTL attribute ``expiration`` (what Powertools Idempotency expects);
    - ledger: one item per drop (partition key ``drop_id``), with a GSI on ``import_id`` so the reconciler and
      the CLI can find the drop of an import.
    """

    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)
        pitr = dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)
        self.idempotency = dynamodb.Table(
            self,
            "Idempotency",
            partition_key=dynamodb.Attribute(
                name=contract.IDEMPOTENCY_KEY, type=dynamodb.AttributeType.STRING
            ),
            time_to_live_attribute=contract.IDEMPOTENCY_TTL,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=pitr,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.ledger = dynamodb.Table(
            self,
            "Ledger",
            partition_key=dynamodb.Attribute(name=contract.LEDGER_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=pitr,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.ledger.add_global_secondary_index(
            index_name=contract.LEDGER_IMPORT_ID_INDEX,
            partition_key=dynamodb.Attribute(
                name=contract.LEDGER_IMPORT_ID, type=dynamodb.AttributeType.STRING
            ),
            projection_type=dynamodb.ProjectionType.ALL,
        )
