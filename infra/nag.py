"""cdk-nag acknowledgements: every one names the finding and says why it is acceptable."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (``AwsSolutions-IAM5[Resource::*]``) on a construct, with a reason."""
    if not reason.strip():
        raise ValueError(f"acknowledging {rule_id} needs a reason")
    plugin = rule_id.split("-", 1)[0]  # "AwsSolutions-IAM5[...]" is reported by the "AwsSolutions" plugin
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{plugin}::{rule_id}", reason=reason))
