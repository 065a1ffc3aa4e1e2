"""``autoimport emulator``: serve the offline Pinecone emulator in the foreground.

The project CLI mounts ``app`` (or calls ``serve``); ``python -m local.emulator.cli --help`` works on its own.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer
import uvicorn

from local.emulator.app import DATA_PREFIX, create_app
from local.emulator.faults import FaultRule
from local.emulator.source import S3Settings
from local.emulator.state import EmulatorConfig, EmulatorState
from local.emulator.store import StoreError

app = typer.Typer(
    help="Offline Pinecone emulator (bulk import, vectors, control plane).", add_completion=False
)


def serve(
    host: str = "127.0.0.1",
    port: int = 5080,
    s3_endpoint_url: str | None = None,
    api_key: str = "emulator-key",
    time_scale: float = 1.0,
    indexes: list[str] | None = None,
    *,
    fault_probability: float = 0.0,
    fault_status: int = 503,
    allow_extra_columns: bool = False,
) -> None:
    """Serve until interrupted. ``indexes`` are ``NAME:DIMENSION[:METRIC[:TYPE]]`` specs."""
    from local.emulator.server import parse_index_spec

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = EmulatorConfig(
        api_key=api_key,
        s3=S3Settings(
            endpoint_url=s3_endpoint_url,
            region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            access_key_id=os.environ.get("AWS_ACCESS_KEY_ID"),
            secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
        ),
        time_scale=time_scale,
        allow_extra_columns=allow_extra_columns,
    )
    state = EmulatorState(config)
    for spec in indexes or []:
        state.add_index(parse_index_spec(spec))
    if fault_probability > 0:
        state.faults.add(FaultRule(operation="*", status=fault_status, probability=fault_probability))
    url = f"http://{host}:{port}"
    hosts = (
        ", ".join(f"{name}={url}{DATA_PREFIX}/{name}" for name in sorted(state.indexes)) or "(no indexes yet)"
    )
    print(f"Pinecone emulator: control plane {url}  index hosts: {hosts}", flush=True)
    try:
        uvicorn.run(create_app(state), host=host, port=port, log_level="warning", access_log=False)
    finally:
        state.shutdown()


@app.callback(invoke_without_command=True)
def main(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the control plane and every index host.")] = 5080,
    s3_endpoint_url: Annotated[
        str | None,
        typer.Option(help="S3-compatible endpoint to read s3:// drops from (e.g. the moto server)."),
    ] = None,
    api_key: Annotated[
        str, typer.Option(envvar="PINECONE_API_KEY", help="The Api-Key clients must send.")
    ] = ("emulator-key"),
    time_scale: Annotated[
        float,
        typer.Option(help="Multiplies realistic durations: 1 = realistic (>10 min/import), 0.01 = fast."),
    ] = 1.0,
    index: Annotated[
        list[str] | None, typer.Option(help="NAME:DIMENSION[:METRIC[:TYPE]], repeatable.", show_default=False)
    ] = None,
    fault_probability: Annotated[
        float, typer.Option(help="Probability that any API request fails with --fault-status.")
    ] = 0.0,
    fault_status: Annotated[
        int, typer.Option(help="Status of the random faults (429 adds Retry-After).")
    ] = 503,
    allow_extra_columns: Annotated[
        bool, typer.Option(help="Ignore extra Parquet columns instead of failing the import.")
    ] = False,
) -> None:
    """Serve the emulator until Ctrl-C (mount with ``cli.add_typer(app, name="emulator")`` or call ``main``)."""
    try:
        serve(
            host,
            port,
            s3_endpoint_url,
            api_key,
            time_scale,
            index or [],
            fault_probability=fault_probability,
            fault_status=fault_status,
            allow_extra_columns=allow_extra_columns,
        )
    except (ValueError, StoreError) as exc:
        typer.echo(f"emulator: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    app()
