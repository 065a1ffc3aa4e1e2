"""Drop identity: (bucket, drop prefix, marker ETag / version) → a stable id and execution name."""

from __future__ import annotations

import hashlib
import re

from functions.models.handle import DropRef

EXECUTION_NAME_MAX = 80


def normalise_etag(etag: str | None) -> str | None:
    if etag is None:
        return None
    etag = etag.strip().strip('"')
    return etag or None


def drop_id_for(bucket: str, prefix: str, marker_etag: str | None, marker_version_id: str | None) -> str:
    """A stable hash of the drop identity: the same marker object always gives the same id;
    re-uploading the marker (new ETag or version) is a new drop."""
    material = "\n".join((bucket, prefix, normalise_etag(marker_etag) or "", marker_version_id or ""))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def make_drop(
    *, bucket: str, prefix: str, marker_key: str, marker_etag: str | None, marker_version_id: str | None
) -> DropRef:
    etag = normalise_etag(marker_etag)
    return DropRef(
        bucket=bucket,
        prefix=prefix,
        uri=f"s3://{bucket}/{prefix}",
        marker_key=marker_key,
        marker_etag=etag,
        marker_version_id=marker_version_id,
        drop_id=drop_id_for(bucket, prefix, etag, marker_version_id),
    )


def report_key(drop: DropRef, report_name: str) -> str:
    return drop.prefix + report_name


def execution_name(route: str, drop_id: str) -> str:
    """Deterministic Step Functions execution name (≤ 80 chars of ``[A-Za-z0-9_-]``): one execution per drop."""
    safe_route = re.sub(r"[^A-Za-z0-9_-]", "-", route)[:24]
    return f"{safe_route}-{drop_id}"[:EXECUTION_NAME_MAX]
