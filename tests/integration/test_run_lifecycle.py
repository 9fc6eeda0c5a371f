"""`datadam run --simulate` never waits in silence: a simulator that dies ends the run at once with the reason,
and the run leaves no process behind."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from pipelines.cli.run import RunSummary, run_one
from pipelines.stack import StackInfo

pytestmark = pytest.mark.integration


def _pids_with(*needles: str) -> list[int]:
    """Processes whose command line holds every needle (read from /proc: what `ps` shows)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if state not in ("Z", "X") and all(n in cmd for n in needles):
            found.append(int(entry.name))
    return found


def test_a_dead_simulator_ends_the_run_with_its_reason(stack: StackInfo, tmp_path: Path) -> None:
    root = (tmp_path / "storage").as_uri()
    outcome: dict[str, RunSummary] = {}
    run = threading.Thread(target=lambda: outcome.update(summary=run_one(
        "civil-complaint-classification", stack=stack, storage=root, items=6, simulate=True, poll_s=1.0,
        timeout_s=600)))
    run.start()
    deadline = time.monotonic() + 120
    sims: list[int] = []
    while not sims and run.is_alive() and time.monotonic() < deadline:
        sims = _pids_with("sim.annotators", root)
        time.sleep(0.2)
    assert sims, "the simulated annotators never started"
    os.kill(sims[0], signal.SIGKILL)  # a fault we cannot cause from outside otherwise: the simulator dies

    run.join(timeout=120)
    assert not run.is_alive(), "the run went on without its annotators"
    summary = outcome["summary"]
    assert summary.state == "stopped"
    assert summary.reason is not None and "the simulated annotators stopped (exit -9)" in summary.reason
    assert _pids_with("pipelines.orchestration.runner", root) == [], "the Airflow runner was left behind"
