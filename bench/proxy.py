"""A TCP proxy that adds a fixed delay before every HTTP request it forwards (models S3's first-byte latency).

It runs in its own process (``python -m bench.proxy``) so its work never competes with the measured code for the
GIL. A "request" is the first chunk the client sends after the upstream last answered on that connection (or on a
new connection): boto3's GETs are one chunk each, so every GET pays the delay once, however many keep-alive
requests share a connection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from types import TracebackType

CHUNK = 256 * 1024
START_TIMEOUT_S = 15.0


async def _pump_requests(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float, answered: asyncio.Event
) -> None:
    new_request = True
    while True:
        data = await reader.read(CHUNK)
        if not data:
            break
        if new_request or answered.is_set():
            answered.clear()
            await asyncio.sleep(delay_s)
        new_request = False
        writer.write(data)
        await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()


async def _pump_responses(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answered: asyncio.Event
) -> None:
    while True:
        data = await reader.read(CHUNK)
        if not data:
            break
        answered.set()
        writer.write(data)
        await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()


async def _serve(listen_port: int, upstream_host: str, upstream_port: int, delay_s: float) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(upstream_host, upstream_port)
        except OSError:
            client_writer.close()
            return
        answered = asyncio.Event()
        tasks = [
            asyncio.create_task(_pump_requests(client_reader, up_writer, delay_s, answered)),
            asyncio.create_task(_pump_responses(up_reader, client_writer, answered)),
        ]
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await asyncio.gather(*tasks)
        for w in (client_writer, up_writer):
            with contextlib.suppress(OSError):
                w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=512)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a child process, then kill it if it does not exit within 10 s (bounded)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # bounded by the deadline
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


class LatencyProxy:
    """``with LatencyProxy(upstream_port=moto_port, delay_ms=20) as proxy: proxy.url``"""

    def __init__(self, *, upstream_port: int, delay_ms: float, upstream_host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.delay_ms = delay_ms
        self._cmd = [
            sys.executable,
            "-m",
            "bench.proxy",
            "--listen-port",
            str(self.port),
            "--upstream",
            f"{upstream_host}:{upstream_port}",
            "--delay-ms",
            str(delay_ms),
        ]
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LatencyProxy:
        self._proc = subprocess.Popen(self._cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            stop_process(self._proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen-port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="HOST:PORT")
    parser.add_argument("--delay-ms", type=float, default=20.0)
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.listen_port, host, int(port), args.delay_ms / 1000.0))


if __name__ == "__main__":
    main()
