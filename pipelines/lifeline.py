"""Child processes that die with the ``datadam`` process that started them.

``datadam run`` stops what it started on its way out (Ctrl-C, SIGTERM, the end of the run); a SIGKILL runs no
clean-up, and its Airflow runner and simulated annotators would go on for days. The parent names itself in
``$DATADAM_PARENT_PID``; the child asks the kernel (Linux ``prctl(PR_SET_PDEATHSIG)``) to kill it when that parent
dies, and exits at once if it already has. Elsewhere (or without the variable) nothing happens.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PARENT_ENV = "DATADAM_PARENT_PID"
_PR_SET_PDEATHSIG = 1  # prctl(2)


def parent_env() -> dict[str, str]:
    """The environment entry a child needs to die with this process."""
    return {PARENT_ENV: str(os.getpid())}


def die_with_parent() -> None:
    """Called first thing in a child: killed (SIGKILL) when the process named in ``$DATADAM_PARENT_PID`` dies."""
    want = os.environ.pop(PARENT_ENV, "")  # not inherited further: the child's own children have their own parent
    if not want.isdigit() or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(want):  # the parent died before the request took effect
        os._exit(1)
