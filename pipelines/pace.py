"""Progress of long work at a steady pace: one line every few seconds with items done, the total and the rate.

Stages report through :class:`Pace` (Airflow task logs then show counts at a steady pace, not a line per item);
the CLI shows rich bars on a terminal and the same plain lines elsewhere (CI, logs), see
``pipelines.cli.common.progress``. The clock is injected, so the pacing is tested without waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

_log = logging.getLogger("datadam.progress")
EVERY_S = 10.0


def _info(line: str) -> None:
    _log.info("%s", line)


class Pace:
    """Counts of one piece of work, reported at most once every ``every_s`` seconds, and once at the end.

    Thread-safe: transfer threads may advance one pace together.

    Args:
        what: what is being done (``collect shard 3``), the start of every line.
        total: how many units there are, when known.
        unit: what is counted (``items``, ``tasks``, ``bytes``).
        every_s: the least time between two lines.
        emit: where a line goes (default: the ``datadam.progress`` logger at INFO, i.e. the Airflow task log).
        clock: monotonic seconds (injected by tests).
    """

    def __init__(self, what: str, *, total: int | None = None, unit: str = "items", every_s: float = EVERY_S,
                 emit: Callable[[str], None] = _info, clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.total, self.unit, self.every_s = what, total, unit, every_s
        self._emit, self._clock = emit, clock
        self._lock = threading.Lock()
        self.done = 0
        self._t0 = self._last = clock()

    def advance(self, n: int = 1) -> None:
        """``n`` more units done; a line when ``every_s`` has passed since the last one."""
        with self._lock:
            self.done += n
            now = self._clock()
            if now - self._last < self.every_s:
                return
            self._last = now
            line = self.line(now)
        self._emit(line)

    def finish(self) -> None:
        """The last line: everything counted, and how long it took."""
        with self._lock:
            line = self.line(self._clock(), final=True)
        self._emit(line)

    def line(self, now: float, *, final: bool = False) -> str:
        elapsed = max(now - self._t0, 0.0)
        count = f"{self.done:,}" if self.total is None else f"{self.done:,}/{self.total:,}"
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        rate = f"{self.done / elapsed:,.1f} {self.unit}/s" if elapsed > 0 else f"- {self.unit}/s"
        end = f", done in {elapsed:,.0f} s" if final else ""
        return f"{self.what}: {count} {self.unit}{pct}, {rate}{end}"
