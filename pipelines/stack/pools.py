"""The Airflow pool that caps concurrent Label Studio API calls, created in every stack's metadata DB.

``label_push``, ``label_pull`` and ``review_pull`` run in the pool ``labelstudio_api``: with many DAGs in
flight on several Celery workers, an uncapped burst of imports and exports would queue up inside Label Studio's
request workers and time out. The scheduler never queues a task whose pool does not exist, so each stack creates
it when it migrates its metadata DB. ``dag.test()`` ignores pools (tasks run one by one in-process), so
the SQLite stack's pool only keeps the two stacks alike.

The pool's name is the stage table's (``pipelines.orchestration.stages``, which imports no Airflow).
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from pipelines.orchestration.stages import LABELSTUDIO_POOL
from pipelines.stack import _proc
from pipelines.stack.errors import StackError

DEFAULT_SLOTS = 4
DESCRIPTION = "Concurrent Label Studio API calls (label_push, label_pull, review_pull); created by datadam stack up"


def sqlite_has_pool(db: Path, name: str = LABELSTUDIO_POOL) -> bool:
    """True if the SQLite metadata DB at ``db`` holds the pool ``name``."""
    if not db.exists():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0) as conn:
            row = conn.execute("SELECT 1 FROM slot_pool WHERE pool = ?", (name,)).fetchone()
    except sqlite3.Error:
        return False
    return row is not None


def ensure_pool(
    *,
    airflow: Path,
    env: Mapping[str, str],
    exists: Callable[[], bool],
    log: Path,
    name: str = LABELSTUDIO_POOL,
    slots: int = DEFAULT_SLOTS,
    timeout: float = 300.0,
) -> bool:
    """Create the pool through ``airflow pools set`` unless ``exists()`` says it is there.

    An existing pool is left alone, so slots an operator changed in the UI survive ``up``.

    Args:
        airflow: The ``airflow`` executable.
        env: Environment pointing ``airflow`` at the metadata DB.
        exists: Cheap check against the metadata DB (no Airflow import, unlike the CLI).
        log: Where the CLI's output goes.
        name: Pool name.
        slots: Slots of a new pool.
        timeout: Seconds the CLI may take.

    Returns:
        True if the pool was created, False if it already existed.

    Raises:
        StackError: the CLI failed (message has its log tail).
    """
    if exists():
        return False
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(airflow), "pools", "set", name, str(slots), DESCRIPTION]
    with log.open("ab") as fh:
        done = subprocess.run(
            argv, env=dict(env), stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
    if done.returncode != 0 or not exists():
        raise StackError(
            f"`airflow pools set {name}` failed (exit {done.returncode}):\n" + _proc.log_tail(log)
        )
    return True
