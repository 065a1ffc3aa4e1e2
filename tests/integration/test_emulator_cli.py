"""`python -m local.emulator.cli` (what `autoimport emulator` mounts) serves indexes given on the command line."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from local.emulator.faults import FaultInjector, FaultRule
from local.emulator.server import free_port, parse_index_spec
from local.emulator.store import StoreError

REPO = Path(__file__).resolve().parents[2]


def test_cli_prints_the_urls_and_serves_the_indexes() -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "local.emulator.cli",
        "--port",
        str(port),
        "--api-key",
        "cli-key",
        "--time-scale",
        "0.001",
        "--index",
        "products:8",
        "--index",
        "tags:0:dotproduct:sparse",
    ]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                listed = httpx.get(
                    f"{url}/indexes",
                    headers={"Api-Key": "cli-key", "X-Pinecone-Api-Version": "2025-10"},
                    timeout=2,
                )
                break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise AssertionError("the emulator CLI never answered")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)

    assert first_line.startswith(f"Pinecone emulator: control plane {url}")
    assert f"products={url}/index/products" in first_line
    assert f"tags={url}/index/tags" in first_line
    by_name = {i["name"]: i for i in listed.json()["indexes"]}
    assert (by_name["products"]["dimension"], by_name["products"]["metric"]) == (8, "cosine")
    assert by_name["tags"]["vector_type"] == "sparse"
    assert "GET /indexes -> 200" in stderr
    assert "cli-key" not in stderr


def test_index_specs_are_parsed() -> None:
    spec = parse_index_spec("docs:1536:euclidean")
    assert (spec.name, spec.dimension, spec.metric, spec.vector_type) == ("docs", 1536, "euclidean", "dense")


@pytest.mark.parametrize("bad", ["docs", "docs:many", "Docs:8", "docs:8:hamming", "docs:0"])
def test_bad_index_specs_are_refused(bad: str) -> None:
    with pytest.raises((ValueError, StoreError)):
        parse_index_spec(bad)


def test_probabilistic_faults_fire_about_as_often_as_asked() -> None:
    injector = FaultInjector(seed=7)
    injector.add(FaultRule(operation="describe_import", status=503, probability=0.25))

    fired = [injector.pick("describe_import", "idx") for _ in range(400)]
    other = [injector.pick("start_import", "idx") for _ in range(50)]

    hits = [f for f in fired if f is not None]
    assert 60 <= len(hits) <= 140
    assert {f.status for f in hits} == {503}
    assert other == [None] * 50
