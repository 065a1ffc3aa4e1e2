"""Bounded retries with jittered exponential backoff, for every outbound call.

A :class:`RetryPolicy` bounds a call twice: by the number of attempts and by the total time spent (attempts plus
waits). Waits grow exponentially from ``base_delay_s`` up to ``max_delay_s`` with "equal jitter" (each wait is drawn
from the upper half of its step, so retries from many callers spread out but never collapse to zero), and a server's
``Retry-After`` is honoured when it asks for longer. ``sleep``, ``clock`` and ``random`` are injectable so tests run
instantly and deterministically.
"""

from __future__ import annotations

import logging
import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from functions.errors import AutoImportError, PineconeRateLimited, RetryableError

T = TypeVar("T")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure."""

    max_attempts: int = 4
    """Attempts in all, the first one included (1 = never retry)."""
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_elapsed_s: float = 30.0
    """No retry starts (and no wait is begun) that would end later than this after the first attempt began."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)
    """Returns a float in [0, 1); drives the jitter."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.max_elapsed_s < 0:
            raise ValueError("base_delay_s, max_delay_s and max_elapsed_s must not be negative")
        if self.base_delay_s > self.max_delay_s:
            raise ValueError(
                f"base_delay_s ({self.base_delay_s}) must not exceed max_delay_s ({self.max_delay_s})"
            )

    def backoff(self, retry_number: int, retry_after: float | None = None) -> float:
        """The wait before retry number ``retry_number`` (1 = the first retry), jittered, honouring Retry-After.

        Without Retry-After the result lies in ``[step / 2, step]`` where ``step = min(max_delay_s,
        base_delay_s * 2 ** (retry_number - 1))``. A Retry-After longer than that wins (it is not capped here: the
        elapsed-time budget decides whether it is worth waiting for).
        """
        step = min(self.max_delay_s, self.base_delay_s * (2 ** max(0, retry_number - 1)))
        delay = step / 2 + self.random() * step / 2
        if retry_after is not None and retry_after > delay:
            delay = retry_after
        return delay

    def start(self) -> RetryBudget:
        """A fresh budget for one logical call (its clock starts now)."""
        return RetryBudget(self)


class RetryBudget:
    """The attempts and time left for one logical call under a :class:`RetryPolicy`."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.started = policy.clock()
        self.attempts = 0

    @property
    def elapsed_s(self) -> float:
        return self.policy.clock() - self.started

    def begin_attempt(self) -> int:
        """Count an attempt; returns its number (1-based)."""
        self.attempts += 1
        return self.attempts

    def next_delay(self, error: AutoImportError) -> float | None:
        """How long to wait before the next attempt, or ``None`` when ``error`` must be raised now.

        ``None`` when the error is terminal, when the attempts are used up, or when waiting would overrun the
        elapsed-time budget.
        """
        if not isinstance(error, RetryableError):
            return None
        if self.attempts >= self.policy.max_attempts:
            return None
        retry_after = error.retry_after if isinstance(error, PineconeRateLimited) else None
        retry_after = retry_after if retry_after is not None else error.details.get("retry_after")
        delay = self.policy.backoff(
            self.attempts, retry_after if isinstance(retry_after, int | float) else None
        )
        if self.elapsed_s + delay > self.policy.max_elapsed_s:
            return None
        return delay

    def exhausted_note(self) -> str:
        return f"gave up after {self.attempts} attempt(s) in {self.elapsed_s:.1f}s"


def call_with_retry(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    what: str,
    log: logging.Logger | None = None,
) -> T:
    """Call ``fn`` until it succeeds, raises a terminal error, or the policy's budget is spent.

    Only :class:`~functions.errors.RetryableError` is retried; anything else propagates at once. When the budget
    runs out the last error is raised with ``attempts`` and ``elapsed_s`` added to its ``details``. ``what`` names the
    call in log lines (it must not contain secrets).
    """
    log = log or logger
    budget = policy.start()
    while True:  # bounded: every pass counts an attempt and the budget refuses more than max_attempts
        attempt = budget.begin_attempt()
        try:
            return fn()
        except RetryableError as exc:
            delay = budget.next_delay(exc)
            if delay is None:
                exc.details.setdefault("attempts", budget.attempts)
                exc.details.setdefault("elapsed_s", round(budget.elapsed_s, 3))
                raise
            log.warning(
                "%s failed (attempt %d/%d): %s Retrying in %.2fs.",
                what,
                attempt,
                policy.max_attempts,
                exc.message,
                delay,
            )
            policy.sleep(delay)
