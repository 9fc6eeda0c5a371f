"""The local AIRFLOW_HOME: configuration through environment variables and a migrated SQLite metadata DB.

Airflow itself is never imported here (only ``pipelines.orchestration`` may): it runs as
``.venv/bin/airflow`` in a subprocess.
"""

from __future__ import annotations

import importlib.metadata
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from pipelines.stack import _proc
from pipelines.stack.errors import StackError
from pipelines.stack.state import StackPaths, repo_root

NAME = "airflow"
_MARKER = ".datadam-migrated"


def airflow_executable() -> Path:
    """``<repo>/.venv/bin/airflow``, else the one next to the running interpreter."""
    exe = repo_root() / ".venv" / "bin" / "airflow"
    return exe if exe.exists() else Path(sys.executable).parent / "airflow"


def db_path(airflow_home: Path) -> Path:
    """The SQLite metadata DB inside ``airflow_home``."""
    return airflow_home / "airflow.db"


def base_env(airflow_home: Path) -> dict[str, str]:
    """AIRFLOW_HOME and the settings the local stack fixes; connections are added by StackInfo."""
    home = airflow_home.resolve()
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(repo_root() / "dags"),
        # Airflow rejects relative SQLite paths, hence resolve() and the four slashes.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db_path(home)}",
    }


def _marker_text(paths: StackPaths) -> str:
    return f"apache-airflow=={importlib.metadata.version('apache-airflow')} {db_path(paths.airflow_home)}\n"


def is_migrated(paths: StackPaths) -> bool:
    """True if the SQLite DB exists and holds an Alembic revision (``airflow db migrate`` completed)."""
    db = db_path(paths.airflow_home)
    if not db.exists():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return False
    return row is not None


def ensure_migrated(paths: StackPaths, *, timeout: float = 600.0) -> bool:
    """Run ``airflow db migrate`` unless this DB was already migrated by this Airflow version.

    Returns:
        True if a migration ran, False if the marker showed it was not needed.
    """
    marker = paths.airflow_home / _MARKER
    if marker.exists() and marker.read_text() == _marker_text(paths) and is_migrated(paths):
        return False
    paths.airflow_home.mkdir(parents=True, exist_ok=True)
    log = paths.logs / "airflow-migrate.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **base_env(paths.airflow_home)}
    with log.open("ab") as fh:
        done = subprocess.run(
            [str(airflow_executable()), "db", "migrate"],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0 or not is_migrated(paths):
        raise StackError(f"`airflow db migrate` failed (exit {done.returncode}):\n" + _proc.log_tail(log))
    marker.write_text(_marker_text(paths))
    return True
