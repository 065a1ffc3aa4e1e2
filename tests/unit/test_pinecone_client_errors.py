"""Error paths of the Pinecone client, with httpx.MockTransport (narrow unit tests; the happy paths and the
retry/idempotency behaviour over real HTTP live in tests/integration/test_pinecone_client.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from functions.errors import (
    PineconeError,
    PineconeInvalidRequest,
    PineconeNotFound,
    PineconeRateLimited,
    PineconeUnauthorized,
    PineconeUnavailable,
    RetryableError,
)
from functions.integrations.pinecone import (
    PineconeClient,
    error_from_response,
    normalize_host,
    parse_retry_after,
    redact,
)
from functions.integrations.retry import RetryPolicy, call_with_retry
from functions.models.imports import ErrorMode

KEY = "pcsk_unit-SECRET-0123456789"


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def fast_policy(fake: FakeTime, **overrides: Any) -> RetryPolicy:
    args: dict[str, Any] = {
        "max_attempts": 4,
        "base_delay_s": 0.5,
        "max_delay_s": 4.0,
        "max_elapsed_s": 60.0,
        "sleep": fake.sleep,
        "clock": fake.clock,
        "random": lambda: 0.5,
    }
    args.update(overrides)
    return RetryPolicy(**args)


Handler = Callable[[httpx.Request], httpx.Response]


def client_with(handler: Handler, fake: FakeTime | None = None, **kwargs: Any) -> PineconeClient:
    fake = fake or FakeTime()
    return PineconeClient(
        host="http://pinecone.test",
        api_key=KEY,
        retry=kwargs.pop("retry", fast_policy(fake)),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        **kwargs,
    )


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if isinstance(body, dict | list):
        return httpx.Response(status, json=body, headers=headers)
    return httpx.Response(status, content=(body or "").encode(), headers=headers)


# --- error shapes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "in_message"),
    [
        (
            400,
            {"code": 3, "message": "Vector dimension 768 does not match the dimension of the index 1536"},
            {},
            PineconeInvalidRequest,
            ["HTTP 400 (code 3)", "Vector dimension 768", "will not help"],
        ),
        (
            400,
            {
                "code": "3",
                "message": "Bulk import URIs must start with the scheme of a supported storage provider",
            },
            {},
            PineconeInvalidRequest,
            ["(code 3)", "Bulk import URIs must start"],
        ),
        (
            404,
            {"error": {"code": "NOT_FOUND", "message": "Index x not found."}, "status": 404},
            {},
            PineconeNotFound,
            ["(code NOT_FOUND)", "Index x not found."],
        ),
        (
            404,
            {"code": 5, "message": "Import 999 not found", "details": []},
            {},
            PineconeNotFound,
            ["Import 999"],
        ),
        (404, "", {}, PineconeNotFound, ["HTTP 404", "Not Found"]),
        (
            401,
            "Unauthorized",
            {"content-type": "text/plain"},
            PineconeUnauthorized,
            ["Unauthorized", "API key"],
        ),
        (
            403,
            "Forbidden",
            {"content-type": "text/plain"},
            PineconeUnauthorized,
            ["Forbidden", "check the API key"],
        ),
        (
            409,
            {"error": {"code": "ALREADY_EXISTS", "message": "exists"}},
            {},
            PineconeInvalidRequest,
            ["exists"],
        ),
        (422, {"code": 3, "message": "bad field"}, {}, PineconeInvalidRequest, ["HTTP 422", "bad field"]),
        (429, "Too many requests", {"retry-after": "7"}, PineconeRateLimited, ["throttling", "after 7s"]),
        (500, "", {}, PineconeUnavailable, ["HTTP 500", "Internal Server Error", "retry later"]),
        (503, {"code": 14, "message": "unavailable"}, {}, PineconeUnavailable, ["(code 14)", "unavailable"]),
    ],
)
def test_every_error_shape_maps_to_the_right_exception(
    status: int, body: Any, headers: dict[str, str], expected: type[PineconeError], in_message: list[str]
) -> None:
    err = error_from_response(response(status, body, headers), operation="describe_import")

    assert type(err) is expected
    assert err.status_code == status
    assert err.retryable is (status == 429 or status >= 500)
    for fragment in in_message:
        assert fragment in err.message
    assert err.hint


def test_401_says_what_to_do_and_is_raised_once_without_retry() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return response(401, "Unauthorized", {"content-type": "text/plain"})

    with client_with(handler) as client, pytest.raises(PineconeUnauthorized) as info:
        client.describe_import("7")

    assert len(calls) == 1
    assert "check the API key" in info.value.message
    assert "PINECONE_API_KEY_SECRET_ID" in info.value.message
    assert isinstance(info.value.__cause__, httpx.HTTPStatusError)


def test_long_html_error_bodies_are_truncated() -> None:
    err = error_from_response(response(502, "<html>" + "x" * 5000 + "</html>"), operation="list_imports")
    assert isinstance(err, PineconeUnavailable)
    assert len(err.message) < 800


def test_request_id_header_is_kept_for_support() -> None:
    err = error_from_response(
        response(500, {"code": 13, "message": "oops"}, {"x-pinecone-request-id": "req-42"}), operation="x"
    )
    assert err.details["request_id"] == "req-42"


# --- Retry-After ----------------------------------------------------------------------------------------------


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 11, 29, 6, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(" 0.5 ", now=now) == 0.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    for bad in (None, "", "soon", "-3", "nan", "inf"):
        assert parse_retry_after(bad, now=now) is None, bad


def test_429_is_retried_after_the_retry_after_it_asked_for() -> None:
    fake = FakeTime()
    answers = iter(
        [
            response(429, "slow down", {"retry-after": "3"}),
            response(
                200, {"id": "1", "uri": "s3://b/p", "status": "Pending", "createdAt": "2026-11-29T06:00:00Z"}
            ),
        ]
    )

    with client_with(lambda _r: next(answers), fake) as client:
        model = client.describe_import("1")

    assert model.status == "Pending"
    assert fake.sleeps == [3.0]  # Retry-After (3 s) beats the jittered 0.375 s


def test_retry_after_beyond_the_elapsed_budget_gives_up_at_once() -> None:
    fake = FakeTime()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return response(429, "slow down", {"retry-after": "3600"})

    with client_with(handler, fake) as client, pytest.raises(PineconeRateLimited) as info:
        client.describe_index_stats()

    assert len(calls) == 1
    assert fake.sleeps == []
    assert info.value.retry_after == 3600.0
    assert info.value.retryable


# --- backoff bounds --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999999])
def test_backoff_grows_exponentially_within_jitter_bounds_and_caps(jitter: float) -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0, random=lambda: jitter)
    for retry_number, step in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (30, 4.0)]:
        delay = policy.backoff(retry_number)
        assert step / 2 <= delay <= step, (retry_number, delay)
    assert policy.backoff(1, retry_after=9.0) == 9.0


def test_retries_stop_after_max_attempts() -> None:
    fake = FakeTime()
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        raise PineconeUnavailable("503")

    with pytest.raises(PineconeUnavailable) as info:
        call_with_retry(flaky, policy=fast_policy(fake, max_attempts=3), what="op")

    assert len(calls) == 3
    assert len(fake.sleeps) == 2
    assert info.value.details["attempts"] == 3


def test_retries_stop_when_the_elapsed_budget_is_spent() -> None:
    fake = FakeTime()
    calls: list[int] = []

    def slow_failure() -> str:
        calls.append(1)
        fake.now += 4.0  # each attempt takes 4 s (e.g. a read timeout)
        raise PineconeUnavailable("timeout")

    with pytest.raises(PineconeUnavailable):
        call_with_retry(
            slow_failure, policy=fast_policy(fake, max_attempts=100, max_elapsed_s=10.0), what="op"
        )

    # 4 s, wait 0.375 s, 4 s, wait 0.75 s (9.125 s in), 4 s: a fourth attempt would start after the 10 s budget.
    assert len(calls) == 3
    assert fake.sleeps == [0.375, 0.75]
    assert fake.now - 1000.0 <= 10.0 + 4.0  # no wait ends past the budget; only the last attempt may run over


def test_terminal_errors_are_never_retried() -> None:
    fake = FakeTime()
    calls: list[int] = []

    def bad() -> str:
        calls.append(1)
        raise PineconeInvalidRequest("400")

    with pytest.raises(PineconeInvalidRequest):
        call_with_retry(bad, policy=fast_policy(fake), what="op")
    assert calls == [1]
    assert fake.sleeps == []


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="base_delay_s"):
        RetryPolicy(base_delay_s=5, max_delay_s=1)


# --- transport errors -----------------------------------------------------------------------------------------


def test_connection_refused_is_unavailable_and_marked_not_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake = FakeTime()
    with client_with(handler, fake) as client, pytest.raises(PineconeUnavailable) as info:
        client.cancel_import("3")

    assert info.value.details["request_sent"] is False
    assert "could not connect" in info.value.message
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert len(fake.sleeps) == 3  # 4 attempts


def test_read_timeout_is_unavailable_and_marked_ambiguous() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with client_with(handler) as client, pytest.raises(PineconeUnavailable) as info:
        client.describe_import("3")

    assert info.value.details["request_sent"] is True
    assert "timed out" in info.value.message


def test_every_request_carries_explicit_connect_and_read_timeouts_and_bare_hosts_use_https() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response(200, {})

    client = PineconeClient(
        host="my-index-abc.svc.aped-1.pinecone.io/",
        api_key=KEY,
        timeout=12.0,
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    client.cancel_import("a/b c")

    (request,) = seen
    assert str(request.url) == "https://my-index-abc.svc.aped-1.pinecone.io/bulk/imports/a%2Fb%20c"
    timeouts = request.extensions["timeout"]
    assert timeouts["connect"] == 5.0
    assert timeouts["read"] == 12.0


def test_hosts_are_normalised() -> None:
    assert normalize_host(" http://127.0.0.1:5081/ ") == "http://127.0.0.1:5081"
    assert normalize_host("idx.pinecone.io") == "https://idx.pinecone.io"
    assert normalize_host("http://127.0.0.1:5081/data/idx/") == "http://127.0.0.1:5081/data/idx"
    for bad in ("  ", "https://", "ftp://idx", "idx:70000", "http://exa mple"):
        with pytest.raises(PineconeInvalidRequest, match="index host"):
            normalize_host(bad)


# --- the API key never leaks ------------------------------------------------------------------------------


def test_the_api_key_never_appears_in_repr_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # A misbehaving proxy that echoes the request's key back in its error text.
        echoed = request.headers["Api-Key"]
        return response(503, f"upstream rejected key {echoed}")

    fake = FakeTime()
    client = client_with(handler, fake)
    assert KEY not in repr(client)
    assert KEY not in str(vars(client))  # the key is held as a SecretStr

    with caplog.at_level(logging.DEBUG, logger="functions"), pytest.raises(PineconeUnavailable) as info:
        client.describe_import("1")

    assert KEY not in str(info.value)
    assert KEY not in json.dumps(info.value.to_dict())
    assert "***" in info.value.message
    assert caplog.records, "retries must be logged"
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_redact() -> None:
    assert redact("key=abc and abc", "abc") == "key=*** and ***"
    assert redact("nothing to hide", "") == "nothing to hide"


def test_missing_api_key_is_refused_before_any_request() -> None:
    with pytest.raises(PineconeUnauthorized, match="No Pinecone API key"):
        PineconeClient(host="idx.pinecone.io", api_key="")


# --- start_import: what is and is not ambiguous -------------------------------------------------------------


class StartScript:
    """Answers POST /bulk/imports from a script and GET /bulk/imports from a list of existing imports."""

    def __init__(self, posts: list[httpx.Response | Exception], listing: list[dict[str, Any]]) -> None:
        self.posts = posts
        self.listing = listing
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET":
            return response(200, {"data": self.listing})
        answer = self.posts.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def methods(self) -> list[str]:
        return [r.method for r in self.requests]


def test_connect_error_on_start_is_not_ambiguous_so_it_is_resent_without_a_lookup() -> None:
    request = httpx.Request("POST", "http://pinecone.test/bulk/imports")
    script = StartScript([httpx.ConnectError("refused", request=request), response(200, {"id": "9"})], [])

    with client_with(script) as client:
        started = client.start_import("s3://b/p/", error_mode=ErrorMode.ABORT)

    assert started.id == "9"
    assert script.methods() == ["POST", "POST"]


def test_429_on_start_is_not_ambiguous_so_it_is_resent_without_a_lookup() -> None:
    script = StartScript([response(429, "slow", {"retry-after": "1"}), response(200, {"id": "9"})], [])

    with client_with(script) as client:
        started = client.start_import("s3://b/p/", error_mode=ErrorMode.CONTINUE)

    assert started.id == "9"
    assert script.methods() == ["POST", "POST"]
    assert json.loads(script.requests[1].content) == {
        "uri": "s3://b/p/",
        "errorMode": {"onError": "continue"},
    }


def test_an_old_import_of_the_same_uri_is_not_mistaken_for_ours() -> None:
    now = datetime(2026, 11, 29, 6, 0, 0, tzinfo=UTC)
    listing = [
        {"id": "1", "uri": "s3://b/p", "status": "Completed", "createdAt": "2026-11-28T06:00:00+00:00"},
        {"id": "2", "uri": "s3://b/p/", "status": "Pending", "createdAt": "not a date"},
        {"id": "3", "uri": "s3://b/other/", "status": "Pending", "createdAt": "2026-11-29T06:00:01Z"},
    ]
    script = StartScript([response(500, ""), response(200, {"id": "4"})], listing)

    with client_with(script, utcnow=lambda: now) as client:
        started = client.start_import("s3://b/p/", error_mode=ErrorMode.ABORT)

    assert started.id == "4"
    assert script.methods() == ["POST", "GET", "POST"]


def test_a_recent_import_of_the_same_uri_within_clock_skew_is_reused_even_without_trailing_slash() -> None:
    now = datetime(2026, 11, 29, 6, 0, 0, tzinfo=UTC)
    listing = [
        {
            "id": "7",
            "uri": "s3://b/p",
            "status": "Pending",
            "createdAt": "2026-11-29T05:57:00Z",
        },  # server clock 3 min slow
        {"id": "6", "uri": "s3://b/p", "status": "Pending", "createdAt": "2026-11-29T05:56:00Z"},
    ]
    script = StartScript([httpx.ReadTimeout("slow", request=httpx.Request("POST", "http://x"))], listing)

    with client_with(script, utcnow=lambda: now) as client:
        started = client.start_import("s3://b/p/", error_mode=ErrorMode.ABORT)

    assert started.id == "7"  # the newest match
    assert script.methods() == ["POST", "GET"]


def test_a_failed_lookup_is_retried_before_any_resend() -> None:
    fake = FakeTime()
    requests: list[str] = []
    answers = iter(
        [
            response(502, "bad gateway"),  # POST: ambiguous
            response(503, "unavailable"),  # GET lookup fails: still must look before resending
            response(200, {"data": []}),  # GET lookup: nothing started
            response(200, {"id": "11"}),  # POST again
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request.method)
        return next(answers)

    with client_with(handler, fake) as client:
        started = client.start_import("s3://b/p/", error_mode=ErrorMode.ABORT)

    assert started.id == "11"
    assert requests == ["POST", "GET", "GET", "POST"]
    assert len(fake.sleeps) == 2


def test_start_gives_up_within_the_attempt_budget() -> None:
    fake = FakeTime()
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request.method)
        return response(200, {"data": []}) if request.method == "GET" else response(500, "")

    client = client_with(handler, fake, retry=fast_policy(fake, max_attempts=3))
    with client, pytest.raises(PineconeUnavailable) as info:
        client.start_import("s3://b/p/", error_mode=ErrorMode.ABORT)

    assert requests.count("POST") == 3
    assert requests == ["POST", "GET", "POST", "GET", "POST"]
    assert info.value.details["attempts"] == 3
    assert isinstance(info.value, RetryableError)


def test_start_rejects_an_overlong_uri_before_sending() -> None:
    script = StartScript([], [])
    with client_with(script) as client, pytest.raises(PineconeInvalidRequest, match="uri"):
        client.start_import("s3://b/" + "x" * 1500, error_mode=ErrorMode.ABORT)
    assert script.requests == []


# --- bodies -----------------------------------------------------------------------------------------------------


def test_describe_index_stats_defaults_to_dense_and_parses_namespaces() -> None:
    body = {
        "dimension": 8,
        "totalVectorCount": 5,
        "namespaces": {"a": {"vectorCount": 2}, "": {"vectorCount": 3}},
    }
    with client_with(lambda _r: response(200, body)) as client:
        stats = client.describe_index_stats()

    assert stats.vector_type == "dense"
    assert stats.dimension == 8
    assert stats.metric is None
    assert stats.total_vector_count == 5
    assert {name: ns.vector_count for name, ns in stats.namespaces.items()} == {"a": 2, "": 3}


def test_an_unreadable_success_body_is_a_retryable_error_naming_the_field() -> None:
    fake = FakeTime()
    client = client_with(lambda _r: response(200, {"uri": "s3://b/p"}), fake)
    with client, pytest.raises(PineconeUnavailable, match="id"):
        client.describe_import("1")


def test_list_imports_is_bounded_by_max_pages_and_stops_on_a_repeated_token() -> None:
    def looping(request: httpx.Request) -> httpx.Response:
        n = len(request.url.params.get("paginationToken", ""))
        item = {"id": str(n), "uri": "s3://b/p", "status": "Completed", "createdAt": "2026-01-01T00:00:00Z"}
        return response(200, {"data": [item], "pagination": {"next": "t" * (n + 1)}})

    with client_with(looping) as client:
        assert len(list(client.list_imports(max_pages=5))) == 5

    def same_token(request: httpx.Request) -> httpx.Response:
        return response(200, {"data": [], "pagination": {"next": "again"}})

    calls: list[int] = []
    with client_with(lambda r: (calls.append(1), same_token(r))[1]) as client:
        assert list(client.list_imports()) == []
    assert len(calls) == 2


def test_list_limit_out_of_range_is_refused() -> None:
    with (
        client_with(lambda _r: response(200, {})) as client,
        pytest.raises(PineconeInvalidRequest, match="limit"),
    ):
        client.list_imports_page(limit=101)
