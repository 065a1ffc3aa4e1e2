"""start_drop and the reconciler with in-memory fakes of our own ports (the edges the moto tests do not reach)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from functions.errors import DropInProgress, PineconeUnavailable
from functions.logic.drop import make_drop
from functions.logic.pipeline import Collaborators, find_started_import, start_drop
from functions.logic.reconcile import adopt_untracked
from functions.logic.routing import RoutedDrop, resolve_marker
from functions.models.handle import DropRef, ImportHandle, LedgerRecord, LedgerState, Outcome
from functions.models.imports import ErrorMode, ImportModel, IndexStats, StartImportResponse
from functions.models.notification import OutgoingMessage
from functions.models.report import NamespaceTotals, ValidationReport
from functions.settings import Route, Settings

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
SETTINGS = Settings.model_validate(
    {
        "routes": [
            {"name": "a", "prefix": "in/a/", "index_host": "a.example"},
            {"name": "b", "prefix": "in/b/", "index_host": "b.example"},
        ]
    }
)


class FakeApi:
    def __init__(self, imports: list[ImportModel] | None = None, *, down: bool = False) -> None:
        self.imports = imports or []
        self.down = down
        self.started: list[tuple[str, ErrorMode]] = []

    def start_import(
        self, uri: str, *, error_mode: ErrorMode, integration_id: str | None = None
    ) -> StartImportResponse:
        self.started.append((uri, error_mode))
        self.imports.append(ImportModel(id=str(len(self.imports) + 1), uri=uri, status="Pending"))
        return StartImportResponse(id=self.imports[-1].id)

    def describe_import(self, import_id: str, /) -> ImportModel:
        return next(m for m in self.imports if m.id == import_id)

    def list_imports(self, *, limit: int | None = None, max_pages: int = 1000) -> Iterator[ImportModel]:
        if self.down:
            raise PineconeUnavailable("list 503")
        return iter(list(self.imports))

    def cancel_import(self, import_id: str, /) -> None:
        return None

    def describe_index_stats(self) -> IndexStats:
        return IndexStats(dimension=8)


class FakeLedger:
    def __init__(self) -> None:
        self.records: dict[str, LedgerRecord] = {}
        self.leases: dict[str, datetime] = {}

    def get(self, drop_id: str) -> LedgerRecord | None:
        return self.records.get(drop_id)

    def claim(
        self, drop: DropRef, *, route: str, index_host: str, now: datetime
    ) -> tuple[LedgerRecord, bool]:
        if drop.drop_id in self.records:
            return self.records[drop.drop_id], False
        record = LedgerRecord(
            drop_id=drop.drop_id,
            state=LedgerState.CLAIMED,
            route=route,
            index_host=index_host,
            uri=drop.uri,
            claimed_at=now,
            updated_at=now,
        )
        self.records[drop.drop_id] = record
        return record, True

    def take_lease(self, drop_id: str, *, now: datetime, until: datetime) -> bool:
        rec = self.records[drop_id]
        held = self.leases.get(drop_id)
        if rec.import_id is not None or (held is not None and held > now):
            return False
        self.leases[drop_id] = until
        return True

    def release_lease(self, drop_id: str, *, until: datetime) -> None:
        if self.leases.get(drop_id) == until:
            del self.leases[drop_id]

    def record_import(self, handle: ImportHandle, *, now: datetime) -> None:
        rec = self.records[handle.drop.drop_id]
        assert rec.import_id in (None, handle.import_id)
        self.records[handle.drop.drop_id] = rec.model_copy(
            update={"import_id": handle.import_id, "handle": handle, "state": LedgerState.STARTED}
        )

    def mark(
        self,
        drop_id: str,
        *,
        state: LedgerState,
        now: datetime,
        execution_arn: str | None = None,
        outcome: Outcome | None = None,
        report_uri: str | None = None,
    ) -> None:
        rec = self.records.get(drop_id)
        if rec is not None:
            self.records[drop_id] = rec.model_copy(
                update={
                    "state": state,
                    "outcome": outcome,
                    "execution_arn": execution_arn or rec.execution_arn,
                }
            )

    def is_tracked(self, index_host: str, import_id: str) -> bool:
        return any(r.import_id == import_id and r.index_host == index_host for r in self.records.values())


class FakeWorkflow:
    def __init__(self) -> None:
        self.started: dict[str, dict[str, object]] = {}

    def start(self, name: str, payload: dict[str, object]) -> str:
        self.started.setdefault(name, payload)
        return f"arn:execution:{name}"


class FakeNotifier:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def publish(self, message: OutgoingMessage) -> None:
        self.sent.append(message)


class FakeReports:
    def write_json(self, bucket: str, key: str, body: bytes) -> str:
        return f"s3://{bucket}/{key}"


def report(valid: bool = True) -> ValidationReport:
    return ValidationReport(
        uri="s3://bkt/in/a/d1/",
        valid=valid,
        namespaces={"n": NamespaceTotals(files=1, rows=5)},
        totals=NamespaceTotals(files=1, rows=5),
    )


def deps(api: FakeApi, ledger: FakeLedger, workflow: FakeWorkflow | None = None) -> Collaborators:
    return Collaborators(
        api=api,
        validate=lambda d, r, s: report(),
        ledger=ledger,
        workflow=workflow or FakeWorkflow(),
        notifier=FakeNotifier(),
        reports=FakeReports(),
    )


def routed_drop() -> tuple[RoutedDrop, DropRef]:
    routed = resolve_marker(SETTINGS, bucket="bkt", key="in/a/d1/_SUCCESS")
    assert isinstance(routed, RoutedDrop)
    drop = make_drop(
        bucket="bkt",
        prefix=routed.prefix,
        marker_key=routed.marker_key,
        marker_etag="e",
        marker_version_id=None,
    )
    return routed, drop


def test_a_drop_already_tracked_is_not_started_again() -> None:
    routed, drop = routed_drop()
    api, ledger = FakeApi(), FakeLedger()
    first = start_drop(routed, drop, deps=deps(api, ledger), settings=SETTINGS, now=NOW)
    second = start_drop(routed, drop, deps=deps(api, ledger), settings=SETTINGS, now=NOW)
    assert (first.outcome, second.outcome) == ("Started", "AlreadyHandled")
    assert len(api.started) == 1
    assert second.import_id == first.import_id


def test_an_old_finished_import_of_the_same_uri_is_not_mistaken_for_ours() -> None:
    routed, drop = routed_drop()
    old = ImportModel(
        id="1", uri=drop.uri, status="Completed", created_at=(NOW - timedelta(days=2)).isoformat()
    )
    api, ledger = FakeApi([old]), FakeLedger()
    ledger.claim(drop, route="a", index_host="https://a.example", now=NOW)  # an earlier attempt died early
    result = start_drop(routed, drop, deps=deps(api, ledger), settings=SETTINGS, now=NOW)
    assert result.outcome == "Started"
    assert result.import_id == "2"
    assert (
        find_started_import(api, drop.uri.rstrip("/"), since=NOW) is not None
    )  # the new one, trailing / aside


def test_the_reconciler_skips_young_imports_and_survives_an_unreachable_index() -> None:
    young = ImportModel(
        id="1", uri="s3://bkt/x/", status="InProgress", created_at=(NOW - timedelta(minutes=2)).isoformat()
    )
    old = ImportModel(
        id="2", uri="s3://bkt/y/", status="Pending", created_at=(NOW - timedelta(hours=2)).isoformat()
    )
    apis = {"https://a.example": FakeApi(down=True), "https://b.example": FakeApi([young, old])}
    ledger, workflow = FakeLedger(), FakeWorkflow()
    result = adopt_untracked(
        SETTINGS, pinecone=lambda host: apis[host], ledger=ledger, workflow=workflow, now=NOW
    )
    assert [a["import_id"] for a in result.adopted] == ["2"]
    assert [e["route"] for e in result.errors] == ["a"]
    [payload] = workflow.started.values()
    assert payload["adopted"] is True
    assert payload["next_wait_s"] == 1
    again = adopt_untracked(
        SETTINGS, pinecone=lambda host: apis[host], ledger=ledger, workflow=workflow, now=NOW
    )
    assert again.adopted == []


def test_route_error_mode_is_used_when_there_is_no_manifest() -> None:
    routed, drop = routed_drop()
    api = FakeApi()
    start_drop(routed, drop, deps=deps(api, FakeLedger()), settings=SETTINGS, now=NOW)
    assert api.started == [(drop.uri, Route.model_fields["error_mode"].default)]


def test_a_delivery_arriving_while_another_holds_the_lease_starts_nothing() -> None:
    # Given a delivery that claimed the drop and is still validating (it holds the start lease)
    routed, drop = routed_drop()
    api, ledger = FakeApi(), FakeLedger()
    ledger.claim(drop, route="a", index_host="https://a.example", now=NOW)
    assert ledger.take_lease(drop.drop_id, now=NOW, until=NOW + timedelta(minutes=5))

    # When a second delivery of the same drop arrives a minute later
    with pytest.raises(DropInProgress) as caught:
        start_drop(routed, drop, deps=deps(api, ledger), settings=SETTINGS, now=NOW + timedelta(minutes=1))

    # Then it is told to retry (retryable) and nothing was started
    assert caught.value.retryable
    assert api.started == []


def test_a_lease_that_ran_out_lets_the_next_delivery_take_over() -> None:
    # Given a delivery that died (process killed) while holding the lease
    routed, drop = routed_drop()
    api, ledger = FakeApi(), FakeLedger()
    ledger.claim(drop, route="a", index_host="https://a.example", now=NOW)
    assert ledger.take_lease(drop.drop_id, now=NOW, until=NOW + timedelta(minutes=5))

    # When a redelivery comes after the lease ran out
    result = start_drop(
        routed, drop, deps=deps(api, ledger), settings=SETTINGS, now=NOW + timedelta(minutes=6)
    )

    # Then it starts the import, once
    assert result.outcome == "Started"
    assert len(api.started) == 1


def test_a_failed_attempt_gives_the_lease_back_at_once() -> None:
    # Given a delivery that fails while starting (Pinecone down)
    routed, drop = routed_drop()
    api, ledger = FakeApi(), FakeLedger()

    def unavailable(*args: object, **kwargs: object) -> StartImportResponse:
        raise PineconeUnavailable("start 503")

    api.start_import = unavailable  # type: ignore[method-assign]
    with pytest.raises(PineconeUnavailable):
        start_drop(routed, drop, deps=deps(api, ledger), settings=SETTINGS, now=NOW)

    # When the event is retried right away, with Pinecone back
    api.start_import = FakeApi.start_import.__get__(api)  # type: ignore[method-assign]
    result = start_drop(
        routed, drop, deps=deps(api, ledger), settings=SETTINGS, now=NOW + timedelta(seconds=5)
    )

    # Then the retry is not blocked by the failed attempt's lease
    assert result.outcome == "Started"
    assert len(api.started) == 1
