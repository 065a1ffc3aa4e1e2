"""The emulator's wire format, checked against Pinecone's official 2025-10 data-plane contract (a copy in the repo)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from local.emulator.server import EmulatorServer
from tests.fixtures.emulator import API_KEY, dense_table, parquet_bytes, unit_vector, write_local_drop

CONTRACT = Path(__file__).resolve().parents[2] / "local" / "emulator" / "contracts" / "db_data_2025-10.yaml"
CONTRACT_URI = "urn:pinecone:db-data-2025-10"
PINECONE_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
DIM = 4


@cache
def _contract() -> dict[str, Any]:
    return yaml.safe_load(CONTRACT.read_text())


def _validator(schema: dict[str, Any]) -> Any:
    registry: Registry[Any] = Registry().with_resource(CONTRACT_URI, DRAFT4.create_resource(_contract()))
    if "$ref" in schema:
        schema = {"$ref": CONTRACT_URI + schema["$ref"]}
    return OAS30Validator(schema, registry=registry)


def check_response(response: httpx.Response, path: str, method: str) -> Any:
    """Validate the body against the contract's schema for this operation and status; return the body."""
    responses = _contract()["paths"][path][method]["responses"]
    status = str(response.status_code)
    documented = responses.get(status) or responses.get(f"{status[0]}XX")
    assert documented is not None, f"{method.upper()} {path} -> {status} is not in the contract"
    body = response.json()
    _validator(documented["content"]["application/json"]["schema"]).validate(body)
    return body


def check_request(body: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    """Our own requests follow the contract too (so the emulator is exercised with contract-shaped input)."""
    schema = _contract()["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    _validator(schema).validate(body)
    return body


def only_contract_fields(body: dict[str, Any], schema_name: str) -> None:
    properties = set(_contract()["components"]["schemas"][schema_name]["properties"])
    assert set(body) <= properties, f"fields outside {schema_name}: {set(body) - properties}"


@pytest.fixture
def http(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    emulator.create_index("contract", dimension=DIM)
    base = emulator.index_host("contract")
    headers = {"Api-Key": API_KEY, "X-Pinecone-Api-Version": "2025-10"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        yield client


def _wait_terminal(
    http: httpx.Client, import_id: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    for _ in range(400):
        body = http.get(f"/bulk/imports/{import_id}", headers=headers or {}).json()
        if body["status"] in ("Completed", "Failed", "Cancelled"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"import {import_id} did not finish")


def test_bulk_operations_follow_the_contract(http: httpx.Client, tmp_path: Path) -> None:
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(dense_table(["a", "b"], DIM))})
    request = check_request({"uri": uri, "errorMode": {"onError": "continue"}}, "/bulk/imports", "post")

    started = http.post("/bulk/imports", json=request)
    second = http.post(
        "/bulk/imports", json=check_request({"uri": uri + "/nothing"}, "/bulk/imports", "post")
    )

    assert started.status_code == 200
    import_id = check_response(started, "/bulk/imports", "post")["id"]
    assert int(second.json()["id"]) > int(import_id)
    described = check_response(http.get(f"/bulk/imports/{import_id}"), "/bulk/imports/{id}", "get")
    only_contract_fields(described, "ImportModel")
    for field in ("id", "uri", "status", "createdAt", "percentComplete", "recordsImported"):
        assert field in described
    assert described["uri"] == uri
    assert PINECONE_TIMESTAMP.match(described["createdAt"])

    first_page = check_response(http.get("/bulk/imports", params={"limit": 1}), "/bulk/imports", "get")
    last_page = check_response(
        http.get("/bulk/imports", params={"limit": 1, "paginationToken": first_page["pagination"]["next"]}),
        "/bulk/imports",
        "get",
    )
    assert [m["id"] for m in first_page["data"]] == [second.json()["id"]]
    assert [m["id"] for m in last_page["data"]] == [import_id]
    assert "pagination" not in last_page
    assert "pagination" not in check_response(http.get("/bulk/imports"), "/bulk/imports", "get")

    finished = _wait_terminal(http, import_id)
    assert finished["status"] == "Completed"
    assert PINECONE_TIMESTAMP.match(finished["finishedAt"])
    assert "validationResult" not in finished  # only API 2026-07 has it
    cancelled = http.delete(f"/bulk/imports/{import_id}")
    assert cancelled.status_code == 200
    assert check_response(cancelled, "/bulk/imports/{id}", "delete") == {}
    assert http.get(f"/bulk/imports/{import_id}").json()["status"] == "Completed"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "message"),
    [
        ("get", "/bulk/imports/424242", {}, 404, "Import 424242 not found"),
        ("delete", "/bulk/imports/424242", {}, 404, "Import 424242 not found"),
        ("get", "/bulk/imports", {"params": {"limit": 0}}, 400, "limit must be between 1 and 100"),
        ("get", "/bulk/imports", {"params": {"limit": 101}}, 400, "limit must be between 1 and 100"),
        ("get", "/bulk/imports", {"params": {"paginationToken": "%%%"}}, 400, "Invalid pagination token"),
        ("post", "/bulk/imports", {"json": {"uri": ""}}, 400, "uri"),
        ("post", "/bulk/imports", {"json": {}}, 400, "uri"),
        (
            "post",
            "/bulk/imports",
            {"json": {"uri": "s3://b/p", "errorMode": {"onError": "skip"}}},
            400,
            "onError",
        ),
        (
            "post",
            "/bulk/imports",
            {"json": {"uri": "ftp://host/dir"}},
            400,
            "Bulk import URIs must start with the scheme of a supported storage provider",
        ),
    ],
)
def test_bad_requests_get_rpc_status_bodies(
    http: httpx.Client, method: str, path: str, kwargs: dict[str, Any], status: int, message: str
) -> None:
    response = http.request(method.upper(), path, **kwargs)
    assert response.status_code == status
    template = "/bulk/imports/{id}" if path.count("/") == 3 else path
    body = check_response(response, template, method)
    assert body["code"] == (5 if status == 404 else 3)
    assert message in body["message"]
    assert body["details"] == []


def test_vector_operations_follow_the_contract(http: httpx.Client) -> None:
    vectors = [{"id": f"v{i}", "values": unit_vector(i, DIM), "metadata": {"i": i}} for i in range(3)]
    upserted = http.post(
        "/vectors/upsert",
        json=check_request({"vectors": vectors, "namespace": "n1"}, "/vectors/upsert", "post"),
    )
    assert check_response(upserted, "/vectors/upsert", "post") == {"upsertedCount": 3}

    stats = check_response(http.post("/describe_index_stats", json={}), "/describe_index_stats", "post")
    assert stats["namespaces"] == {"n1": {"vectorCount": 3}}
    assert stats["dimension"] == DIM
    assert stats["totalVectorCount"] == 3
    only_contract_fields(stats, "IndexDescription")

    fetched = check_response(
        http.get("/vectors/fetch", params=[("ids", "v1"), ("ids", "nope"), ("namespace", "n1")]),
        "/vectors/fetch",
        "get",
    )
    assert list(fetched["vectors"]) == ["v1"]

    first = check_response(
        http.get("/vectors/list", params={"namespace": "n1", "limit": 2}), "/vectors/list", "get"
    )
    rest = check_response(
        http.get("/vectors/list", params={"namespace": "n1", "paginationToken": first["pagination"]["next"]}),
        "/vectors/list",
        "get",
    )
    assert [v["id"] for v in first["vectors"] + rest["vectors"]] == ["v0", "v1", "v2"]
    assert "pagination" not in rest

    query = check_request(
        {"namespace": "n1", "topK": 2, "vector": unit_vector(2, DIM), "includeMetadata": True},
        "/query",
        "post",
    )
    matched = check_response(http.post("/query", json=query), "/query", "post")
    assert matched["matches"][0]["id"] == "v2"
    assert matched["matches"][0]["metadata"] == {"i": 2}
    by_filter = http.post("/query", json={**query, "filter": {"i": {"$lt": 1}}}).json()
    assert [m["id"] for m in by_filter["matches"]] == ["v0"]

    bad = http.post("/vectors/upsert", json={"vectors": [{"id": "x", "values": [1.0]}], "namespace": "n1"})
    assert bad.status_code == 400
    assert check_response(bad, "/vectors/upsert", "post")["message"] == (
        f"Vector dimension 1 does not match the dimension of the index {DIM}"
    )

    deleted = http.post(
        "/vectors/delete", json=check_request({"ids": ["v0"], "namespace": "n1"}, "/vectors/delete", "post")
    )
    assert check_response(deleted, "/vectors/delete", "post") == {}
    assert http.get("/describe_index_stats").json()["namespaces"] == {"n1": {"vectorCount": 2}}


def test_auth_is_required_and_the_key_is_never_logged(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.create_index("locked", dimension=DIM)
    url = emulator.index_host("locked") + "/bulk/imports"
    caplog.set_level(logging.INFO, logger="autoimport.emulator")

    missing = httpx.get(url, timeout=10)
    wrong = httpx.get(url, headers={"Api-Key": "not-it"}, timeout=10)
    right = httpx.get(url, headers={"api-key": API_KEY}, timeout=10)  # header names are case-insensitive

    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.text == "Unauthorized"
        assert response.headers["content-type"].startswith("text/plain")
    assert right.status_code == 200
    assert right.json() == {"data": []}
    assert "GET /index/locked/bulk/imports -> 200" in caplog.text
    assert API_KEY not in caplog.text


def test_api_versions_shape_the_answers(emulator: EmulatorServer, tmp_path: Path) -> None:
    emulator.create_index("versions", dimension=DIM, metric="dotproduct")
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(dense_table(["a", "b"], DIM))})
    with emulator.client() as client:  # API 2026-07
        import_id = client.post("/index/versions/bulk/imports", json={"uri": uri}).json()["id"]
        new_index = client.get("/indexes/versions").json()
        old_index = client.get("/indexes/versions", headers={"X-Pinecone-Api-Version": "2025-10"}).json()
        too_old = client.get("/index/versions/bulk/imports", headers={"X-Pinecone-Api-Version": "2024-07"})
        for version in ("2024-10", "2025-01", "2025-04", "2026-01.alpha", "2026-04"):
            ok = client.get("/index/versions/bulk/imports", headers={"X-Pinecone-Api-Version": version})
            assert ok.status_code == 200, version
        host = emulator.index_host("versions")
        finished = _wait_terminal(httpx.Client(base_url=host, headers=dict(client.headers)), import_id)
        legacy = client.get(
            f"/index/versions/bulk/imports/{import_id}", headers={"X-Pinecone-Api-Version": "2025-10"}
        ).json()

    assert new_index["host"] == host
    assert host.startswith("http://")
    assert new_index["schema"]["fields"]["_values"] == {
        "type": "dense_vector",
        "dimension": DIM,
        "metric": "dotproduct",
    }
    assert new_index["deployment"] == {"deployment_type": "managed", "cloud": "aws", "region": "us-east-1"}
    assert "dimension" not in new_index
    assert (old_index["dimension"], old_index["metric"]) == (DIM, "dotproduct")
    assert old_index["spec"] == {"serverless": {"cloud": "aws", "region": "us-east-1"}}
    assert "schema" not in old_index
    assert too_old.status_code == 400
    assert too_old.json()["code"] == 3
    assert finished["validationResult"] == {"importSuccesses": 2, "importErrors": 0}
    assert "validationResult" not in legacy


def test_emulator_publishes_its_own_openapi(emulator: EmulatorServer) -> None:
    spec = httpx.get(emulator.url + "/openapi.json", timeout=10).json()
    assert "/index/{index_name}/bulk/imports" in spec["paths"]
    assert "/_emulator/faults" in spec["paths"]
