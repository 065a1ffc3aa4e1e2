"""Settings: one validated model, read once from the environment.

The same models validate ``cdk.json`` context at synth time (``infra/config.py``) and the Lambda
environment at run time, so a bad route fails ``cdk synth`` with a clear message instead of failing
an import at 3 a.m. Nothing else in ``functions/`` reads ``os.environ``.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from functions.errors import ConfigurationError
from functions.models.imports import ErrorMode

DEFAULT_API_VERSION = "2025-10"
SUPPORTED_API_VERSIONS = ("2024-10", "2025-01", "2025-04", "2025-10", "2026-01.alpha", "2026-04", "2026-07")
DEFAULT_MARKER_NAME = "_SUCCESS"
REPORT_FILE_NAME = "_autoimport_report.json"
EVENT_SOURCE = "pinecone.autoimport"


class PollPolicy(BaseModel):
    """How often the state machine asks Pinecone how an import is doing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_wait_s: Annotated[int, Field(ge=1, le=3600)] = 300
    """Pinecone imports take at least 10 minutes: the first look is after 5 minutes."""
    min_wait_s: Annotated[int, Field(ge=1, le=3600)] = 30
    max_wait_s: Annotated[int, Field(ge=1, le=3600)] = 600
    backoff: Annotated[float, Field(ge=1.0, le=10.0)] = 1.5
    jitter: Annotated[float, Field(ge=0.0, le=0.5)] = 0.1
    deadline_s: Annotated[int, Field(ge=60, le=7 * 24 * 3600)] = 24 * 3600
    """After this long the import is cancelled and a TimedOut notification is sent."""

    @model_validator(mode="after")
    def _ordered(self) -> PollPolicy:
        if self.min_wait_s > self.max_wait_s:
            raise ValueError(f"min_wait_s ({self.min_wait_s}) must not exceed max_wait_s ({self.max_wait_s})")
        return self


class Route(BaseModel):
    """A key prefix in the bucket and the Pinecone index its drops import into."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    prefix: Annotated[str, Field(min_length=1, max_length=900)]
    """Drops live at ``<prefix><drop>/``; the marker at ``<prefix><drop>/<marker>``."""
    drop_depth: Annotated[int, Field(ge=1, le=8)] = 1
    """Folder levels between the prefix and a marker: 1 → ``<prefix><drop>/<marker>``, 2 →
    ``<prefix><dataset>/<date>/<marker>``. Markers at other depths (Spark also writes ``_SUCCESS`` inside each
    namespace folder it produces) are ignored."""
    index_host: Annotated[str, Field(min_length=1)]
    index_name: str | None = None
    integration_id: Annotated[str | None, Field(max_length=1000)] = None
    error_mode: ErrorMode = ErrorMode.ABORT
    poll: PollPolicy = PollPolicy()

    @field_validator("prefix")
    @classmethod
    def _prefix_shape(cls, value: str) -> str:
        if value.startswith("/"):
            raise ValueError(f"prefix {value!r} must not start with '/' (S3 keys have no leading slash)")
        if ".." in value.split("/"):
            raise ValueError(f"prefix {value!r} must not contain '..'")
        return value if value.endswith("/") else value + "/"

    @field_validator("index_host")
    @classmethod
    def _host_shape(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            value = "https://" + value
        return value


class Settings(BaseModel):
    """Everything a handler needs, validated once per cold start."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[Route] = Field(default_factory=list)
    bucket: str | None = None
    """The drop bucket; when set, events from other buckets are ignored."""
    marker_name: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^/]+$")] = DEFAULT_MARKER_NAME
    api_version: str = DEFAULT_API_VERSION
    api_key_secret_id: str | None = None
    """Secrets Manager id/ARN of the Pinecone API key (cloud)."""
    api_key: str | None = Field(default=None, repr=False, exclude=True)
    """Direct API key (CLI and local runs only; never set in the cloud)."""
    idempotency_table: str | None = None
    ledger_table: str | None = None
    state_machine_arn: str | None = None
    topic_arn: str | None = None
    event_bus_name: str = "default"
    poll_wait_scale: Annotated[float, Field(gt=0, le=1.0)] = 1.0
    """Multiplies every poll wait; below 1 only for offline runs (the demo and e2e tests)."""
    validation_sample_rows: Annotated[int, Field(ge=0, le=100_000)] = 64
    validation_concurrency: Annotated[int, Field(ge=1, le=256)] = 32
    extra_columns_are_errors: bool = True
    http_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value not in SUPPORTED_API_VERSIONS:
            raise ValueError(
                f"api_version {value!r} has no bulk import; use one of {', '.join(SUPPORTED_API_VERSIONS)}"
            )
        return value

    @model_validator(mode="after")
    def _unique_routes(self) -> Settings:
        names = [r.name for r in self.routes]
        if len(names) != len(set(names)):
            raise ValueError("route names must be unique")
        prefixes = sorted(r.prefix for r in self.routes)
        for a, b in itertools.pairwise(prefixes):
            if b.startswith(a):
                raise ValueError(f"route prefixes overlap: {a!r} contains {b!r}; make them disjoint")
        return self

    def route_named(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)

    def route_for_key(self, key: str) -> Route | None:
        """The route whose prefix holds this key (prefixes are disjoint, so at most one)."""
        for route in self.routes:
            if key.startswith(route.prefix):
                return route
        return None


ENV_VARS: Mapping[str, str] = {
    "routes": "AUTOIMPORT_ROUTES",
    "bucket": "AUTOIMPORT_BUCKET",
    "marker_name": "AUTOIMPORT_MARKER_NAME",
    "api_version": "PINECONE_API_VERSION",
    "api_key_secret_id": "PINECONE_API_KEY_SECRET_ID",
    "api_key": "PINECONE_API_KEY",
    "idempotency_table": "AUTOIMPORT_IDEMPOTENCY_TABLE",
    "ledger_table": "AUTOIMPORT_LEDGER_TABLE",
    "state_machine_arn": "AUTOIMPORT_STATE_MACHINE_ARN",
    "topic_arn": "AUTOIMPORT_TOPIC_ARN",
    "event_bus_name": "AUTOIMPORT_EVENT_BUS_NAME",
    "poll_wait_scale": "AUTOIMPORT_POLL_WAIT_SCALE",
    "validation_sample_rows": "AUTOIMPORT_VALIDATION_SAMPLE_ROWS",
    "validation_concurrency": "AUTOIMPORT_VALIDATION_CONCURRENCY",
    "extra_columns_are_errors": "AUTOIMPORT_EXTRA_COLUMNS_ARE_ERRORS",
    "http_timeout_s": "AUTOIMPORT_HTTP_TIMEOUT_S",
}
"""Setting → environment variable. The CDK stack sets these on every function."""


def settings_from_env(environ: Mapping[str, str]) -> Settings:
    raw: dict[str, Any] = {}
    for field, var in ENV_VARS.items():
        value = environ.get(var)
        if value is None or value == "":
            continue
        if field == "routes":
            try:
                raw[field] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigurationError(f"{var} is not valid JSON: {exc.msg} at position {exc.pos}") from exc
        else:
            raw[field] = value
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc, ENV_VARS)) from exc


def describe_validation_error(exc: ValidationError, names: Mapping[str, str] | None = None) -> str:
    """One readable line per problem: ``AUTOIMPORT_ROUTES[0].prefix: must not start with '/'``."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        head = (names or {}).get(loc[0], loc[0]) if loc else "settings"
        path = head + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc[1:])
        lines.append(f"{path}: {err['msg']}")
    return "; ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached: read once per cold start)."""
    return settings_from_env(os.environ)
