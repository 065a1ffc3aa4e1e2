"""Start one import per drop, safely: validate, start, record, hand over to the state machine.

Crash safety: the ledger record is claimed first; the import id (with the whole handle) is stored right after
Pinecone accepts the import; the execution name is derived from the drop id. A redelivered event therefore
resumes where the previous attempt died: it reuses the recorded import, or finds an import of the same URI that
Pinecone accepted just before a crash, and never starts a second import.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from functions.errors import DropInProgress, TerminalError
from functions.logic import polling
from functions.logic.drop import execution_name, report_key
from functions.logic.finalize import finalize
from functions.logic.ports import (
    Ledger,
    ManifestReader,
    Notifier,
    PineconeApi,
    ReportWriter,
    Validator,
    Workflow,
)
from functions.logic.routing import RoutedDrop
from functions.models.handle import (
    Action,
    DropRef,
    ImportHandle,
    LedgerRecord,
    LedgerState,
    Outcome,
    PipelineErrorInfo,
)
from functions.models.imports import ErrorMode, ImportModel, ImportStatus, IndexStats
from functions.models.report import ValidationReport
from functions.observability import logger
from functions.settings import REPORT_FILE_NAME, Route, Settings

RECENT_START_WINDOW = timedelta(minutes=15)
"""An import of the drop's URI created this long before the drop was claimed still counts as ours."""
LIST_PAGES_FOR_REUSE = 10
DEFAULT_START_LEASE = timedelta(minutes=15)
"""How long one delivery may take to validate and start a drop before another may take over (Lambda's maximum
run time; the handler passes its own remaining time instead)."""
START_STATE = "StartImport"
"""``failed_state`` of a pipeline error raised before the state machine existed."""


@dataclass(frozen=True)
class StartResult:
    outcome: str
    """``Started`` | ``Resumed`` | ``Rejected`` | ``PipelineError`` | ``AlreadyHandled``."""
    drop_id: str
    uri: str
    import_id: str | None = None
    execution_arn: str | None = None
    report_uri: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Collaborators:
    api: PineconeApi
    validate: Validator
    ledger: Ledger
    workflow: Workflow
    notifier: Notifier
    reports: ReportWriter
    manifest: ManifestReader | None = None


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _same_uri(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def find_started_import(api: PineconeApi, uri: str, *, since: datetime) -> ImportModel | None:
    """An import of this URI that is still running or was created around/after ``since``."""
    for model in api.list_imports(limit=100, max_pages=LIST_PAGES_FOR_REUSE):
        if not _same_uri(model.uri, uri):
            continue
        created = parse_time(model.created_at)
        if not model.is_terminal or (created is not None and created >= since - RECENT_START_WINDOW):
            return model
    return None


def new_handle(
    *,
    drop: DropRef,
    route: Route,
    import_id: str,
    report: ValidationReport | None,
    settings: Settings,
    now: datetime,
    adopted: bool = False,
    status: str = ImportStatus.PENDING,
    error_mode: ErrorMode | None = None,
) -> ImportHandle:
    return ImportHandle(
        import_id=import_id,
        index_host=route.index_host,
        index_name=route.index_name,
        route=route.name,
        drop=drop,
        error_mode=error_mode or route.error_mode,
        expected_rows=report.totals.rows if report else None,
        expected_namespaces={ns: t.rows for ns, t in report.namespaces.items()} if report else {},
        started_at=now,
        deadline_at=polling.deadline_for(now, route.poll),
        next_wait_s=polling.first_wait(route.poll, settings.poll_wait_scale),
        attempt=0,
        status=status,
        action=Action.WAIT,
        adopted=adopted,
    )


def error_mode_for(drop: DropRef, route: Route, manifest: ManifestReader | None) -> ErrorMode:
    """The drop's manifest may override the route's error mode; either way it is always explicit."""
    found = manifest(drop) if manifest is not None else None
    return found.error_mode if found is not None and found.error_mode is not None else route.error_mode


def problem_lines(report: ValidationReport) -> list[str]:
    lines = []
    for p in report.errors:
        where = ":".join(str(x) for x in (p.file, p.row) if x is not None)
        col = f" [{p.column}]" if p.column else ""
        lines.append(f"{where}{col}: {p.message}" if where else f"{p.message}{col}")
    return lines


def _reject(
    routed: RoutedDrop,
    drop: DropRef,
    report: ValidationReport,
    *,
    deps: Collaborators,
    settings: Settings,
    now: datetime,
) -> StartResult:
    body = json.dumps(report.model_dump(mode="json"), indent=2).encode()
    report_uri = deps.reports.write_json(drop.bucket, report_key(drop, REPORT_FILE_NAME), body)
    handle = ImportHandle(
        index_host=routed.route.index_host,
        index_name=routed.route.index_name,
        route=routed.route.name,
        drop=drop,
        error_mode=routed.route.error_mode,
        expected_rows=report.totals.rows,
        expected_namespaces={ns: t.rows for ns, t in report.namespaces.items()},
        started_at=now,
        deadline_at=now,
        action=Action.FINALIZE,
        outcome=Outcome.REJECTED,
        report_uri=report_uri,
    )
    finalize(
        handle, api=None, notifier=deps.notifier, ledger=deps.ledger, now=now, problems=problem_lines(report)
    )
    logger.info("drop rejected", extra={"drop_id": drop.drop_id, "problems": len(report.errors)})
    return StartResult(
        "Rejected", drop.drop_id, drop.uri, report_uri=report_uri, detail=f"{len(report.errors)} error(s)"
    )


def key_source(settings: Settings) -> str | None:
    """Where the API key comes from, for a refused key's hint (the secret's id; never the key)."""
    if settings.api_key_secret_id:
        return f"the Secrets Manager secret {settings.api_key_secret_id}"
    return "the PINECONE_API_KEY environment variable" if settings.api_key else None


def _give_up(
    routed: RoutedDrop,
    drop: DropRef,
    exc: TerminalError,
    *,
    deps: Collaborators,
    now: datetime,
    key_source: str | None = None,
) -> StartResult:
    handle = ImportHandle(
        index_host=routed.route.index_host,
        index_name=routed.route.index_name,
        route=routed.route.name,
        drop=drop,
        error_mode=routed.route.error_mode,
        started_at=now,
        deadline_at=now,
        action=Action.FINALIZE,
        pipeline_error=PipelineErrorInfo(error=type(exc).__name__, cause=exc.message),
        failed_state=START_STATE,
    )
    finalize(handle, api=None, notifier=deps.notifier, ledger=deps.ledger, now=now, key_source=key_source)
    logger.warning("drop not started", extra={"drop_id": drop.drop_id, "error": exc.to_dict()})
    return StartResult("PipelineError", drop.drop_id, drop.uri, detail=f"{type(exc).__name__}: {exc.message}")


def _hand_over(handle: ImportHandle, *, deps: Collaborators, now: datetime, resumed: bool) -> StartResult:
    assert handle.import_id is not None
    arn = deps.workflow.start(execution_name(handle.route, handle.drop.drop_id), handle.to_event())
    deps.ledger.mark(handle.drop.drop_id, state=LedgerState.TRACKING, now=now, execution_arn=arn)
    return StartResult(
        "Resumed" if resumed else "Started", handle.drop.drop_id, handle.drop.uri, handle.import_id, arn
    )


def start_drop(
    routed: RoutedDrop,
    drop: DropRef,
    *,
    deps: Collaborators,
    settings: Settings,
    now: datetime,
    lease: timedelta = DEFAULT_START_LEASE,
) -> StartResult:
    """Validate the drop and start its import exactly once; safe to call again, even concurrently.

    Deliveries of one drop take a lease on its ledger record before they may start anything: a concurrent
    delivery gets :class:`DropInProgress` (retryable) instead of a second import. A delivery that fails gives
    the lease back at once; one that dies holds it until ``lease`` runs out, like Powertools Idempotency's
    in-progress records.
    """
    record, created = deps.ledger.claim(
        drop, route=routed.route.name, index_host=routed.route.index_host, now=now
    )
    if record.state in (LedgerState.REJECTED, LedgerState.CLOSED, LedgerState.TRACKING):
        logger.info("drop already handled", extra={"drop_id": drop.drop_id, "state": record.state.value})
        return StartResult(
            "AlreadyHandled",
            drop.drop_id,
            drop.uri,
            record.import_id,
            record.execution_arn,
            record.report_uri,
            detail=record.state.value,
        )
    if record.handle is not None:
        logger.info(
            "resuming a started import", extra={"drop_id": drop.drop_id, "import_id": record.import_id}
        )
        return _hand_over(record.handle, deps=deps, now=now, resumed=True)
    until = now + lease
    if not deps.ledger.take_lease(drop.drop_id, now=now, until=until):
        raise DropInProgress(
            f"drop {drop.drop_id} is being started by another delivery",
            hint="Nothing to do: this delivery is retried and then finds the import already started.",
        )
    try:
        return _start_leased(routed, drop, record, created, deps=deps, settings=settings, now=now)
    except BaseException:
        try:
            deps.ledger.release_lease(drop.drop_id, until=until)
        except Exception:  # the lease then simply runs out; never hide the original error
            logger.warning("could not release the start lease", extra={"drop_id": drop.drop_id})
        raise


def _start_leased(
    routed: RoutedDrop,
    drop: DropRef,
    record: LedgerRecord,
    created: bool,
    *,
    deps: Collaborators,
    settings: Settings,
    now: datetime,
) -> StartResult:
    route = routed.route
    existing = None if created else find_started_import(deps.api, drop.uri, since=record.claimed_at)
    if existing is not None:
        # A previous attempt died after Pinecone accepted the import: adopt it (validation only for the counts).
        logger.warning("found an import started by an earlier attempt", extra={"import_id": existing.id})
        report = deps.validate(drop, route, None)
        handle = new_handle(
            drop=drop,
            route=route,
            import_id=existing.id,
            report=report,
            settings=settings,
            now=now,
            error_mode=error_mode_for(drop, route, deps.manifest),
        )
        deps.ledger.record_import(handle, now=now)
        return _hand_over(handle, deps=deps, now=now, resumed=True)

    try:
        stats: IndexStats = deps.api.describe_index_stats()
        report = deps.validate(drop, route, stats)
        if not report.valid:
            return _reject(routed, drop, report, deps=deps, settings=settings, now=now)
        error_mode = error_mode_for(drop, route, deps.manifest)
        response = deps.api.start_import(drop.uri, error_mode=error_mode, integration_id=route.integration_id)
    except TerminalError as exc:
        # Nothing was started and retrying cannot help (bad key, wrong host, unreadable drop, refused request):
        # tell the operator now instead of letting the event retry into a dead-letter queue.
        return _give_up(routed, drop, exc, deps=deps, now=now, key_source=key_source(settings))
    logger.info(
        "import started",
        extra={"drop_id": drop.drop_id, "import_id": response.id, "error_mode": error_mode.value},
    )
    handle = new_handle(
        drop=drop,
        route=route,
        import_id=response.id,
        report=report,
        settings=settings,
        now=now,
        error_mode=error_mode,
    )
    deps.ledger.record_import(handle, now=now)
    return _hand_over(handle, deps=deps, now=now, resumed=False)
