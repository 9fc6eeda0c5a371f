"""Progress at a steady pace: a line every ``every_s`` seconds of the injected clock, never one per item; the CLI
shows the same plain lines when its output is not a terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from pipelines.cli.common import progress
from pipelines.pace import Pace

pytestmark = pytest.mark.unit


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_every_interval_not_every_item_with_counts_total_and_rate() -> None:
    clock, lines = _Clock(), []
    pace = Pace("crop collect shard 0", total=1600, every_s=10.0, emit=lines.append, clock=clock)
    for _ in range(1600):  # one item every 1/32 s (exact in binary): 50 s of work
        clock.now += 1 / 32
        pace.advance()
    pace.finish()
    assert len(lines) == 6  # at 10, 20, 30, 40, 50 s and the last line; not 1600
    assert lines[0] == "crop collect shard 0: 320/1,600 items (20%), 32.0 items/s"
    assert lines[-1] == "crop collect shard 0: 1,600/1,600 items (100%), 32.0 items/s, done in 50 s"


def test_an_unknown_total_and_batches_are_counted_too() -> None:
    clock, lines = _Clock(), []
    pace = Pace("label_push", unit="tasks", every_s=5.0, emit=lines.append, clock=clock)
    clock.now += 4.0
    pace.advance(300)  # before the interval: nothing yet
    assert lines == []
    clock.now += 2.0
    pace.advance(300)
    assert lines == ["label_push: 600 tasks, 100.0 tasks/s"]
    pace.finish()
    assert lines[-1] == "label_push: 600 tasks, 100.0 tasks/s, done in 6 s"


def test_work_that_takes_no_time_still_ends_with_one_line() -> None:
    clock, lines = _Clock(), []
    pace = Pace("download", total=0, unit="bytes", emit=lines.append, clock=clock)
    pace.finish()
    assert lines == ["download: 0/0 bytes, - bytes/s, done in 0 s"]


def test_the_cli_prints_plain_lines_when_its_output_is_not_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with progress("sweep", total=3, console=console, unit="dataset types") as bar:
        for _ in range(3):
            bar.advance()
    text = out.getvalue()
    assert "\x1b[" not in text  # no bar, no control sequences in a CI log
    assert text.splitlines()[-1].startswith("sweep: 3/3 dataset types (100%), ")
    assert text.splitlines()[-1].endswith(" s")


def test_the_cli_draws_a_bar_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with progress("sweep", total=2, console=console) as bar:
        bar.advance(2)
    assert "2/2" in out.getvalue() and "━" in out.getvalue()
