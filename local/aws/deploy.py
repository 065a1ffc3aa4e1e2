"""Deploy a synthesized CDK template into the local AWS (moto's CloudFormation).

What moto cannot take is adjusted, nothing else:

- dropped: ``AWS::CDK::Metadata``, the bootstrap ``Rules`` and ``BootstrapVersion`` parameter, custom
  resources (``Custom::*``), CloudWatch alarms and dashboards and resource policies (moto has no model
  for them and enforces none), with the ``DependsOn`` and ``Outputs`` that name them (a property that
  needs one is an error). ``Deployment.skipped`` lists them;
- file assets are uploaded to the bootstrap bucket the template names
  (``cdk-hnb659fds-assets-ACCOUNT-REGION``) from the cloud assembly (``assets_dir``); without one, each
  Lambda's ``Code`` becomes a small inline stub (the local runtime imports handlers from the project);
- every function gets ``AWS_ENDPOINT_URL`` and the caller's ``environment`` overrides;
- before the stack: Secrets Manager secrets are created through the API (moto's CloudFormation has no
  model for them) and references to them become their ARN;
- after ``CREATE_COMPLETE``: SNS subscriptions and Lambda event invoke configs are created (moto's
  CloudFormation skips them), buckets get their EventBridge notifications and versioning (ignored by
  moto's CloudFormation), and each state machine is created again, from the definition moto resolved,
  in the backend that executes (same name, so the same ARN; functions' environment is re-pointed if an
  ARN differs).
"""

from __future__ import annotations

import copy
import io
import json
import secrets as secrets_module
import time
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from local.aws.runtime import LocalAws

ACCOUNT_ID = "123456789012"
"""moto's default account."""
CUSTOM_RESOURCE_TYPES = ("AWS::CloudFormation::CustomResource",)
DROPPED_TYPES = (
    "AWS::CDK::Metadata",
    # moto's CloudFormation has no model for these and nothing offline depends on them
    # (moto enforces no resource policies; alarms and dashboards watch nothing here):
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::CloudWatch::CompositeAlarm",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
)
STACK_TIMEOUT_S = 120.0
INLINE_STUB = "# The local AWS runtime imports this function's handler from the project.\n"


class DeploymentError(RuntimeError):
    """The template could not be deployed into the local AWS."""


@dataclass(frozen=True)
class StackResource:
    logical_id: str
    type: str
    physical_id: str


@dataclass
class Deployment:
    """Physical ids of a deployed stack, found by resource type, handler and logical-id prefix."""

    stack_name: str
    resources: list[StackResource]
    outputs: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    """Role (handler module name, e.g. ``poll_import``) → function name."""
    function_handlers: dict[str, str] = field(default_factory=dict)
    """Function name → ``Handler``."""
    state_machines: dict[str, str] = field(default_factory=dict)
    """Logical id → ARN of the state machine in the executing backend."""
    eventbridge_buckets: list[str] = field(default_factory=list)
    """Buckets whose object events go to EventBridge."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Logical id → type of template resources that do not exist locally (dropped or unsupported by moto)."""

    def of_type(self, resource_type: str, prefix: str | None = None) -> list[str]:
        """Physical ids of one resource type, optionally only logical ids starting with ``prefix``."""
        return [
            r.physical_id
            for r in self.resources
            if r.type == resource_type and (prefix is None or r.logical_id.startswith(prefix))
        ]

    def one(self, resource_type: str, prefix: str | None = None) -> str:
        found = self.of_type(resource_type, prefix)
        if len(found) != 1:
            where = f" with logical id prefix {prefix!r}" if prefix else ""
            raise LookupError(f"expected one {resource_type}{where} in {self.stack_name}, found {len(found)}")
        return found[0]

    # Roles of the pipeline ----------------------------------------------------------------------------
    @property
    def bucket(self) -> str:
        """The drop bucket: the one bucket with EventBridge notifications (else the only bucket)."""
        if len(self.eventbridge_buckets) == 1:
            return self.eventbridge_buckets[0]
        return self.one("AWS::S3::Bucket")

    @property
    def topic_arn(self) -> str:
        return self.one("AWS::SNS::Topic")

    @property
    def tables(self) -> list[str]:
        return self.of_type("AWS::DynamoDB::Table") + self.of_type("AWS::DynamoDB::GlobalTable")

    def table(self, prefix: str) -> str:
        matches = [
            r.physical_id
            for r in self.resources
            if r.type in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
            and r.logical_id.startswith(prefix)
        ]
        if len(matches) != 1:
            raise LookupError(f"expected one table with logical id prefix {prefix!r}, found {len(matches)}")
        return matches[0]

    @property
    def state_machine_arn(self) -> str:
        if len(self.state_machines) != 1:
            raise LookupError(
                f"expected one state machine in {self.stack_name}, found {len(self.state_machines)}"
            )
        return next(iter(self.state_machines.values()))

    def function(self, role: str) -> str:
        """Function name for a role (its handler module, e.g. ``start_import``)."""
        try:
            return self.functions[role]
        except KeyError:
            raise LookupError(
                f"no function for role {role!r}; roles: {', '.join(sorted(self.functions))}"
            ) from None

    @property
    def rules(self) -> list[str]:
        return self.of_type("AWS::Events::Rule")

    @property
    def event_bus(self) -> str:
        buses = self.of_type("AWS::Events::EventBus")
        return buses[0] if len(buses) == 1 else "default"

    @property
    def queues(self) -> list[str]:
        return self.of_type("AWS::SQS::Queue")

    @property
    def secrets(self) -> list[str]:
        return self.of_type("AWS::SecretsManager::Secret")


# -- preparing the template -------------------------------------------------------------------------


def prepare_template(
    template: Mapping[str, Any],
    *,
    environment: Mapping[str, str],
    inline_code: bool,
) -> dict[str, Any]:
    """A copy of ``template`` that moto's CloudFormation can create (see the module docstring)."""
    out = copy.deepcopy(dict(template))
    resources: dict[str, Any] = out.get("Resources", {})
    dropped = set(dropped_resources(template))
    for logical_id in dropped:
        del resources[logical_id]
    out.pop("Rules", None)
    parameters = out.get("Parameters", {})
    parameters.pop("BootstrapVersion", None)
    if not parameters:
        out.pop("Parameters", None)
    conditions = out.get("Conditions", {})
    conditions.pop("CDKMetadataAvailable", None)
    if not conditions:
        out.pop("Conditions", None)

    outputs = out.get("Outputs", {})
    for name in [n for n, o in outputs.items() if _references(o, dropped)]:
        del outputs[name]
    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn")
        if isinstance(depends, str):
            depends = [depends]
        if depends:
            kept = [d for d in depends if d not in dropped]
            if kept:
                resource["DependsOn"] = kept
            else:
                resource.pop("DependsOn")
        refs = _references(resource.get("Properties", {}), dropped)
        if refs:
            raise DeploymentError(
                f"resource {logical_id} uses {', '.join(sorted(refs))}, a custom resource the local AWS "
                f"cannot run; give it a plain value in the offline configuration"
            )

    for resource in resources.values():
        if resource.get("Type") == "AWS::KMS::Key":
            # moto 5.2.5's KMS reads CloudFormation tags as TagKey/TagValue (its API shape), not Key/Value
            key_props = resource.get("Properties", {}) or {}
            if isinstance(key_props.get("Tags"), list):
                key_props["Tags"] = [
                    {"TagKey": t.get("Key", t.get("TagKey")), "TagValue": t.get("Value", t.get("TagValue"))}
                    for t in key_props["Tags"]
                ]
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        props = resource.setdefault("Properties", {})
        variables = props.setdefault("Environment", {}).setdefault("Variables", {})
        variables.update(environment)
        if inline_code and "ZipFile" not in props.get("Code", {}):
            props["Code"] = {"ZipFile": INLINE_STUB}
    return out


def dropped_resources(template: Mapping[str, Any]) -> dict[str, str]:
    """Logical id → type of the resources the local deployment leaves out."""
    return {
        logical_id: kind
        for logical_id, resource in template.get("Resources", {}).items()
        if (kind := str(resource.get("Type", ""))) in DROPPED_TYPES
        or kind.startswith("Custom::")
        or kind in CUSTOM_RESOURCE_TYPES
    }


def _references(node: Any, names: set[str]) -> set[str]:
    """Which of ``names`` ``node`` refers to (Ref, Fn::GetAtt, ${Name} in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and value in names:
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                if target in names:
                    found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {n for n in names if isinstance(text, str) and "${" + n in text}
            found |= _references(value, names)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item, names)
    return found


# -- assets -------------------------------------------------------------------------------------------


def upload_assets(aws: LocalAws, assets_dir: Path) -> int:
    """Upload every file asset listed in ``*.assets.json`` of a cloud assembly. Returns the count."""
    s3 = aws.client("s3")
    uploaded = 0
    for manifest_path in sorted(assets_dir.glob("*.assets.json")):
        manifest = json.loads(manifest_path.read_text())
        for asset in manifest.get("files", {}).values():
            source = asset.get("source", {})
            if "path" not in source:
                continue  # an executable asset (built by a command): not supported offline
            path = assets_dir / source["path"]
            if source.get("packaging") == "zip" or path.is_dir():
                body = _zip_directory(path)
            else:
                body = path.read_bytes()
            for destination in asset.get("destinations", {}).values():
                bucket = _substitute(destination["bucketName"], aws.region)
                _ensure_bucket(s3, bucket, aws.region)
                s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)
                uploaded += 1
    return uploaded


def _substitute(text: str, region: str) -> str:
    return (
        text.replace("${AWS::AccountId}", ACCOUNT_ID)
        .replace("${AWS::Region}", region)
        .replace("${AWS::Partition}", "aws")
    )


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def _zip_directory(path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


# -- deploying ----------------------------------------------------------------------------------------


def deploy_template(
    aws: LocalAws,
    template: Mapping[str, Any],
    *,
    assets_dir: Path | None = None,
    stack_name: str = "PineconeAutoImportLocal",
    environment: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> Deployment:
    """Create ``template`` as a stack in the local AWS and make it run like the cloud one.

    ``environment`` is added to every function's variables (e.g. ``AUTOIMPORT_POLL_WAIT_SCALE``,
    ``PINECONE_API_KEY`` for offline runs). ``secrets`` maps a Secrets Manager logical-id prefix
    (or a secret name) to a value to store after the stack exists.
    """
    try:
        with aws.deploy_lock:  # deployments toggle moto's Step Functions execution: one at a time
            return _deploy(
                aws,
                template,
                assets_dir=assets_dir,
                stack_name=stack_name,
                environment=environment,
                secrets=secrets,
            )
    except (ClientError, BotoCoreError) as exc:
        raise DeploymentError(
            f"deploying {stack_name} into the local AWS failed: {exc}\n"
            f"local AWS log ({aws.log_path}) ends with:\n{aws.log_tail(40)}"
        ) from exc


def _deploy(
    aws: LocalAws,
    template: Mapping[str, Any],
    *,
    assets_dir: Path | None,
    stack_name: str,
    environment: Mapping[str, str] | None,
    secrets: Mapping[str, str] | None,
) -> Deployment:
    env = {"AWS_ENDPOINT_URL": aws.endpoint_url, **(environment or {})}
    inline = assets_dir is None
    if assets_dir is not None:
        upload_assets(aws, assets_dir)
    body = prepare_template(template, environment=env, inline_code=inline)

    provisioned = _provision_what_moto_cannot(aws, body, stack_name, secrets or {})

    cfn = aws.client("cloudformation")
    # moto's CloudFormation creates state machines in the backend that does not execute; read them
    # back while that backend answers the API, then switch execution on and create them there.
    aws.set_moto_config({"stepfunctions": {"execute_state_machine": False}})
    try:
        cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(body), Capabilities=_CAPABILITIES)
        _wait_created(cfn, stack_name)
        resources = _stack_resources(cfn, stack_name)
        definitions = _read_state_machines(aws, resources)
    finally:
        aws.set_moto_config({"stepfunctions": {"execute_state_machine": True}})

    deployment = Deployment(stack_name=stack_name, resources=resources + provisioned)
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    deployment.outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    deployment.state_machines = _create_executing_state_machines(aws, definitions)
    _repoint_functions(aws, deployment, definitions)
    deployment.skipped = {**dropped_resources(template), **_create_what_moto_skipped(aws, body, deployment)}
    deployment.eventbridge_buckets = _enable_eventbridge(aws, template, resources)
    _enable_versioning(aws, template, resources)
    _describe_functions(aws, deployment)
    provisioned_ids = {r.logical_id for r in provisioned}
    if secrets:
        _store_secrets(aws, deployment, {k: v for k, v in secrets.items() if k not in provisioned_ids})
    return deployment


_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


def _wait_created(cfn: Any, stack_name: str) -> None:
    deadline = time.monotonic() + STACK_TIMEOUT_S
    status = ""
    while time.monotonic() < deadline:
        status = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
        if status == "CREATE_COMPLETE":
            return
        if status.endswith("FAILED") or status.startswith("ROLLBACK"):
            break
        time.sleep(0.1)
    reasons = [
        f"{e.get('LogicalResourceId')}: {e.get('ResourceStatusReason')}"
        for e in cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
        if "FAILED" in e.get("ResourceStatus", "")
    ]
    raise DeploymentError(
        f"stack {stack_name} ended {status or 'not created in time'}: {'; '.join(reasons) or 'no reason given'}"
    )


def _stack_resources(cfn: Any, stack_name: str) -> list[StackResource]:
    out: list[StackResource] = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for item in page["StackResourceSummaries"]:
            out.append(
                StackResource(
                    logical_id=item["LogicalResourceId"],
                    type=item["ResourceType"],
                    physical_id=item.get("PhysicalResourceId", ""),
                )
            )
    return out


def _read_state_machines(aws: LocalAws, resources: Iterable[StackResource]) -> dict[str, dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    found: dict[str, dict[str, Any]] = {}
    for resource in resources:
        if resource.type == "AWS::StepFunctions::StateMachine":
            found[resource.logical_id] = sfn.describe_state_machine(stateMachineArn=resource.physical_id)
    return found


def _create_executing_state_machines(
    aws: LocalAws, definitions: Mapping[str, dict[str, Any]]
) -> dict[str, str]:
    sfn = aws.client("stepfunctions")
    arns: dict[str, str] = {}
    for logical_id, described in definitions.items():
        kwargs: dict[str, Any] = {
            "name": described["name"],
            "definition": described["definition"],
            "roleArn": described["roleArn"],
            "type": described.get("type", "STANDARD"),
        }
        try:
            arns[logical_id] = sfn.create_state_machine(**kwargs)["stateMachineArn"]
        except ClientError as exc:
            raise DeploymentError(
                f"state machine {logical_id} ({described['name']}) does not load in moto's interpreter: {exc}"
            ) from exc
    return arns


def _repoint_functions(
    aws: LocalAws, deployment: Deployment, definitions: Mapping[str, dict[str, Any]]
) -> None:
    """If a re-created state machine got another ARN, update functions that name the old one."""
    moved = {
        described["stateMachineArn"]: deployment.state_machines[logical_id]
        for logical_id, described in definitions.items()
        if described["stateMachineArn"] != deployment.state_machines[logical_id]
    }
    if not moved:
        return
    lam = aws.client("lambda")
    for name in deployment.of_type("AWS::Lambda::Function"):
        variables = (
            lam.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {})
        )
        updated = {k: moved.get(v, v) for k, v in variables.items()}
        if updated != variables:
            lam.update_function_configuration(FunctionName=name, Environment={"Variables": updated})


def _provision_what_moto_cannot(
    aws: LocalAws, body: dict[str, Any], stack_name: str, secrets: Mapping[str, str]
) -> list[StackResource]:
    """Create, before the stack, resources moto's CloudFormation lacks but others refer to (secrets).

    The resource leaves the template and its ``Ref`` / ``Fn::GetAtt`` become the created ARN.
    """
    resources: dict[str, Any] = body.get("Resources", {})
    created: list[StackResource] = []
    values: dict[str, str] = {}
    sm = aws.client("secretsmanager")
    for logical_id, resource in list(resources.items()):
        if resource.get("Type") != "AWS::SecretsManager::Secret":
            continue
        props = resource.get("Properties", {}) or {}
        name = props.get("Name") if isinstance(props.get("Name"), str) else None
        name = name or f"{stack_name}-{logical_id}-{uuid.uuid4().hex[:6]}"
        value = next((v for k, v in secrets.items() if logical_id.startswith(k) or k == name), None)
        if value is None:
            value = props.get("SecretString") if isinstance(props.get("SecretString"), str) else None
        if value is None:
            value = secrets_module.token_urlsafe(24)
        arn = str(sm.create_secret(Name=name, SecretString=value)["ARN"])
        del resources[logical_id]
        values[logical_id] = arn
        created.append(
            StackResource(logical_id=logical_id, type="AWS::SecretsManager::Secret", physical_id=arn)
        )
    if values:
        body["Resources"] = _replace_references(resources, values)
        if "Outputs" in body:
            body["Outputs"] = _replace_references(body["Outputs"], values)
    return created


def _replace_references(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in values:
            return values[node["Ref"]]
        if set(node) == {"Fn::GetAtt"}:
            target = node["Fn::GetAtt"]
            logical_id = target[0] if isinstance(target, list) else str(target).split(".")[0]
            if logical_id in values:
                return values[logical_id]
        if "DependsOn" in node:
            depends = node["DependsOn"] if isinstance(node["DependsOn"], list) else [node["DependsOn"]]
            kept = [d for d in depends if d not in values]
            node = {k: v for k, v in node.items() if k != "DependsOn"}
            if kept:
                node["DependsOn"] = kept
        return {k: _replace_references(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_references(item, values) for item in node]
    return node


def _create_what_moto_skipped(
    aws: LocalAws, body: Mapping[str, Any], deployment: Deployment
) -> dict[str, str]:
    """Create resources moto's CloudFormation ignores but the pipeline needs (SNS subscriptions,
    Lambda asynchronous-invocation configs)."""
    created = {r.logical_id for r in deployment.resources}
    skipped: dict[str, str] = {}
    for logical_id, resource in body.get("Resources", {}).items():
        if logical_id in created:
            continue
        kind = resource.get("Type", "")
        if kind == "AWS::SNS::Subscription":
            arn = _subscribe(aws, resource.get("Properties", {}), deployment)
            deployment.resources.append(StackResource(logical_id=logical_id, type=kind, physical_id=arn))
        elif kind == "AWS::Lambda::EventInvokeConfig":
            function = _put_event_invoke_config(aws, resource.get("Properties", {}), deployment)
            deployment.resources.append(StackResource(logical_id=logical_id, type=kind, physical_id=function))
        else:
            skipped[logical_id] = kind
    return skipped


def _subscribe(aws: LocalAws, props: Mapping[str, Any], deployment: Deployment) -> str:
    attributes = {
        name: json.dumps(props[name]) if isinstance(props[name], dict) else str(props[name]).lower()
        for name in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")
        if name in props
    }
    if "FilterPolicyScope" in attributes:
        attributes["FilterPolicyScope"] = str(props["FilterPolicyScope"])
    response = aws.client("sns").subscribe(
        TopicArn=_resolve(aws, props["TopicArn"], deployment),
        Protocol=str(props["Protocol"]),
        Endpoint=_resolve(aws, props["Endpoint"], deployment),
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )
    return str(response["SubscriptionArn"])


def _put_event_invoke_config(aws: LocalAws, props: Mapping[str, Any], deployment: Deployment) -> str:
    """Asynchronous-invocation settings (retries, on-failure destination) the event delivery honours."""
    function = _resolve(aws, props["FunctionName"], deployment)
    kwargs: dict[str, Any] = {"FunctionName": function}
    for name in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        if name in props:
            kwargs[name] = int(props[name])
    destinations: dict[str, Any] = {}
    for outcome in ("OnSuccess", "OnFailure"):
        target = (props.get("DestinationConfig") or {}).get(outcome, {}).get("Destination")
        if target is not None:
            destinations[outcome] = {"Destination": _resolve(aws, target, deployment)}
    if destinations:
        kwargs["DestinationConfig"] = destinations
    aws.client("lambda").put_function_event_invoke_config(**kwargs)
    return function


def _resolve(aws: LocalAws, value: Any, deployment: Deployment) -> str:
    """Resolve the ``Ref`` / ``Fn::GetAtt [X, Arn]`` values CDK uses in the resources we create."""
    if isinstance(value, str):
        return value
    physical = {r.logical_id: r for r in deployment.resources}
    if isinstance(value, dict) and "Ref" in value and value["Ref"] in physical:
        return physical[value["Ref"]].physical_id
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"][:2]
        resource = physical.get(logical_id)
        if resource is not None and attribute == "Arn":
            if resource.type == "AWS::SQS::Queue":
                attrs = aws.client("sqs").get_queue_attributes(
                    QueueUrl=resource.physical_id, AttributeNames=["QueueArn"]
                )
                return str(attrs["Attributes"]["QueueArn"])
            if resource.physical_id.startswith("arn:"):
                return resource.physical_id
    raise DeploymentError(f"cannot resolve {json.dumps(value)} for a resource moto's CloudFormation skipped")


def _enable_eventbridge(
    aws: LocalAws, template: Mapping[str, Any], resources: list[StackResource]
) -> list[str]:
    """Apply the EventBridge notification setting moto's CloudFormation ignores."""
    physical = {r.logical_id: r.physical_id for r in resources}
    wanted: list[str] = []
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {}) or {}
        if resource.get("Type") == "AWS::S3::Bucket":
            config = (props.get("NotificationConfiguration") or {}).get("EventBridgeConfiguration") or {}
            if config.get("EventBridgeEnabled") in (True, "true") and logical_id in physical:
                wanted.append(physical[logical_id])
        elif resource.get("Type") == "Custom::S3BucketNotifications":
            config = props.get("NotificationConfiguration") or {}
            bucket_ref = props.get("BucketName")
            if "EventBridgeConfiguration" in config and isinstance(bucket_ref, dict):
                target = bucket_ref.get("Ref")
                if target in physical:
                    wanted.append(physical[target])
    s3 = aws.client("s3")
    for bucket in dict.fromkeys(wanted):
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
        current.pop("ResponseMetadata", None)
        current["EventBridgeConfiguration"] = {}
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)
    return list(dict.fromkeys(wanted))


def _enable_versioning(
    aws: LocalAws, template: Mapping[str, Any], resources: list[StackResource]
) -> list[str]:
    """Apply the bucket versioning moto's CloudFormation ignores: a marker uploaded again gets a new version id,
    so it is a new drop attempt, as in AWS."""
    physical = {r.logical_id: r.physical_id for r in resources}
    versioned: list[str] = []
    s3 = aws.client("s3")
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::S3::Bucket" or logical_id not in physical:
            continue
        config = (resource.get("Properties", {}) or {}).get("VersioningConfiguration") or {}
        if config.get("Status") == "Enabled":
            s3.put_bucket_versioning(
                Bucket=physical[logical_id], VersioningConfiguration={"Status": "Enabled"}
            )
            versioned.append(physical[logical_id])
    return versioned


def _describe_functions(aws: LocalAws, deployment: Deployment) -> None:
    lam = aws.client("lambda")
    for name in deployment.of_type("AWS::Lambda::Function"):
        handler = lam.get_function_configuration(FunctionName=name).get("Handler", "")
        deployment.function_handlers[name] = handler
        deployment.functions.setdefault(_role_of(handler, name), name)


def _role_of(handler: str, function_name: str) -> str:
    """``functions.handlers.poll_import.handler`` → ``poll_import``; ``pkg.mod.echo`` → ``echo``."""
    module, _, attr = handler.rpartition(".")
    if not module:
        return function_name
    return module.rpartition(".")[2] if attr == "handler" else attr


def _store_secrets(aws: LocalAws, deployment: Deployment, secrets: Mapping[str, str]) -> None:
    sm = aws.client("secretsmanager")
    by_logical = {
        r.logical_id: r.physical_id for r in deployment.resources if r.type == "AWS::SecretsManager::Secret"
    }
    for key, value in secrets.items():
        matches = [arn for logical_id, arn in by_logical.items() if logical_id.startswith(key)]
        if not matches:
            matches = [key]  # a secret name or ARN of its own
        for secret_id in matches:
            try:
                sm.put_secret_value(SecretId=secret_id, SecretString=value)
            except ClientError:
                sm.create_secret(Name=secret_id, SecretString=value)
