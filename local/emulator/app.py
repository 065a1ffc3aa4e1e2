"""The HTTP face of the emulator: Pinecone's control plane, one data plane per index (``/index/<name>``), and admin.

Index hosts are path-prefixed (``http://127.0.0.1:5080/index/my-index``); the official SDK keeps the path of the host
it is given, so ``Index(host=...)`` and ``Index(name=...)`` both work.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException

from local.emulator.faults import Fault, FaultRule
from local.emulator.source import is_supported_uri
from local.emulator.state import BULK_API_VERSIONS, DEFAULT_API_VERSION, EmulatorState
from local.emulator.store import Index, Record, SparseVector, StoreError, matches_filter

log = logging.getLogger("autoimport.emulator")

DATA_PREFIX = "/index"
_GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 412: 9, 429: 8, 500: 13, 501: 12, 503: 14, 504: 4}
_CONTROL_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    422: "UNPROCESSABLE_ENTITY",
    429: "RESOURCE_EXHAUSTED",
    503: "SERVICE_UNAVAILABLE",
}
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/indexes/?$"), "create_index"),
    ("GET", re.compile(r"^/indexes/?$"), "list_indexes"),
    ("GET", re.compile(r"^/indexes/(?P<index>[^/]+)$"), "describe_index"),
    ("DELETE", re.compile(r"^/indexes/(?P<index>[^/]+)$"), "delete_index"),
    ("POST", re.compile(r"^/index/(?P<index>[^/]+)/bulk/imports/?$"), "start_import"),
    ("GET", re.compile(r"^/index/(?P<index>[^/]+)/bulk/imports/?$"), "list_imports"),
    ("GET", re.compile(r"^/index/(?P<index>[^/]+)/bulk/imports/.+$"), "describe_import"),
    ("DELETE", re.compile(r"^/index/(?P<index>[^/]+)/bulk/imports/.+$"), "cancel_import"),
    ("*", re.compile(r"^/index/(?P<index>[^/]+)/describe_index_stats$"), "describe_index_stats"),
    ("POST", re.compile(r"^/index/(?P<index>[^/]+)/vectors/upsert$"), "upsert"),
    ("GET", re.compile(r"^/index/(?P<index>[^/]+)/vectors/fetch$"), "fetch"),
    ("GET", re.compile(r"^/index/(?P<index>[^/]+)/vectors/list$"), "list_vectors"),
    ("POST", re.compile(r"^/index/(?P<index>[^/]+)/query$"), "query"),
    ("POST", re.compile(r"^/index/(?P<index>[^/]+)/vectors/delete$"), "delete_vectors"),
]
_BULK_OPERATIONS = {"start_import", "list_imports", "describe_import", "cancel_import"}
_OPEN_PATHS = ("/openapi.json", "/docs", "/redoc", "/healthz")


def classify(method: str, path: str) -> tuple[str | None, str | None]:
    """(operation, index name) for a request path, or (None, None) for admin / unknown paths."""
    for route_method, pattern, operation in _ROUTES:
        if route_method in ("*", method):
            match = pattern.match(path)
            if match:
                return operation, match.groupdict().get("index")
    return None, None


def rpc_status(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"code": _GRPC_CODES.get(status, 2), "message": message, "details": []}
    return JSONResponse(body, status_code=status, headers=headers)


def control_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": _CONTROL_CODES.get(status, "UNKNOWN"), "message": message}, "status": status}
    return JSONResponse(body, status_code=status, headers=headers)


def error_for(path: str, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    if path.startswith("/indexes"):
        return control_error(status, message, headers)
    return rpc_status(status, message, headers)


def _encode_token(value: str) -> str:
    return base64.urlsafe_b64encode(f"after:{value}".encode()).decode()


def _decode_token(token: str) -> str:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise StoreError(f"Invalid pagination token {token!r}") from exc
    if not text.startswith("after:"):
        raise StoreError(f"Invalid pagination token {token!r}")
    return text.removeprefix("after:")


# -- request bodies ----------------------------------------------------------------------------------------------
class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class ImportErrorModeBody(_Wire):
    on_error: str | None = None


class StartImportBody(_Wire):
    uri: str = Field(min_length=1, max_length=1500)
    integration_id: str | None = Field(default=None, max_length=1000)
    error_mode: ImportErrorModeBody | None = None


class SparseValuesBody(_Wire):
    indices: list[int]
    values: list[float]


class VectorBody(_Wire):
    id: str = Field(min_length=1, max_length=512)
    values: list[float] | None = None
    sparse_values: SparseValuesBody | None = None
    metadata: dict[str, Any] | None = None


class UpsertBody(_Wire):
    vectors: list[VectorBody] = Field(min_length=1, max_length=1000)
    namespace: str | None = None


class QueryBody(_Wire):
    namespace: str | None = None
    top_k: int = Field(ge=1, le=10000)
    filter: dict[str, Any] | None = None
    include_values: bool = False
    include_metadata: bool = False
    vector: list[float] | None = None
    sparse_vector: SparseValuesBody | None = None
    id: str | None = None


class DeleteBody(_Wire):
    ids: list[str] | None = None
    delete_all: bool = False
    namespace: str | None = None
    filter: dict[str, Any] | None = None


class StatsBody(_Wire):
    filter: dict[str, Any] | None = None


class TimeBody(BaseModel):
    advance_seconds: float | None = Field(default=None, ge=0)
    time_scale: float | None = Field(default=None, gt=0)
    paused: bool | None = None


def _sparse(body: SparseValuesBody | None) -> SparseVector | None:
    if body is None:
        return None
    return SparseVector(indices=tuple(body.indices), values=tuple(body.values))


# -- control-plane shapes ----------------------------------------------------------------------------------------
def index_model(index: Index, host: str, api_version: str) -> dict[str, Any]:
    status = {"ready": True, "state": "Ready"}
    if api_version >= "2026-07":
        fields: dict[str, Any] = {}
        if index.vector_type == "dense":
            fields["_values"] = {"type": "dense_vector", "dimension": index.dimension, "metric": index.metric}
        fields["_sparse_values"] = {"type": "sparse_vector"}
        return {
            "name": index.name,
            "host": host,
            "status": status,
            "deployment": {"deployment_type": "managed", "cloud": index.cloud, "region": index.region},
            "schema": {"fields": fields},
            "deletion_protection": index.deletion_protection,
            "tags": index.tags,
        }
    legacy: dict[str, Any] = {
        "name": index.name,
        "metric": index.metric,
        "host": host,
        "spec": {"serverless": {"cloud": index.cloud, "region": index.region}},
        "status": status,
        "vector_type": index.vector_type,
        "deletion_protection": index.deletion_protection,
    }
    if index.tags is not None:
        legacy["tags"] = index.tags
    if index.dimension is not None:
        legacy["dimension"] = index.dimension
    return legacy


def parse_create_index(body: dict[str, Any]) -> Index:
    """Accept both the 2026-07 body (schema.fields, deployment) and the older one (dimension, metric, spec)."""
    name = body.get("name") or f"index-{secrets.token_hex(4)}"
    if not isinstance(name, str):
        raise StoreError("name must be a string")
    cloud, region = "aws", "us-east-1"
    schema = body.get("schema")
    if isinstance(schema, dict):
        fields = schema.get("fields")
        if not isinstance(fields, dict) or not fields:
            raise StoreError("schema.fields must name at least one field")
        unknown = sorted(set(fields) - {"_values", "_sparse_values"})
        if unknown:
            raise StoreError(
                f"The emulator only serves classic vector indexes (schema fields _values / _sparse_values); "
                f"got {', '.join(unknown)}"
            )
        dense = fields.get("_values")
        if isinstance(dense, dict):
            dimension, metric, vector_type = dense.get("dimension"), dense.get("metric") or "cosine", "dense"
        else:
            dimension, metric, vector_type = None, "dotproduct", "sparse"
        deployment = body.get("deployment") or {}
        cloud = deployment.get("cloud", cloud)
        region = deployment.get("region", region)
    else:
        dimension = body.get("dimension")
        metric = body.get("metric") or "cosine"
        vector_type = body.get("vector_type") or "dense"
        serverless = (body.get("spec") or {}).get("serverless") or {}
        cloud = serverless.get("cloud", cloud)
        region = serverless.get("region", region)
    if dimension is not None and not isinstance(dimension, int):
        raise StoreError("dimension must be an integer")
    tags = body.get("tags")
    return Index(
        name=name,
        dimension=dimension,
        metric=metric,
        vector_type=vector_type,
        deletion_protection=body.get("deletion_protection") or "disabled",
        tags=tags if isinstance(tags, dict) else None,
        cloud=cloud,
        region=region,
    )


def create_app(state: EmulatorState) -> FastAPI:
    app = FastAPI(
        title="pinecone-autoimport Pinecone emulator",
        version="1.0",
        description=(
            "An offline emulator of Pinecone's bulk-import API (data plane under /index/<name>), enough of the "
            "control plane for the official SDK, and /_emulator admin endpoints (faults, time, reset)."
        ),
    )
    recent = state.requests
    app.state.emulator = state

    def host_for(request: Request, name: str) -> str:
        return f"{str(request.base_url).rstrip('/')}{DATA_PREFIX}/{name}"

    def api_version(request: Request) -> str:
        return str(getattr(request.state, "api_version", DEFAULT_API_VERSION))

    @app.middleware("http")
    async def gatekeeper(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.monotonic()
        path = request.url.path
        operation, index_name = classify(request.method, path)
        response = await _guarded(request, call_next, operation, index_name)
        elapsed_ms = (time.monotonic() - started) * 1000
        query = f"?{request.url.query}" if request.url.query else ""
        log.info("%s %s%s -> %d (%.0f ms)", request.method, path, query, response.status_code, elapsed_ms)
        recent.append(
            {
                "method": request.method,
                "path": path,
                "operation": operation,
                "index": index_name,
                "status": response.status_code,
            }
        )
        return response

    async def _guarded(
        request: Request,
        call_next: Callable[[Request], Awaitable[Response]],
        operation: str | None,
        index_name: str | None,
    ) -> Response:
        path = request.url.path
        if path in _OPEN_PATHS:
            return await call_next(request)
        if not secrets.compare_digest(
            request.headers.get("api-key", "").encode(), state.config.api_key.encode()
        ):
            return PlainTextResponse("Unauthorized", status_code=401)
        version = request.headers.get("x-pinecone-api-version") or DEFAULT_API_VERSION
        if operation in _BULK_OPERATIONS and version not in BULK_API_VERSIONS:
            return rpc_status(
                400,
                f"API version {version} has no bulk import; use one of {', '.join(BULK_API_VERSIONS)}",
            )
        request.state.api_version = version
        if operation is None:
            return await call_next(request)
        fault = state.faults.pick(operation, index_name)
        if fault is None:
            return await call_next(request)
        return await _apply(fault, request, call_next, operation)

    async def _apply(
        fault: Fault, request: Request, call_next: Callable[[Request], Awaitable[Response]], operation: str
    ) -> Response:
        path = request.url.path
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
        message = f"Injected fault on {operation}: HTTP {fault.status}"
        log.info("fault injected on %s: %s %s", operation, fault.action, fault.status)
        if fault.action == "slow":
            await asyncio.sleep(fault.delay_seconds)
            return await call_next(request)
        if fault.action == "accept_then_error":
            done = await call_next(request)
            # Drain the real answer (the work is done), then report a failure as a crashed server would.
            async for _ in done.body_iterator:  # type: ignore[attr-defined]
                pass
            return error_for(path, fault.status, message + " (after the request was carried out)", headers)
        return error_for(path, fault.status, message, headers)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> Response:
        return error_for(request.url.path, exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        return error_for(request.url.path, exc.status_code, f"{message}: {request.method} {request.url.path}")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body')}: {err.get('msg')}"
            for err in exc.errors()
        )
        return error_for(request.url.path, 400, f"Invalid request: {problems}")

    # -- control plane -------------------------------------------------------------------------------------
    @app.post("/indexes", status_code=201, tags=["control plane"])
    def create_index(request: Request, body: dict[str, Any] = Body(...)) -> JSONResponse:
        index = state.add_index(parse_create_index(body))
        return JSONResponse(index_model(index, host_for(request, index.name), api_version(request)), 201)

    @app.get("/indexes", tags=["control plane"])
    def list_indexes(request: Request) -> dict[str, Any]:
        with state.lock:
            indexes = sorted(state.indexes.values(), key=lambda i: i.name)
        return {"indexes": [index_model(i, host_for(request, i.name), api_version(request)) for i in indexes]}

    @app.get("/indexes/{index_name}", tags=["control plane"])
    def describe_index(request: Request, index_name: str) -> dict[str, Any]:
        return index_model(state.get_index(index_name), host_for(request, index_name), api_version(request))

    @app.delete("/indexes/{index_name}", status_code=202, tags=["control plane"])
    def delete_index(index_name: str) -> Response:
        if state.get_index(index_name).deletion_protection == "enabled":
            raise StoreError(f"Deletion protection is enabled for index {index_name}", status=403, code=7)
        state.delete_index(index_name)
        return Response(status_code=202)

    # -- bulk imports --------------------------------------------------------------------------------------
    @app.post(DATA_PREFIX + "/{index_name}/bulk/imports", tags=["bulk"])
    def start_import(index_name: str, body: StartImportBody) -> dict[str, Any]:
        on_error = (body.error_mode.on_error if body.error_mode else None) or "abort"
        if on_error not in ("abort", "continue"):
            raise StoreError(f"Invalid errorMode.onError {on_error!r}: use abort or continue")
        if not is_supported_uri(body.uri):
            raise StoreError("Bulk import URIs must start with the scheme of a supported storage provider")
        job = state.start_import(index_name, body.uri, on_error, body.integration_id)
        return {"id": job.id}

    @app.get(DATA_PREFIX + "/{index_name}/bulk/imports", tags=["bulk"])
    def list_imports(
        request: Request,
        index_name: str,
        limit: int = Query(default=100),
        pagination_token: str | None = Query(default=None, alias="paginationToken"),
    ) -> dict[str, Any]:
        if not 1 <= limit <= 100:
            raise StoreError(f"limit must be between 1 and 100, got {limit}")
        jobs = state.list_imports(index_name)
        if pagination_token:
            after = int(_decode_token(pagination_token))
            jobs = [j for j in jobs if int(j.id) < after]
        page = jobs[:limit]
        version = api_version(request)
        out: dict[str, Any] = {"data": [j.to_wire(version) for j in page]}
        if len(jobs) > limit:
            out["pagination"] = {"next": _encode_token(page[-1].id)}
        return out

    @app.get(DATA_PREFIX + "/{index_name}/bulk/imports/{import_id:path}", tags=["bulk"])
    def describe_import(request: Request, index_name: str, import_id: str) -> dict[str, Any]:
        _check_import_id(import_id)
        return state.get_import(index_name, import_id).to_wire(api_version(request))

    @app.delete(DATA_PREFIX + "/{index_name}/bulk/imports/{import_id:path}", tags=["bulk"])
    def cancel_import(index_name: str, import_id: str) -> dict[str, Any]:
        _check_import_id(import_id)
        state.cancel_import(index_name, import_id)
        return {}

    # -- vectors -------------------------------------------------------------------------------------------
    @app.post(DATA_PREFIX + "/{index_name}/describe_index_stats", tags=["vectors"])
    def describe_index_stats(index_name: str, body: StatsBody | None = None) -> dict[str, Any]:
        index = state.get_index(index_name)
        with state.lock:
            stats = index.stats()
            if body is not None and body.filter:
                flt = body.filter
                counts = {
                    ns: {
                        "vectorCount": sum(1 for r in recs.values() if matches_filter(r.metadata or {}, flt))
                    }
                    for ns, recs in sorted(index.namespaces.items())
                }
                stats["namespaces"] = {ns: c for ns, c in counts.items() if c["vectorCount"]}
        return stats

    @app.get(DATA_PREFIX + "/{index_name}/describe_index_stats", tags=["vectors"])
    def describe_index_stats_get(index_name: str) -> dict[str, Any]:
        return describe_index_stats(index_name, None)

    @app.post(DATA_PREFIX + "/{index_name}/vectors/upsert", tags=["vectors"])
    def upsert(index_name: str, body: UpsertBody) -> dict[str, Any]:
        index = state.get_index(index_name)
        records = [
            Record(
                id=v.id,
                values=tuple(v.values) if v.values else None,
                sparse=_sparse(v.sparse_values),
                metadata=v.metadata,
            )
            for v in body.vectors
        ]
        with state.lock:
            count = index.upsert(body.namespace, records)
        return {"upsertedCount": count}

    @app.get(DATA_PREFIX + "/{index_name}/vectors/fetch", tags=["vectors"])
    def fetch(request: Request, index_name: str, namespace: str | None = None) -> dict[str, Any]:
        ids = request.query_params.getlist("ids")
        if not ids:
            raise StoreError("ids: at least one id is required")
        index = state.get_index(index_name)
        with state.lock:
            records = index.namespaces.get(namespace or "__default__", {})
            found = {rid: records[rid].to_wire() for rid in ids if rid in records}
        return {"vectors": found, "namespace": namespace or "", "usage": {"readUnits": 1}}

    @app.get(DATA_PREFIX + "/{index_name}/vectors/list", tags=["vectors"])
    def list_vectors(
        index_name: str,
        namespace: str | None = None,
        prefix: str | None = None,
        limit: int = Query(default=100),
        pagination_token: str | None = Query(default=None, alias="paginationToken"),
    ) -> dict[str, Any]:
        if not 1 <= limit <= 100:
            raise StoreError(f"limit must be between 1 and 100, got {limit}")
        index = state.get_index(index_name)
        with state.lock:
            ids = sorted(index.namespaces.get(namespace or "__default__", {}))
        if prefix:
            ids = [i for i in ids if i.startswith(prefix)]
        if pagination_token:
            after = _decode_token(pagination_token)
            ids = [i for i in ids if i > after]
        page = ids[:limit]
        out: dict[str, Any] = {
            "vectors": [{"id": i} for i in page],
            "namespace": namespace or "",
            "usage": {"readUnits": 1},
        }
        if len(ids) > limit:
            out["pagination"] = {"next": _encode_token(page[-1])}
        return out

    @app.post(DATA_PREFIX + "/{index_name}/query", tags=["vectors"])
    def query(index_name: str, body: QueryBody) -> dict[str, Any]:
        index = state.get_index(index_name)
        vector, sparse = body.vector, _sparse(body.sparse_vector)
        with state.lock:
            if body.id is not None:
                stored = index.namespaces.get(body.namespace or "__default__", {}).get(body.id)
                if stored is None:
                    return {"matches": [], "namespace": body.namespace or "", "usage": {"readUnits": 1}}
                vector = list(stored.values) if stored.values else None
                sparse = stored.sparse
            if vector is None and sparse is None:
                raise StoreError("Query needs one of vector, sparseVector or id")
            hits = index.query(
                body.namespace, top_k=body.top_k, vector=vector, sparse=sparse, flt=body.filter
            )
        matches = []
        for record, score in hits:
            match = record.to_wire(include_values=body.include_values, include_metadata=body.include_metadata)
            match["score"] = score
            if not body.include_values:
                match["values"] = []
            matches.append(match)
        return {"matches": matches, "namespace": body.namespace or "", "usage": {"readUnits": 5}}

    @app.post(DATA_PREFIX + "/{index_name}/vectors/delete", tags=["vectors"])
    def delete_vectors(index_name: str, body: DeleteBody) -> dict[str, Any]:
        index = state.get_index(index_name)
        with state.lock:
            index.delete(body.namespace, body.ids, body.delete_all, body.filter)
        return {}

    # -- admin ---------------------------------------------------------------------------------------------
    @app.get("/healthz", tags=["admin"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/_emulator/faults", tags=["admin"])
    def list_faults() -> dict[str, Any]:
        return {"rules": [r.model_dump() for r in state.faults.rules()]}

    @app.post("/_emulator/faults", tags=["admin"])
    def add_faults(body: dict[str, Any] | list[dict[str, Any]] = Body(...)) -> dict[str, Any]:
        raw = body if isinstance(body, list) else body.get("rules", [body])
        try:
            rules = [FaultRule.model_validate(item) for item in raw]
        except ValidationError as exc:
            raise StoreError(f"Invalid fault rule: {exc.errors()[0].get('msg')}") from exc
        for rule in rules:
            state.faults.add(rule)
        return list_faults()

    @app.delete("/_emulator/faults", tags=["admin"])
    def clear_faults() -> dict[str, Any]:
        state.faults.clear()
        return {"rules": []}

    @app.post("/_emulator/reset", tags=["admin"])
    def reset(drop_indexes: bool = False) -> dict[str, Any]:
        state.reset(drop_indexes=drop_indexes)
        return {"reset": True}

    @app.get("/_emulator/time", tags=["admin"])
    def get_time() -> dict[str, Any]:
        clock = state.clock
        return {"now": clock.now(), "time_scale": clock.time_scale, "paused": clock.paused}

    @app.post("/_emulator/time", tags=["admin"])
    def set_time(body: TimeBody) -> dict[str, Any]:
        if body.time_scale is not None:
            state.clock.set_time_scale(body.time_scale)
        if body.paused is not None:
            state.clock.pause(body.paused)
        if body.advance_seconds:
            state.clock.advance(body.advance_seconds)
        return get_time()

    @app.get("/_emulator/requests", tags=["admin"])
    def requests_seen(operation: str | None = None) -> dict[str, Any]:
        items = [r for r in list(recent) if operation is None or r["operation"] == operation]
        return {"requests": items}

    @app.delete("/_emulator/requests", tags=["admin"])
    def forget_requests() -> dict[str, Any]:
        recent.clear()
        return {"requests": []}

    return app


def _check_import_id(import_id: str) -> None:
    if not 1 <= len(import_id) <= 1000:
        raise StoreError("Import id must be 1 to 1000 characters long")
