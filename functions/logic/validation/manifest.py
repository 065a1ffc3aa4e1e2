"""The optional manifest in the marker: compare what the producer says it wrote with the drop."""

from __future__ import annotations

import json

from pydantic import ValidationError

from functions.integrations.parquet import ParquetInspection
from functions.integrations.storage import Storage, join_uri
from functions.logic.validation.codes import problem
from functions.logic.validation.layout import Layout
from functions.models.manifest import Manifest, looks_like_manifest
from functions.models.report import Problem

MAX_MANIFEST_BYTES = 4 * 1024 * 1024


def check_manifest(
    root: str,
    layout: Layout,
    inspections: dict[str, ParquetInspection],
    storage: Storage,
    problems: list[Problem],
) -> int:
    """Compare the drop with the marker's manifest (if it holds one); returns the bytes read."""
    marker = layout.marker
    assert marker is not None
    if marker.size == 0:
        return 0
    if marker.size > MAX_MANIFEST_BYTES:
        head = storage.read_range(join_uri(root, marker.key), 0, 64)
        if looks_like_manifest(head):
            problems.append(
                problem(
                    "manifest.too_large",
                    f"{marker.key} is {marker.size} bytes (max {MAX_MANIFEST_BYTES})",
                    file=marker.key,
                )
            )
        return len(head)
    data = storage.read_object(join_uri(root, marker.key), max_bytes=MAX_MANIFEST_BYTES)
    if not looks_like_manifest(data):
        return len(data)
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(
            problem("manifest.invalid_json", f"{marker.key} is not valid JSON: {exc}", file=marker.key)
        )
        return len(data)
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'manifest'}: {err['msg']}" for err in exc.errors()[:10]
        )
        problems.append(problem("manifest.invalid", f"{marker.key}: {detail}", file=marker.key))
        return len(data)
    compare_manifest(marker.key, manifest, layout, inspections, problems)
    return len(data)


def compare_manifest(
    marker_key: str,
    manifest: Manifest,
    layout: Layout,
    inspections: dict[str, ParquetInspection],
    problems: list[Problem],
) -> None:
    actual = {o.key: o for o in layout.parquet_files()}
    if manifest.files is not None:
        listed = {f.path: f for f in manifest.files}
        for path, entry in sorted(listed.items()):
            obj = actual.get(path)
            if obj is None:
                problems.append(
                    problem(
                        "manifest.missing_file", f"{path} is in the manifest but not in the drop", file=path
                    )
                )
                continue
            if entry.size is not None and entry.size != obj.size:
                problems.append(
                    problem(
                        "manifest.size_mismatch",
                        f"{path} is {obj.size} bytes; the manifest says {entry.size}",
                        file=path,
                    )
                )
            rows = inspections[path].num_rows if path in inspections else None
            if entry.rows is not None and rows is not None and entry.rows != rows:
                problems.append(
                    problem(
                        "manifest.rows_mismatch",
                        f"{path} has {rows} rows; the manifest says {entry.rows}",
                        file=path,
                    )
                )
        for path in sorted(set(actual) - set(listed)):
            problems.append(
                problem(
                    "manifest.unexpected_file", f"{path} is in the drop but not in the manifest", file=path
                )
            )
    total = sum(inspections[k].num_rows or 0 for k in actual if k in inspections)
    if manifest.total_rows is not None and manifest.total_rows != total:
        problems.append(
            problem(
                "manifest.total_rows_mismatch",
                f"the footers hold {total} rows; the manifest's total_rows is {manifest.total_rows}",
                file=marker_key,
            )
        )
    for namespace, expected in sorted((manifest.namespaces or {}).items()):
        objs = layout.namespaces.get(namespace, [])
        rows = sum(inspections[o.key].num_rows or 0 for o in objs if o.key in inspections)
        mismatches = []
        if expected.files is not None and expected.files != len(objs):
            mismatches.append(f"{len(objs)} files (manifest: {expected.files})")
        if expected.rows is not None and expected.rows != rows:
            mismatches.append(f"{rows} rows (manifest: {expected.rows})")
        if mismatches:
            problems.append(
                problem(
                    "manifest.namespace_mismatch",
                    f"namespace {namespace!r} has {' and '.join(mismatches)}",
                    file=namespace + "/",
                )
            )
