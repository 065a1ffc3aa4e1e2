"""The optional drop manifest: JSON written into the marker file (``_SUCCESS`` by default).

An empty marker, or one that does not start with ``{``, means "no manifest". A manifest lists what the producer
wrote, so the validator can tell a half-synced drop from a complete one::

    {
      "files": [{"path": "products/part-0.parquet", "size": 123456, "rows": 500}],
      "total_rows": 500,
      "namespaces": {"products": {"files": 1, "rows": 500}},
      "error_mode": "abort"
    }

Every field is optional; ``path`` is relative to the drop folder (the URI), ``/``-separated. Unknown keys are
ignored so producers may add their own.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.models.imports import ErrorMode


class ManifestFile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    path: str = Field(min_length=1)
    """Relative to the drop folder: ``<namespace>/<file>.parquet``."""
    size: int | None = Field(default=None, ge=0)
    """Bytes, as listed by S3."""
    rows: int | None = Field(default=None, ge=0)
    """Rows in the file (what its Parquet footer says)."""

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        value = value.strip()
        while value.startswith("./"):
            value = value[2:]
        return value.lstrip("/")


class ManifestNamespace(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    files: int | None = Field(default=None, ge=0)
    rows: int | None = Field(default=None, ge=0)


class Manifest(BaseModel):
    """What the producer says it wrote into the drop."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    files: list[ManifestFile] | None = None
    total_rows: int | None = Field(default=None, ge=0)
    namespaces: dict[str, ManifestNamespace] | None = None
    error_mode: ErrorMode | None = None
    """Overrides the route's error mode for this drop (``abort`` or ``continue``)."""


def looks_like_manifest(data: bytes) -> bool:
    """A marker holds a manifest when its first non-blank character is ``{``."""
    return data.lstrip()[:1] == b"{"


def parse_manifest(data: bytes) -> Manifest | None:
    """The manifest in a marker's bytes, or ``None`` when the marker holds none.

    Raises ``ValueError`` (``json.JSONDecodeError`` or ``pydantic.ValidationError``) when it looks like JSON but is
    not a valid manifest.
    """
    if not looks_like_manifest(data):
        return None
    return Manifest.model_validate(json.loads(data.decode("utf-8")))
