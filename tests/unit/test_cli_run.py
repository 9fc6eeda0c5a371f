"""`datadam run` stops every process it started, even one that ignores SIGTERM and has children of its own."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipelines.cli.run import _first_failure, _spawn, _stop

pytestmark = pytest.mark.unit


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie nobody has reaped yet (PID 1 in a container may never reap)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_stop_ends_a_child_that_ignores_sigterm_and_its_grandchild(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    script = textwrap.dedent(f"""
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # as Airflow's runner did
        g = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pidfile)!r}, "w").write(str(g.pid))
        time.sleep(600)
    """)
    proc = _spawn([sys.executable, "-c", script], env=dict(os.environ), log=tmp_path / "child.log")
    for _ in range(200):  # the grandchild's pid appears once the child has started it
        if pidfile.exists() and pidfile.read_text():
            break
        time.sleep(0.05)
    grandchild = int(pidfile.read_text())
    assert _alive(grandchild)

    _stop(proc, grace_s=1.0)

    assert proc.returncode is not None
    for _ in range(100):  # SIGKILL is delivered asynchronously
        if not _alive(grandchild):
            break
        time.sleep(0.05)
    assert not _alive(grandchild), "the grandchild outlived `datadam run`"


def test_first_failure_names_the_task_and_its_error(tmp_path: Path) -> None:
    path = tmp_path / "failures.jsonl"
    assert _first_failure(path) is None
    path.write_text('{"task_id": "collect", "map_index": 3, "error": "CollectError: no root"}\n'
                    '{"task_id": "publish", "map_index": -1, "error": "later"}\n', encoding="utf-8")
    assert _first_failure(path) == "collect[3]: CollectError: no root"


def test_a_run_is_followed_from_its_log_task_by_task_with_the_paced_progress_lines(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from pipelines.cli.run import LogFollower, run_events, watch_run

    log = tmp_path / "run.log"
    follow = LogFollower(log)
    assert follow.lines() == []  # the runner has not written yet
    with log.open("a") as fh:
        fh.write("2026-12-05T12:04:29Z [info     ] [DAG TEST] starting task_id=collect map_index=0 [airflow]\n"
                 "2026-12-05T12:04:29Z [info     ] crop collect shard 0: 4/4 items (100%), 3.5 items/s, done in 1 s"
                 " [datadam.progress] loc=pace.py:20\n"
                 "2026-12-05T12:04:30Z [info     ] [DAG TEST] end task task_id=collect map_index=0 [airflow]\n"
                 "2026-12-05T12:04:31Z [info     ] [DAG TEST] end task task_id=label_pu")  # half a line so far
    events = list(run_events(follow.lines()))
    assert events == [("progress", "crop collect shard 0: 4/4 items (100%), 3.5 items/s, done in 1 s"),
                      ("task", "collect[0]")]
    with log.open("a") as fh:
        fh.write("sh map_index=-1 [airflow]\n")
    assert list(run_events(follow.lines())) == [("task", "label_push")]

    out = io.StringIO()
    with watch_run(Console(file=out, force_terminal=False, width=200)) as on_event:
        for kind, what in events:
            on_event(kind, what)
    assert out.getvalue().splitlines() == ["crop collect shard 0: 4/4 items (100%), 3.5 items/s, done in 1 s",
                                           "collect[0]: done"]


def test_a_run_held_at_the_gate_says_who_must_act_and_how(tmp_path: Path) -> None:
    from pipelines.cli.run import run_events

    line = ("2026-12-05T12:05:00Z [warning  ] blocking checks failed: waiting for an inspector's decision at "
            "runs/news-topic-tags/manual__2026-12-05T15_27_27.009282_00_00/gate/decision.json [airflow.task]")
    assert list(run_events([line])) == [
        ("progress", "gate: blocking checks failed; the run waits for an inspector: datadam qa show|approve|reject "
                     "runs/news-topic-tags/manual__2026-12-05T15_27_27.009282_00_00")]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")
def test_children_die_with_a_killed_datadam_run(tmp_path: Path) -> None:
    """A SIGKILLed `datadam run` runs no clean-up: what it started (with ``_spawn``) must die anyway."""
    import signal
    import subprocess

    pidfile = tmp_path / "child.pid"
    # the parent plays `datadam run`: it spawns a child the way run_one does, then waits to be killed
    parent_script = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        from pipelines.cli.run import _spawn
        child = _spawn([sys.executable, "-c",
                        "from pipelines.lifeline import die_with_parent; die_with_parent(); "
                        "import time; time.sleep(600)"],
                       env=dict(os.environ), log=Path({str(tmp_path / 'child.log')!r}))
        Path({str(pidfile)!r}).write_text(str(child.pid))
        time.sleep(600)
    """)
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, "-c", parent_script], cwd=root,
                              env={**os.environ, "PYTHONPATH": str(root)})
    try:
        for _ in range(400):
            if pidfile.exists() and pidfile.read_text():
                break
            time.sleep(0.05)
        child = int(pidfile.read_text())
        assert _alive(child)  # (killed before it asks for its death signal, it finds its parent gone and exits)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        for _ in range(200):  # the kernel delivers the death signal asynchronously
            if not _alive(child):
                break
            time.sleep(0.05)
        assert not _alive(child), "a child outlived its killed `datadam run`"
    finally:
        parent.kill()
