"""What every command group resolves the same way: the storage root a command reads and writes, and how
text from specs and data reaches the terminal."""

from __future__ import annotations

import os

from rich.markup import escape
from rich.text import Text

from pipelines.storage import ObjectStore, open_store

STORAGE_ENV = "DATADAM_STORAGE"


def storage_root(storage: str | None) -> str:
    """``--storage``, else ``$DATADAM_STORAGE``, else ``file://<stack home>/storage``."""
    if storage:
        return storage
    env = os.environ.get(STORAGE_ENV)
    if env:
        return env
    from pipelines.stack.state import resolve_home

    return (resolve_home() / "storage").as_uri()


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
