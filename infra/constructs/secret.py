"""The Pinecone API key in Secrets Manager."""

from __future__ import annotations

from aws_cdk import CfnOutput, RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.nag import acknowledge


class PineconeApiKeySecret(Construct):
    """A new secret holding a generated placeholder (put the real key in after deploying), or an existing one.

    After ``cdk deploy``: ``aws secretsmanager put-secret-value --secret-id <PineconeApiKeySecretArn>
    --secret-string <your Pinecone API key>``. The functions read it through Powertools Parameters (cached).
    """

    def __init__(self, scope: Construct, id_: str, *, existing_secret_arn: str | None) -> None:
        super().__init__(scope, id_)
        if existing_secret_arn is not None:
            self.secret: secretsmanager.ISecret = secretsmanager.Secret.from_secret_complete_arn(
                self, "Secret", existing_secret_arn
            )
        else:
            secret = secretsmanager.Secret(
                self,
                "Secret",
                description="Pinecone API key for pinecone-autoimport (replace the generated placeholder)",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True, password_length=32
                ),
                removal_policy=RemovalPolicy.RETAIN,
            )
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                (
                    "Pinecone API keys are issued and revoked in the Pinecone console; AWS cannot rotate them. "
                    "Rotate by creating a new key there and putting it into this secret."
                ),
            )
            self.secret = secret
        CfnOutput(
            self,
            "PineconeApiKeySecretArn",
            value=self.secret.secret_arn,
            description="Put your Pinecone API key into this secret (aws secretsmanager put-secret-value)",
        )
