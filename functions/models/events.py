"""Incoming events: the S3 "Object Created" event as S3 delivers it to EventBridge.

Only the fields the pipeline needs are required; everything else S3 adds is tolerated, so a new field in
the event never breaks parsing. The EventBridge envelope itself is handled by Powertools' ``EventBridgeEnvelope``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class S3BucketRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)


class S3ObjectRef(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    key: str = Field(min_length=1)
    size: int | None = None
    etag: str | None = None
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class ObjectCreatedDetail(BaseModel):
    """``detail`` of an ``aws.s3`` / ``Object Created`` EventBridge event."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    bucket: S3BucketRef
    object: S3ObjectRef
    reason: str | None = None
    request_id: str | None = Field(default=None, alias="request-id")
