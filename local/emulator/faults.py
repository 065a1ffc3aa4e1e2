"""Fault injection: make chosen operations fail, stall, or fail *after* doing their work.

A rule matches an operation name (``start_import``, ``describe_import``, ``*`` …) and optionally an index. It fires
with a probability, a limited number of ``times``, or by walking a scripted ``sequence`` of outcomes, one per matching
request (``"ok"``, an HTTP status such as ``429``, ``"slow"`` or ``"accept_then_500"``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, field_validator

Action = Literal["error", "slow", "accept_then_error"]

OPERATIONS = (
    "start_import",
    "list_imports",
    "describe_import",
    "cancel_import",
    "describe_index_stats",
    "upsert",
    "fetch",
    "list_vectors",
    "query",
    "delete_vectors",
    "create_index",
    "list_indexes",
    "describe_index",
    "delete_index",
)


class FaultRule(BaseModel):
    operation: str = "*"
    index: str | None = None
    action: Action = "error"
    status: int = Field(default=500, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0)
    delay_seconds: float = Field(default=1.0, ge=0, le=120)
    probability: float = Field(default=1.0, ge=0, le=1)
    times: int | None = Field(default=None, ge=1)
    sequence: list[int | str] | None = None

    @field_validator("operation")
    @classmethod
    def _known_operation(cls, value: str) -> str:
        if value != "*" and value not in OPERATIONS:
            raise ValueError(f"unknown operation {value!r}; use '*' or one of {', '.join(OPERATIONS)}")
        return value

    @field_validator("sequence")
    @classmethod
    def _known_steps(cls, value: list[int | str] | None) -> list[int | str] | None:
        for step in value or []:
            _parse_step(step)
        return value


@dataclass(frozen=True)
class Fault:
    """What to do to one request."""

    action: Action
    status: int = 500
    retry_after: float | None = None
    delay_seconds: float = 0.0


def _parse_step(step: int | str) -> Fault | None:
    text = str(step).strip().lower()
    if text in ("ok", "200", "pass"):
        return None
    if text == "slow":
        return Fault(action="slow", delay_seconds=1.0)
    if text.startswith("accept_then_"):
        return Fault(action="accept_then_error", status=int(text.removeprefix("accept_then_")))
    status = int(text)
    if not 400 <= status <= 599:
        raise ValueError(f"sequence step {step!r}: use ok, slow, accept_then_<status> or a 4xx/5xx status")
    return Fault(action="error", status=status, retry_after=1.0 if status == 429 else None)


class _Armed:
    def __init__(self, rule: FaultRule) -> None:
        self.rule = rule
        self.remaining = rule.times
        self.steps = list(rule.sequence) if rule.sequence is not None else None

    def matches(self, operation: str, index: str | None) -> bool:
        if self.rule.operation not in ("*", operation):
            return False
        return self.rule.index is None or self.rule.index == index

    @property
    def spent(self) -> bool:
        return (self.remaining is not None and self.remaining <= 0) or (
            self.steps is not None and not self.steps
        )


class FaultInjector:
    def __init__(self, *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Armed] = []
        self._random = random.Random(seed)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(_Armed(rule))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [armed.rule for armed in self._rules if not armed.spent]

    def pick(self, operation: str, index: str | None) -> Fault | None:
        """The fault to apply to this request, if any (consumes scripted steps and ``times``)."""
        with self._lock:
            self._rules = [armed for armed in self._rules if not armed.spent]
            for armed in self._rules:
                if not armed.matches(operation, index):
                    continue
                if armed.steps is not None:
                    return _parse_step(armed.steps.pop(0))
                if armed.rule.probability < 1.0 and self._random.random() >= armed.rule.probability:
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                rule = armed.rule
                retry_after = rule.retry_after
                if retry_after is None and rule.status == 429:
                    retry_after = 1.0
                return Fault(
                    action=rule.action,
                    status=rule.status,
                    retry_after=retry_after,
                    delay_seconds=rule.delay_seconds,
                )
        return None
