"""Every ending of a drop: reconcile the counts, notify once (SNS + EventBridge), close the ledger record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from functions.errors import AutoImportError
from functions.logic import messages, remediation
from functions.logic.ports import Ledger, Notifier, PineconeApi
from functions.models.handle import Action, ImportHandle, LedgerState, Outcome
from functions.models.imports import ErrorMode, ImportStatus, IndexStats
from functions.models.notification import NamespaceCount, Notification, Reconciliation
from functions.observability import logger

MAX_PROBLEMS_IN_MESSAGE = 20

_STATUS_OUTCOMES: dict[str, Outcome] = {
    ImportStatus.COMPLETED: Outcome.COMPLETED,
    ImportStatus.FAILED: Outcome.FAILED,
    ImportStatus.CANCELLED: Outcome.CANCELLED,
}


def outcome_of(handle: ImportHandle, now: datetime) -> Outcome:
    """The ending a handle describes: a pipeline error wins, then an outcome already decided, then the status."""
    if handle.pipeline_error is not None:
        return Outcome.PIPELINE_ERROR
    if handle.outcome is not None:
        return handle.outcome
    if handle.status in _STATUS_OUTCOMES:
        return _STATUS_OUTCOMES[handle.status]
    if now >= handle.deadline_at:
        return Outcome.TIMED_OUT
    return Outcome.PIPELINE_ERROR


def reconcile(
    *,
    expected_rows: int | None,
    expected_namespaces: Mapping[str, int],
    records_imported: int | None,
    stats: IndexStats | None,
    error_mode: ErrorMode = ErrorMode.ABORT,
) -> tuple[Reconciliation, list[str]]:
    """Expected rows (validation) vs recordsImported (Pinecone) vs per-namespace vector counts (the index)."""
    warnings: list[str] = []
    skipped = None
    if expected_rows is not None and records_imported is not None:
        skipped = max(0, expected_rows - records_imported)
        if skipped and error_mode is ErrorMode.CONTINUE:
            warnings.append(
                f"{skipped:,} of {expected_rows:,} rows were not imported: with errorMode continue Pinecone "
                "skips invalid rows and duplicate vectors without reporting them."
            )
        elif skipped:
            warnings.append(
                f"{skipped:,} of {expected_rows:,} rows were not imported although errorMode is abort; compare "
                "the drop's row counts (the manifest) with the files that were uploaded."
            )
    namespaces: list[NamespaceCount] = []
    index_rows = None
    missing_any = False
    if stats is not None and expected_namespaces:
        index_rows = 0
        for ns, rows in sorted(expected_namespaces.items()):
            in_index = stats.namespaces[ns].vector_count if ns in stats.namespaces else 0
            index_rows += in_index
            missing = max(0, rows - in_index)
            missing_any = missing_any or missing > 0
            namespaces.append(
                NamespaceCount(namespace=ns, expected_rows=rows, in_index=in_index, missing=missing)
            )
        if missing_any and not skipped:
            warnings.append(
                "Some namespaces hold fewer vectors than the drop had rows; the index may still be catching up "
                "(describe_index_stats is eventually consistent). Check again in a few minutes."
            )
    elif expected_namespaces:
        namespaces = [
            NamespaceCount(namespace=ns, expected_rows=n) for ns, n in sorted(expected_namespaces.items())
        ]
    consistent: bool | None = None
    if skipped is not None or stats is not None:
        consistent = not skipped and not missing_any
    return (
        Reconciliation(
            expected_rows=expected_rows,
            records_imported=records_imported,
            skipped_rows=skipped,
            index_rows=index_rows,
            namespaces=namespaces,
            consistent=consistent,
        ),
        warnings,
    )


def _index_stats(api: PineconeApi | None, outcome: Outcome, handle: ImportHandle) -> IndexStats | None:
    wants = outcome in (Outcome.COMPLETED, Outcome.FAILED, Outcome.CANCELLED, Outcome.TIMED_OUT)
    if api is None or not wants or not handle.expected_namespaces or handle.import_id is None:
        return None
    try:
        return api.describe_index_stats()
    except AutoImportError as exc:
        logger.warning("index stats unavailable for reconciliation", extra={"error": type(exc).__name__})
        return None


def build_notification(
    handle: ImportHandle,
    *,
    outcome: Outcome,
    now: datetime,
    stats: IndexStats | None = None,
    problems: Iterable[str] = (),
    secrets: Iterable[str] = (),
    key_source: str | None = None,
) -> Notification:
    """``key_source`` names where the API key is read from (a secret id): a refused key's hint says what to fix."""
    secrets = tuple(secrets)
    error_type = None
    hint = None
    if outcome is Outcome.PIPELINE_ERROR:
        info = handle.pipeline_error
        error_type = info.error if info else "PipelineError"
        error = messages.clean_error_text(info.cause if info else None, secrets) or (
            f"finalize was reached while the import was still {handle.status or 'unknown'}"
            if not info
            else None
        )
        if error and handle.failed_state:
            error = f"{handle.failed_state} failed: {error}"
        fix = remediation.for_pipeline_error(error_type)
        hint = fix.hint if fix else None
        if error_type == "PineconeUnauthorized" and key_source:
            hint = f"{hint} The pipeline reads the key from {key_source}."
        if handle.import_id is None:
            retry = "Nothing was imported; upload the marker again to retry the drop."
            hint = f"{hint} {retry}" if hint else retry
    else:
        error = messages.clean_error_text(handle.error, secrets)
        fix = remediation.for_pinecone_error(handle.error)
        if fix:
            hint = fix.hint
        elif outcome is Outcome.TIMED_OUT:
            hint = (
                "The import passed the route's deadline and was cancelled; records already imported stay in "
                "the index. Raise poll.deadline_s for this route if imports this size take longer."
            )
            error = error or "Deadline reached; the import was cancelled."
        elif outcome is Outcome.REJECTED:
            hint = (
                f"Fix the problems listed in {handle.report_uri or 'the report'} and upload the marker again."
            )
    reconciliation, warnings = reconcile(
        expected_rows=handle.expected_rows,
        expected_namespaces=handle.expected_namespaces,
        records_imported=handle.records_imported,
        stats=stats,
        error_mode=handle.error_mode,
    )
    problem_lines = [messages.redact(p, secrets) for p in problems][:MAX_PROBLEMS_IN_MESSAGE]
    notification = Notification(
        outcome=outcome,
        summary="",
        route=handle.route,
        index=handle.index_name or handle.index_host.split("://", 1)[-1],
        index_host=handle.index_host,
        drop=handle.drop,
        import_id=handle.import_id,
        status=handle.status,
        error_mode=handle.error_mode.value,
        error=error,
        error_type=error_type,
        hint=hint,
        report_uri=handle.report_uri,
        problems=problem_lines,
        reconciliation=reconciliation,
        warnings=warnings,
        started_at=handle.started_at,
        finished_at=now,
        duration_s=max(0.0, (now - handle.started_at).total_seconds()),
        adopted=handle.adopted,
    )
    return notification.model_copy(update={"summary": messages.summary(notification)})


def finalize(
    handle: ImportHandle,
    *,
    api: PineconeApi | None,
    notifier: Notifier,
    ledger: Ledger | None,
    now: datetime,
    problems: Iterable[str] = (),
    secrets: Iterable[str] = (),
    key_source: str | None = None,
) -> tuple[ImportHandle, Notification | None]:
    """Notify the ending once and close the ledger record; returns the final handle and what was sent
    (None when an earlier run of this finalize already notified)."""
    outcome = outcome_of(handle, now)
    final = handle.model_copy(update={"outcome": outcome, "action": Action.FINALIZE, "next_wait_s": 0})
    record = ledger.get(handle.drop.drop_id) if ledger is not None else None
    closed = (LedgerState.CLOSED, LedgerState.REJECTED)
    if record is not None and record.state in closed and record.outcome is outcome:
        logger.info("already notified; not sending twice", extra={"drop_id": handle.drop.drop_id})
        return final, None
    stats = _index_stats(api, outcome, handle)
    notification = build_notification(
        final,
        outcome=outcome,
        now=now,
        stats=stats,
        problems=problems,
        secrets=secrets,
        key_source=key_source,
    )
    notifier.publish(messages.render(notification))
    if ledger is not None:
        ledger.mark(
            handle.drop.drop_id,
            state=LedgerState.REJECTED if outcome is Outcome.REJECTED else LedgerState.CLOSED,
            now=now,
            outcome=outcome,
            report_uri=handle.report_uri,
        )
    return final, notification
