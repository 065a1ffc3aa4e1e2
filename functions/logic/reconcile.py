"""The scheduled reconciler: every running import of a routed index ends with a notification.

Imports started outside the pipeline (console, CLI, SDK) have no ledger record; the reconciler adopts them:
it indexes them in the ledger and starts a tracking execution, so they are polled and notified like ours.
Imports younger than ``min_age`` are left alone: the pipeline may be between start_import and its ledger write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from functions.errors import AutoImportError
from functions.logic.drop import drop_id_for, execution_name
from functions.logic.pipeline import new_handle, parse_time
from functions.logic.ports import Ledger, PineconeFactory, Workflow
from functions.models.handle import DropRef, LedgerState
from functions.models.imports import ImportModel
from functions.observability import logger
from functions.settings import Route, Settings

MIN_AGE = timedelta(minutes=10)
MAX_PAGES_PER_INDEX = 20


@dataclass
class ReconcileResult:
    adopted: list[dict[str, str]] = field(default_factory=list)
    checked: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"adopted": self.adopted, "checked": self.checked, "errors": self.errors}


def drop_for_import(model: ImportModel, *, index_host: str, marker_name: str) -> DropRef:
    """A drop reference for an import this pipeline did not start (identity: index host + import id)."""
    parts = urlsplit(model.uri)
    bucket = parts.netloc
    prefix = parts.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return DropRef(
        bucket=bucket,
        prefix=prefix,
        uri=model.uri,
        marker_key=prefix + marker_name,
        drop_id=drop_id_for(bucket, prefix, None, f"adopted:{index_host}:{model.id}"),
    )


def _adopt(
    model: ImportModel, route: Route, *, ledger: Ledger, workflow: Workflow, settings: Settings, now: datetime
) -> str | None:
    drop = drop_for_import(model, index_host=route.index_host, marker_name=settings.marker_name)
    record, created = ledger.claim(drop, route=route.name, index_host=route.index_host, now=now)
    if not created and record.state is not LedgerState.CLAIMED:
        return None  # adopted already (the GSI lags a little behind the table)
    started = parse_time(model.created_at) or now
    handle = new_handle(
        drop=drop,
        route=route,
        import_id=model.id,
        report=None,
        settings=settings,
        now=started,
        adopted=True,
        status=model.status,
    )
    handle = handle.model_copy(update={"next_wait_s": 1, "percent_complete": model.percent_complete})
    ledger.record_import(handle, now=now)
    arn = workflow.start(execution_name(route.name, drop.drop_id), handle.to_event())
    ledger.mark(drop.drop_id, state=LedgerState.TRACKING, now=now, execution_arn=arn)
    return arn


def adopt_untracked(
    settings: Settings,
    *,
    pinecone: PineconeFactory,
    ledger: Ledger,
    workflow: Workflow,
    now: datetime,
    min_age: timedelta = MIN_AGE,
) -> ReconcileResult:
    """List imports per routed index and start tracking each running one that has no ledger record."""
    result = ReconcileResult()
    seen_hosts: set[str] = set()
    for route in settings.routes:
        if route.index_host in seen_hosts:
            continue
        seen_hosts.add(route.index_host)
        try:
            api = pinecone(route.index_host)
            for model in api.list_imports(limit=100, max_pages=MAX_PAGES_PER_INDEX):
                result.checked += 1
                if model.is_terminal or ledger.is_tracked(route.index_host, model.id):
                    continue
                created = parse_time(model.created_at)
                if created is not None and now - created < min_age:
                    continue
                arn = _adopt(model, route, ledger=ledger, workflow=workflow, settings=settings, now=now)
                if arn:
                    logger.info(
                        "adopted an untracked import", extra={"import_id": model.id, "route": route.name}
                    )
                    result.adopted.append({"route": route.name, "import_id": model.id, "execution_arn": arn})
        except AutoImportError as exc:
            # One unreachable index must not stop the others; the next scheduled run tries again.
            logger.warning(
                "reconcile failed for a route", extra={"route": route.name, "error": type(exc).__name__}
            )
            result.errors.append({"route": route.name, "error": type(exc).__name__, "message": exc.message})
    return result
