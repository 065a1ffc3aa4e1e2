"""Run the emulator: in a background thread for tests (EmulatorServer) or in the foreground for the CLI."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any

import httpx
import uvicorn

from local.emulator.app import DATA_PREFIX, create_app
from local.emulator.faults import FaultRule
from local.emulator.source import S3Settings
from local.emulator.state import EmulatorConfig, EmulatorState
from local.emulator.store import Index

_START_TIMEOUT_SECONDS = 15.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def parse_index_spec(spec: str) -> Index:
    """``NAME:DIMENSION[:METRIC[:TYPE]]`` (a sparse index: ``NAME:0:dotproduct:sparse``)."""
    parts = spec.split(":")
    if not 2 <= len(parts) <= 4:
        raise ValueError(f"--index {spec!r}: use NAME:DIMENSION[:METRIC[:TYPE]], e.g. products:1536:cosine")
    name, dimension_text = parts[0], parts[1]
    metric = parts[2] if len(parts) > 2 and parts[2] else "cosine"
    vector_type = parts[3] if len(parts) > 3 and parts[3] else "dense"
    try:
        dimension = int(dimension_text)
    except ValueError as exc:
        raise ValueError(f"--index {spec!r}: DIMENSION must be a whole number") from exc
    return Index(
        name=name,
        dimension=dimension if vector_type == "dense" else None,
        metric=metric,
        vector_type=vector_type,
    )


class EmulatorServer:
    """The emulator on a loopback port, served by uvicorn in a daemon thread.

    >>> server = EmulatorServer(api_key="k", time_scale=0.001).start()
    >>> host = server.create_index("products", dimension=8)
    >>> server.stop()
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        api_key: str = "emulator-key",
        time_scale: float = 0.001,
        s3_endpoint_url: str | None = None,
        config: EmulatorConfig | None = None,
        indexes: Iterable[Index] = (),
    ) -> None:
        self.config = config or EmulatorConfig(
            api_key=api_key,
            time_scale=time_scale,
            s3=S3Settings(
                endpoint_url=s3_endpoint_url,
                region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                access_key_id=os.environ.get("AWS_ACCESS_KEY_ID"),
                secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
            ),
        )
        self.state = EmulatorState(self.config)
        for index in indexes:
            self.state.add_index(index)
        self.app = create_app(self.state)
        self.host = host
        self.port = port or free_port(host)
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host=host, port=self.port, log_level="warning", access_log=False)
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The control-plane URL (``Pinecone(host=server.url)``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        return self.config.api_key

    def index_host(self, name: str) -> str:
        """The data-plane host of an index (``pc.Index(host=server.index_host(name))``)."""
        return f"{self.url}{DATA_PREFIX}/{name}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._server.run, name=f"emulator-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The Pinecone emulator did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.state.shutdown()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- conveniences for tests (in-process; no HTTP) --------------------------------------------------------
    def create_index(
        self, name: str, dimension: int | None = 8, metric: str = "cosine", vector_type: str = "dense"
    ) -> str:
        """Create an index and return its host."""
        self.state.add_index(
            Index(
                name=name,
                dimension=dimension if vector_type == "dense" else None,
                metric=metric,
                vector_type=vector_type,
            )
        )
        return self.index_host(name)

    def reset(self, *, drop_indexes: bool = False, time_scale: float | None = None) -> None:
        """Forget imports, records and faults (and indexes if asked); restart the clock's normal pace."""
        self.state.reset(drop_indexes=drop_indexes)
        self.state.clock.pause(False)
        self.state.clock.set_time_scale(time_scale or self.config.time_scale)

    def inject(self, **rule: Any) -> None:
        """Add a fault rule, e.g. ``inject(operation="start_import", status=503, times=4)``."""
        self.state.faults.add(FaultRule.model_validate(rule))

    def advance(self, emulated_seconds: float) -> None:
        self.state.clock.advance(emulated_seconds)

    def client(self, **kwargs: Any) -> httpx.Client:
        """A plain httpx client with the key and the newest API version (for wire-level tests)."""
        headers = {"Api-Key": self.api_key, "X-Pinecone-Api-Version": "2026-07"}
        headers.update(kwargs.pop("headers", {}))
        return httpx.Client(base_url=self.url, headers=headers, timeout=kwargs.pop("timeout", 10), **kwargs)
