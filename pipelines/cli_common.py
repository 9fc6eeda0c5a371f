"""What every command group resolves the same way: the storage root a command reads and writes."""

from __future__ import annotations

import os

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


def open_root(storage: str | None) -> ObjectStore:
    """The store at :func:`storage_root` (S3 credentials from the environment, never from arguments)."""
    return open_store(storage_root(storage))
