"""The local stack: a Label Studio server, an S3-compatible endpoint and an AIRFLOW_HOME on loopback.

Used by ``datadam stack up|down|status``, the demo and the integration tests. Nothing here imports
Airflow; Airflow runs as a subprocess of ``.venv/bin/airflow``.
"""

from pipelines.stack.core import (
    SERVICES,
    ServiceStatus,
    StackInfo,
    down,
    restart_labelstudio,
    status,
    up,
)
from pipelines.stack.errors import StackError
from pipelines.stack.state import HOME_ENV, LS_ADMIN_EMAIL, resolve_home

__all__ = [
    "HOME_ENV",
    "LS_ADMIN_EMAIL",
    "SERVICES",
    "ServiceStatus",
    "StackError",
    "StackInfo",
    "down",
    "resolve_home",
    "restart_labelstudio",
    "status",
    "up",
]
