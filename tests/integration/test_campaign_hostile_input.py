"""Campaign "hostile-input": broken, hostile and odd drops and events, driven through the real start_import handler.

The AWS side runs on the moto server (S3, DynamoDB, SNS→SQS, EventBridge→SQS, Step Functions), Pinecone is the
project's emulator (index ``products``, dimension 8). Every case must end with a clear rejection (report next to the
marker + one ``Rejected`` notification naming the problem, no traceback) or a logged ignore with a reason, and
nothing may reach Pinecone's ``start_import``. The "tens of thousands of files" case uses the local-directory storage
and the validator directly (uploading 20,000 objects to moto would take minutes).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from functions.integrations.storage import LocalStorage
from functions.logic.validation import validate_drop
from functions.models.report import ValidationOptions
from local.emulator.store import Record
from tests.fixtures.campaigns import EmulatedPipeline
from tests.fixtures.drops import good_rows, table_from_rows
from tests.fixtures.events import load_event
from tests.fixtures.pipeline_aws import ROUTE_PREFIX

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")

CAMPAIGN = "hostile-input"
INDEX = "products"
DIMENSION = 8
TRACEBACK_SIGNS = ("Traceback (most recent call last)", 'File "/', "stackTrace")


def parquet(table: pa.Table | list[dict[str, Any]] | None = None, **options: Any) -> bytes:
    if table is None:
        table = good_rows(6, dim=DIMENSION)
    if not isinstance(table, pa.Table):
        table = table_from_rows(table)
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


GOOD = parquet()


def _flip_footer(data: bytes) -> bytes:
    broken = bytearray(data)
    footer_len = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - footer_len
    for i in range(start, start + min(footer_len, 48)):
        broken[i] ^= 0xA5
    return bytes(broken)


def _rows_with(**changes: Any) -> list[dict[str, Any]]:
    rows = good_rows(6, dim=DIMENSION)
    for row_index, (column, value) in enumerate(changes.items()):
        rows[row_index][column] = value
    return rows


def _table(**columns: pa.Array) -> pa.Table:
    base = {
        "id": pa.array([f"id-{i}" for i in range(4)], pa.string()),
        "values": pa.array([[0.5 + i] * DIMENSION for i in range(4)], pa.list_(pa.float32())),
        "metadata": pa.array(['{"n":1}'] * 4, pa.string()),
    }
    base.update(columns)
    return pa.table({k: v for k, v in base.items() if v is not None})


@dataclass(frozen=True)
class Rejection:
    """A drop (files relative to the drop folder, the marker's content) and the problem codes it must produce."""

    files: dict[str, bytes]
    codes: set[str]
    marker: bytes | Callable[[dict[str, bytes]], bytes] = b""
    drop_name: str | None = None
    existing_namespaces: tuple[str, ...] = ()
    named_files: set[str] = field(default_factory=set)
    """Files (relative to the drop) that problems must name exactly: odd names must survive the round trip."""


def _manifest(files: dict[str, bytes], **overrides: Any) -> Callable[[dict[str, bytes]], bytes]:
    def build(actual: dict[str, bytes]) -> bytes:
        entries = [
            {"path": path, "size": len(data), "rows": pq.ParquetFile(io.BytesIO(data)).metadata.num_rows}
            for path, data in sorted(files.items())
        ]
        manifest: dict[str, Any] = {"files": entries, "total_rows": sum(e["rows"] for e in entries)}
        for key, value in overrides.items():
            if key == "entry":
                manifest["files"][0].update(value)
            else:
                manifest[key] = value
        return json.dumps(manifest).encode()

    return build


LONG_NAMESPACE = "n" * 600
REJECTIONS: dict[str, Rejection] = {
    # broken Parquet
    "zero-byte parquet": Rejection({"shoes/part-0.parquet": b""}, {"file.zero_bytes"}),
    "truncated parquet (first half)": Rejection(
        {"shoes/part-0.parquet": GOOD[: len(GOOD) // 2]}, {"file.unreadable_footer"}
    ),
    "truncated parquet (last 8 bytes cut)": Rejection(
        {"shoes/part-0.parquet": GOOD[:-8]}, {"file.unreadable_footer"}
    ),
    "random bytes named .parquet": Rejection(
        {"shoes/part-0.parquet": os.urandom(3000)}, {"file.unreadable_footer"}
    ),
    "magic bytes only (PAR1PAR1)": Rejection(
        {"shoes/part-0.parquet": b"PAR1PAR1"}, {"file.unreadable_footer"}
    ),
    "corrupted footer": Rejection({"shoes/part-0.parquet": _flip_footer(GOOD)}, {"file.unreadable_footer"}),
    "a CSV renamed to .parquet": Rejection(
        {"shoes/part-0.parquet": b"id,values\n1,0.1\n" * 50}, {"file.unreadable_footer"}
    ),
    "one good and one corrupt file": Rejection(
        {"shoes/part-0.parquet": GOOD, "shoes/part-1.parquet": b"\x00" * 64}, {"file.unreadable_footer"}
    ),
    # wrong column types / schema
    "integer ids": Rejection(
        {"shoes/part-0.parquet": parquet(_table(id=pa.array(range(4), pa.int64())))}, {"schema.wrong_type"}
    ),
    "values as strings": Rejection(
        {"shoes/part-0.parquet": parquet(_table(values=pa.array([["0.5"] * DIMENSION] * 4)))},
        {"schema.wrong_type"},
    ),
    "values as one float": Rejection(
        {"shoes/part-0.parquet": parquet(_table(values=pa.array([0.5] * 4, pa.float32())))},
        {"schema.wrong_type"},
    ),
    "metadata as a struct": Rejection(
        {"shoes/part-0.parquet": parquet(_table(metadata=pa.array([{"n": 1}] * 4)))},
        {"schema.metadata_not_string"},
    ),
    "an extra column": Rejection(
        {"shoes/part-0.parquet": parquet(_table(price=pa.array([1.0] * 4)))}, {"schema.extra_column"}
    ),
    "no id column": Rejection(
        {"shoes/part-0.parquet": parquet(_table(id=None))},
        {"schema.missing_column"},
    ),
    "vectors of the wrong dimension": Rejection(
        {"shoes/part-0.parquet": parquet(good_rows(4, dim=5))}, {"row.dimension_mismatch"}
    ),
    # broken rows
    "null id": Rejection({"shoes/part-0.parquet": parquet(_rows_with(id=None))}, {"row.missing_id"}),
    "NaN in a vector": Rejection(
        {"shoes/part-0.parquet": parquet(_rows_with(values=[float("nan")] * DIMENSION))}, {"row.non_finite"}
    ),
    "metadata that is not JSON": Rejection(
        {"shoes/part-0.parquet": parquet(_rows_with(metadata="{not json"))}, {"row.metadata_invalid_json"}
    ),
    "duplicate ids across files": Rejection(
        {"shoes/part-0.parquet": GOOD, "shoes/part-1.parquet": GOOD}, {"row.duplicate_id"}
    ),
    # layout
    "marker only (empty drop)": Rejection({}, {"layout.empty_drop"}),
    "only non-Parquet files": Rejection(
        {"shoes/readme.txt": b"hello", "shoes/data.csv": b"a,b\n"}, {"layout.empty_drop"}
    ),
    "Parquet directly in the drop folder": Rejection(
        {"part-0.parquet": GOOD, "shoes/part-0.parquet": parquet(good_rows(3, dim=DIMENSION, start=50))},
        {"layout.no_namespace"},
    ),
    "a namespace folder without Parquet": Rejection(
        {"shoes/part-0.parquet": GOOD, "hats/_committed_123": b"x"}, {"layout.empty_namespace"}
    ),
    "nested directories below a broken file": Rejection(
        {"shoes/2026/11/29/part-0.parquet": b""}, {"file.zero_bytes", "layout.nested_file"}
    ),
    "namespace name of 600 characters": Rejection(
        {f"{LONG_NAMESPACE}/part-0.parquet": GOOD}, {"layout.namespace_too_long"}
    ),
    "namespace with a control character": Rejection(
        {"sh\x07oes/part-0.parquet": GOOD}, {"layout.namespace_unprintable"}
    ),
    "file name with spaces and unicode": Rejection(
        {"shoes/prt 0 ~ ünïcødé ✓.parquet": b""},
        {"file.zero_bytes"},
        named_files={"shoes/prt 0 ~ ünïcødé ✓.parquet"},
    ),
    "drop folder with spaces and unicode": Rejection(
        {"shoes/part-0.parquet": b"PAR1"}, {"file.unreadable_footer"}, drop_name="déjà vu 2026 ✓"
    ),
    "very long file name": Rejection(
        {"shoes/" + "f" * 700 + ".parquet": b""},
        {"file.zero_bytes"},
        named_files={"shoes/" + "f" * 700 + ".parquet"},
    ),
    "namespace already in the index": Rejection(
        {"shoes/part-0.parquet": GOOD}, {"index.namespace_exists"}, existing_namespaces=("shoes",)
    ),
    # manifest lies
    "manifest lists a missing file": Rejection(
        {"shoes/part-0.parquet": GOOD},
        {"manifest.missing_file"},
        marker=_manifest({"shoes/part-0.parquet": GOOD, "shoes/part-1.parquet": GOOD}),
    ),
    "manifest with a wrong row count": Rejection(
        {"shoes/part-0.parquet": GOOD},
        {"manifest.rows_mismatch"},
        marker=_manifest({"shoes/part-0.parquet": GOOD}, entry={"rows": 7}),
    ),
    "manifest with a wrong total": Rejection(
        {"shoes/part-0.parquet": GOOD},
        {"manifest.total_rows_mismatch"},
        marker=_manifest({"shoes/part-0.parquet": GOOD}, total_rows=1_000_000),
    ),
    "manifest with a wrong size": Rejection(
        {"shoes/part-0.parquet": GOOD},
        {"manifest.size_mismatch"},
        marker=_manifest({"shoes/part-0.parquet": GOOD}, entry={"size": 12}),
    ),
    "truncated manifest JSON": Rejection(
        {"shoes/part-0.parquet": GOOD}, {"manifest.invalid_json"}, marker=b'{"files": [{"path": "shoes/pa'
    ),
    "manifest of the wrong shape": Rejection(
        {"shoes/part-0.parquet": GOOD},
        {"manifest.invalid"},
        marker=b'{"files": "all of them", "total_rows": -1}',
    ),
}


Hostile = EmulatedPipeline


def _no_traceback(text: str) -> None:
    for sign in TRACEBACK_SIGNS:
        assert sign not in text, f"a traceback leaked: {text[:500]}"


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.campaign(CAMPAIGN, name), id=name) for name in REJECTIONS]
)
def test_a_broken_drop_is_rejected_with_a_clear_report_and_nothing_is_imported(
    emulated_pipeline: Hostile, name: str
) -> None:
    case = REJECTIONS[name]
    # Given a broken drop uploaded under the route prefix, marker last
    for namespace in case.existing_namespaces:
        emulated_pipeline.emulator.state.get_index(INDEX).upsert(
            namespace, [Record(id="x", values=(0.5,) * DIMENSION)]
        )
    marker = case.marker(case.files) if callable(case.marker) else case.marker
    event = emulated_pipeline.upload(case.files, marker, case.drop_name)
    # When start_import handles its marker
    result = emulated_pipeline.handle(event)
    # Then it is rejected, with a report next to the marker naming the expected problems
    assert result["outcome"] == "Rejected", result
    folder = event["detail"]["object"]["key"].rsplit("/", 1)[0]
    report = emulated_pipeline.pipeline.object_json(f"{folder}/_autoimport_report.json")
    assert report["valid"] is False
    found = {p["code"] for p in report["problems"]}
    assert case.codes <= found, f"expected {case.codes}, found {found}"
    for p in report["problems"]:
        assert p["file"], f"problem without a file: {p}"
        assert p["message"] and p["hint"], p
    for rel in case.named_files:
        assert rel in {p["file"] for p in report["problems"]}
    # And one Rejected notification that lists the problems, without a traceback
    [sns] = emulated_pipeline.pipeline.sns_messages()
    assert sns["MessageAttributes"]["outcome"]["Value"] == "Rejected"
    message = json.loads(sns["Message"])
    assert message["problems"] and message["report_uri"] == result["report_uri"]
    _no_traceback(sns["Message"])
    [event_out] = emulated_pipeline.pipeline.events()
    assert event_out["detail-type"] == "Import Rejected"
    _no_traceback(json.dumps(event_out))
    # And nothing was started, nothing is tracked
    assert len(emulated_pipeline.requests("start_import")) == 0 and emulated_pipeline.imports() == []
    assert emulated_pipeline.pipeline.executions() == []


def _event_with(mutate: Callable[[dict[str, Any]], Any]) -> Callable[[Hostile], Any]:
    def build(h: Hostile) -> Any:
        event = h.upload({"shoes/part-0.parquet": GOOD}, b"")
        changed = mutate(event)
        return event if changed is None else changed

    return build


def _set_key(key: str) -> Callable[[dict[str, Any]], None]:
    def mutate(event: dict[str, Any]) -> None:
        event["detail"]["object"]["key"] = key

    return mutate


def _truncated_json(event: dict[str, Any]) -> str:
    text = json.dumps(event)
    return text[: len(text) // 2]


IGNORED: dict[str, Callable[[Hostile], Any]] = {
    "marker outside every route": _event_with(_set_key("elsewhere/drop-1/_SUCCESS")),
    "marker directly in the route prefix": _event_with(_set_key(ROUTE_PREFIX + "_SUCCESS")),
    "a data file, not a marker": _event_with(_set_key(ROUTE_PREFIX + "drop-1/shoes/part-0.parquet")),
    "event for another bucket": _event_with(
        lambda e: e["detail"]["bucket"].update(name="someone-elses-bucket")
    ),
    "marker key climbing out with ..": _event_with(_set_key(ROUTE_PREFIX + "../../secrets/_SUCCESS")),
    "marker key with a .. segment inside": _event_with(_set_key(ROUTE_PREFIX + "drop-1/../other/_SUCCESS")),
    "marker key with an empty segment": _event_with(_set_key(ROUTE_PREFIX + "drop-1//_SUCCESS")),
    "Spark's _SUCCESS inside a namespace folder": _event_with(
        _set_key(ROUTE_PREFIX + "drop-1/shoes/_SUCCESS")
    ),
    "detail missing": _event_with(lambda e: e.pop("detail")),
    "object key missing": _event_with(lambda e: e["detail"]["object"].pop("key")),
    "empty object key": _event_with(_set_key("")),
    "bucket is a number": _event_with(lambda e: e["detail"].update(bucket=42)),
    "detail is a string": _event_with(lambda e: e.update(detail="imports/products/d/_SUCCESS")),
    "truncated event JSON": _event_with(_truncated_json),
    "event is an empty object": lambda h: {},
    "event is JSON null": lambda h: "null",
    "the repository's malformed sample": lambda h: load_event("s3/malformed"),
}


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.campaign(CAMPAIGN, name), id=name) for name in IGNORED]
)
def test_a_foreign_or_malformed_event_is_ignored_with_a_reason(emulated_pipeline: Hostile, name: str) -> None:
    # Given an event that does not describe a marker of a drop under a route
    event = IGNORED[name](emulated_pipeline)
    # When start_import handles it
    result = emulated_pipeline.handle(event)
    # Then it is ignored with a reason (logged), and nothing else happens
    assert result["outcome"] == "Ignored", result
    assert isinstance(result["reason"], str) and result["reason"]
    _no_traceback(result["reason"])
    assert emulated_pipeline.requests() == []
    assert emulated_pipeline.pipeline.executions() == []
    assert emulated_pipeline.pipeline.sns_messages(expected=0) == []


TINY_FILES = 20_000
CORRUPT_TINY = "ns7/part-00500.parquet"


@pytest.fixture(scope="module")
def tiny_drop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 one-row Parquet files in 20 namespaces (a local directory), one of them truncated."""
    tiny = parquet(good_rows(1, dim=DIMENSION))
    base = tmp_path_factory.mktemp("tiny")
    source = base / "tiny.parquet"
    source.write_bytes(tiny)
    root = base / "drop"
    for n in range(20):
        folder = root / f"ns{n}"
        folder.mkdir(parents=True)
        for i in range(TINY_FILES // 20):
            os.link(
                source, folder / f"part-{i:05}.parquet"
            )  # hard links: 20,000 files without writing 20,000
    (root / CORRUPT_TINY).unlink()
    (root / CORRUPT_TINY).write_bytes(tiny[:-3])
    return root


@pytest.mark.xdist_group("campaign-tiny-files")
@pytest.mark.campaign(CAMPAIGN, "20,000 tiny files over the file limit")
def test_tens_of_thousands_of_tiny_files_over_the_limit_are_refused_without_reading_them(
    tiny_drop: Path,
) -> None:
    # When the drop is validated with a file limit below its size
    report = validate_drop(str(tiny_drop), storage=LocalStorage(), options=ValidationOptions(max_files=5000))
    # Then it is rejected for the limit alone, without reading the footers (the corrupt file goes unnoticed)
    assert not report.valid
    assert [(p.code, p.file) for p in report.errors] == [("limits.too_many_files", str(tiny_drop))]
    assert report.bytes_read == 0
    assert 5000 < report.totals.files <= TINY_FILES  # the listing itself stops a little past the limit


@pytest.mark.xdist_group("campaign-tiny-files")
@pytest.mark.campaign(CAMPAIGN, "20,000 tiny files within the limit, one corrupt")
def test_tens_of_thousands_of_tiny_files_within_the_limit_name_the_one_corrupt_file(tiny_drop: Path) -> None:
    # When the drop is validated with the default limit (100,000 files)
    report = validate_drop(str(tiny_drop), storage=LocalStorage(), options=ValidationOptions(sample_rows=0))
    # Then exactly the corrupt file is named, and every file was counted
    assert [(p.code, p.file) for p in report.errors] == [("file.unreadable_footer", CORRUPT_TINY)]
    assert report.totals.files == TINY_FILES
