"""What every command group resolves the same way: the storage root a command reads and writes, and how
text from specs and data reaches the terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from pipelines.pace import Pace
from pipelines.storage import ObjectStore, open_store
from pipelines.storage.root import storage_root as resolve_storage_root


def _stack_storage() -> str:
    from pipelines.stack.state import resolve_home

    return (resolve_home() / "storage").as_uri()


def storage_root(storage: str | None) -> str:
    """``--storage``, else ``$DATADAM_STORAGE``, else the local stack's ``file://<stack home>/storage``."""
    return resolve_storage_root(storage, fallback=_stack_storage)


def plain(value: object) -> Text:
    """Spec or data text for a Rich table cell or title: shown as it is, never read as markup.

    A description holding ``[link=...]`` would otherwise become a live link, and a stray ``[/x]`` a crash.
    """
    return Text(str(value))


def esc(value: object) -> str:
    """Spec or data text to put inside a Rich markup string (``f"[red]{esc(exc)}[/red]"``)."""
    return escape(str(value))


def open_root(storage: str | None) -> ObjectStore:
    """The store at :func:`storage_root` (S3 credentials from the environment, never from arguments)."""
    return open_store(storage_root(storage))


class Ticker(Protocol):
    """What long CLI work advances: a rich bar or a :class:`~pipelines.pace.Pace`."""

    def advance(self, n: int = 1) -> None: ...


class _Bar:
    def __init__(self, bars: Progress, task: TaskID) -> None:
        self.bars, self.task = bars, task

    def advance(self, n: int = 1) -> None:
        self.bars.advance(self.task, n)


def plain_pace(what: str, *, total: int | None, console: Console, unit: str = "items",
               every_s: float = 5.0) -> Pace:
    """A :class:`Pace` whose lines go to ``console`` as plain text (CI logs, a pipe, a file)."""
    return Pace(what, total=total, unit=unit, every_s=every_s, emit=lambda line: console.print(Text(line)))


@contextmanager
def progress(what: str, *, total: int | None, console: Console, unit: str = "items") -> Iterator[Ticker]:
    """A rich progress bar on a terminal; elsewhere a plain line every few seconds and one at the end."""
    if console.is_terminal:
        columns = (TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as bars:
            yield _Bar(bars, bars.add_task(what, total=total))
        return
    pace = plain_pace(what, total=total, console=console, unit=unit)
    yield pace
    pace.finish()
