"""The production topology on one machine: Airflow on CeleryExecutor over the machine's PostgreSQL and Redis.

``datadam stack up --production-like`` runs, from the installed packages and on loopback, what
``docker-compose.yml`` runs in containers: a PostgreSQL metadata DB (database and role ``datadam_airflow``),
a Redis broker (its own DB number), ``api-server``, ``scheduler``, ``dag-processor``, ``triggerer`` and N
Celery workers with distinct ``--celery-hostname``\\ s. Label Studio and the S3 endpoint come from the
ordinary local stack (``pipelines.stack.core``); tasks reach them through the same two connections, so
shards written by one worker are read by another through shared object storage.

Every component gets the same JWT secret, fernet key and API secret key from ``secrets.json``, and
``execution_api_server_url`` pointing at the api-server. Processes are recorded in ``production.json``
(pid and start time, like ``stack.json``) and ``down`` stops exactly those.

Both workers run on one host, so Airflow's hostname would not tell them apart: each worker gets a
``hostname_callable`` (:func:`worker_hostname`) that reports ``worker-<n>.<host>`` as ``ti.hostname``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, LiteralString

import httpx
import psycopg
import redis
from psycopg import sql

from pipelines.orchestration.stages import LABELSTUDIO_POOL
from pipelines.stack import _proc, airflow_api, pools
from pipelines.stack import core as base
from pipelines.stack.airflow_home import airflow_executable
from pipelines.stack.core import ServiceStatus, StackInfo
from pipelines.stack.errors import StackError
from pipelines.stack.state import (
    Secrets,
    ServiceRecord,
    StackPaths,
    _write_atomic,
    load_or_create_secrets,
    locked,
    repo_root,
    resolve_home,
)

log = logging.getLogger(__name__)

API_SERVER = "api-server"
SCHEDULER = "scheduler"
DAG_PROCESSOR = "dag-processor"
TRIGGERER = "triggerer"
CORE_PROCESSES: tuple[str, ...] = (API_SERVER, SCHEDULER, DAG_PROCESSOR, TRIGGERER)
ADMIN_USER = "admin"
# The QA gate's respondents (docs/adr/0020): SimpleAuthManager has no groups, so the inspectors are a list of
# user ids the gate task assigns; the contractor has the same rights on DAGs but is not among them.
INSPECTOR_USER = "inspector"
CONTRACTOR_USER = "contractor"
AIRFLOW_USERS = f"{ADMIN_USER}:admin,{INSPECTOR_USER}:user,{CONTRACTOR_USER}:user"
STATE_FILE = "production.json"
WORKER_HOSTNAME_ENV = "DATADAM_WORKER_HOSTNAME"
DAG_FILE = "datadam.py"
# Airflow's own tables and Celery's result tables share this database; keep it apart from everything else.
DB_NAME = "datadam_airflow"
# Redis DB 0 is where everybody else's keys go; a dedicated number keeps our broker queues apart.
REDIS_DB = 7
_START_HINT = {
    "postgres": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "redis": (
        "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no "
        "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
    ),
}
# Environment a developer's shell or a test process may carry that must not reach our processes: they
# would point them at another AIRFLOW_HOME, metadata DB or connection.
_FOREIGN_PREFIXES = ("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "AIRFLOW_HOME", "_AIRFLOW")


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the local workers: their name, since they share one host."""
    return os.environ.get(WORKER_HOSTNAME_ENV) or socket.getfqdn()


@dataclass(frozen=True, kw_only=True)
class ProductionConfig:
    """Where the machine's PostgreSQL and Redis are, and how many workers to run.

    Attributes:
        pg_host: PostgreSQL host (trust auth on loopback).
        pg_port: PostgreSQL port.
        pg_admin_user: A superuser that may create the role and database.
        db_name: Metadata database, also the name of its owner role.
        redis_host: Redis host.
        redis_port: Redis port.
        redis_db: Redis database number of the Celery broker.
        workers: Celery workers to run.
        concurrency: Task slots per worker.
    """

    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_admin_user: str = "postgres"
    db_name: str = DB_NAME
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = REDIS_DB
    workers: int = 2
    # One slot per worker: two workers are two parallel tasks, as many as this 2-core machine has cores.
    concurrency: int = 1

    @classmethod
    def from_env(cls, *, workers: int = 2, concurrency: int = 1) -> ProductionConfig:
        """Defaults, overridden by ``DATADAM_PG_HOST|PORT|ADMIN_USER|DB``, ``DATADAM_REDIS_HOST|PORT|DB``."""
        env = os.environ
        return cls(
            pg_host=env.get("DATADAM_PG_HOST", cls.pg_host),
            pg_port=int(env.get("DATADAM_PG_PORT", cls.pg_port)),
            pg_admin_user=env.get("DATADAM_PG_ADMIN_USER", cls.pg_admin_user),
            db_name=env.get("DATADAM_PG_DB", cls.db_name),
            redis_host=env.get("DATADAM_REDIS_HOST", cls.redis_host),
            redis_port=int(env.get("DATADAM_REDIS_PORT", cls.redis_port)),
            redis_db=int(env.get("DATADAM_REDIS_DB", cls.redis_db)),
            workers=workers,
            concurrency=concurrency,
        )

    @property
    def sql_alchemy_conn(self) -> str:
        """Metadata DB URL; psycopg 3 because Airflow 3.3 switches to its code paths when it is installed."""
        return f"postgresql+psycopg://{self.db_name}@{self.pg_host}:{self.pg_port}/{self.db_name}"

    @property
    def result_backend(self) -> str:
        """Celery result backend: the same database through SQLAlchemy."""
        return f"db+{self.sql_alchemy_conn}"

    @property
    def broker_url(self) -> str:
        """Celery broker URL."""
        return f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}"


def worker_names(count: int) -> tuple[str, ...]:
    """``worker-1`` ... ``worker-<count>``."""
    return tuple(f"worker-{i}" for i in range(1, count + 1))


def celery_hostname(worker: str) -> str:
    """The ``--celery-hostname`` of a worker (Celery node name ``worker-1@<host>``)."""
    return f"{worker}@{socket.gethostname()}"


def task_hostname(worker: str) -> str:
    """What ``ti.hostname`` shows for tasks the worker ran (``worker-1.<host>``)."""
    return f"{worker}.{socket.gethostname()}"


@dataclass(frozen=True, kw_only=True)
class ProductionInfo:
    """How to reach the production-like topology. Secrets are kept out of ``repr``.

    Attributes:
        home: The stack home.
        airflow_home: AIRFLOW_HOME of the production-like processes (logs, passwords file).
        api_url: The api-server (UI, REST API ``/api/v2``, Execution API ``/execution/``).
        stack: The local stack providing Label Studio and the S3 endpoint.
        config: PostgreSQL, Redis and worker settings in use.
        workers: Celery node names of the running workers.
        passwords: Password of every user (``admin``, ``inspector``, ``contractor``).
        env: Environment for ``airflow`` CLI calls against this topology.
        started: Processes this call started.
    """

    home: Path
    airflow_home: Path
    api_url: str
    stack: StackInfo
    config: ProductionConfig
    workers: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)
    started: tuple[str, ...] = ()
    admin_user: str = ADMIN_USER
    passwords: Mapping[str, str] = field(repr=False, default_factory=dict)

    def api_token(self, *, user: str = ADMIN_USER, timeout: float = 30.0) -> str:
        """A JWT for the REST API from ``POST /auth/token`` (SimpleAuthManager) as ``user``."""
        return airflow_api.token(self.api_url, username=user, password=self.passwords[user], timeout=timeout)

    def api(self, *, user: str = ADMIN_USER) -> airflow_api.AirflowApi:
        """A REST API client logged in as ``user`` (default ``admin``)."""
        return airflow_api.AirflowApi(self.api_url, self.api_token(user=user))


@dataclass(frozen=True)
class _State:
    services: Mapping[str, ServiceRecord] = field(default_factory=dict)
    fingerprint: str = ""
    concurrency: int = 0


def _state_path(paths: StackPaths) -> Path:
    return paths.home / STATE_FILE


def _load(paths: StackPaths) -> _State:
    try:
        raw = json.loads(_state_path(paths).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return _State()
    known = {f.name for f in dataclasses.fields(ServiceRecord)}
    services = {
        name: ServiceRecord(**{k: v for k, v in rec.items() if k in known and k != "name"}, name=name)
        for name, rec in raw.get("services", {}).items()
    }
    return _State(
        services=services,
        fingerprint=str(raw.get("fingerprint", "")),
        concurrency=int(raw.get("concurrency", 0)),
    )


def _save(paths: StackPaths, state: _State) -> None:
    doc = {
        "version": 1,
        "fingerprint": state.fingerprint,
        "concurrency": state.concurrency,
        "services": {name: dataclasses.asdict(rec) for name, rec in state.services.items()},
    }
    _write_atomic(_state_path(paths), json.dumps(doc, indent=2) + "\n")


def _running(rec: ServiceRecord | None) -> bool:
    return rec is not None and _proc.is_running(rec.pid, rec.start_time)


# --------------------------------------------------------------------------- PostgreSQL and Redis


def _pg_admin(cfg: ProductionConfig, dbname: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=cfg.pg_host,
        port=cfg.pg_port,
        user=cfg.pg_admin_user,
        dbname=dbname,
        autocommit=True,
        connect_timeout=5,
    )


def postgres_problem(cfg: ProductionConfig) -> str | None:
    """None if PostgreSQL accepts a connection, else what went wrong."""
    try:
        with _pg_admin(cfg) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {cfg.pg_host}:{cfg.pg_port} refuses connections ({str(exc).strip()[:200]})"
    return None


def redis_problem(cfg: ProductionConfig) -> str | None:
    """None if Redis answers PING, else what went wrong."""
    client = redis.Redis(host=cfg.redis_host, port=cfg.redis_port, db=cfg.redis_db, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis at {cfg.redis_host}:{cfg.redis_port} does not answer ({exc})"
    finally:
        client.close()
    return None


def require_backends(cfg: ProductionConfig) -> None:
    """Raise StackError (with the command that starts it) if PostgreSQL or Redis is down."""
    problems = [
        f"{p}\n  start it with: {_START_HINT[name]}"
        for name, p in (("postgres", postgres_problem(cfg)), ("redis", redis_problem(cfg)))
        if p is not None
    ]
    if problems:
        raise StackError("the production-like stack needs the machine's services:\n" + "\n".join(problems))


def ensure_database(cfg: ProductionConfig) -> bool:
    """Create the role and database ``cfg.db_name`` (owned by that role) unless they exist.

    Returns:
        True if the database was created.
    """
    ident = sql.Identifier(cfg.db_name)
    with _pg_admin(cfg) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (cfg.db_name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
        if (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cfg.db_name,)).fetchone()
            is not None
        ):
            return False
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(ident, ident))
    return True


def _pg_scalar(cfg: ProductionConfig, query: LiteralString, params: tuple[Any, ...] = ()) -> Any:
    try:
        with psycopg.connect(
            host=cfg.pg_host, port=cfg.pg_port, user=cfg.db_name, dbname=cfg.db_name, connect_timeout=5
        ) as conn:
            row = conn.execute(query, params).fetchone()
    except psycopg.Error:
        return None
    return None if row is None else row[0]


def is_migrated(cfg: ProductionConfig) -> bool:
    """True if the metadata DB holds an Alembic revision."""
    return _pg_scalar(cfg, "SELECT version_num FROM alembic_version") is not None


def has_pool(cfg: ProductionConfig, name: str = LABELSTUDIO_POOL) -> bool:
    """True if the metadata DB holds the pool ``name``."""
    return _pg_scalar(cfg, "SELECT 1 FROM slot_pool WHERE pool = %s", (name,)) is not None


# --------------------------------------------------------------------------------------- environment


def airflow_home_of(paths: StackPaths) -> Path:
    """AIRFLOW_HOME of the production-like processes (apart from the SQLite one)."""
    return paths.home / "airflow-prod"


def _passwords_file(paths: StackPaths) -> Path:
    return airflow_home_of(paths) / "simple_auth_manager_passwords.json"


def _clean_os_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}


def production_env(
    *, paths: StackPaths, stack: StackInfo, secrets: Secrets, cfg: ProductionConfig, api_port: int
) -> dict[str, str]:
    """Configuration every production-like process shares (per-process ports are added at launch).

    Args:
        paths: The stack home.
        stack: Label Studio and S3 endpoint, exported as the ``datadam_*`` connections.
        secrets: Shared JWT secret, fernet key, API secret key.
        cfg: PostgreSQL and Redis.
        api_port: Port of the api-server on loopback.

    Returns:
        ``AIRFLOW__*`` settings, ``AIRFLOW_CONN_*`` connections and ``DATADAM_STORAGE``.
    """
    home = airflow_home_of(paths)
    api_url = f"http://{_proc.LOOPBACK}:{api_port}"
    env = stack.airflow_env()
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": cfg.sql_alchemy_conn,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": cfg.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": cfg.result_backend,
            "AIRFLOW__CORE__FERNET_KEY": secrets.airflow_fernet_key,
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.airflow_jwt_secret,
            "AIRFLOW__API__SECRET_KEY": secrets.airflow_api_secret_key,
            "AIRFLOW__API__HOST": _proc.LOOPBACK,
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": api_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": AIRFLOW_USERS,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(_passwords_file(paths)),
            # schedule=None everywhere: an unpaused DAG only runs when someone triggers it.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(repo_root() / "dags"),
            # One DAG file: re-parse it every minute, not every 30 s, on a 2-core machine.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
            "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "30",
            "DATADAM_STORAGE": f"s3://{stack.s3_bucket}",
            # The gate asks the inspectors in Airflow's Required Actions (pipelines/orchestration/settings.py).
            "DATADAM_GATE": "hitl",
            "DATADAM_INSPECTORS": INSPECTOR_USER,
        }
    )
    return env


def _fingerprint(env: Mapping[str, str]) -> str:
    # Processes started with other settings (a moved Label Studio, a new api port) must be restarted.
    return hashlib.sha256(json.dumps(sorted(env.items())).encode()).hexdigest()[:16]


def user_passwords(secrets: Secrets) -> dict[str, str]:
    """Every Airflow user's password, as SimpleAuthManager's passwords file holds them."""
    return {
        ADMIN_USER: secrets.airflow_admin_password,
        INSPECTOR_USER: secrets.airflow_inspector_password,
        CONTRACTOR_USER: secrets.airflow_contractor_password,
    }


def _write_passwords(paths: StackPaths, secrets: Secrets) -> None:
    # SimpleAuthManager reads the passwords from this file and only generates one for a user missing from it.
    _write_atomic(_passwords_file(paths), json.dumps(user_passwords(secrets)) + "\n", mode=0o600)


def _run_airflow(args: list[str], *, env: Mapping[str, str], log_path: Path, timeout: float) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as fh:
        done = subprocess.run(
            [str(airflow_executable()), *args],
            env=dict(env),
            stdout=fh,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        raise StackError(
            f"`airflow {' '.join(args)}` failed (exit {done.returncode}):\n" + _proc.log_tail(log_path)
        )


def ensure_migrated(paths: StackPaths, cfg: ProductionConfig, env: Mapping[str, str]) -> bool:
    """``airflow db migrate`` against PostgreSQL unless this Airflow version already migrated it."""
    marker = airflow_home_of(paths) / ".datadam-migrated"
    text = f"apache-airflow=={importlib.metadata.version('apache-airflow')} {cfg.sql_alchemy_conn}\n"
    if marker.exists() and marker.read_text() == text and is_migrated(cfg):
        return False
    _run_airflow(["db", "migrate"], env=env, log_path=paths.logs / "airflow-prod-migrate.log", timeout=900.0)
    if not is_migrated(cfg):
        raise StackError("`airflow db migrate` finished but the PostgreSQL DB holds no Alembic revision")
    marker.write_text(text)
    return True


# ------------------------------------------------------------------------------------------ processes


def _argv(name: str, *, api_port: int, concurrency: int) -> list[str]:
    airflow = str(airflow_executable())
    if name == API_SERVER:
        return [airflow, "api-server", "--host", _proc.LOOPBACK, "--port", str(api_port), "--workers", "1"]
    if name == SCHEDULER:
        # Celery workers serve task logs; the scheduler runs no task.
        return [airflow, "scheduler", "--skip-serve-logs"]
    if name == DAG_PROCESSOR:
        return [airflow, "dag-processor"]
    if name == TRIGGERER:
        return [airflow, "triggerer"]
    return [
        airflow,
        "celery",
        "worker",
        "--celery-hostname",
        celery_hostname(name),
        "--concurrency",
        str(concurrency),
    ]


def _process_env(name: str, common: Mapping[str, str], port: int) -> dict[str, str]:
    env = {**_clean_os_env(), **common}
    if name == TRIGGERER:
        env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(port)
    elif name.startswith("worker-"):
        # Two workers on one host: each serves its logs on its own port and reports its own name.
        env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(port)
        env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = f"{__name__}.worker_hostname"
        env[WORKER_HOSTNAME_ENV] = task_hostname(name)
    return env


def _launch(
    paths: StackPaths, name: str, *, common: Mapping[str, str], port: int, api_port: int, concurrency: int
) -> ServiceRecord:
    log_path = paths.logs / f"airflow-{name}.log"
    argv = _argv(name, api_port=api_port, concurrency=concurrency)
    return _proc.launch(name, argv, env=_process_env(name, common, port), log_path=log_path,
                        cwd=airflow_home_of(paths), port=port, http=bool(port))


def _stop(rec: ServiceRecord) -> bool:
    if rec.pid is None:
        return False
    # Celery's warm shutdown waits for running tasks; a task of a test run must not hold `down` for long.
    return _proc.stop(rec.pid, rec.start_time if rec.start_time is not None else -1, grace=30.0)


def _health(api_url: str) -> dict[str, Any] | None:
    try:
        resp = httpx.get(f"{api_url}/api/v2/monitor/health", timeout=5.0)
    except httpx.HTTPError:
        return None
    if resp.status_code != 200:
        return None
    body = resp.json()
    return body if isinstance(body, dict) else None


_HEALTH_KEYS = {SCHEDULER: "scheduler", TRIGGERER: "triggerer", DAG_PROCESSOR: "dag_processor"}


def _component_healthy(health: Mapping[str, Any] | None, name: str) -> bool:
    if health is None:
        return False
    if name == API_SERVER:
        return bool((health.get("metadatabase") or {}).get("status") == "healthy")
    return bool((health.get(_HEALTH_KEYS[name]) or {}).get("status") == "healthy")


def celery_nodes(cfg: ProductionConfig, *, timeout: float = 2.0) -> set[str]:
    """Node names of the Celery workers answering a broadcast ping on our broker."""
    from celery import Celery  # type: ignore[import-untyped]

    app = Celery(broker=cfg.broker_url)
    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception:  # an unreachable broker means no worker answers
        replies = []
    finally:
        app.close()
    return {node for reply in replies for node in reply}


def _wait_healthy(
    records: Mapping[str, ServiceRecord],
    *,
    api_url: str,
    cfg: ProductionConfig,
    timeout: float,
    redact: tuple[str, ...],
) -> None:
    deadline = time.monotonic() + timeout
    pending = set(records)
    while True:
        for name in sorted(pending):
            rec = records[name]
            if not _running(rec):
                raise StackError(
                    f"Airflow {name} exited during start (see {rec.log}):\n"
                    + _proc.log_tail(Path(rec.log), redact=redact)
                )
        health = _health(api_url)
        nodes = celery_nodes(cfg, timeout=1.0) if any(n.startswith("worker-") for n in pending) else set()
        pending = {
            n
            for n in pending
            if not (celery_hostname(n) in nodes if n.startswith("worker-") else _component_healthy(health, n))
        }
        if not pending:
            return
        if time.monotonic() > deadline:
            details = "\n\n".join(
                f"--- {n} ({records[n].log}):\n"
                + _proc.log_tail(Path(records[n].log), lines=15, redact=redact)
                for n in sorted(pending)
            )
            raise StackError(
                f"Airflow components not healthy after {timeout:.0f} s: {sorted(pending)}\n{details}"
            )
        time.sleep(1.0)


def _choose_ports(state: _State, wanted: tuple[str, ...], avoid: set[int]) -> dict[str, int]:
    ports: dict[str, int] = {}
    taken = set(avoid) | {r.port for r in state.services.values() if _running(r) and r.port}
    for name in wanted:
        if name in (SCHEDULER, DAG_PROCESSOR):
            ports[name] = 0
            continue
        rec = state.services.get(name)
        if rec is not None and _running(rec):
            ports[name] = rec.port
            continue
        port = _proc.free_port(prefer=rec.port if rec else None, avoid=taken)
        taken.add(port)
        ports[name] = port
    return ports


def up(
    *,
    home: Path | None = None,
    workers: int = 2,
    concurrency: int = 1,
    timeout: float = 300.0,
    config: ProductionConfig | None = None,
) -> ProductionInfo:
    """Start (or reuse) the production-like topology and return how to reach it.

    Starts the local stack first (Label Studio, S3 endpoint), then checks PostgreSQL and Redis, creates
    the ``datadam_airflow`` role and database, migrates it, creates the ``labelstudio_api`` pool and
    launches the api-server, scheduler, dag-processor, triggerer and ``workers`` Celery workers. Workers
    beyond ``workers`` that an earlier call started are stopped (scale down).

    Args:
        home: Stack home; default ``$DATADAM_HOME`` or ``<repo>/.datadam``.
        workers: Celery workers to run (``worker-1`` ...).
        concurrency: Task slots per worker.
        timeout: Seconds to wait for each service to become healthy.
        config: PostgreSQL and Redis location; default :meth:`ProductionConfig.from_env`.

    Returns:
        Endpoints, credentials and the environment for ``airflow`` CLI calls.

    Raises:
        StackError: PostgreSQL or Redis is down, or a component did not start (message has its log tail).
    """
    if workers < 1 or concurrency < 1:
        raise ValueError("workers and concurrency must be at least 1")
    cfg = dataclasses.replace(config or ProductionConfig.from_env(), workers=workers, concurrency=concurrency)
    require_backends(cfg)
    stack = base.up(home=home, timeout=timeout)
    paths = StackPaths(resolve_home(home))
    with locked(paths):
        secrets = load_or_create_secrets(paths)
        airflow_home_of(paths).mkdir(parents=True, exist_ok=True)
        ensure_database(cfg)
        _write_passwords(paths, secrets)
        state = _load(paths)
        names = CORE_PROCESSES + worker_names(workers)
        stack_ports = {p for p in (_port_of(stack.ls_url), _port_of(stack.s3_endpoint)) if p}
        ports = _choose_ports(state, names, stack_ports)
        common = production_env(
            paths=paths, stack=stack, secrets=secrets, cfg=cfg, api_port=ports[API_SERVER]
        )
        state = _stop_stale(
            paths, state, keep=names, fingerprint=_fingerprint(common), concurrency=concurrency
        )
        # Ports of stopped processes are free again: choose once more, so the settings match what runs.
        ports = _choose_ports(state, names, stack_ports)
        common = production_env(
            paths=paths, stack=stack, secrets=secrets, cfg=cfg, api_port=ports[API_SERVER]
        )
        fingerprint = _fingerprint(common)
        ensure_migrated(paths, cfg, {**_clean_os_env(), **common})
        pools.ensure_pool(
            airflow=airflow_executable(),
            env={**_clean_os_env(), **common},
            exists=lambda: has_pool(cfg),
            log=paths.logs / "airflow-prod-pools.log",
        )
        records = dict(state.services)
        fresh: list[str] = []
        for name in names:
            if _running(records.get(name)):
                continue
            log.info("starting Airflow %s", name)
            records[name] = _launch(
                paths,
                name,
                common=common,
                port=ports[name],
                api_port=ports[API_SERVER],
                concurrency=concurrency,
            )
            fresh.append(name)
        state = _State(services=records, fingerprint=fingerprint, concurrency=concurrency)
        _save(paths, state)
        api_url = f"http://{_proc.LOOPBACK}:{ports[API_SERVER]}"
        try:
            _wait_healthy(
                {n: records[n] for n in names},
                api_url=api_url,
                cfg=cfg,
                timeout=timeout,
                redact=secrets.values(),
            )
        except StackError:
            # What we just launched and never became healthy is ours to clean up.
            for name in fresh:
                _stop(records[name])
            raise
    return ProductionInfo(
        home=paths.home,
        airflow_home=airflow_home_of(paths),
        api_url=api_url,
        stack=stack,
        config=cfg,
        workers=tuple(celery_hostname(n) for n in worker_names(workers)),
        passwords=user_passwords(secrets),
        env={**_clean_os_env(), **common},
        started=tuple(fresh),
    )


def _port_of(url: str) -> int | None:
    match = re.search(r":(\d+)$", url.rstrip("/"))
    return int(match.group(1)) if match else None


def _stop_stale(
    paths: StackPaths, state: _State, *, keep: tuple[str, ...], fingerprint: str, concurrency: int
) -> _State:
    """Stop what no longer fits: workers beyond ``keep``, all workers when their concurrency changed,
    every process when the shared settings changed (Label Studio moved, another api port ...)."""
    records = dict(state.services)
    changed = bool(state.fingerprint) and state.fingerprint != fingerprint
    resized = bool(state.concurrency) and state.concurrency != concurrency
    for name in _stop_order(records):
        rec = records[name]
        worker = name.startswith("worker-")
        if not (changed or name not in keep or (worker and resized)):
            continue
        if _running(rec):
            log.info("stopping Airflow %s (settings changed or scaled down)", name)
            _stop(rec)
        records[name] = dataclasses.replace(rec, pid=None, start_time=None, started_at=None)
    new = _State(services=records, fingerprint=state.fingerprint, concurrency=state.concurrency)
    _save(paths, new)
    return new


def _stop_order(records: Mapping[str, ServiceRecord]) -> list[str]:
    # The scheduler first (it stops queueing work), then workers, then what serves them.
    workers = sorted(n for n in records if n.startswith("worker-"))
    rest = [n for n in (SCHEDULER, TRIGGERER, DAG_PROCESSOR, API_SERVER) if n in records]
    return rest[:1] + workers + rest[1:]


def down(*, home: Path | None = None) -> list[str]:
    """Stop the production-like processes ``up`` started (only those, checked by pid and start time).

    PostgreSQL, Redis and the local stack (Label Studio, S3) are left running.

    Returns:
        Names of the processes that were running and have been stopped.
    """
    paths = StackPaths(resolve_home(home))
    stopped: list[str] = []
    with locked(paths):
        state = _load(paths)
        records = dict(state.services)
        for name in _stop_order(records):
            rec = records[name]
            if rec.pid is not None and _stop(rec):
                stopped.append(name)
            # Keep the port: the next `up` prefers it, so the UI's URL stays valid.
            records[name] = dataclasses.replace(rec, pid=None, start_time=None, started_at=None)
        _save(paths, _State(services=records, fingerprint=state.fingerprint, concurrency=state.concurrency))
    return stopped


# --------------------------------------------------------------------------------------- status


@dataclass(frozen=True, kw_only=True)
class ParseStats:
    """The dag-processor's last report for the DAG file (its "DAG File Processing Stats" log table).

    Attributes:
        file: The DAG file, relative to the bundle.
        dags: DAGs it produced.
        errors: Import errors.
        seconds: Duration of its last parse.
        at: When that parse finished (UTC, as logged).
    """

    file: str
    dags: int
    errors: int
    seconds: float
    at: str


_STATS_ROW = re.compile(
    r"^\s*(?P<bundle>\S+)\s+(?P<file>\S+\.py)\s+(?P<pid>\d+\s+)?(?P<current>[\d.]+s\s+)?"
    r"(?P<dags>\d+)\s+(?P<errors>\d+)\s+(?P<last>[\d.]+)s\s+(?P<at>\S+)\s*$"
)


def parse_stats(log_path: Path, *, file: str = DAG_FILE, since: float | None = None) -> ParseStats | None:
    """The last parse of ``file`` reported in a dag-processor log, or None if none is logged yet.

    The dag-processor prints a table every ``[dag_processor] print_stats_interval`` seconds with, per
    file, the number of DAGs, import errors and the "Last Duration" of its parse.

    Args:
        log_path: The dag-processor's log (stdout).
        file: The DAG file's name.
        since: Ignore parses that finished before this epoch time (the log outlives restarts).
    """
    try:
        text = log_path.read_text(errors="replace")
    except FileNotFoundError:
        return None
    found: ParseStats | None = None
    for line in text.splitlines():
        match = _STATS_ROW.match(line)
        if not match or Path(match["file"]).name != file:
            continue
        at = datetime.fromisoformat(match["at"]).replace(tzinfo=UTC)
        if since is not None and at.timestamp() < since - 1.0:  # "Last Run At" has whole seconds
            continue
        found = ParseStats(
            file=match["file"],
            dags=int(match["dags"]),
            errors=int(match["errors"]),
            seconds=float(match["last"]),
            at=match["at"],
        )
    return found


def _row(name: str, rec: ServiceRecord | None, problem: str | None) -> ServiceStatus:
    if rec is None:
        return ServiceStatus(name=name, url="", pid=None, healthy=False, detail="never started")
    if not _running(rec):
        return ServiceStatus(name=name, url=rec.url, pid=None, healthy=False, detail="not running")
    return ServiceStatus(
        name=name, url=rec.url, pid=rec.pid, healthy=problem is None, detail=problem or "running"
    )


def status(*, home: Path | None = None, config: ProductionConfig | None = None) -> list[ServiceStatus]:
    """One row per backing service and Airflow process: URL, pid, health; the dag-processor's parse time.

    PostgreSQL and Redis are checked by connecting; the api-server, scheduler, triggerer and dag-processor
    through the api-server's ``/api/v2/monitor/health``; workers by a Celery ping on the broker.
    """
    cfg = config or ProductionConfig.from_env()
    paths = StackPaths(resolve_home(home))
    state = _load(paths)
    pg, rd = postgres_problem(cfg), redis_problem(cfg)
    rows = [
        ServiceStatus(
            name="postgres",
            url=f"postgresql://{cfg.pg_host}:{cfg.pg_port}/{cfg.db_name}",
            pid=None,
            healthy=pg is None,
            detail=pg or ("migrated" if is_migrated(cfg) else "not migrated"),
        ),
        ServiceStatus(name="redis", url=cfg.broker_url, pid=None, healthy=rd is None, detail=rd or "PONG"),
    ]
    api = state.services.get(API_SERVER)
    api_url = api.url if api is not None else ""
    health = _health(api_url) if _running(api) else None
    nodes = (
        celery_nodes(cfg, timeout=1.0)
        if any(_running(r) for n, r in state.services.items() if n.startswith("worker-"))
        else set()
    )
    for name in [*CORE_PROCESSES, *sorted(n for n in state.services if n.startswith("worker-"))]:
        rec = state.services.get(name)
        if name.startswith("worker-"):
            node = celery_hostname(name)
            problem = None if node in nodes else f"{node} not answering a Celery ping"
        else:
            healthy = _component_healthy(health, name)
            problem = None if healthy else "not healthy in /api/v2/monitor/health"
        row = _row(name, rec, problem)
        if name == DAG_PROCESSOR and rec is not None:
            stats = parse_stats(Path(rec.log), since=rec.started_at)
            if stats is not None:
                row = dataclasses.replace(
                    row,
                    detail=f"{row.detail}; {stats.file}: {stats.dags} DAGs, "
                    f"{stats.errors} errors, parsed in {stats.seconds:.2f} s at {stats.at}",
                )
        if name.startswith("worker-") and rec is not None:
            row = dataclasses.replace(row, detail=f"{row.detail} ({celery_hostname(name)})")
        rows.append(row)
    return rows
