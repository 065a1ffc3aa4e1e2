"""Campaign "property-based": Hypothesis throws arbitrary events at the start_import handler's parser and router, and
arbitrary drop layouts at the validator. Nothing crashes; every event ends Ignored with a reason (or routes into a
folder under its route prefix); every problem names its file.

tests/unit/test_validation_property.py already covers arbitrary bytes inside one Parquet file; this extends it to
arbitrary layouts (names, nesting, markers, mixed good/empty/garbage files).
"""

from __future__ import annotations

import copy
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.integrations.storage import LocalStorage
from functions.logic.routing import Ignored, RoutedDrop, resolve_marker
from functions.logic.validation import CODES, validate_drop
from functions.models.report import ValidationOptions
from functions.settings import Settings
from tests.fixtures.drops import good_rows, table_from_rows
from tests.fixtures.events import FakeLambdaContext, load_event

CAMPAIGN = "property-based"
BUCKET = "campaign-drops"
PREFIXES = ("imports/products/", "media/images/")
SETTINGS = Settings.model_validate(
    {
        "bucket": BUCKET,
        "routes": [
            {"name": f"r{i}", "prefix": prefix, "index_host": f"r{i}-abc.svc.pinecone.io"}
            for i, prefix in enumerate(PREFIXES)
        ],
    }
)
MARKER_EVENT = load_event("s3/object_created_marker")

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
key_segments = st.sampled_from(["imports", "products", "media", "images", "_SUCCESS", "..", ".", "", "a b", "ü✓"]) | st.text(max_size=12)  # fmt: skip
keys = st.lists(key_segments, min_size=1, max_size=6).map("/".join)


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    """The real marker event with parts replaced, removed or retyped; or any JSON value; or its text cut short."""
    kind = draw(st.sampled_from(["mutate", "anything", "truncated", "keys"]))
    if kind == "anything":
        return draw(json_values)
    event = copy.deepcopy(MARKER_EVENT)
    if kind == "truncated":
        text = json.dumps(event)
        return text[: draw(st.integers(0, len(text)))]
    if kind == "keys":
        event["detail"]["bucket"]["name"] = draw(st.sampled_from([BUCKET, "other-bucket"]))
        event["detail"]["object"]["key"] = draw(keys)
        return event
    paths = [("detail",), ("detail", "bucket"), ("detail", "object"), ("detail", "object", "key"),
             ("detail", "bucket", "name"), ("detail", "object", "etag"), ("source",), ("detail-type",)]  # fmt: skip
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3)):
        node: Any = event
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            if draw(st.booleans()):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = draw(json_values)
    return event


@pytest.fixture(scope="module")
def handler_env() -> Iterator[None]:
    """Settings where no generated event can reach AWS: the configured bucket is never the one in the events."""
    from functions.handlers import _deps

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOIMPORT_BUCKET", "a-bucket-no-event-names")
        mp.setenv("AUTOIMPORT_ROUTES", json.dumps([{"name": "r", "prefix": "imports/", "index_host": "h.svc.pinecone.io"}]))  # fmt: skip
        mp.delenv("AUTOIMPORT_IDEMPOTENCY_TABLE", raising=False)
        _deps.reset()
        yield
    _deps.reset()


@pytest.mark.campaign(CAMPAIGN, "arbitrary events never crash the start_import handler")
@pytest.mark.filterwarnings("ignore:No application metrics")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=mutated_events())
def test_any_event_is_ignored_with_a_reason_never_an_exception(handler_env: None, event: Any) -> None:
    from functions.handlers import start_import

    result = start_import.handler(event, FakeLambdaContext())
    assert result["outcome"] == "Ignored"
    assert isinstance(result["reason"], str) and result["reason"].strip()
    assert "Traceback" not in result["reason"]


@pytest.mark.campaign(CAMPAIGN, "arbitrary keys are routed into a drop folder under their prefix, or ignored")
@settings(max_examples=400, deadline=None)
@given(bucket=st.sampled_from([BUCKET, "other"]), key=keys | st.text(max_size=80))
def test_any_key_routes_into_a_safe_drop_folder_or_is_ignored(bucket: str, key: str) -> None:
    routed = resolve_marker(SETTINGS, bucket=bucket, key=key)
    if isinstance(routed, Ignored):
        assert routed.reason
        return
    assert isinstance(routed, RoutedDrop)
    assert bucket == BUCKET and routed.marker_key == key and key.endswith("/_SUCCESS")
    assert routed.prefix.startswith(routed.route.prefix) and routed.prefix.endswith("/")
    assert len(routed.prefix) > len(routed.route.prefix)
    below = routed.prefix[len(routed.route.prefix) :].split("/")[:-1]
    assert below and all(segment not in ("", ".", "..") for segment in below), routed.prefix


def _parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(table_from_rows(good_rows(3)), sink)
    return sink.getvalue()


GOOD = _parquet()
name_segments = st.text(
    alphabet=st.characters(blacklist_characters="/\\\x00", codec="utf-8"),
    min_size=1,
    max_size=10,
).filter(lambda s: s not in (".", ".."))
contents = st.sampled_from(
    [GOOD, b"", b"PAR1", GOOD[: len(GOOD) // 2], b"not parquet at all", b'{"files": [']
)


@st.composite
def layouts(draw: st.DrawFn) -> dict[str, bytes]:
    """Up to 6 files at depth 1-3 with arbitrary names (often .parquet), any content, maybe a (broken) marker."""
    files: dict[str, bytes] = {}
    for _ in range(draw(st.integers(0, 6))):
        parts = draw(st.lists(name_segments, min_size=1, max_size=3))
        if draw(st.booleans()):
            parts[-1] += ".parquet"
        files["/".join(parts)] = draw(contents)
    if draw(st.booleans()):
        files["_SUCCESS"] = draw(
            st.sampled_from([b"", b"{", b'{"files": []}', b'{"total_rows": -3}', b"\xff\xfe"])
        )
    return files


@pytest.mark.campaign(
    CAMPAIGN, "arbitrary drop layouts: the validator reports, never crashes; problems name files"
)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=layouts())
def test_any_layout_is_reported_and_every_problem_names_its_file(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "drop"
        root.mkdir()
        written: set[str] = set()
        for rel, data in files.items():
            path = root / rel
            if any(p.is_file() for p in path.parents if root in p.parents or p == root):
                continue  # a file where this path needs a folder: not representable on disk
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            except (IsADirectoryError, NotADirectoryError, FileExistsError, OSError):
                continue
            written.add(rel)
        report = validate_drop(str(root), storage=LocalStorage(), options=ValidationOptions())

    for problem in report.problems:
        assert problem.code in CODES, problem
        assert problem.file, f"problem without a file: {problem}"
        assert problem.message and problem.hint
        named = problem.file.rstrip("/")
        assert (
            named == str(root).rstrip("/")
            or named in written
            or any(w.startswith(named + "/") for w in written)
        ), (problem.file, sorted(written))
    assert report.valid == (not report.errors)
    parquet_written = [w for w in written if w.endswith(".parquet") and "/" in w]
    if parquet_written and all(files[w] == GOOD for w in parquet_written) and report.valid:
        assert report.totals.rows == 3 * len(parquet_written)
    assert os.sep not in "".join(p.code for p in report.problems)
