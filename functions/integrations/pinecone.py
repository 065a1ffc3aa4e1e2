"""Pinecone bulk-import client (data plane, on the index host) over httpx.

Every call has explicit connect/read timeouts and bounded, jittered retries (:mod:`functions.integrations.retry`).
Reads (describe, list, cancel, ``describe_index_stats``) are retried on throttling, 5xx, timeouts and connection
errors. ``start_import`` is never blindly re-sent: Pinecone has no idempotency key, and a 5xx or a timeout can arrive
after it accepted the request, so after such an *ambiguous* failure the client first lists recent imports and returns
the one already started for the same URI, and sends the start again only when there is none.

Errors become the typed exceptions of :mod:`functions.errors` (both Pinecone error bodies are understood: the data
plane's ``rpcStatus`` ``{"code", "message", "details"}`` and the control plane's ``{"error": {...}, "status"}``, plus
plain text such as ``Unauthorized``). The API key never appears in logs, errors or ``repr``.
"""

from __future__ import annotations

import email.utils
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import SecretStr, ValidationError

from functions.errors import (
    PineconeError,
    PineconeInvalidRequest,
    PineconeNotFound,
    PineconeRateLimited,
    PineconeUnauthorized,
    PineconeUnavailable,
    RetryableError,
)
from functions.integrations.retry import RetryPolicy, call_with_retry
from functions.models.imports import (
    ErrorMode,
    ImportModel,
    ImportPage,
    IndexStats,
    StartImportRequest,
    StartImportResponse,
)

logger = logging.getLogger(__name__)

M = TypeVar("M", StartImportResponse, ImportModel, IndexStats)

DEFAULT_API_VERSION = "2025-10"
LIST_PAGE_LIMIT_MAX = 100
MAX_ERROR_TEXT = 500
"""Longest server-provided error text kept in a message (bodies can be HTML pages from a proxy)."""

_REDACTED = "***"


def _package_version() -> str:
    try:
        return metadata.version("pinecone-autoimport")
    except metadata.PackageNotFoundError:  # running from a plain checkout
        return "0.0.0"


USER_AGENT = f"pinecone-autoimport/{_package_version()}"


# --- pure helpers -----------------------------------------------------------------------------------------


def redact(text: str, secret: str) -> str:
    """``text`` with every occurrence of ``secret`` replaced by ``***`` (no-op for an empty secret)."""
    if not secret:
        return text
    return text.replace(secret, _REDACTED)


def normalize_host(host: str) -> str:
    """``https://`` + a bare host; a host that already has a scheme is kept; no trailing slash."""
    hint = (
        "Set the route's index_host to the index host shown in the Pinecone console "
        "(e.g. my-index-abc123.svc.us-east-1-aws.pinecone.io; http:// only for a local emulator)."
    )
    value = host.strip()
    if value and "://" not in value:
        value = "https://" + value
    value = value.rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise PineconeInvalidRequest(
            f"The Pinecone index host {host!r} is empty or has an unsupported scheme", hint=hint
        )
    split = urlsplit(value)
    try:
        split.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise PineconeInvalidRequest(
            f"The Pinecone index host {host!r} has an invalid port", hint=hint
        ) from exc
    if not split.hostname or any(c.isspace() for c in value):
        raise PineconeInvalidRequest(f"The Pinecone index host {host!r} is not a valid URL", hint=hint)
    return value


def normalize_uri(uri: str) -> str:
    """A URI compared without its trailing slashes (``s3://b/p/`` and ``s3://b/p`` name the same import)."""
    return uri.strip().rstrip("/")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date; ``None`` when absent/invalid."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


def parse_timestamp(value: str | None) -> datetime | None:
    """An ISO-8601 ``createdAt`` as an aware UTC datetime (naive values are taken as UTC); ``None`` if unparseable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _error_body(response: httpx.Response) -> tuple[str, str | None]:
    """(message, code) from either Pinecone error shape or plain text."""
    text = response.text.strip()
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        nested = body.get("error")
        if isinstance(nested, dict) and nested.get("message") is not None:
            code = nested.get("code")
            return str(nested["message"]), None if code is None else str(code)
        if body.get("message") is not None:
            code = body.get("code")
            return str(body["message"]), None if code is None else str(code)
        if isinstance(nested, str):
            return nested, None
    if text:
        return text, None
    return response.reason_phrase or f"HTTP {response.status_code}", None


def error_from_response(response: httpx.Response, *, operation: str, secret: str = "") -> PineconeError:
    """The typed exception for a non-2xx Pinecone response (never raises it; the caller does, chaining the cause).

    401/403 → :class:`PineconeUnauthorized`, 404 → :class:`PineconeNotFound`, 429 → :class:`PineconeRateLimited`
    (``retry_after`` from the header), 5xx → :class:`PineconeUnavailable`, other 4xx → :class:`PineconeInvalidRequest`.
    """
    status = response.status_code
    message, code = _error_body(response)
    message = redact(message, secret)
    if len(message) > MAX_ERROR_TEXT:
        message = message[:MAX_ERROR_TEXT] + "…"
    code_note = f" (code {code})" if code is not None else ""
    head = f"Pinecone {operation} answered HTTP {status}{code_note}: {message}"
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    request_id = response.headers.get("x-pinecone-request-id") or response.headers.get("x-request-id")
    extra: dict[str, Any] = {"operation": operation, "pinecone_code": code}
    if request_id:
        extra["request_id"] = request_id
    err: PineconeError
    if status in (401, 403):
        what = "rejected the API key" if status == 401 else "refused access with this API key"
        err = PineconeUnauthorized(
            f"{head}. Pinecone {what}: check the API key (secret PINECONE_API_KEY_SECRET_ID, or PINECONE_API_KEY "
            "locally) and that it belongs to the project of this index.",
            hint="Check the API key: the Secrets Manager secret named by PINECONE_API_KEY_SECRET_ID (or "
            "PINECONE_API_KEY for local runs) must hold a current key of the project that owns this index.",
            **extra,
        )
    elif status == 404:
        err = PineconeNotFound(
            f"{head}.",
            hint="Check the import id and that the index host points at the index the import was started on.",
            **extra,
        )
    elif status == 429:
        wait = f"after {retry_after:g}s" if retry_after is not None else "later"
        err = PineconeRateLimited(
            f"{head}. Pinecone is throttling requests; retry {wait}.",
            retry_after=retry_after,
            hint="Reduce how often imports are started or polled against this project.",
            **extra,
        )
    elif status >= 500:
        err = PineconeUnavailable(
            f"{head}. Pinecone could not serve the request right now; retry later.",
            hint="Transient Pinecone server error; check https://status.pinecone.io if it persists.",
            retry_after=retry_after,
            **extra,
        )
    else:
        err = PineconeInvalidRequest(
            f"{head}. The request was rejected and retrying it unchanged will not help.",
            hint="Fix the request: the URI must be s3://BUCKET/PREFIX/ holding one folder per namespace, "
            "errorMode must be abort or continue, and the integration id must exist in the Pinecone project.",
            **extra,
        )
    err.status_code = status
    return err


def _transport_error(
    exc: httpx.TransportError, *, operation: str, host: str, secret: str
) -> PineconeUnavailable:
    """A timeout or connection failure as :class:`PineconeUnavailable`; ``request_sent`` tells if it was ambiguous."""
    # A connect failure means the request never left; anything later may have reached Pinecone.
    sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if isinstance(exc, httpx.TimeoutException):
        kind = "timed out" + (" connecting" if not sent else " waiting for the answer")
    elif sent:
        kind = "lost the connection"
    else:
        kind = "could not connect"
    detail = redact(str(exc) or type(exc).__name__, secret)
    return PineconeUnavailable(
        f"Pinecone {operation} {kind} to {host} ({type(exc).__name__}: {detail}); retry later.",
        hint="Check the index host and network access from this function to Pinecone.",
        operation=operation,
        request_sent=sent,
    )


# --- the client -------------------------------------------------------------------------------------------


class PineconeClient:
    """Pinecone bulk import on one index host.

    >>> with PineconeClient(host="my-index-abc.svc.aped-1.pinecone.io", api_key=key) as pc:  # doctest: +SKIP
    ...     started = pc.start_import("s3://bucket/imports/2026-11-29/", error_mode=ErrorMode.ABORT)
    ...     pc.describe_import(started.id).status
    """

    def __init__(
        self,
        *,
        host: str,
        api_key: str,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float | httpx.Timeout = 10.0,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        start_lookup_skew_s: float = 300.0,
        start_lookup_max_pages: int = 10,
        utcnow: Callable[[], datetime] | None = None,
    ) -> None:
        if not api_key:
            raise PineconeUnauthorized(
                "No Pinecone API key was given",
                hint="Set PINECONE_API_KEY_SECRET_ID (cloud) or PINECONE_API_KEY (local runs).",
            )
        self.host = normalize_host(host)
        self.api_version = api_version
        self._api_key = SecretStr(api_key)
        self.timeout = (
            timeout
            if isinstance(timeout, httpx.Timeout)
            else httpx.Timeout(timeout, connect=min(timeout, 5.0))
        )
        self.retry = retry or RetryPolicy()
        self.start_lookup_skew = timedelta(seconds=start_lookup_skew_s)
        self.start_lookup_max_pages = max(1, start_lookup_max_pages)
        self._utcnow = utcnow or (lambda: datetime.now(UTC))
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=self.timeout, follow_redirects=False)

    def __repr__(self) -> str:
        return f"PineconeClient(host={self.host!r}, api_version={self.api_version!r})"

    # context manager ---------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool (only when this client created it)."""
        if self._owns_http:
            self._http.close()

    # operations ----------------------------------------------------------------------------------------

    def start_import(
        self, uri: str, *, error_mode: ErrorMode, integration_id: str | None = None
    ) -> StartImportResponse:
        """``POST /bulk/imports`` with an explicit ``errorMode``; the id of the import (possibly one already started).

        A clean refusal (4xx) raises at once; a 429 is retried after Retry-After. After an ambiguous failure (5xx,
        timeout, connection lost, unreadable 200) the client looks for an import of the same URI created since just
        before its first send, returns it when found, and only otherwise sends the start again, all within one
        retry budget.
        """
        try:
            request = StartImportRequest(uri=uri, error_mode=error_mode, integration_id=integration_id)
        except ValidationError as exc:
            raise PineconeInvalidRequest(
                f"start_import: invalid request for uri {uri!r}: {exc.errors()[0]['msg']}",
                hint="The URI must be 1-1500 characters and the integration id at most 1000.",
            ) from exc
        body = request.to_wire()
        budget = self.retry.start()
        first_send = self._utcnow()
        must_look_first = False
        while True:  # bounded: each pass counts one attempt; the budget refuses more than max_attempts
            attempt = budget.begin_attempt()
            try:
                if must_look_first:
                    existing = self._find_started_import(uri, since=first_send - self.start_lookup_skew)
                    if existing is not None:
                        logger.info(
                            "start_import: reusing import %s already started for %s (found after an ambiguous "
                            "failure)",
                            existing.id,
                            uri,
                        )
                        return StartImportResponse(id=existing.id)
                    must_look_first = False
                response = self._send("POST", "/bulk/imports", operation="start_import", json_body=body)
                return self._parse(StartImportResponse, response, operation="start_import")
            except RetryableError as exc:
                ambiguous = not isinstance(exc, PineconeRateLimited) and exc.details.get("request_sent", True)
                # A failed look-up keeps us in look-first mode; a failed send turns it on if it may have landed.
                must_look_first = must_look_first or bool(ambiguous)
                delay = budget.next_delay(exc)
                if delay is None:
                    exc.details.setdefault("attempts", budget.attempts)
                    raise
                logger.warning(
                    "start_import failed (attempt %d/%d): %s Next: %s in %.2fs.",
                    attempt,
                    self.retry.max_attempts,
                    exc.message,
                    "checking for an import already started before re-sending"
                    if must_look_first
                    else "retrying",
                    delay,
                )
                self.retry.sleep(delay)

    def describe_import(self, import_id: str) -> ImportModel:
        """``GET /bulk/imports/{id}``."""
        path = f"/bulk/imports/{self._import_path_id(import_id)}"
        response = self._retrying("GET", path, operation=f"describe_import({import_id})")
        return self._parse(ImportModel, response, operation="describe_import")

    def list_imports_page(
        self, *, limit: int | None = None, pagination_token: str | None = None
    ) -> ImportPage:
        """One page of ``GET /bulk/imports``; ``next_token`` is set while more pages remain."""
        params: dict[str, str] = {}
        if limit is not None:
            if not 1 <= limit <= LIST_PAGE_LIMIT_MAX:
                raise PineconeInvalidRequest(
                    f"list_imports: limit must be between 1 and {LIST_PAGE_LIMIT_MAX}, got {limit}"
                )
            params["limit"] = str(limit)
        if pagination_token:
            params["paginationToken"] = pagination_token
        response = self._retrying("GET", "/bulk/imports", operation="list_imports", params=params)
        return self._page(response)

    def list_imports(self, *, limit: int | None = None, max_pages: int = 1000) -> Iterator[ImportModel]:
        """Every import of the index, following ``pagination.next`` for at most ``max_pages`` pages.

        Stops (with a warning) when ``max_pages`` is reached or a token repeats, so a misbehaving server cannot make
        this loop forever.
        """
        token: str | None = None
        seen: set[str] = set()
        for _ in range(max(1, max_pages)):
            page = self.list_imports_page(limit=limit, pagination_token=token)
            yield from page.data
            token = page.next_token
            if token is None:
                return
            if token in seen:
                logger.warning("list_imports: pagination token repeated; stopping to avoid a loop")
                return
            seen.add(token)
        logger.warning("list_imports: stopped after max_pages=%d pages with more remaining", max_pages)

    def cancel_import(self, import_id: str) -> None:
        """``DELETE /bulk/imports/{id}`` (no effect on an import that already finished)."""
        path = f"/bulk/imports/{self._import_path_id(import_id)}"
        self._retrying("DELETE", path, operation=f"cancel_import({import_id})")

    def describe_index_stats(self) -> IndexStats:
        """``POST /describe_index_stats`` (read-only, so retried like a GET); ``vector_type`` defaults to dense."""
        response = self._retrying(
            "POST", "/describe_index_stats", operation="describe_index_stats", json_body={}
        )
        stats = self._parse(IndexStats, response, operation="describe_index_stats")
        if stats.vector_type is None:
            stats = stats.model_copy(update={"vector_type": "dense"})
        return stats

    # internals -----------------------------------------------------------------------------------------

    def _find_started_import(self, uri: str, *, since: datetime) -> ImportModel | None:
        """The newest import of ``uri`` created at/after ``since`` (bounded scan of the listing), or ``None``."""
        wanted = normalize_uri(uri)
        best: tuple[datetime, ImportModel] | None = None
        token: str | None = None
        for _ in range(self.start_lookup_max_pages):
            page = self._list_page_once(token)
            for item in page.data:
                if normalize_uri(item.uri) != wanted:
                    continue
                created = parse_timestamp(item.created_at)
                if created is None:
                    logger.warning(
                        "start_import: import %s of the same uri has no readable createdAt (%r); not reusing it",
                        item.id,
                        item.created_at,
                    )
                    continue
                if created >= since and (best is None or created > best[0]):
                    best = (created, item)
            token = page.next_token
            if token is None:
                break
        return best[1] if best else None

    def _list_page_once(self, token: str | None) -> ImportPage:
        params = {"limit": str(LIST_PAGE_LIMIT_MAX)}
        if token:
            params["paginationToken"] = token
        response = self._send("GET", "/bulk/imports", operation="list_imports", params=params)
        return self._page(response)

    def _page(self, response: httpx.Response) -> ImportPage:
        payload = self._json(response, operation="list_imports")
        if not isinstance(payload, dict):
            raise PineconeUnavailable(
                "Pinecone list_imports answered with JSON that is not an object; retry later.",
                operation="list_imports",
            )
        pagination = payload.get("pagination")
        next_token = pagination.get("next") if isinstance(pagination, dict) else None
        # The last page has no ``pagination``; an empty ``next`` is treated as the end too (never loop on it).
        try:
            return ImportPage(
                data=payload.get("data") or [],
                next_token=next_token if isinstance(next_token, str) and next_token else None,
            )
        except ValidationError as exc:
            raise self._invalid_body("list_imports", exc) from exc

    @staticmethod
    def _import_path_id(import_id: str) -> str:
        text = str(import_id)
        if not 1 <= len(text) <= 1000:
            raise PineconeInvalidRequest(
                f"The import id must be 1-1000 characters, got {len(text)}",
                hint="Pass the id returned by start_import or shown by list_imports.",
            )
        return quote(text, safe="")

    def _headers(self, *, has_body: bool) -> dict[str, str]:
        headers = {
            "Api-Key": self._api_key.get_secret_value(),
            "X-Pinecone-Api-Version": self.api_version,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        return headers

    def _retrying(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        return call_with_retry(
            lambda: self._send(method, path, operation=operation, params=params, json_body=json_body),
            policy=self.retry,
            what=operation,
            log=logger,
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """One HTTP exchange; a 2xx response or a typed exception (never an httpx one)."""
        secret = self._api_key.get_secret_value()
        content = json.dumps(json_body).encode() if json_body is not None else None
        try:
            response = self._http.request(
                method,
                self.host + path,
                params=params or None,
                content=content,
                headers=self._headers(has_body=content is not None),
                timeout=self.timeout,
            )
        except httpx.TransportError as exc:
            raise _transport_error(exc, operation=operation, host=self.host, secret=secret) from exc
        except httpx.InvalidURL as exc:
            raise PineconeInvalidRequest(
                f"The Pinecone index host {self.host!r} is not a valid URL ({exc})",
                hint="Set the route's index_host to the host shown in the Pinecone console.",
                operation=operation,
            ) from exc
        if response.is_success:
            return response
        error = error_from_response(response, operation=operation, secret=secret)
        try:
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise error from exc
        raise error  # 1xx/3xx: not expected from Pinecone (redirects are not followed)

    def _json(self, response: httpx.Response, *, operation: str) -> Any:
        text = response.text
        if not text.strip():
            return {}
        try:
            return json.loads(text)
        except ValueError as exc:
            raise PineconeUnavailable(
                f"Pinecone {operation} answered HTTP {response.status_code} with a body that is not JSON; "
                "retry later.",
                operation=operation,
            ) from exc

    def _parse(self, model: type[M], response: httpx.Response, *, operation: str) -> M:
        payload = self._json(response, operation=operation)
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise self._invalid_body(operation, exc) from exc

    def _invalid_body(self, operation: str, exc: ValidationError) -> PineconeUnavailable:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return PineconeUnavailable(
            f"Pinecone {operation} answered with an unexpected body ({where}: {first['msg']}); retry later, and "
            f"check that X-Pinecone-Api-Version {self.api_version} is a version with bulk import.",
            operation=operation,
        )
