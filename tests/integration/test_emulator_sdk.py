"""The official pinecone SDK (10.2.0, unchanged) drives the emulator end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pinecone import Pinecone
from pinecone.errors import NotFoundError, UnauthorizedError

from local.emulator.server import EmulatorServer
from tests.fixtures.emulator import (
    dense_table,
    parquet_bytes,
    unit_vector,
    wait_for_import,
    write_local_drop,
    write_s3_drop,
)
from tests.fixtures.moto import MotoServer

DIM = 8


@pytest.fixture
def pc(emulator: EmulatorServer, emulator_pinecone: Pinecone) -> Pinecone:
    return emulator_pinecone


def _create(pc: Pinecone, name: str, metric: str = "cosine") -> None:
    pc.create_index(
        name, dimension=DIM, metric=metric, spec={"serverless": {"cloud": "aws", "region": "us-east-1"}}
    )


def test_control_plane_create_describe_list_delete(pc: Pinecone, emulator: EmulatorServer) -> None:
    _create(pc, "products")

    described = pc.describe_index("products")
    assert described.host == emulator.index_host("products")
    assert described.dimension == DIM
    assert described.metric == "cosine"
    assert [i.name for i in pc.list_indexes()] == ["products"]

    pc.delete_index("products", timeout=-1)
    with pytest.raises(NotFoundError):
        pc.describe_index("products")


def test_import_from_s3_completes_and_records_are_queryable(
    pc: Pinecone, emulator: EmulatorServer, moto_server: MotoServer, s3_bucket: str
) -> None:
    # Given an index and a drop with two namespaces in S3 (moto), plus a non-Parquet file that must be ignored
    _create(pc, "docs")
    index = pc.Index(host=emulator.index_host("docs"))
    uri = write_s3_drop(
        moto_server,
        s3_bucket,
        "imports/drop-1",
        {
            "books/0.parquet": parquet_bytes(dense_table([f"b{i}" for i in range(5)], DIM)),
            "books/1.parquet": parquet_bytes(dense_table([f"b{i}" for i in range(5, 8)], DIM, offset=5)),
            "films/0.parquet": parquet_bytes(dense_table(["f0", "f1"], DIM, offset=100)),
            "films/notes.log": b"ignored",
        },
    )

    # When the import is started in abort mode and followed until it ends
    started = index.start_import(uri, error_mode="abort")
    final = wait_for_import(index, started.id)

    # Then it completed with every record, and the index serves them
    assert final.status == "Completed", final.error
    assert final.records_imported == 10
    assert final.percent_complete == 100.0
    assert final.finished_at
    stats = index.describe_index_stats()
    assert {ns: s.vector_count for ns, s in stats.namespaces.items()} == {"books": 8, "films": 2}
    assert stats.total_vector_count == 10
    hit = index.query(vector=unit_vector(6, DIM), top_k=3, namespace="books", include_metadata=True)
    assert hit.matches[0].id == "b6"
    assert hit.matches[0].score == pytest.approx(1.0, abs=1e-6)
    assert hit.matches[0].metadata == {"n": 6}
    fetched = index.fetch(ids=["f1"], namespace="films")
    assert fetched.vectors["f1"].values == pytest.approx(unit_vector(101, DIM), rel=1e-6)


def test_continue_mode_skips_bad_rows_via_index_by_name(pc: Pinecone, tmp_path: Path) -> None:
    _create(pc, "mixed", metric="euclidean")
    index = pc.Index(name="mixed")
    table = dense_table(["ok1", "bad-json", "ok2"], DIM, metadata=['{"a":1}', "{not json", None])
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(table)})

    final = wait_for_import(index, index.start_import(uri, error_mode="continue").id)

    assert final.status == "Completed", final.error
    assert final.records_imported == 2
    assert index.describe_index_stats().namespaces["ns"].vector_count == 2
    nearest = index.query(vector=unit_vector(2, DIM), top_k=1, namespace="ns")
    assert nearest.matches[0].id == "ok2"
    assert nearest.matches[0].score == pytest.approx(0.0, abs=1e-6)  # euclidean: distance to itself


def test_list_imports_pages_newest_first(pc: Pinecone, emulator: EmulatorServer, tmp_path: Path) -> None:
    _create(pc, "paged")
    index = pc.Index(host=emulator.index_host("paged"))
    ids = [index.start_import(f"{tmp_path.as_uri()}/drop-{n}", error_mode="continue").id for n in range(5)]

    listed = [m.id for m in index.list_imports(limit=2)]
    first = index.list_imports_paginated(limit=2)
    assert first.pagination is not None
    second = index.list_imports_paginated(limit=2, pagination_token=first.pagination.next)
    assert second.pagination is not None
    third = index.list_imports_paginated(limit=2, pagination_token=second.pagination.next)

    assert listed == list(reversed(ids))
    assert [m.id for m in first] == list(reversed(ids))[:2]
    assert [m.id for m in second] == list(reversed(ids))[2:4]
    assert [m.id for m in third] == [ids[0]]
    assert third.pagination is None
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)


def test_cancel_running_import_keeps_status_cancelled(
    pc: Pinecone, emulator: EmulatorServer, tmp_path: Path
) -> None:
    _create(pc, "cancel")
    index = pc.Index(host=emulator.index_host("cancel"))
    emulator.state.clock.pause()  # the import stays Pending until we say so
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(dense_table(["a"], DIM))})
    started = index.start_import(uri, error_mode="abort")

    index.cancel_import(started.id)
    emulator.state.clock.pause(False)
    emulator.advance(10_000)

    cancelled = index.describe_import(started.id)
    assert cancelled.status == "Cancelled"
    assert cancelled.finished_at
    assert index.describe_index_stats().total_vector_count == 0
    index.cancel_import(started.id)  # cancelling a finished import changes nothing
    assert index.describe_import(started.id).status == "Cancelled"


def test_unknown_import_and_wrong_key_raise_the_sdk_errors(pc: Pinecone, emulator: EmulatorServer) -> None:
    _create(pc, "errs")
    index = pc.Index(host=emulator.index_host("errs"))
    with pytest.raises(NotFoundError, match="Import 999 not found"):
        index.describe_import("999")
    stranger = Pinecone(api_key="wrong", host=emulator.url).Index(host=emulator.index_host("errs"))
    with pytest.raises(UnauthorizedError):
        stranger.list_imports_paginated()


def test_upsert_then_import_into_same_namespace_fails(
    pc: Pinecone, emulator: EmulatorServer, tmp_path: Path
) -> None:
    _create(pc, "pre")
    index = pc.Index(host=emulator.index_host("pre"))
    index.upsert(vectors=[("x", unit_vector(0, DIM), {"k": "v"})], namespace="taken")
    uri = write_local_drop(tmp_path / "drop", {"taken/0.parquet": parquet_bytes(dense_table(["a"], DIM))})

    final = wait_for_import(index, index.start_import(uri, error_mode="continue").id)

    assert final.status == "Failed"
    assert final.error == (
        'User error: The namespace "taken" already exists. Imports are only allowed into nonexistent namespaces.'
    )
    assert json.loads(json.dumps(index.fetch(ids=["x"], namespace="taken").vectors["x"].metadata)) == {
        "k": "v"
    }
