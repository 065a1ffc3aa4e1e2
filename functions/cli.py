"""``autoimport``: the operator CLI (validate, start, list, describe, cancel, watch; plus emulator and demo).

Exit codes: 0 success / valid / import completed; 1 invalid drop or an import that failed or was cancelled;
2 usage, configuration or infrastructure error (unreachable storage or Pinecone, bad credentials).
Every failure is one line on stderr saying what to fix; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from functions.errors import AutoImportError, RetryableError
from functions.models.imports import ErrorMode, ImportModel, ImportStatus
from functions.models.report import Severity, ValidationOptions, ValidationReport
from functions.settings import DEFAULT_API_VERSION, DEFAULT_MARKER_NAME, SUPPORTED_API_VERSIONS

if TYPE_CHECKING:
    from functions.integrations.pinecone import PineconeClient

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2

app = typer.Typer(
    name="autoimport",
    help="Validate, start and follow Pinecone bulk imports from S3 (or local) drops.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _stdout() -> Console:
    """A console per use, so width and colour follow the environment of the current run."""
    return Console(highlight=False)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


class _State:
    debug: bool = False


_state = _State()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")] = False,
) -> None:
    _state.debug = debug


def _fail(message: str, *, hint: str | None = None, code: int = EXIT_ERROR) -> NoReturn:
    _stderr().print(f"[bold red]error:[/] {message}", soft_wrap=True)
    if hint:
        _stderr().print(f"[dim]hint:[/] {hint}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn our exceptions into one readable line; anything else too, unless --debug."""
    try:
        yield
    except typer.Exit:
        raise
    except AutoImportError as exc:
        if _state.debug:
            _stderr().print_exception()
        suffix = " (transient: try again shortly)" if isinstance(exc, RetryableError) else ""
        _fail(f"{exc.message}{suffix}", hint=exc.hint)
    except KeyboardInterrupt:
        _fail("interrupted", code=130)
    except Exception as exc:
        if _state.debug:
            _stderr().print_exception()
        _fail(f"unexpected {type(exc).__name__}: {exc}", hint="run again with --debug for the traceback")


# --- shared options -------------------------------------------------------------------------------

IndexHostOpt = Annotated[
    str | None,
    typer.Option(
        "--index-host", envvar="PINECONE_INDEX_HOST", help="Index host (data plane URL) of the target index."
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="PINECONE_API_KEY",
        help="Pinecone API key (prefer the PINECONE_API_KEY variable: flags land in shell history).",
        show_default=False,
    ),
]
ApiVersionOpt = Annotated[
    str,
    typer.Option("--api-version", envvar="PINECONE_API_VERSION", help="X-Pinecone-Api-Version to send."),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        help="S3-compatible endpoint (e.g. a local moto or MinIO server).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _client(index_host: str | None, api_key: str | None, api_version: str) -> PineconeClient:
    from functions.integrations.pinecone import PineconeClient

    if not index_host:
        _fail(
            "no index host given",
            hint="pass --index-host or set PINECONE_INDEX_HOST (the index's host from the Pinecone console)",
        )
    if not api_key:
        _fail(
            "no API key given",
            hint="export PINECONE_API_KEY=<your key> (from the Pinecone console, API keys)",
        )
    if api_version not in SUPPORTED_API_VERSIONS:
        _fail(
            f"API version {api_version!r} has no bulk import",
            hint=f"use one of {', '.join(SUPPORTED_API_VERSIONS)}",
        )
    return PineconeClient(host=index_host, api_key=api_key, api_version=api_version)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# --- validate -------------------------------------------------------------------------------------


def _run_validation(
    uri: str,
    *,
    endpoint_url: str | None,
    options: ValidationOptions,
    client: PineconeClient | None,
    dimension: int | None,
) -> ValidationReport:
    from functions.integrations.storage import open_storage
    from functions.logic.validation import validate_drop

    index = client.describe_index_stats() if client is not None else None
    storage = open_storage(uri, endpoint_url=endpoint_url)
    with _stderr().status(f"validating {uri} …", spinner="dots"):
        return validate_drop(uri, storage=storage, options=options, index=index, dimension=dimension)


_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "dim"}


def render_report(report: ValidationReport, console: Console | None = None) -> None:
    """Human output: a summary of namespaces, then the problems grouped by file."""
    console = console or _stdout()
    verdict = "[bold green]VALID[/]" if report.valid else "[bold red]INVALID[/]"
    console.print(f"{verdict}  {report.uri}")
    ns_table = Table(title="Namespaces", title_justify="left", show_edge=False)
    for col in ("namespace", "files", "rows", "bytes"):
        ns_table.add_column(col, justify="left" if col == "namespace" else "right")
    for name, totals in sorted(report.namespaces.items()):
        ns_table.add_row(name, f"{totals.files:,}", f"{totals.rows:,}", _human_bytes(totals.bytes))
    ns_table.add_row(
        "[bold]total[/]",
        f"{report.totals.files:,}",
        f"{report.totals.rows:,}",
        _human_bytes(report.totals.bytes),
    )
    console.print(ns_table)
    if report.problems:
        by_file: dict[str, list[Any]] = {}
        for problem in report.problems:
            by_file.setdefault(problem.file or "(drop)", []).append(problem)
        table = Table(title="Problems", title_justify="left", show_edge=False, expand=False)
        table.add_column("file", no_wrap=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("code", no_wrap=True)
        table.add_column("where", no_wrap=True)
        table.add_column("message / what to do", overflow="fold", min_width=30)
        for file, problems in by_file.items():
            for i, p in enumerate(problems):
                where = ", ".join(
                    part
                    for part in (
                        f"row {p.row}" if p.row is not None else "",
                        f"col {p.column}" if p.column else "",
                    )
                    if part
                )
                text = p.message + (f"\n[dim]→ {p.hint}[/]" if p.hint else "")
                style = _SEVERITY_STYLE.get(p.severity, "")
                table.add_row(file if i == 0 else "", f"[{style}]{p.severity.value}[/]", p.code, where, text)
        console.print(table)
    errors, warnings = len(report.errors), len(report.warnings)
    console.print(
        f"{errors} error(s), {warnings} warning(s); read {_human_bytes(report.bytes_read)} "
        f"in {report.duration_s:.2f}s"
    )


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover - loop always returns


@app.command()
def validate(
    uri: Annotated[str, typer.Argument(help="Drop to check: s3://bucket/prefix/ or a local directory.")],
    index_host: IndexHostOpt = None,
    dimension: Annotated[
        int | None, typer.Option("--dimension", min=1, max=20_000, help="Expected vector dimension.")
    ] = None,
    api_key: ApiKeyOpt = None,
    api_version: ApiVersionOpt = DEFAULT_API_VERSION,
    endpoint_url: EndpointOpt = None,
    marker: Annotated[str, typer.Option("--marker", help="Marker/manifest file name.")] = DEFAULT_MARKER_NAME,
    sample_rows: Annotated[int, typer.Option("--sample-rows", min=0, help="Rows checked per file.")] = 64,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256)] = 32,
    allow_extra_columns: Annotated[
        bool,
        typer.Option("--allow-extra-columns", help="Report extra Parquet columns as warnings, not errors."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a drop before importing it. Exit 0 valid, 1 invalid, 2 could not check."""
    with _user_errors():
        options = ValidationOptions(
            marker_name=marker,
            sample_rows=sample_rows,
            concurrency=concurrency,
            extra_columns_are_errors=not allow_extra_columns,
        )
        client = _client(index_host, api_key, api_version) if index_host else None
        report = _run_validation(
            uri, endpoint_url=endpoint_url, options=options, client=client, dimension=dimension
        )
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        render_report(report)
    raise typer.Exit(EXIT_OK if report.valid else EXIT_INVALID)


# --- start / list / describe / cancel / watch -----------------------------------------------------


@app.command()
def start(
    uri: Annotated[
        str, typer.Argument(help="Drop to import: s3://bucket/prefix/ (the parent of namespace folders).")
    ],
    index_host: IndexHostOpt = None,
    error_mode: Annotated[
        ErrorMode,
        typer.Option("--error-mode", case_sensitive=False, help="abort: stop at the first bad record."),
    ] = ErrorMode.ABORT,
    integration_id: Annotated[
        str | None,
        typer.Option(
            "--integration-id", envvar="PINECONE_INTEGRATION_ID", help="Pinecone storage integration id."
        ),
    ] = None,
    no_validate: Annotated[
        bool, typer.Option("--no-validate", help="Skip the pre-flight validation.")
    ] = False,
    api_key: ApiKeyOpt = None,
    api_version: ApiVersionOpt = DEFAULT_API_VERSION,
    endpoint_url: EndpointOpt = None,
    watch_after: Annotated[bool, typer.Option("--watch", help="Follow the import until it ends.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate a drop, then start a Pinecone bulk import of it (errorMode is always sent explicitly)."""
    with _user_errors():
        client = _client(index_host, api_key, api_version)
        if not no_validate:
            report = _run_validation(
                uri, endpoint_url=endpoint_url, options=ValidationOptions(), client=client, dimension=None
            )
            if not report.valid:
                render_report(report, console=_stderr())
                _fail(
                    f"not starting: the drop has {len(report.errors)} error(s)",
                    hint="fix them, or pass --no-validate to import anyway",
                    code=EXIT_INVALID,
                )
        started = client.start_import(uri, error_mode=error_mode, integration_id=integration_id)
    if as_json:
        _print_json({"id": started.id, "uri": uri, "errorMode": error_mode.value})
    else:
        _stdout().print(f"started import [bold]{started.id}[/] of {uri} (errorMode={error_mode.value})")
    if watch_after:
        _watch(client, started.id, interval=15.0, timeout=None)


def _import_row(model: ImportModel) -> tuple[str, ...]:
    pct = f"{model.percent_complete:.1f}%" if model.percent_complete is not None else "-"
    recs = f"{model.records_imported:,}" if model.records_imported is not None else "-"
    return (model.id, model.status, pct, recs, model.created_at or "-", model.uri, model.error or "")


@app.command("list")
def list_(
    index_host: IndexHostOpt = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100, help="Page size (all pages are listed).")
    ] = 100,
    api_key: ApiKeyOpt = None,
    api_version: ApiVersionOpt = DEFAULT_API_VERSION,
    as_json: JsonOpt = False,
) -> None:
    """List recent and running imports on the index (every page, newest first)."""
    with _user_errors():
        client = _client(index_host, api_key, api_version)
        imports = list(client.list_imports(limit=limit))
    if as_json:
        _print_json([m.to_wire() for m in imports])
        return
    table = Table(show_edge=False)
    for col in ("id", "status", "percent", "records", "created", "uri", "error"):
        table.add_column(col, overflow="fold")
    for model in imports:
        table.add_row(*_import_row(model))
    _stdout().print(table)
    _stdout().print(f"{len(imports)} import(s)")


@app.command()
def describe(
    import_id: Annotated[str, typer.Argument(metavar="ID", help="Import id.")],
    index_host: IndexHostOpt = None,
    api_key: ApiKeyOpt = None,
    api_version: ApiVersionOpt = DEFAULT_API_VERSION,
    as_json: JsonOpt = False,
) -> None:
    """Show one import."""
    with _user_errors():
        model = _client(index_host, api_key, api_version).describe_import(import_id)
    if as_json:
        _print_json(model.to_wire())
        return
    for key, value in model.to_wire().items():
        _stdout().print(f"[bold]{key:>17}[/]  {value}")


@app.command()
def cancel(
    import_id: Annotated[str, typer.Argument(metavar="ID", help="Import id.")],
    index_host: IndexHostOpt = None,
    api_key: ApiKeyOpt = None,
    api_version: ApiVersionOpt = DEFAULT_API_VERSION,
) -> None:
    """Cancel a running import (records already imported stay). No effect on a finished import."""
    with _user_errors():
        client = _client(index_host, api_key, api_version)
        client.cancel_import(import_id)
        model = client.describe_import(import_id)
    _stdout().print(f"import {model.id}: {model.status}")


def estimate_eta_s(first: tuple[float, float] | None, latest: tuple[float, float]) -> float | None:
    """Seconds left, from two (time, percent) observations; None when there is no progress to go on."""
    if first is None:
        return None
    (t0, p0), (t1, p1) = first, latest
    if p1 >= 100.0:
        return 0.0
    if p1 <= p0 or t1 <= t0:
        return None
    rate = (p1 - p0) / (t1 - t0)
    return (100.0 - p1) / rate


def _watch(
    client: PineconeClient,
    import_id: str,
    *,
    interval: float,
    timeout: float | None,
    sleep: Callable[[float], None] = time.sleep,
) -> NoReturn:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    started = time.monotonic()
    first: tuple[float, float] | None = None
    model: ImportModel | None = None
    with Progress(
        TextColumn("[bold]{task.fields[status]:<10}[/]"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[records]} records"),
        TextColumn("ETA {task.fields[eta]}"),
        TimeElapsedColumn(),
        console=_stderr(),
        transient=False,
    ) as progress:
        task = progress.add_task("import", total=100.0, status="…", records="-", eta="-")
        with _user_errors():
            while True:
                model = client.describe_import(import_id)
                now = time.monotonic()
                pct = model.percent_complete or 0.0
                if first is None and pct > 0:
                    first = (now, pct)
                eta = estimate_eta_s(first, (now, pct))
                if model.status == ImportStatus.IN_PROGRESS and pct >= 100.0:
                    eta_text = "indexing"
                else:
                    eta_text = f"{eta:,.0f}s" if eta is not None else "-"
                progress.update(
                    task,
                    completed=pct,
                    status=model.status,
                    records=f"{model.records_imported or 0:,}",
                    eta=eta_text,
                )
                if model.is_terminal:
                    break
                if timeout is not None and now - started > timeout:
                    progress.stop()
                    _fail(
                        f"import {import_id} still {model.status} after {timeout:.0f}s",
                        hint="run `autoimport watch` again, or `autoimport cancel` it",
                    )
                sleep(interval)
    assert model is not None
    if model.status == ImportStatus.COMPLETED:
        _stdout().print(
            f"[bold green]Completed[/]: {model.records_imported or 0:,} records imported ({model.id})"
        )
        raise typer.Exit(EXIT_OK)
    message = f"[bold red]{model.status}[/]: import {model.id}"
    if model.error:
        message += f": {model.error}"
    _stdout().print(message, soft_wrap=True)
    raise typer.Exit(EXIT_INVALID)


@app.command()
def watch(
    import_id: Annotated[str, typer.Argument(metavar="ID", help="Import id.")],
    index_host: IndexHostOpt = None,
    api_key: ApiKeyOpt = None,
    api_version: ApiVersionOpt = DEFAULT_API_VERSION,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between polls.")] = 15.0,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=1, help="Give up after this many seconds (exit 2).")
    ] = None,
) -> None:
    """Follow an import with a progress bar until it ends. Exit 0 Completed, 1 Failed/Cancelled."""
    with _user_errors():
        client = _client(index_host, api_key, api_version)
    _watch(client, import_id, interval=interval, timeout=timeout)


@app.command()
def history(
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            envvar="AUTOIMPORT_LEDGER_TABLE",
            help="The stack's ledger table (output LedgerTableName of the deployed stack).",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Most recent drops to show.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """What happened to recent drops: state, outcome, import id (from the pipeline's ledger)."""
    if not table:
        _fail(
            "no ledger table given",
            hint="pass --table or set AUTOIMPORT_LEDGER_TABLE (the deployed stack's ledger table name)",
        )
    with _user_errors():
        from functions.integrations.aws import DynamoLedger

        records = DynamoLedger(table).recent(limit=limit)
    if as_json:
        _print_json([r.model_dump(mode="json", exclude={"handle"}) for r in records])
        return
    view = Table(show_edge=False)
    for col in ("updated", "drop", "state", "outcome", "import", "route"):
        view.add_column(col, overflow="fold")
    for r in records:
        view.add_row(
            r.updated_at.isoformat(timespec="seconds"),
            r.uri,
            r.state.value,
            r.outcome.value if r.outcome else "-",
            r.import_id or "-",
            r.route,
        )
    _stdout().print(view)
    _stdout().print(f"{len(records)} drop(s)")


def _mount_local_commands() -> None:
    """`autoimport emulator` and `autoimport demo` live in local/ (the offline runtime); mount them if installed."""
    try:
        from local.cli import register
    except ImportError:
        return
    register(app)


_mount_local_commands()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
