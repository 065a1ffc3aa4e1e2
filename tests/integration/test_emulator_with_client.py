"""The project's own Pinecone client (functions.integrations.pinecone) against the emulator: real HTTP both ways."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.integrations.pinecone import PineconeClient
from functions.integrations.retry import RetryPolicy
from functions.models.imports import ErrorMode
from local.emulator.server import EmulatorServer
from tests.fixtures.emulator import API_KEY, dense_table, parquet_bytes, write_local_drop

DIM = 4


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[PineconeClient]:
    emulator.create_index("ours", dimension=DIM)
    retry = RetryPolicy(base_delay_s=0.01, max_delay_s=0.05, max_elapsed_s=5)
    with PineconeClient(host=emulator.index_host("ours"), api_key=API_KEY, retry=retry) as pinecone:
        yield pinecone


def test_start_that_fails_after_being_accepted_yields_exactly_one_import(
    client: PineconeClient, emulator: EmulatorServer, tmp_path: Path
) -> None:
    uri = write_local_drop(tmp_path / "drop", {"ns/0.parquet": parquet_bytes(dense_table(["a", "b"], DIM))})
    emulator.inject(operation="start_import", action="accept_then_error", status=500, times=1)

    started = client.start_import(uri, error_mode=ErrorMode.CONTINUE)

    assert [m.id for m in client.list_imports()] == [started.id]
    for _ in range(400):
        model = client.describe_import(started.id)
        if model.is_terminal:
            break
        time.sleep(0.05)
    assert model.status == "Completed"
    assert model.records_imported == 2
    stats = client.describe_index_stats()
    assert stats.namespaces["ns"].vector_count == 2
    assert (stats.dimension, stats.metric, stats.is_sparse) == (DIM, "cosine", False)


def test_listing_follows_pages_and_cancel_ends_an_import(
    client: PineconeClient, emulator: EmulatorServer
) -> None:
    emulator.state.clock.pause()
    ids = [client.start_import(f"file:///nowhere/drop-{n}", error_mode=ErrorMode.ABORT).id for n in range(3)]

    pages = [client.list_imports_page(limit=2)]
    pages.append(client.list_imports_page(limit=2, pagination_token=pages[0].next_token))
    client.cancel_import(ids[1])

    assert [m.id for p in pages for m in p.data] == list(reversed(ids))
    assert pages[1].next_token is None
    assert client.describe_import(ids[1]).status == "Cancelled"
    assert client.describe_import(ids[0]).status == "Pending"
