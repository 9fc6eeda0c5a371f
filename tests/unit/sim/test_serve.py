"""The ``--serve`` simulator reads its requests line by line from a pipe, and a wait for the next one is bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.cli.run import ROOT, SimRunner
from sim.annotators import _Lines, _parser

pytestmark = pytest.mark.unit


def test_lines_come_whole_and_the_end_of_input_is_none() -> None:
    r, w = os.pipe()
    try:
        lines = _Lines(r)
        assert not lines.ready(0.0)  # nothing written: a bounded wait says so
        os.write(w, b'{"argv": []}\n{}\npart')
        assert lines.ready(0.0)
        assert lines.get() == '{"argv": []}'
        assert lines.ready(0.0)  # the second line was read with the first
        assert lines.get() == "{}"
        assert not lines.ready(0.0)  # half a line is not a line
        os.write(w, b"ial\n")
        assert lines.get() == "partial"
        os.close(w)
        w = -1
        assert lines.ready(0.0)  # the end of input ends a wait too
        assert lines.get() is None
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_a_serve_request_takes_a_one_run_simulators_options() -> None:
    args = _parser().parse_args(["--storage", "file:///tmp/x", "--spec-id", "book-mrc", "--watch", "--follow",
                                 "--review", "--poll", "0.5"])
    assert (args.spec_id, args.watch, args.follow, args.review, args.poll) == ("book-mrc", True, True, True, 0.5)
    assert _parser().parse_args(["--serve"]).serve


def test_a_simulator_process_that_fails_a_request_dies_with_the_error_in_that_runs_log(tmp_path: Path) -> None:
    """What `run_one` relies on to end a run whose shared simulator died: the process ends, non-zero, and the
    request's own log holds why."""
    runner = SimRunner(env={**os.environ, "PYTHONPATH": str(ROOT)}, log=tmp_path / "sim.log")
    log = tmp_path / "run-annotators.log"
    try:
        runner.start(["--storage", (tmp_path / "storage").as_uri(), "--spec-id", "no-such-dataset-type"], log=log)
        assert runner.proc is not None
        runner.proc.wait(timeout=120)
        assert not runner.alive() and runner.returncode not in (0, "?")
        assert "no-such-dataset-type" in log.read_text(encoding="utf-8")
    finally:
        runner.close()
