"""The local AWS: a moto server that runs the real handlers and delivers EventBridge targets (see README.md).

from local.aws import LocalAws
"""

from local.aws.deploy import Deployment, DeploymentError, StackResource, deploy_template
from local.aws.runtime import LocalAws, LocalAwsError

__all__ = ["Deployment", "DeploymentError", "LocalAws", "LocalAwsError", "StackResource", "deploy_template"]
