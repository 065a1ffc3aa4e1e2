"""The stack's configuration: ``cdk.json`` context, validated once at synth.

Every key lives under the ``autoimport:`` prefix so it cannot collide with CDK's own feature flags, and each
one can be overridden on the command line (``cdk synth -c autoimport:reconciler_rate_minutes=0``). Values
given on the command line arrive as strings; JSON values (lists, objects, numbers, booleans) are parsed.

Routes are validated with the very models the Lambda functions use at run time (``functions.settings``), so
a bad route fails ``cdk synth`` with a message naming the key instead of failing an import later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from functions.errors import ConfigurationError
from functions.models.imports import ErrorMode
from functions.settings import (
    DEFAULT_API_VERSION,
    DEFAULT_MARKER_NAME,
    SUPPORTED_API_VERSIONS,
    PollPolicy,
    Route,
    Settings,
    describe_validation_error,
)

CONTEXT_PREFIX = "autoimport:"
REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = REPO_ROOT / "cdk.json"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
_ROLE_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/.+|user/.+)$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_LAYER_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$")

_M = TypeVar("_M", bound=BaseModel)

MAX_ROUTES_ENV_BYTES = 3000
"""Lambda allows 4 KB of environment in total; the routes JSON gets most of it."""


class PineconeRoleConfig(BaseModel):
    """The IAM role Pinecone's storage integration assumes to read the routed prefixes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    trusted_principal_arn: str | None = None
    """The AWS principal Pinecone's console shows for the storage integration."""
    external_id: Annotated[str | None, Field(min_length=2, max_length=1224)] = None
    """The external ID Pinecone's console shows (the confused-deputy guard)."""

    @model_validator(mode="after")
    def _complete(self) -> PineconeRoleConfig:
        if not self.enabled:
            return self
        if not self.trusted_principal_arn or not _ROLE_PRINCIPAL_ARN.match(self.trusted_principal_arn):
            raise ValueError(
                "trusted_principal_arn must be the IAM principal ARN shown in Pinecone's console "
                "(arn:aws:iam::<account>:role/<name>) when the role is enabled"
            )
        if not self.external_id:
            raise ValueError(
                "external_id is required when the role is enabled (copy it from Pinecone's console)"
            )
        return self


class InfraConfig(BaseModel):
    """Everything the CDK app reads from context, with the defaults a fresh clone synthesizes with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: Annotated[list[Route], Field(min_length=1, max_length=20)]
    marker_name: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^/*\\]+$")] = (
        DEFAULT_MARKER_NAME
    )
    api_version: str = DEFAULT_API_VERSION
    notification_emails: list[str] = Field(default_factory=list)
    existing_bucket_name: str | None = None
    """Use this bucket instead of creating one (its EventBridge notifications must be switched on by you)."""
    existing_secret_arn: str | None = None
    """Use this Secrets Manager secret (full ARN) for the Pinecone API key instead of creating one."""
    reconciler_rate_minutes: Annotated[int, Field(ge=0, le=1440)] = 15
    """How often the reconciler adopts untracked imports; 0 switches it off."""
    pinecone_role: PineconeRoleConfig = PineconeRoleConfig()
    bundling: Literal["pip", "none"] = "pip"
    """``pip``: the asset is ``functions/`` plus pure-Python deps pip-installed for Lambda (needs PyPI or pip's
    cache). ``none``: the asset is ``functions/`` alone (tests, the offline runtime)."""
    layers: bool = True
    """Attach the managed Powertools layer (and the AWS SDK for pandas layer to start_import)."""
    powertools_layer_version: Annotated[int, Field(ge=1)] = 27
    pandas_layer_arn: str | None = None
    """Overrides the AWS SDK for pandas layer (its version number differs per region)."""
    pandas_layer_version: Annotated[int, Field(ge=1)] = 26
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731] = 30
    poll_wait_scale: Annotated[float, Field(gt=0, le=1.0)] = 1.0
    """Multiplies every poll wait; below 1 only for offline runs."""
    dlq_alarm_threshold: Annotated[int, Field(ge=1)] = 1
    nag: bool = True
    """Run the cdk-nag AwsSolutions checks during synth."""

    @field_validator("notification_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _EMAIL.match(v)]
        if bad:
            raise ValueError(f"not an email address: {', '.join(bad)}")
        return value

    @field_validator("existing_bucket_name")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and not _BUCKET_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a valid S3 bucket name (give the name, not an ARN or s3:// URI)"
            )
        return value

    @field_validator("existing_secret_arn")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None and not _SECRET_ARN.match(value):
            raise ValueError(
                f"{value!r} is not a Secrets Manager secret ARN "
                "(arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>)"
            )
        return value

    @field_validator("pandas_layer_arn")
    @classmethod
    def _layer(cls, value: str | None) -> str | None:
        if value is not None and not _LAYER_ARN.match(value):
            raise ValueError(
                f"{value!r} is not a Lambda layer version ARN (arn:aws:lambda:...:layer:<name>:<n>)"
            )
        return value

    @field_validator("routes")
    @classmethod
    def _routes_consistent(cls, routes: list[Route]) -> list[Route]:
        # The run-time settings model owns the cross-route rules (unique names, disjoint prefixes).
        try:
            Settings(routes=routes)
        except ValidationError as exc:
            raise ValueError(
                "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            ) from exc
        size = len(_routes_json(routes))
        if size > MAX_ROUTES_ENV_BYTES:
            raise ValueError(
                f"routes take {size} bytes as JSON; Lambda environments are limited to 4 KB, "
                f"keep routes under {MAX_ROUTES_ENV_BYTES} bytes (fewer or shorter routes)"
            )
        return routes

    @field_validator("api_version", mode="before")
    @classmethod
    def _api_version(cls, value: Any) -> str:
        value = str(value)
        if value not in SUPPORTED_API_VERSIONS:
            raise ValueError(f"{value!r} has no bulk import; use one of {', '.join(SUPPORTED_API_VERSIONS)}")
        return value

    def routes_json(self) -> str:
        return json.dumps(
            [r.model_dump(mode="json", exclude_none=True) for r in self.routes], separators=(",", ":")
        )

    @property
    def max_deadline_s(self) -> int:
        return max(r.poll.deadline_s for r in self.routes)

    @property
    def max_wait_s(self) -> int:
        return max(r.poll.max_wait_s for r in self.routes)

    @property
    def min_wait_s(self) -> int:
        return min(r.poll.min_wait_s for r in self.routes)


def _routes_json(routes: list[Route]) -> str:
    return json.dumps([r.model_dump(mode="json", exclude_none=True) for r in routes], separators=(",", ":"))


FIELDS_WITH_ROUTE_DEFAULTS = ("poll", "error_mode")
"""Top-level ``autoimport:poll`` / ``autoimport:error_mode`` are defaults for routes that do not set their own."""


def _parse(value: Any) -> Any:
    """Context from ``-c key=value`` arrives as a string: parse JSON when it is JSON."""
    if isinstance(value, str):
        stripped = value.strip()
        if (
            stripped[:1] in "[{"
            or stripped in ("true", "false", "null")
            or re.fullmatch(r"-?\d+(\.\d+)?", stripped)
        ):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise ConfigurationError(f"context value {value!r} is not valid JSON: {exc.msg}") from exc
    return value


def config_from_context(get: Callable[[str], Any]) -> InfraConfig:
    """Build and validate the configuration; ``get`` reads one context key (``node.try_get_context``).

    Raises ``ConfigurationError`` whose message names each bad key, e.g.
    ``autoimport:routes[1].prefix: route prefixes overlap ...``.
    """
    raw: dict[str, Any] = {}
    for name in (*InfraConfig.model_fields, *FIELDS_WITH_ROUTE_DEFAULTS):
        value = get(CONTEXT_PREFIX + name)
        if value is not None:
            raw[name] = _parse(value)
    unknown_defaults = {k: raw.pop(k) for k in FIELDS_WITH_ROUTE_DEFAULTS if k in raw}
    if unknown_defaults and isinstance(raw.get("routes"), list):
        raw["routes"] = [{**unknown_defaults, **r} if isinstance(r, Mapping) else r for r in raw["routes"]]
    if "poll" in unknown_defaults:
        _validate_part(PollPolicy, unknown_defaults["poll"], "poll")
    if "error_mode" in unknown_defaults:
        try:
            ErrorMode(unknown_defaults["error_mode"])
        except ValueError as exc:
            raise ConfigurationError(
                f"{CONTEXT_PREFIX}error_mode: {unknown_defaults['error_mode']!r} is not one of "
                f"{', '.join(m.value for m in ErrorMode)}"
            ) from exc
    if "routes" not in raw:
        raise ConfigurationError(
            f"{CONTEXT_PREFIX}routes is missing: add at least one route "
            '({"name": ..., "prefix": "imports/", "index_host": ...}) to cdk.json context'
        )
    return _validate_part(InfraConfig, raw, None)


def _validate_part(model: type[_M], raw: Any, name: str | None) -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        names = {field: CONTEXT_PREFIX + field for field in InfraConfig.model_fields}
        if name is not None:
            names = {field: f"{CONTEXT_PREFIX}{name}.{field}" for field in model.model_fields}
        message = describe_validation_error(exc, names).replace(": Value error, ", ": ")
        raise ConfigurationError(f"invalid cdk.json context: {message}") from exc


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` block of the repo's ``cdk.json`` (what the CDK CLI would pass to the app)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    context = data.get("context", {})
    if not isinstance(context, dict):
        raise ConfigurationError(f"{path.name}: 'context' must be an object")
    return context
