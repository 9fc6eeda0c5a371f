"""Bring the local stack up and down: Label Studio, an S3 endpoint and an AIRFLOW_HOME.

``up`` is idempotent: it reuses healthy services recorded in ``stack.json``, restarts dead ones on their
previous port when it is still free, and only ever stops (in ``down``) the processes it started.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pipelines.stack import _proc, airflow_home, labelstudio, pools, s3
from pipelines.stack.errors import StackError
from pipelines.stack.state import (
    LS_ADMIN_EMAIL,
    Secrets,
    ServiceRecord,
    StackPaths,
    StackState,
    load_or_create_secrets,
    load_secrets,
    load_state,
    locked,
    resolve_home,
    save_secrets,
    save_state,
)

log = logging.getLogger(__name__)

SERVICES: tuple[str, ...] = (labelstudio.NAME, s3.NAME, airflow_home.NAME)
_PROCESSES: tuple[str, ...] = (labelstudio.NAME, s3.NAME)
LS_CONN_ID = "datadam_labelstudio"
S3_CONN_ID = "datadam_s3"


@dataclass(frozen=True, kw_only=True)
class StackInfo:
    """How to reach the running local stack. Secrets are kept out of ``repr``.

    Attributes:
        home: The stack home (``$DATADAM_HOME`` or ``<repo>/.datadam``).
        ls_url: Label Studio base URL; empty if Label Studio is not running.
        ls_token: An API token verified against the server (legacy token, or a PAT/JWT as fallback).
        s3_endpoint: S3 endpoint URL; empty if the endpoint is not running.
        s3_access_key: Access key id for the endpoint.
        s3_secret_key: Secret access key for the endpoint.
        s3_region: Region name to sign requests with.
        s3_bucket: Bucket created on ``up``.
        airflow_home: AIRFLOW_HOME holding the migrated SQLite metadata DB.
        storage_root: Default storage root URI (``file://<home>/storage``).
        ls_email: The Label Studio admin the token belongs to.
        started: Services this call started (empty when all were already running).
    """

    home: Path
    ls_url: str
    ls_token: str = field(repr=False)
    s3_endpoint: str
    s3_access_key: str = field(repr=False)
    s3_secret_key: str = field(repr=False)
    s3_region: str = s3.REGION
    s3_bucket: str = s3.BUCKET
    airflow_home: Path
    storage_root: str = ""
    ls_email: str = LS_ADMIN_EMAIL
    started: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.storage_root:
            object.__setattr__(self, "storage_root", (self.home / "storage").as_uri())

    def airflow_env(self) -> dict[str, str]:
        """Environment for ``airflow`` subprocesses: AIRFLOW_HOME, config and the two connections."""
        env = airflow_home.base_env(self.airflow_home)
        if self.s3_endpoint:
            env[f"AIRFLOW_CONN_{S3_CONN_ID.upper()}"] = json.dumps(
                {
                    "conn_type": "aws",
                    "login": self.s3_access_key,
                    "password": self.s3_secret_key,
                    "extra": {"endpoint_url": self.s3_endpoint, "region_name": self.s3_region},
                }
            )
        if self.ls_url:
            url = urlsplit(self.ls_url)
            env[f"AIRFLOW_CONN_{LS_CONN_ID.upper()}"] = json.dumps(
                {
                    "conn_type": "http",
                    "host": url.hostname,
                    "port": url.port,
                    "schema": url.scheme,
                    "password": self.ls_token,
                }
            )
        return env

    def s3_env(self) -> dict[str, str]:
        """``AWS_*`` variables that point boto3 (and the AWS CLI) at the stack's endpoint."""
        return {
            "AWS_ACCESS_KEY_ID": self.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": self.s3_secret_key,
            "AWS_DEFAULT_REGION": self.s3_region,
            "AWS_REGION": self.s3_region,
            "AWS_ENDPOINT_URL_S3": self.s3_endpoint,
            "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
            "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
        }

    def ls_env(self) -> dict[str, str]:
        """``LABEL_STUDIO_URL`` / ``LABEL_STUDIO_API_KEY``, the variables the SDK reads."""
        return {"LABEL_STUDIO_URL": self.ls_url, "LABEL_STUDIO_API_KEY": self.ls_token}


@dataclass(frozen=True, kw_only=True)
class ServiceStatus:
    """One row of ``status``: a service, where it listens, its pid and whether it answers."""

    name: str
    url: str
    pid: int | None
    healthy: bool
    detail: str


def _check_services(services: Collection[str]) -> frozenset[str]:
    unknown = set(services) - set(SERVICES)
    if unknown:
        raise ValueError(f"unknown stack services {sorted(unknown)}; choose from {list(SERVICES)}")
    return frozenset(services)


def _running(rec: ServiceRecord | None) -> bool:
    return rec is not None and _proc.is_running(rec.pid, rec.start_time)


def _launch_if_dead(
    state: StackState, name: str, launch: Callable[[int], ServiceRecord]
) -> tuple[ServiceRecord, bool]:
    """Reuse the recorded process if it still runs, else launch on the old port (if free) or a new one."""
    rec = state.services.get(name)
    if rec is not None and _running(rec):
        return rec, False
    others = [r.port for n, r in state.services.items() if n != name and _running(r)]
    port = _proc.free_port(prefer=rec.port if rec else None, avoid=others)
    log.info("starting %s on 127.0.0.1:%d", name, port)
    return launch(port), True


def _info(paths: StackPaths, state: StackState, secrets: Secrets, started: tuple[str, ...]) -> StackInfo:
    ls = state.services.get(labelstudio.NAME)
    ep = state.services.get(s3.NAME)
    return StackInfo(
        home=paths.home,
        ls_url=ls.url if ls is not None and _running(ls) else "",
        ls_token=secrets.ls_token,
        s3_endpoint=ep.url if ep is not None and _running(ep) else "",
        s3_access_key=secrets.s3_access_key,
        s3_secret_key=secrets.s3_secret_key,
        airflow_home=paths.airflow_home,
        ls_email=secrets.ls_email,
        started=started,
    )


def _stop_on_error(rec: ServiceRecord, fresh: bool, wait: Callable[[], None]) -> None:
    # A process we just launched that never became healthy is ours to clean up; one we found running is not.
    try:
        wait()
    except StackError:
        if fresh and rec.pid is not None and rec.start_time is not None:
            _proc.stop(rec.pid, rec.start_time)
        raise


def _await_labelstudio(
    paths: StackPaths, rec: ServiceRecord, secrets: Secrets, timeout: float, *, fresh: bool
) -> Secrets:
    _stop_on_error(
        rec, fresh, lambda: labelstudio.wait_healthy(rec, timeout=timeout, redact=secrets.values())
    )
    working = labelstudio.provision_token(paths, secrets, rec.url)
    if working != secrets:
        save_secrets(paths, working)
    return working


def _up_s3(paths: StackPaths, state: StackState, secrets: Secrets) -> tuple[StackState, bool]:
    rec, fresh = _launch_if_dead(state, s3.NAME, lambda port: s3.launch(paths, port))
    state = state.with_service(rec)
    save_state(paths, state)
    keys = {"access_key": secrets.s3_access_key, "secret_key": secrets.s3_secret_key}
    _stop_on_error(rec, fresh, lambda: s3.wait_healthy(rec, timeout=60.0, redact=secrets.values(), **keys))
    s3.ensure_bucket(rec.url, secrets.s3_access_key, secrets.s3_secret_key)
    return state, fresh


def _ensure_sqlite_pool(paths: StackPaths) -> None:
    # The scheduler never queues a task whose pool is missing; keep the SQLite home like production.
    pools.ensure_pool(
        airflow=airflow_home.airflow_executable(),
        env={**os.environ, **airflow_home.base_env(paths.airflow_home)},
        exists=lambda: pools.sqlite_has_pool(airflow_home.db_path(paths.airflow_home)),
        log=paths.logs / "airflow-pools.log",
    )


def up(
    *, home: Path | None = None, services: Collection[str] = SERVICES, timeout: float = 300.0
) -> StackInfo:
    """Start (or reuse) the local stack and return how to reach it.

    Label Studio is launched first and awaited last, so its first-start migrations overlap with the
    S3 endpoint and ``airflow db migrate``. Services outlive the caller.

    Args:
        home: Stack home; default ``$DATADAM_HOME`` or ``<repo>/.datadam``.
        services: Any of ``"labelstudio"``, ``"s3"``, ``"airflow"``.
        timeout: Seconds to wait for Label Studio to answer ``/health``.

    Returns:
        The endpoints and verified credentials; ``started`` names what this call started.

    Raises:
        StackError: a service could not be installed, started or authenticated (message has the log tail).
        ValueError: an unknown service name.
    """
    wanted = _check_services(services)
    paths = StackPaths(resolve_home(home))
    with locked(paths):
        secrets = load_or_create_secrets(paths)
        state = load_state(paths)
        started: list[str] = []
        ls_rec: ServiceRecord | None = None
        ls_fresh = False
        if labelstudio.NAME in wanted:
            ls_rec, ls_fresh = _launch_if_dead(
                state, labelstudio.NAME, lambda p: labelstudio.launch(paths, secrets, p)
            )
            state = state.with_service(ls_rec)
            save_state(paths, state)
            started += [labelstudio.NAME] if ls_fresh else []
        if s3.NAME in wanted:
            state, fresh = _up_s3(paths, state, secrets)
            started += [s3.NAME] if fresh else []
        if airflow_home.NAME in wanted:
            if airflow_home.ensure_migrated(paths):
                started.append(airflow_home.NAME)
            _ensure_sqlite_pool(paths)
            state = state.with_airflow_home(paths.airflow_home)
            save_state(paths, state)
        if ls_rec is not None:
            secrets = _await_labelstudio(paths, ls_rec, secrets, timeout, fresh=ls_fresh)
        return _info(paths, state, secrets, tuple(started))


def down(*, home: Path | None = None, services: Collection[str] | None = None) -> list[str]:
    """Stop the processes ``up`` started (only those, checked by pid and start time).

    Args:
        home: Stack home; default ``$DATADAM_HOME`` or ``<repo>/.datadam``.
        services: Limit to these services; default all. ``"airflow"`` has no process and is ignored.

    Returns:
        Names of the services that were running and have been stopped.
    """
    wanted = _check_services(SERVICES if services is None else services)
    paths = StackPaths(resolve_home(home))
    stopped: list[str] = []
    with locked(paths):
        state = load_state(paths)
        for name in _PROCESSES:
            rec = state.services.get(name)
            if name not in wanted or rec is None or rec.pid is None:
                continue
            if _proc.stop(rec.pid, rec.start_time if rec.start_time is not None else -1):
                stopped.append(name)
            # Keep the port: the next `up` prefers it, so URLs held by clients stay valid.
            state = state.with_service(dataclasses.replace(rec, pid=None, start_time=None, started_at=None))
        save_state(paths, state)
    return stopped


def _process_status(
    rec: ServiceRecord | None, name: str, check: Callable[[str], str | None]
) -> ServiceStatus:
    if rec is None:
        return ServiceStatus(name=name, url="", pid=None, healthy=False, detail="never started")
    if not _running(rec):
        return ServiceStatus(name=name, url=rec.url, pid=None, healthy=False, detail="not running")
    problem = check(rec.url)
    return ServiceStatus(
        name=name, url=rec.url, pid=rec.pid, healthy=problem is None, detail=problem or "running"
    )


def _ls_problem(secrets: Secrets | None) -> Callable[[str], str | None]:
    def check(url: str) -> str | None:
        if not labelstudio.is_healthy(url):
            return "running, /health not answering (starting?)"
        if secrets is None or labelstudio.whoami(url, secrets.ls_token) != secrets.ls_email:
            return "running, API token refused (run `datadam stack up`)"
        return None

    return check


def _s3_problem(secrets: Secrets | None) -> Callable[[str], str | None]:
    def check(url: str) -> str | None:
        if secrets is None or not s3.is_healthy(url, secrets.s3_access_key, secrets.s3_secret_key):
            return "running, ListBuckets failing"
        return None

    return check


def _airflow_status(paths: StackPaths) -> ServiceStatus:
    db = airflow_home.db_path(paths.airflow_home)
    migrated = airflow_home.is_migrated(paths)
    detail = f"AIRFLOW_HOME={paths.airflow_home}" if migrated else "metadata DB not migrated"
    return ServiceStatus(
        name=airflow_home.NAME, url=f"sqlite:///{db}", pid=None, healthy=migrated, detail=detail
    )


def status(*, home: Path | None = None) -> list[ServiceStatus]:
    """Report every stack service: URL, pid and whether it answers (LS: health + token; S3: ListBuckets)."""
    paths = StackPaths(resolve_home(home))
    state = load_state(paths)
    secrets = load_secrets(paths)
    return [
        _process_status(state.services.get(labelstudio.NAME), labelstudio.NAME, _ls_problem(secrets)),
        _process_status(state.services.get(s3.NAME), s3.NAME, _s3_problem(secrets)),
        _airflow_status(paths),
    ]


def restart_labelstudio(*, home: Path | None = None, timeout: float = 300.0) -> StackInfo:
    """Stop Label Studio and start it again on the same port (clients keep their URL).

    Raises:
        StackError: it was never started, its port stays busy, or it does not come back healthy.
    """
    paths = StackPaths(resolve_home(home))
    with locked(paths):
        state = load_state(paths)
        secrets = load_or_create_secrets(paths)
        rec = state.services.get(labelstudio.NAME)
        if rec is None:
            raise StackError("Label Studio was never started in this stack home; run `up` first")
        if rec.pid is not None:
            _proc.stop(rec.pid, rec.start_time if rec.start_time is not None else -1)
        # label-studio silently moves to the next port when its port is taken, so wait it out.
        if not _proc.wait_port_free(rec.port, timeout=60.0):
            raise StackError(f"port {rec.port} of Label Studio is still in use after it was stopped")
        began = time.monotonic()
        new = labelstudio.launch(paths, secrets, rec.port)
        state = state.with_service(new)
        save_state(paths, state)
        secrets = _await_labelstudio(paths, new, secrets, timeout, fresh=True)
        log.info("Label Studio restarted on port %d in %.1f s", rec.port, time.monotonic() - began)
        return _info(paths, state, secrets, (labelstudio.NAME,))
