"""The Pinecone client over real HTTP, against the scripted Pinecone index host (tests/fixtures/scripted_server.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest

from functions.errors import (
    PineconeInvalidRequest,
    PineconeNotFound,
    PineconeUnauthorized,
    PineconeUnavailable,
)
from functions.integrations.pinecone import USER_AGENT, PineconeClient
from functions.integrations.retry import RetryPolicy
from functions.models.imports import ErrorMode
from local.emulator.server import EmulatorServer
from tests.fixtures.emulator import API_KEY as EMULATOR_KEY
from tests.fixtures.scripted_server import Reply, ScriptedServer

KEY = "pcsk_integration-SECRET-42"
SLOW_READ = httpx.Timeout(5.0, read=1.0)
"""Read timeout for tests where one answer is delayed past it (1.5 s) and the next must arrive in time (loaded CI)."""


class Sleeps:
    """Records the client's backoff waits instead of sleeping them, so tests stay fast."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(scripted_server: ScriptedServer, sleeps: Sleeps) -> Iterator[PineconeClient]:
    scripted_server.required_api_key = KEY
    policy = RetryPolicy(
        max_attempts=4, base_delay_s=0.01, max_delay_s=0.05, max_elapsed_s=30.0, sleep=sleeps
    )
    with PineconeClient(host=scripted_server.url, api_key=KEY, timeout=2.0, retry=policy) as pc:
        yield pc


def assert_pinecone_headers(headers: dict[str, str], *, version: str = "2025-10") -> None:
    assert headers["api-key"] == KEY
    assert headers["x-pinecone-api-version"] == version
    assert headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("pinecone-autoimport/")


# --- each operation on the wire -------------------------------------------------------------------------------


def test_start_import_sends_camelcase_body_with_explicit_error_mode(
    client: PineconeClient, scripted_server: ScriptedServer
) -> None:
    first = client.start_import("s3://drops/imports/d1/", error_mode=ErrorMode.ABORT)
    second = client.start_import(
        "s3://drops/imports/d2/", error_mode=ErrorMode.CONTINUE, integration_id="int-1"
    )

    assert (first.id, second.id) == ("1", "2")
    one, two = scripted_server.requests_to("POST", "/bulk/imports")
    assert one.body == {"uri": "s3://drops/imports/d1/", "errorMode": {"onError": "abort"}}
    assert two.body == {
        "uri": "s3://drops/imports/d2/",
        "errorMode": {"onError": "continue"},
        "integrationId": "int-1",
    }
    assert one.headers["content-type"] == "application/json"
    assert_pinecone_headers(one.headers)


def test_describe_import_reads_the_camelcase_model(
    client: PineconeClient, scripted_server: ScriptedServer
) -> None:
    stored = scripted_server.add_import("s3://drops/imports/d1/", status="InProgress")
    stored.percent_complete = 42.5
    stored.records_imported = 1200

    model = client.describe_import(stored.id)

    assert model.id == stored.id
    assert model.status == "InProgress"
    assert model.percent_complete == 42.5
    assert model.records_imported == 1200
    assert model.created_at == stored.created_at
    (request,) = scripted_server.requests_to("GET", f"/bulk/imports/{stored.id}")
    assert request.body is None
    assert_pinecone_headers(request.headers)


def test_cancel_import_deletes_and_the_import_is_cancelled(
    client: PineconeClient, scripted_server: ScriptedServer
) -> None:
    stored = scripted_server.add_import("s3://drops/imports/d1/")

    assert client.cancel_import(stored.id) is None

    assert scripted_server.imports[stored.id].status == "Cancelled"
    (request,) = scripted_server.requests_to("DELETE", f"/bulk/imports/{stored.id}")
    assert_pinecone_headers(request.headers)


def test_describe_unknown_import_is_not_found_without_retry(
    client: PineconeClient, scripted_server: ScriptedServer, sleeps: Sleeps
) -> None:
    with pytest.raises(PineconeNotFound) as info:
        client.describe_import("999")

    assert info.value.status_code == 404
    assert "Import 999 not found" in info.value.message
    assert len(scripted_server.requests_to("GET", "/bulk/imports/999")) == 1
    assert sleeps.waits == []


def test_describe_index_stats_posts_an_empty_body_and_parses_the_answer(
    client: PineconeClient, scripted_server: ScriptedServer
) -> None:
    scripted_server.stats = {"dimension": 4, "totalVectorCount": 7, "namespaces": {"a": {"vectorCount": 7}}}

    stats = client.describe_index_stats()

    assert (stats.dimension, stats.vector_type, stats.total_vector_count) == (4, "dense", 7)
    assert stats.namespaces["a"].vector_count == 7
    (request,) = scripted_server.requests_to("POST", "/describe_index_stats")
    assert request.body == {}
    assert_pinecone_headers(request.headers)


def test_api_version_is_configurable_and_2026_07_validation_result_is_parsed(
    scripted_server: ScriptedServer,
) -> None:
    body = {
        "id": "5",
        "uri": "s3://b/p/",
        "status": "Completed",
        "createdAt": "2026-11-29T06:00:00Z",
        "percentComplete": 100.0,
        "recordsImported": 9,
        "validationResult": {"importSuccesses": 9, "importErrors": 1},
    }
    scripted_server.script("GET", "/bulk/imports/5", Reply(200, body))

    with PineconeClient(host=scripted_server.url, api_key=KEY, api_version="2026-07") as pc:
        model = pc.describe_import("5")

    assert model.validation_result is not None
    assert (model.validation_result.import_successes, model.validation_result.import_errors) == (9, 1)
    (request,) = scripted_server.requests_to("GET", "/bulk/imports/5")
    assert_pinecone_headers(request.headers, version="2026-07")


# --- pagination ---------------------------------------------------------------------------------------------------


def test_list_imports_follows_pagination_across_three_pages(
    client: PineconeClient, scripted_server: ScriptedServer
) -> None:
    for n in range(5):
        scripted_server.add_import(f"s3://drops/imports/d{n}/")

    ids = [m.id for m in client.list_imports(limit=2)]

    assert ids == ["1", "2", "3", "4", "5"]
    pages = scripted_server.requests_to("GET", "/bulk/imports")
    assert len(pages) == 3
    assert pages[0].query == {"limit": ["2"]}
    assert all(p.query["paginationToken"] for p in pages[1:])


def test_manual_pagination_exposes_the_token(client: PineconeClient, scripted_server: ScriptedServer) -> None:
    for n in range(5):
        scripted_server.add_import(f"s3://drops/imports/d{n}/")

    page1 = client.list_imports_page(limit=2)
    assert page1.next_token is not None
    page2 = client.list_imports_page(limit=2, pagination_token=page1.next_token)
    assert page2.next_token is not None
    page3 = client.list_imports_page(limit=2, pagination_token=page2.next_token)

    assert [[m.id for m in p.data] for p in (page1, page2, page3)] == [["1", "2"], ["3", "4"], ["5"]]
    assert page3.next_token is None
    assert [r.query.get("paginationToken") for r in scripted_server.requests_to("GET", "/bulk/imports")] == [
        None,
        [page1.next_token],
        [page2.next_token],
    ]


def test_list_without_arguments_sends_no_query(
    client: PineconeClient, scripted_server: ScriptedServer
) -> None:
    assert client.list_imports_page().data == []
    assert scripted_server.requests_to("GET", "/bulk/imports")[0].query == {}


# --- retries --------------------------------------------------------------------------------------------------------


def test_429_then_success_is_retried_after_retry_after(
    client: PineconeClient, scripted_server: ScriptedServer, sleeps: Sleeps
) -> None:
    stored = scripted_server.add_import("s3://drops/imports/d1/")
    scripted_server.script(
        "GET", f"/bulk/imports/{stored.id}", Reply(429, "Too Many Requests", headers={"Retry-After": "2"})
    )

    model = client.describe_import(stored.id)

    assert model.id == stored.id
    assert len(scripted_server.requests_to("GET", f"/bulk/imports/{stored.id}")) == 2
    assert sleeps.waits == [2.0]


def test_429_on_start_is_retried_and_starts_exactly_one_import(
    client: PineconeClient, scripted_server: ScriptedServer
) -> None:
    scripted_server.script(
        "POST", "/bulk/imports", Reply(429, "Too Many Requests", headers={"Retry-After": "0"})
    )

    started = client.start_import("s3://drops/imports/d1/", error_mode=ErrorMode.ABORT)

    assert list(scripted_server.imports) == [started.id]
    assert scripted_server.requests_to("GET", "/bulk/imports") == []  # a 429 is a refusal, not ambiguous


def test_503_every_time_gives_pinecone_unavailable_after_bounded_attempts(
    client: PineconeClient, scripted_server: ScriptedServer, sleeps: Sleeps
) -> None:
    unavailable = Reply(503, {"code": 14, "message": "service unavailable"})
    scripted_server.script("POST", "/describe_index_stats", *[unavailable] * 10)

    with pytest.raises(PineconeUnavailable) as info:
        client.describe_index_stats()

    assert info.value.status_code == 503
    assert info.value.retryable
    assert info.value.details["attempts"] == 4
    assert len(scripted_server.requests_to("POST", "/describe_index_stats")) == 4
    assert len(sleeps.waits) == 3


def test_read_timeout_is_retried_then_pinecone_unavailable(
    scripted_server: ScriptedServer, sleeps: Sleeps
) -> None:
    scripted_server.script("GET", "/bulk/imports/1", *[Reply(delay_s=0.6)] * 3)
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02, sleep=sleeps)

    pc = PineconeClient(
        host=scripted_server.url, api_key=KEY, timeout=httpx.Timeout(5.0, read=0.3), retry=policy
    )
    with pc, pytest.raises(PineconeUnavailable) as info:
        pc.describe_import("1")

    assert "timed out" in info.value.message
    assert len(scripted_server.requests_to("GET", "/bulk/imports/1")) == 3
    assert len(sleeps.waits) == 2


def test_a_timeout_then_success_recovers(scripted_server: ScriptedServer, sleeps: Sleeps) -> None:
    stored = scripted_server.add_import("s3://drops/imports/d1/")
    scripted_server.script("GET", f"/bulk/imports/{stored.id}", Reply(delay_s=1.5))
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02, sleep=sleeps)

    with PineconeClient(host=scripted_server.url, api_key=KEY, timeout=SLOW_READ, retry=policy) as pc:
        assert pc.describe_import(stored.id).id == stored.id
    assert len(sleeps.waits) == 1


# --- start_import is never blindly re-sent ----------------------------------------------------------------------


def test_start_accepted_then_500_returns_the_existing_import_and_only_one_exists(
    client: PineconeClient, scripted_server: ScriptedServer
) -> None:
    scripted_server.add_import("s3://drops/imports/other/")
    scripted_server.script(
        "POST", "/bulk/imports", Reply(500, {"code": 13, "message": "internal error"}, apply=True)
    )

    started = client.start_import("s3://drops/imports/d1/", error_mode=ErrorMode.ABORT)

    ours = [i for i in scripted_server.imports.values() if i.uri == "s3://drops/imports/d1/"]
    assert len(ours) == 1
    assert started.id == ours[0].id
    assert len(scripted_server.requests_to("POST", "/bulk/imports")) == 1
    assert len(scripted_server.requests_to("GET", "/bulk/imports")) == 1


def test_start_accepted_then_connection_dropped_returns_the_existing_import(
    client: PineconeClient, scripted_server: ScriptedServer
) -> None:
    scripted_server.script("POST", "/bulk/imports", Reply(drop=True, apply=True))

    started = client.start_import("s3://drops/imports/d1", error_mode=ErrorMode.CONTINUE)

    assert list(scripted_server.imports) == [started.id]
    assert len(scripted_server.requests_to("POST", "/bulk/imports")) == 1


def test_start_accepted_then_read_timeout_returns_the_existing_import(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script("POST", "/bulk/imports", Reply(200, {"id": "late"}, delay_s=1.5, apply=True))
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)

    with PineconeClient(host=scripted_server.url, api_key=KEY, timeout=SLOW_READ, retry=policy) as pc:
        started = pc.start_import("s3://drops/imports/d1/", error_mode=ErrorMode.ABORT)

    assert list(scripted_server.imports) == [started.id]
    assert len(scripted_server.requests_to("POST", "/bulk/imports")) == 1


def test_start_refused_with_500_before_accepting_is_sent_again_once(
    client: PineconeClient, scripted_server: ScriptedServer
) -> None:
    scripted_server.script("POST", "/bulk/imports", Reply(500, {"code": 13, "message": "internal error"}))

    started = client.start_import("s3://drops/imports/d1/", error_mode=ErrorMode.ABORT)

    assert list(scripted_server.imports) == [started.id]
    assert len(scripted_server.requests_to("POST", "/bulk/imports")) == 2
    assert len(scripted_server.requests_to("GET", "/bulk/imports")) == 1  # looked before re-sending


def test_start_plain_400_is_invalid_request_without_retry(
    client: PineconeClient, scripted_server: ScriptedServer, sleeps: Sleeps
) -> None:
    scripted_server.script(
        "POST",
        "/bulk/imports",
        Reply(
            400,
            {"code": "3", "message": "Bulk import URIs must start with the scheme of a supported storage"},
        ),
    )

    with pytest.raises(PineconeInvalidRequest) as info:
        client.start_import("file:///tmp/x/", error_mode=ErrorMode.ABORT)

    assert info.value.status_code == 400
    assert "Bulk import URIs must start" in info.value.message
    assert len(scripted_server.requests) == 1
    assert sleeps.waits == []
    assert scripted_server.imports == {}


def test_401_plain_text_is_unauthorized_without_retry(
    scripted_server: ScriptedServer, sleeps: Sleeps
) -> None:
    scripted_server.required_api_key = KEY
    wrong_key = "pcsk_wrong_key_123"
    policy = RetryPolicy(base_delay_s=0.01, max_delay_s=0.02, sleep=sleeps)

    pc = PineconeClient(host=scripted_server.url, api_key=wrong_key, retry=policy)
    with pc, pytest.raises(PineconeUnauthorized) as info:
        pc.start_import("s3://drops/imports/d1/", error_mode=ErrorMode.ABORT)

    assert info.value.status_code == 401
    assert "check the API key" in info.value.message
    assert wrong_key not in str(info.value)
    assert len(scripted_server.requests) == 1
    assert sleeps.waits == []
    assert scripted_server.imports == {}


# --- against the project's Pinecone emulator (local/emulator; fixture ``emulator`` from tests/fixtures/emulator.py) ---


@pytest.fixture
def emulated_client(emulator: EmulatorServer) -> Iterator[PineconeClient]:
    host = emulator.create_index(f"idx-{uuid.uuid4().hex[:8]}", dimension=8)
    policy = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05, sleep=Sleeps())
    with PineconeClient(host=host, api_key=EMULATOR_KEY, api_version="2026-07", retry=policy) as pc:
        yield pc


def test_emulator_round_trip(emulated_client: PineconeClient) -> None:
    started = emulated_client.start_import("s3://drops/imports/d1/", error_mode=ErrorMode.CONTINUE)

    described = emulated_client.describe_import(started.id)
    assert (described.id, described.uri) == (started.id, "s3://drops/imports/d1/")
    assert [m.id for m in emulated_client.list_imports()] == [started.id]
    emulated_client.cancel_import(started.id)
    assert emulated_client.describe_import(started.id).status in ("Cancelled", "Failed", "Completed")
    stats = emulated_client.describe_index_stats()
    assert (stats.dimension, stats.vector_type) == (8, "dense")


def test_emulator_accept_then_500_on_start_leaves_exactly_one_import(
    emulator: EmulatorServer, emulated_client: PineconeClient, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.inject(operation="start_import", action="accept_then_error", status=500, times=1)

    with caplog.at_level(logging.INFO, logger="functions.integrations.pinecone"):
        started = emulated_client.start_import("s3://drops/imports/d2/", error_mode=ErrorMode.ABORT)

    assert [m.id for m in emulated_client.list_imports()] == [started.id]
    assert any("HTTP 500" in r.getMessage() for r in caplog.records)  # the fault really fired
    assert any("reusing import" in r.getMessage() for r in caplog.records)


def test_emulator_wrong_key_is_unauthorized(emulator: EmulatorServer) -> None:
    host = emulator.create_index(f"idx-{uuid.uuid4().hex[:8]}", dimension=8)
    pc = PineconeClient(host=host, api_key="pcsk_wrong_key_0")
    with pc, pytest.raises(PineconeUnauthorized) as info:
        pc.describe_index_stats()
    assert info.value.status_code == 401
