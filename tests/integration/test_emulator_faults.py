"""Fault injection, admin endpoints and the paced import lifecycle (time moved by hand, nothing timed)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pinecone import Pinecone
from pinecone.errors import ServiceError

from local.emulator.server import EmulatorServer
from local.emulator.state import INDEXING_SECONDS, PENDING_SECONDS, PROCESSING_SECONDS
from tests.fixtures.emulator import dense_table, parquet_bytes, write_local_drop

DIM = 4


@pytest.fixture
def index(emulator: EmulatorServer, emulator_pinecone: Pinecone) -> Any:
    emulator.create_index("faulty", dimension=DIM)
    return emulator_pinecone.Index(host=emulator.index_host("faulty"))


@pytest.fixture
def admin(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    with emulator.client() as client:
        yield client


def _attempts(admin: httpx.Client, operation: str) -> list[int]:
    return [
        r["status"]
        for r in admin.get("/_emulator/requests", params={"operation": operation}).json()["requests"]
    ]


def _until(check: Callable[[], Any], what: str) -> Any:
    """Poll a condition that the import worker makes true once it catches up with the clock (bounded)."""
    for _ in range(400):
        value = check()
        if value:
            return value
        time.sleep(0.025)
    raise AssertionError(f"never saw {what}")


def test_a_failed_start_attempt_leaves_no_import_behind(
    index: Any, admin: httpx.Client, tmp_path: Path
) -> None:
    admin.post("/_emulator/faults", json={"operation": "start_import", "status": 503, "times": 1})

    started = index.start_import(tmp_path.as_uri() + "/drop", error_mode="abort")

    assert _attempts(admin, "start_import") == [503, 200]
    assert [m.id for m in index.list_imports()] == [started.id]


def test_a_500_after_accepting_a_start_makes_the_sdk_retry_create_a_second_import(
    index: Any, admin: httpx.Client, tmp_path: Path
) -> None:
    admin.post("/_emulator/faults", json={"operation": "start_import", "sequence": ["accept_then_500", "ok"]})

    started = index.start_import(tmp_path.as_uri() + "/drop", error_mode="abort")

    imports = [m.id for m in index.list_imports()]
    assert _attempts(admin, "start_import") == [500, 200]
    assert len(imports) == 2
    assert imports[0] == started.id  # the caller only learns about the second one


def test_a_persistent_5xx_reaches_the_caller_after_the_sdk_gives_up(index: Any, admin: httpx.Client) -> None:
    admin.post("/_emulator/faults", json={"operation": "describe_index_stats", "status": 500, "times": 4})

    with pytest.raises(ServiceError):
        index.describe_index_stats()

    assert _attempts(admin, "describe_index_stats") == [500, 500, 500, 500]
    assert admin.get("/_emulator/faults").json() == {"rules": []}  # spent
    assert index.describe_index_stats().total_vector_count == 0


def test_throttling_carries_retry_after_and_an_rpc_status(
    emulator: EmulatorServer, admin: httpx.Client
) -> None:
    emulator.create_index("throttled", dimension=DIM)
    admin.post(
        "/_emulator/faults", json={"operation": "list_imports", "index": "throttled", "sequence": [429, "ok"]}
    )

    throttled = admin.get("/index/throttled/bulk/imports")
    allowed = admin.get("/index/throttled/bulk/imports")

    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "1"
    assert throttled.json()["code"] == 8
    assert allowed.status_code == 200


def test_control_plane_faults_use_the_control_plane_error_shape(admin: httpx.Client) -> None:
    admin.post("/_emulator/faults", json={"operation": "list_indexes", "status": 503, "times": 1})

    response = admin.get("/indexes")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert response.json()["status"] == 503


def test_slow_responses_trip_a_client_timeout(emulator: EmulatorServer, admin: httpx.Client) -> None:
    emulator.create_index("sluggish", dimension=DIM)
    admin.post(
        "/_emulator/faults",
        json={"operation": "describe_index_stats", "action": "slow", "delay_seconds": 2, "times": 1},
    )
    with pytest.raises(httpx.ReadTimeout):
        admin.get("/index/sluggish/describe_index_stats", timeout=0.2)


def test_invalid_fault_rules_are_refused(admin: httpx.Client) -> None:
    response = admin.post("/_emulator/faults", json={"operation": "start_everything"})
    assert response.status_code == 400
    assert "unknown operation" in response.json()["message"]


def test_lifecycle_walks_through_every_phase_as_time_is_advanced(
    index: Any, admin: httpx.Client, tmp_path: Path
) -> None:
    # Given a paused clock and a drop of three files (two namespaces)
    admin.post("/_emulator/time", json={"paused": True})
    uri = write_local_drop(
        tmp_path / "drop",
        {
            "a/0.parquet": parquet_bytes(dense_table(["a0", "a1"], DIM)),
            "a/1.parquet": parquet_bytes(dense_table(["a2"], DIM, offset=2)),
            "b/0.parquet": parquet_bytes(dense_table(["b0", "b1", "b2"], DIM, offset=10)),
        },
    )
    import_id = index.start_import(uri, error_mode="abort").id
    per_file = PROCESSING_SECONDS / 3

    def phase() -> tuple[str, float, int]:
        model = index.describe_import(import_id)
        return model.status, model.percent_complete, model.records_imported

    # Then it waits in Pending, and each advance moves it one step further
    assert phase() == ("Pending", 0.0, 0)
    admin.post("/_emulator/time", json={"advance_seconds": PENDING_SECONDS + 1})
    _until(lambda: phase() == ("InProgress", 0.0, 0), "InProgress at 0%")
    admin.post("/_emulator/time", json={"advance_seconds": per_file})
    _until(lambda: phase() == ("InProgress", 33.3, 2), "the first file imported")
    assert index.describe_index_stats().namespaces["a"].vector_count == 2
    admin.post("/_emulator/time", json={"advance_seconds": per_file})
    _until(lambda: phase() == ("InProgress", 66.7, 3), "the second file imported")
    admin.post("/_emulator/time", json={"advance_seconds": per_file})
    _until(lambda: phase() == ("InProgress", 100.0, 6), "indexing at 100%")
    assert index.describe_import(import_id).finished_at is None
    admin.post("/_emulator/time", json={"advance_seconds": INDEXING_SECONDS + 1})
    _until(lambda: phase() == ("Completed", 100.0, 6), "Completed")
    assert index.describe_import(import_id).finished_at


def test_cancel_mid_import_keeps_the_records_already_imported(
    index: Any, admin: httpx.Client, tmp_path: Path
) -> None:
    admin.post("/_emulator/time", json={"paused": True})
    uri = write_local_drop(
        tmp_path / "drop",
        {
            "a/0.parquet": parquet_bytes(dense_table(["a0"], DIM)),
            "b/0.parquet": parquet_bytes(dense_table(["b0"], DIM, offset=5)),
        },
    )
    import_id = index.start_import(uri, error_mode="abort").id
    admin.post("/_emulator/time", json={"advance_seconds": PENDING_SECONDS + PROCESSING_SECONDS / 2 + 1})
    _until(lambda: index.describe_import(import_id).records_imported == 1, "the first file imported")

    index.cancel_import(import_id)
    admin.post("/_emulator/time", json={"advance_seconds": 10_000})

    final = index.describe_import(import_id)
    assert final.status == "Cancelled"
    assert final.records_imported == 1
    assert {ns: s.vector_count for ns, s in index.describe_index_stats().namespaces.items()} == {"a": 1}


def test_reset_forgets_imports_and_records(index: Any, admin: httpx.Client, tmp_path: Path) -> None:
    index.upsert(vectors=[("x", [0.1, 0.2, 0.3, 0.4])], namespace="n")
    index.start_import(tmp_path.as_uri() + "/drop", error_mode="continue")

    assert admin.post("/_emulator/reset").json() == {"reset": True}

    assert list(index.list_imports()) == []
    assert index.describe_index_stats().total_vector_count == 0
