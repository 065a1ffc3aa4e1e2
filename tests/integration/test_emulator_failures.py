"""Every documented import failure (reference §2.2, §2.6) reaches Failed with Pinecone's wording."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pinecone import Pinecone

from local.emulator.server import EmulatorServer
from tests.fixtures.emulator import (
    API_KEY,
    dense_table,
    parquet_bytes,
    unit_vector,
    wait_for_import,
    write_local_drop,
    write_s3_drop,
)
from tests.fixtures.moto import MotoServer

DIM = 8


@pytest.fixture(scope="module")
def sdk_index(emulator_server: EmulatorServer) -> Any:
    """One SDK client for the module (building one costs ~0.2 s); the index behind it is recreated per test."""
    return Pinecone(api_key=API_KEY, host=emulator_server.url).Index(
        host=emulator_server.index_host("target")
    )


@pytest.fixture
def index(emulator: EmulatorServer, sdk_index: Any) -> Any:
    emulator.create_index("target", dimension=DIM)
    emulator.state.clock.set_time_scale(0.0002)  # a whole import in ~0.13 s: these tests only look at the end
    return sdk_index


def _run(index: Any, uri: str, mode: str | None = "abort") -> Any:
    started = index.start_import(uri, error_mode=mode) if mode else index.start_import(uri)
    return wait_for_import(index, started.id)


@pytest.mark.parametrize("mode", ["abort", "continue"])
def test_existing_namespace(index: Any, tmp_path: Path, mode: str) -> None:
    index.upsert(vectors=[("old", unit_vector(0, DIM))], namespace="ns")
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(dense_table(["a"], DIM))})
    final = _run(index, uri, mode)
    assert final.status == "Failed"
    assert final.percent_complete == 0.0
    assert final.error == (
        'User error: The namespace "ns" already exists. Imports are only allowed into nonexistent namespaces.'
    )


@pytest.mark.parametrize("mode", ["abort", "continue"])
def test_file_directly_under_the_uri(index: Any, moto_server: MotoServer, s3_bucket: str, mode: str) -> None:
    uri = write_s3_drop(
        moto_server, s3_bucket, "test-import", {"0.parquet": parquet_bytes(dense_table(["a"], DIM))}
    )
    final = _run(index, uri, mode)
    assert final.status == "Failed"
    assert final.error.startswith('User error: "test-import/0.parquet": No namespace detected.')


def test_uri_to_a_parquet_file(index: Any, moto_server: MotoServer, s3_bucket: str) -> None:
    write_s3_drop(moto_server, s3_bucket, "drop", {"ns/0.parquet": parquet_bytes(dense_table(["a"], DIM))})
    uri = f"s3://{s3_bucket}/drop/ns/0.parquet"
    final = _run(index, uri, "continue")
    assert final.status == "Failed"
    assert final.error.startswith(
        f'User error: "{uri}": It looks like you specified a complete path to a parquet file as the URI prefix'
    )


def test_no_parquet_files(index: Any, tmp_path: Path) -> None:
    uri = write_local_drop(tmp_path / "drop", {"ns/readme.txt": b"nothing to import", "ns/data.csv": b"a,b"})
    final = _run(index, uri, "continue")
    assert final.status == "Failed"
    assert final.error.startswith(f'User error: No Parquet files found under "{uri}"')


@pytest.mark.parametrize("mode", ["abort", "continue"])
def test_missing_column(index: Any, tmp_path: Path, mode: str) -> None:
    table = pa.table({"id": ["a"], "metadata": ["{}"]})
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(table)})
    final = _run(index, uri, mode)
    assert final.status == "Failed"
    assert final.error == 'User error: error reading file "/ns/0.parquet": Missing required column "values"'


@pytest.mark.parametrize("mode", ["abort", "continue"])
def test_extra_column(index: Any, tmp_path: Path, mode: str) -> None:
    table = dense_table(["a"], DIM).append_column("genre", pa.array(["x"]))
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(table)})
    final = _run(index, uri, mode)
    assert final.status == "Failed"
    assert final.error == 'User error: error reading file "/ns/0.parquet": Unsupported column "genre"'


def test_metadata_of_the_wrong_type_fails_even_in_continue_mode(index: Any, tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": ["a"],
            "values": pa.array([unit_vector(0, DIM)], pa.list_(pa.float32())),
            "metadata": pa.array([{"genre": "x"}]),
        }
    )
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(table)})
    final = _run(index, uri, "continue")
    assert final.status == "Failed"
    assert final.error.startswith(
        'User error: error reading file "/ns/0.parquet": The expected data type for metadata is a JSON encoded '
        "string in UTF-8 format, but got struct"
    )


def test_wrong_dimension_aborts(index: Any, tmp_path: Path) -> None:
    table = dense_table(["a", "short"], DIM, values=[unit_vector(0, DIM), [0.1, 0.2, 0.3, 0.4]])
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(table)})
    final = _run(index, uri, "abort")
    assert final.status == "Failed"
    assert final.error == (
        'User error: error reading record (file "/ns/0.parquet", row 1): '
        "Vector dimension 4 does not match the dimension of the index 8"
    )


def test_bad_metadata_json_aborts_by_default_when_error_mode_is_absent(index: Any, tmp_path: Path) -> None:
    table = dense_table(["a", "b"], DIM, metadata=["{oops", '{"ok": true}'])
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(table)})
    final = _run(index, uri, mode=None)
    assert final.status == "Failed"
    assert final.error.startswith(
        'User error: error reading record (file "/ns/0.parquet", row 0): Failed to parse metadata:'
    )


def test_missing_values_are_skipped_in_continue_mode(index: Any, tmp_path: Path) -> None:
    table = dense_table(["a", "b"], DIM, values=[None, unit_vector(1, DIM)])
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(table)})
    final = _run(index, uri, "continue")
    assert final.status == "Completed"
    assert final.records_imported == 1


def test_all_rows_skipped_fails_the_namespace(index: Any, tmp_path: Path) -> None:
    good = dense_table(["g"], DIM)
    bad = dense_table(["x", "y"], DIM, values=[[1.0], [2.0]])
    uri = write_local_drop(
        tmp_path / "drop", {"good/0.parquet": parquet_bytes(good), "lost/0.parquet": parquet_bytes(bad)}
    )
    final = _run(index, uri, "continue")
    assert final.status == "Failed"
    assert final.error == "User error: No vectors added, all rows were skipped for namespace: lost"


@pytest.mark.parametrize(
    ("mode", "status", "imported"), [("abort", "Failed", 0), ("continue", "Completed", 2)]
)
def test_identical_vector_values_count_as_duplicates(
    index: Any, tmp_path: Path, mode: str, status: str, imported: int
) -> None:
    same = unit_vector(3, DIM)
    table = dense_table(["first", "copy", "other"], DIM, values=[same, same, unit_vector(4, DIM)])
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(table)})
    final = _run(index, uri, mode)
    assert final.status == status
    assert final.records_imported == imported
    if mode == "abort":
        assert 'row 1): duplicate record: its vector values are identical to record "first"' in final.error
    else:
        assert sorted(v.id for v in index.list_paginated(namespace="ns").vectors) == ["first", "other"]


def test_corrupt_parquet_fails(index: Any, tmp_path: Path) -> None:
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": b"PAR1 this is not parquet"})
    final = _run(index, uri, "continue")
    assert final.status == "Failed"
    assert final.error.startswith(
        'User error: error reading file "/ns/0.parquet": Parquet footer could not be parsed'
    )


def test_too_many_namespaces_exceed_the_system_limit(
    index: Any, emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        emulator.state, "config", dataclasses.replace(emulator.state.config, max_namespaces=2)
    )
    files = {f"ns{n}/0.parquet": parquet_bytes(dense_table([f"r{n}"], DIM, offset=n)) for n in range(3)}
    final = _run(index, write_local_drop(tmp_path / "drop", files), "continue")
    assert final.status == "Failed"
    assert final.error == "User error: Exceeds system limit: 3 namespaces in one import (the limit is 2)"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            dense_table(["x" * 513], DIM),
            "Record ID length 513 exceeds the maximum of 512 characters",
        ),
        (
            dense_table(["big"], DIM, metadata=[json.dumps({"text": "y" * 41_000})]),
            "Metadata size is 41012 bytes, which exceeds the limit of 40960 bytes",
        ),
    ],
)
def test_record_limits_are_record_errors(index: Any, tmp_path: Path, table: pa.Table, message: str) -> None:
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(table)})
    final = _run(index, uri, "abort")
    assert final.status == "Failed"
    assert final.error == f'User error: error reading record (file "/ns/0.parquet", row 0): {message}'
