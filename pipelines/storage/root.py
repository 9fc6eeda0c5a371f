"""Which storage root a command or a task works in: the one given, else ``$DATADAM_STORAGE``, else a fallback."""

from __future__ import annotations

import os
from collections.abc import Callable

STORAGE_ENV = "DATADAM_STORAGE"


def storage_root(given: str | None, *, fallback: Callable[[], str] | None = None,
                 missing: str = "pass a storage root") -> str:
    """``given``, else ``$DATADAM_STORAGE``, else ``fallback()``; with no fallback a missing root is a ValueError
    saying ``missing`` (what the caller could have passed)."""
    root = given or os.environ.get(STORAGE_ENV)
    if root:
        return str(root)
    if fallback is not None:
        return fallback()
    raise ValueError(f"no storage root: {missing} or set ${STORAGE_ENV}")
