"""The emulator's clock: import pacing runs on *emulated* seconds that pass ``1 / time_scale`` times faster than real ones.

``time_scale`` multiplies every realistic duration: 1.0 is the realistic pace (an import takes over ten minutes),
0.001 makes the same import finish in well under a second. The clock can also be paused and moved forward by hand
(``advance``), which is how tests walk an import through its phases without timing anything.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

# Bound on the real time one wait slice may take, so paused clocks and stop requests are noticed promptly.
_MAX_SLICE_SECONDS = 0.25
# Bound on wait slices per call (a wait never loops forever even if the clock misbehaves): ~1 day of slices.
_MAX_SLICES = 400_000


class EmulatedClock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0 (use pause() to stop time)")
        self._cond = threading.Condition()
        self._scale = time_scale
        self._paused = False
        self._base_real = time.monotonic()
        self._base_emulated = 0.0
        self._wall_offset = 0.0  # seconds added to wall-clock timestamps by advance()

    # -- reading -------------------------------------------------------------------------------------------
    @property
    def time_scale(self) -> float:
        return self._scale

    @property
    def paused(self) -> bool:
        return self._paused

    def now(self) -> float:
        """Emulated seconds since the clock started."""
        with self._cond:
            return self._now_locked()

    def _now_locked(self) -> float:
        if self._paused:
            return self._base_emulated
        return self._base_emulated + (time.monotonic() - self._base_real) / self._scale

    def wall(self) -> datetime:
        """Wall-clock time for timestamps: real UTC time plus whatever was added with advance()."""
        return datetime.now(UTC) + timedelta(seconds=self._wall_offset)

    def timestamp(self) -> str:
        """Pinecone's format: ``2024-09-06T14:52:02.567776+00:00``."""
        return self.wall().isoformat(timespec="microseconds")

    # -- changing ------------------------------------------------------------------------------------------
    def _rebase_locked(self) -> None:
        self._base_emulated = self._now_locked()
        self._base_real = time.monotonic()

    def set_time_scale(self, time_scale: float) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        with self._cond:
            self._rebase_locked()
            self._scale = time_scale
            self._cond.notify_all()

    def pause(self, paused: bool = True) -> None:
        with self._cond:
            self._rebase_locked()
            self._paused = paused
            self._cond.notify_all()

    def advance(self, emulated_seconds: float) -> None:
        """Make ``emulated_seconds`` pass at once (imports waiting on the clock move on)."""
        if emulated_seconds < 0:
            raise ValueError("cannot move the clock backwards")
        with self._cond:
            self._rebase_locked()
            self._base_emulated += emulated_seconds
            self._wall_offset += emulated_seconds * self._scale
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- waiting -------------------------------------------------------------------------------------------
    def wait_until(self, deadline: float, stop: threading.Event) -> bool:
        """Block until emulated time reaches ``deadline``; False if ``stop`` was set first."""
        for _ in range(_MAX_SLICES):
            if stop.is_set():
                return False
            with self._cond:
                remaining = deadline - self._now_locked()
                if remaining <= 0:
                    return True
                real = (
                    _MAX_SLICE_SECONDS if self._paused else min(remaining * self._scale, _MAX_SLICE_SECONDS)
                )
                self._cond.wait(timeout=max(real, 0.001))
        return not stop.is_set()
