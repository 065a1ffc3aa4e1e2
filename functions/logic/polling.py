"""When to look at an import next: few polls, prompt notification, a hard deadline.

- The first look comes ``first_wait_s`` after the start (Pinecone imports take at least 10 minutes).
- While progress is known, the wait is about half the estimated time left (ETA from the progress rate),
  kept within ``[min_wait_s, max_wait_s]``.
- Without progress, waits grow by ``backoff`` per attempt from ``min_wait_s``.
- ``InProgress`` at 100 % is the indexing phase: a steady, moderate pace.
- Every wait gets ``±jitter`` and never reaches past the deadline; at the deadline the action is ``cancel``.
- ``scale`` (offline runs only) multiplies every wait; the attempt counter is bounded.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Protocol

from functions.models.handle import Action, ImportHandle, Outcome
from functions.models.imports import ImportModel, ImportStatus
from functions.settings import PollPolicy

INDEXING_WAIT_S = 120
"""Steady pace while Pinecone indexes (InProgress at 100 %), before clamping to the policy."""
MAX_ATTEMPTS_CAP = 100_000
ETA_CAP_S = 30 * 24 * 3600
"""A tiny first progress value extrapolates to absurd ETAs; report at most 30 days."""


def max_attempts(policy: PollPolicy, scale: float = 1.0) -> int:
    """Enough polls to reach the deadline at the shortest wait, plus slack; never unbounded."""
    shortest = max(1.0, policy.min_wait_s * scale)
    return min(MAX_ATTEMPTS_CAP, math.ceil(policy.deadline_s / shortest) + 20)


def scaled(seconds: float, scale: float) -> int:
    return max(1, round(seconds * scale))


def first_wait(policy: PollPolicy, scale: float = 1.0) -> int:
    return scaled(min(policy.first_wait_s, policy.deadline_s), scale)


def deadline_for(started_at: datetime, policy: PollPolicy) -> datetime:
    return started_at + timedelta(seconds=policy.deadline_s)


def estimate_eta(percent: float | None, elapsed_s: float) -> int | None:
    """Seconds left at the average rate so far; None when there is no progress to extrapolate."""
    if percent is None or percent <= 0 or elapsed_s <= 0:
        return None
    if percent >= 100:
        return 0
    return round(min(ETA_CAP_S, (100.0 - percent) * elapsed_s / percent))


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def next_wait(
    *,
    policy: PollPolicy,
    attempt: int,
    status: str,
    percent: float | None,
    eta_s: int | None,
    seconds_to_deadline: float,
    rng: random.Random,
    scale: float = 1.0,
) -> int:
    """The wait (seconds, already scaled) before the next poll."""
    low, high = float(policy.min_wait_s), float(policy.max_wait_s)
    if status == ImportStatus.IN_PROGRESS and percent is not None and percent >= 100:
        base = _clamp(INDEXING_WAIT_S, low, high)
    elif eta_s is not None and eta_s > 0:
        base = _clamp(eta_s / 2, low, high)
    else:
        base = _clamp(low * policy.backoff ** max(0, attempt - 1), low, high)
    jittered = base * (1 + rng.uniform(-policy.jitter, policy.jitter))
    wait = _clamp(jittered, low, high) * scale
    # Never sleep past the deadline: the poll at the deadline cancels.
    wait = min(wait, max(1.0, seconds_to_deadline))
    return max(1, round(wait))


def advance(
    handle: ImportHandle,
    current: ImportModel,
    *,
    policy: PollPolicy,
    now: datetime,
    rng: random.Random | None = None,
    scale: float = 1.0,
) -> ImportHandle:
    """The handle after one poll: the import's progress and what the state machine does next."""
    rng = rng or random.Random()
    attempt = handle.attempt + 1
    elapsed = (now - handle.started_at).total_seconds()
    eta = estimate_eta(current.percent_complete, elapsed)
    update: dict[str, object] = {
        "attempt": attempt,
        "status": current.status,
        "percent_complete": current.percent_complete,
        "records_imported": current.records_imported,
        "eta_s": eta,
        "error": current.error,
    }
    to_deadline = (handle.deadline_at - now).total_seconds()
    if current.is_terminal:
        update |= {"action": Action.FINALIZE, "next_wait_s": 0, "eta_s": 0}
    elif to_deadline <= 0 or attempt >= max_attempts(policy, scale):
        update |= {"action": Action.CANCEL, "next_wait_s": 0}
    else:
        wait = next_wait(
            policy=policy,
            attempt=attempt,
            status=current.status,
            percent=current.percent_complete,
            eta_s=eta,
            seconds_to_deadline=to_deadline,
            rng=rng,
            scale=scale,
        )
        update |= {"action": Action.WAIT, "next_wait_s": wait}
    return handle.model_copy(update=update)


class _Describes(Protocol):
    def describe_import(self, import_id: str, /) -> ImportModel: ...


class _Cancels(_Describes, Protocol):
    def cancel_import(self, import_id: str, /) -> None: ...


def poll_import(
    handle: ImportHandle,
    *,
    api: _Describes,
    policy: PollPolicy,
    now: datetime,
    scale: float = 1.0,
    rng: random.Random | None = None,
) -> ImportHandle:
    """Describe the import and decide the next step (PollImport task)."""
    if handle.import_id is None:
        raise ValueError("the handle has no import_id: nothing to poll")
    return advance(
        handle, api.describe_import(handle.import_id), policy=policy, now=now, rng=rng, scale=scale
    )


def cancel_import(handle: ImportHandle, *, api: _Cancels, now: datetime) -> ImportHandle:
    """Cancel the import, then describe it (CancelImport task). Past the deadline (or the poll bound) the outcome
    is TimedOut; an import that finished meanwhile keeps its own ending."""
    if handle.import_id is None:
        raise ValueError("the handle has no import_id: nothing to cancel")
    api.cancel_import(handle.import_id)
    current = api.describe_import(handle.import_id)
    update: dict[str, object] = {
        "status": current.status,
        "percent_complete": current.percent_complete,
        "records_imported": current.records_imported,
        "error": current.error,
        "action": Action.FINALIZE,
        "next_wait_s": 0,
    }
    if current.known_status not in (ImportStatus.COMPLETED, ImportStatus.FAILED):
        update["outcome"] = Outcome.TIMED_OUT
    return handle.model_copy(update=update)
