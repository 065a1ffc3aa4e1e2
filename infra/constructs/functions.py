"""The five Lambda functions, their code asset (packaged without Docker) and their least-privilege roles."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, Duration, ILocalBundling, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import contract
from infra.config import REPO_ROOT, InfraConfig

FUNCTIONS_DIR = REPO_ROOT / "functions"
RUNTIME_VERSION = "3.12"
LAMBDA_PLATFORM = "manylinux2014_x86_64"

POWERTOOLS_LAYER_ACCOUNT = "017000801446"
PANDAS_LAYER_ACCOUNT = "336392948345"

LAYER_PROVIDED = ("aws-lambda-powertools[tracer]",)
"""What the Powertools layer brings (with aws-xray-sdk); bundled instead when layers are off."""
BUNDLED = ("httpx", "pydantic")
"""Installed into the asset at the versions the tests ran with. pydantic is bundled although the Powertools layer
has one: /var/task comes before the layers on sys.path, so the models run on the pydantic they were tested on."""


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str
    memory_mb: int
    timeout: Duration


SPECS: tuple[FunctionSpec, ...] = (
    FunctionSpec("start_import", "Validate a drop and start its Pinecone import", 1024, Duration.minutes(5)),
    FunctionSpec(
        "poll_import",
        "Ask Pinecone how an import is doing and decide the next step",
        256,
        Duration.seconds(60),
    ),
    FunctionSpec("cancel_import", "Cancel an import that passed its deadline", 256, Duration.seconds(60)),
    FunctionSpec(
        "finalize", "Check counts, notify the outcome and close the ledger record", 512, Duration.minutes(2)
    ),
    FunctionSpec("reconciler", "Adopt imports that have no tracker", 512, Duration.minutes(5)),
)


def _requirement(spec: str) -> str:
    """``name[extras]==<version installed here>`` so the Lambda runs what the tests ran; unpinned if absent."""
    name = spec.split("[", 1)[0]
    try:
        return f"{spec}=={metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return spec


def lambda_requirements(*, layers: bool) -> list[str]:
    names = list(BUNDLED) if layers else [*BUNDLED, *LAYER_PROVIDED]
    return [_requirement(n) for n in names]


def _source_files() -> list[Path]:
    return sorted(
        p
        for p in FUNCTIONS_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def asset_fingerprint(requirements: Sequence[str]) -> str:
    """Hash of the ``functions/`` sources, the requirements and the target platform (decides re-bundling)."""
    digest = hashlib.sha256()
    for item in (RUNTIME_VERSION, LAMBDA_PLATFORM, *requirements):
        digest.update(item.encode() + b"\0")
    for path in _source_files():
        digest.update(str(path.relative_to(FUNCTIONS_DIR)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def copy_functions_package(output_dir: Path) -> None:
    target = output_dir / "functions"
    for path in _source_files():
        dest = target / path.relative_to(FUNCTIONS_DIR)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)


@jsii.implements(ILocalBundling)
class LocalPythonBundling:
    """Builds the asset on this machine: ``functions/`` plus pip-installed wheels for the Lambda platform.

    Only wheels are accepted (``--only-binary=:all:``) for ``manylinux2014_x86_64`` / CPython 3.12, so nothing
    is compiled here and the result matches Lambda whatever this machine is. pip's cache makes repeat synths fast.
    """

    def __init__(self, requirements: Sequence[str]) -> None:
        self.requirements = list(requirements)

    def try_bundle(self, output_dir: str, *_options: Any, **_named: Any) -> bool:
        out = Path(output_dir)
        copy_functions_package(out)
        if not self.requirements:
            return True
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--target", str(out), "--platform", LAMBDA_PLATFORM, "--implementation", "cp",
            "--python-version", RUNTIME_VERSION, "--only-binary=:all:", "--upgrade", *self.requirements,
        ]  # fmt: skip
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            detail = getattr(exc, "stderr", "") or ""
            raise RuntimeError(
                f"could not pip-install the Lambda dependencies ({' '.join(self.requirements)}) for "
                f"{LAMBDA_PLATFORM}/py{RUNTIME_VERSION}: {detail.strip()[-400:]}. "
                "Reach PyPI once (pip caches the wheels) or synth with -c autoimport:bundling=none."
            ) from exc
        # Console scripts (httpx's CLI) carry this machine's interpreter path and are useless on Lambda.
        shutil.rmtree(out / "bin", ignore_errors=True)
        return True


def functions_code(config: InfraConfig) -> lambda_.Code:
    """One asset for all five functions: the repo's ``functions/`` package (plus dependencies when bundling)."""
    requirements = lambda_requirements(layers=config.layers) if config.bundling == "pip" else []
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        asset_hash=asset_fingerprint(requirements),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            # Never pulled: the local bundler always succeeds or raises, so synth needs no Docker.
            image=lambda_.Runtime.PYTHON_3_12.bundling_image,
            local=LocalPythonBundling(requirements),
        ),
    )


class Functions(Construct):
    """Creates the functions with their own roles (no managed policies), log groups and X-Ray tracing.

    The stack adds each function's permissions where resources meet (``grant_*`` / ``add_to_role_policy``).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: InfraConfig,
        environment: Mapping[str, str],
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        code = functions_code(config)
        layers: list[lambda_.ILayerVersion] = []
        pandas_layers: list[lambda_.ILayerVersion] = []
        if config.layers:
            layers.append(
                lambda_.LayerVersion.from_layer_version_arn(
                    self,
                    "PowertoolsLayer",
                    f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
                    f"AWSLambdaPowertoolsPythonV3-python312-x86_64:{config.powertools_layer_version}",
                )
            )
            pandas_arn = config.pandas_layer_arn or (
                f"arn:{stack.partition}:lambda:{stack.region}:{PANDAS_LAYER_ACCOUNT}:layer:"
                f"AWSSDKPandas-Python312:{config.pandas_layer_version}"
            )
            pandas_layers.append(lambda_.LayerVersion.from_layer_version_arn(self, "PandasLayer", pandas_arn))

        base_env = {
            "POWERTOOLS_SERVICE_NAME": contract.SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": contract.METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": config.log_level,
            **environment,
        }
        self.by_name: dict[str, lambda_.Function] = {}
        for spec in SPECS:
            log_group = logs.LogGroup(
                self,
                f"{_camel(spec.name)}Logs",
                retention=retention(config.log_retention_days),
                encryption_key=key,
            )
            role = iam.Role(
                self,
                f"{_camel(spec.name)}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"pinecone-autoimport {spec.name}",
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
                )
            )
            fn = lambda_.Function(
                self,
                _camel(spec.name),
                description=f"pinecone-autoimport: {spec.description}",
                runtime=lambda_.Runtime.PYTHON_3_12,
                architecture=lambda_.Architecture.X86_64,
                handler=contract.HANDLERS[spec.name],
                code=code,
                memory_size=spec.memory_mb,
                timeout=spec.timeout,
                role=role,
                log_group=log_group,
                tracing=lambda_.Tracing.ACTIVE,
                layers=layers + (pandas_layers if spec.name == "start_import" else []),
                environment=dict(base_env),
            )
            self.by_name[spec.name] = fn

    @property
    def start_import(self) -> lambda_.Function:
        return self.by_name["start_import"]

    @property
    def poll_import(self) -> lambda_.Function:
        return self.by_name["poll_import"]

    @property
    def cancel_import(self) -> lambda_.Function:
        return self.by_name["cancel_import"]

    @property
    def finalize(self) -> lambda_.Function:
        return self.by_name["finalize"]

    @property
    def reconciler(self) -> lambda_.Function:
        return self.by_name["reconciler"]

    def all(self) -> list[lambda_.Function]:
        return list(self.by_name.values())


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


_RETENTION_NAMES = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
    60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
    365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS",
}  # fmt: skip


def retention(days: int) -> logs.RetentionDays:
    value: logs.RetentionDays = getattr(logs.RetentionDays, _RETENTION_NAMES[days])
    return value
