"""The polling schedule: few polls, prompt endings, a hard deadline, always bounded."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.logic import polling
from functions.models.handle import Action, DropRef, ImportHandle, Outcome
from functions.models.imports import ImportModel
from functions.settings import PollPolicy

T0 = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
POLICY = PollPolicy(first_wait_s=300, min_wait_s=30, max_wait_s=600, backoff=1.5, jitter=0.1, deadline_s=3600)


def handle(**update: object) -> ImportHandle:
    base = ImportHandle(
        import_id="7",
        index_host="https://idx.example",
        route="r",
        drop=DropRef(bucket="b", prefix="p/d/", uri="s3://b/p/d/", marker_key="p/d/_SUCCESS", drop_id="x"),
        started_at=T0,
        deadline_at=T0 + timedelta(seconds=POLICY.deadline_s),
    )
    return base.model_copy(update=update)


def model(
    status: str, pct: float | None = None, records: int | None = None, error: str | None = None
) -> ImportModel:
    return ImportModel(
        id="7", uri="s3://b/p/d/", status=status, percent_complete=pct, records_imported=records, error=error
    )


def test_first_wait_follows_the_policy_and_the_offline_scale() -> None:
    assert polling.first_wait(POLICY) == 300
    assert polling.first_wait(POLICY, scale=0.01) == 3


@pytest.mark.parametrize("status", ["Completed", "Failed", "Cancelled"])
def test_a_finished_import_goes_to_finalize_at_once(status: str) -> None:
    # Given an import that has ended, When polled, Then the next step is finalize with no wait
    out = polling.advance(
        handle(attempt=3), model(status, 100.0, 10), policy=POLICY, now=T0 + timedelta(minutes=20)
    )
    assert (out.action, out.next_wait_s, out.status, out.attempt) == (Action.FINALIZE, 0, status, 4)
    assert out.records_imported == 10


def test_progress_sets_eta_and_waits_about_half_of_it() -> None:
    # Given 25 % done after 10 minutes, the ETA is 30 minutes and the wait about 15 minutes (capped at max 600 s)
    out = polling.advance(
        handle(),
        model("InProgress", 25.0),
        policy=POLICY,
        now=T0 + timedelta(minutes=10),
        rng=random.Random(1),
    )
    assert out.eta_s == 1800
    assert out.action is Action.WAIT
    assert 540 <= out.next_wait_s <= 600


def test_small_eta_waits_at_least_the_minimum() -> None:
    out = polling.advance(
        handle(),
        model("InProgress", 99.0),
        policy=POLICY,
        now=T0 + timedelta(minutes=10),
        rng=random.Random(1),
    )
    assert out.eta_s == 6
    assert POLICY.min_wait_s <= out.next_wait_s <= POLICY.min_wait_s * 1.1 + 1


def test_in_progress_at_100_percent_is_indexing_and_polls_at_a_steady_pace() -> None:
    waits = {
        polling.advance(
            handle(attempt=a),
            model("InProgress", 100.0),
            policy=POLICY,
            now=T0 + timedelta(minutes=15),
            rng=random.Random(a),
        ).next_wait_s
        for a in range(1, 8)
    }
    assert all(108 <= w <= 132 for w in waits)  # 120 s ± 10 % jitter, independent of the attempt


def test_without_progress_waits_back_off_from_the_minimum() -> None:
    no_jitter = POLICY.model_copy(update={"jitter": 0.0})
    waits = [
        polling.advance(
            handle(attempt=a), model("Pending"), policy=no_jitter, now=T0 + timedelta(minutes=1)
        ).next_wait_s
        for a in range(0, 6)
    ]
    assert waits == [30, 45, 68, 101, 152, 228]


def test_the_deadline_cancels() -> None:
    out = polling.advance(
        handle(), model("InProgress", 40.0), policy=POLICY, now=T0 + timedelta(seconds=3600)
    )
    assert out.action is Action.CANCEL


def test_a_wait_never_reaches_past_the_deadline() -> None:
    out = polling.advance(
        handle(), model("Pending"), policy=POLICY, now=T0 + timedelta(seconds=3590), rng=random.Random(3)
    )
    assert out.action is Action.WAIT
    assert out.next_wait_s == 10


def test_the_attempt_counter_is_bounded() -> None:
    bound = polling.max_attempts(POLICY)
    out = polling.advance(
        handle(attempt=bound - 1), model("Pending"), policy=POLICY, now=T0 + timedelta(minutes=1)
    )
    assert out.action is Action.CANCEL


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(0, 500),
    pct=st.one_of(st.none(), st.floats(0, 100)),
    elapsed=st.integers(1, 3599),
    status=st.sampled_from(["Pending", "InProgress"]),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([1.0, 0.5, 0.01]),
)
def test_every_wait_stays_within_the_policy(
    attempt: int, pct: float | None, elapsed: int, status: str, seed: int, scale: float
) -> None:
    out = polling.advance(
        handle(attempt=attempt),
        model(status, pct),
        policy=POLICY,
        now=T0 + timedelta(seconds=elapsed),
        rng=random.Random(seed),
        scale=scale,
    )
    if out.action is Action.WAIT:
        assert 1 <= out.next_wait_s <= POLICY.max_wait_s * scale + 1
        assert out.next_wait_s <= max(1, POLICY.deadline_s - elapsed)


class FakeApi:
    def __init__(self, after_cancel: str) -> None:
        self.after_cancel = after_cancel
        self.cancelled: list[str] = []

    def cancel_import(self, import_id: str, /) -> None:
        self.cancelled.append(import_id)

    def describe_import(self, import_id: str, /) -> ImportModel:
        return model(self.after_cancel, 50.0, 500)


def test_cancel_past_the_deadline_ends_as_timed_out() -> None:
    api = FakeApi("Cancelled")
    out = polling.cancel_import(handle(action=Action.CANCEL), api=api, now=T0 + timedelta(hours=2))
    assert api.cancelled == ["7"]
    assert (out.outcome, out.status, out.action, out.records_imported) == (
        Outcome.TIMED_OUT,
        "Cancelled",
        Action.FINALIZE,
        500,
    )


def test_cancel_of_an_import_that_completed_meanwhile_keeps_its_ending() -> None:
    out = polling.cancel_import(handle(), api=FakeApi("Completed"), now=T0 + timedelta(hours=2))
    assert out.outcome is None
    assert out.status == "Completed"
