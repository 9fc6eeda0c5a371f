"""Where the local stack keeps its state: ``stack.json`` (no secrets) and ``secrets.json`` (mode 0600).

Both live in the stack home, ``$DATADAM_HOME`` or ``<repo>/.datadam``. The test suite gets its own home,
``<repo>/.datadam/test`` (see ``separate_home_env``), so nothing a test leaves in Label Studio, storage or
Airflow is picked up by a user's ``datadam demo`` or runs; it shares only the Label Studio virtualenv.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

HOME_ENV = "DATADAM_HOME"
# Where Label Studio's virtualenv lives when not in ``<home>/ls-venv``: one install (minutes) serves several homes.
LS_VENV_ENV = "DATADAM_LS_VENV"
STATE_VERSION = 1
LS_ADMIN_EMAIL = "admin@datadam.local"


def repo_root() -> Path:
    """The checkout this package runs from (``pipelines/stack/state.py`` -> ``<repo>``)."""
    return Path(__file__).resolve().parents[2]


def resolve_home(home: Path | None = None) -> Path:
    """The stack home: ``home`` if given, else ``$DATADAM_HOME``, else ``<repo>/.datadam`` (absolute)."""
    if home is None:
        env = os.environ.get(HOME_ENV)
        home = Path(env) if env else repo_root() / ".datadam"
    return home.expanduser().resolve()


def separate_home_env(name: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Variables that give a caller its own stack home ``<repo>/.datadam/<name>`` (the test suite: ``test``).

    The separate home has its own services, Label Studio database, storage root and AIRFLOW_HOME, and uses the
    default home's Label Studio virtualenv, so it costs no second install.

    Args:
        name: Sub-directory of the default home.
        environ: The environment to decide from (``os.environ``).

    Returns:
        ``DATADAM_HOME`` and ``DATADAM_LS_VENV`` to set; empty when ``DATADAM_HOME`` is already set (a home
        the user or CI chose stands as it is).
    """
    if environ.get(HOME_ENV):
        return {}
    default = repo_root() / ".datadam"
    return {HOME_ENV: str(default / name), LS_VENV_ENV: environ.get(LS_VENV_ENV) or str(default / "ls-venv")}


@dataclass(frozen=True)
class StackPaths:
    """Every file and directory of one stack home."""

    home: Path

    @property
    def state_file(self) -> Path:
        """``stack.json``: ports, pids, start times, URLs."""
        return self.home / "stack.json"

    @property
    def secrets_file(self) -> Path:
        """``secrets.json``: passwords, tokens and keys, readable by the owner only."""
        return self.home / "secrets.json"

    @property
    def lock_file(self) -> Path:
        """Serialises ``up``/``down`` of concurrent callers (two terminals, pytest-xdist workers)."""
        return self.home / "stack.lock"

    @property
    def logs(self) -> Path:
        """Service logs."""
        return self.home / "logs"

    @property
    def ls_venv(self) -> Path:
        """Label Studio's own virtualenv (its pins clash with Airflow's): ``$DATADAM_LS_VENV`` or ``<home>/ls-venv``."""
        shared = os.environ.get(LS_VENV_ENV)
        return Path(shared).expanduser().resolve() if shared else self.home / "ls-venv"

    @property
    def ls_data(self) -> Path:
        """``LABEL_STUDIO_BASE_DATA_DIR``: its SQLite DB, uploads and exports."""
        return self.home / "labelstudio"

    @property
    def airflow_home(self) -> Path:
        """``AIRFLOW_HOME`` with the SQLite metadata DB."""
        return self.home / "airflow"

    @property
    def storage(self) -> Path:
        """The default ``file://`` storage root."""
        return self.home / "storage"


@dataclass(frozen=True)
class Secrets:
    """Generated once per stack home and reused; never printed or logged."""

    ls_email: str
    ls_password: str
    ls_token: str
    s3_access_key: str
    s3_secret_key: str
    # Django's SECRET_KEY for Label Studio: without a stable one it generates a key per start, which
    # logs everyone out and invalidates personal access tokens (JWTs) on every restart.
    ls_secret_key: str
    # The production-like Airflow (``stack up --production-like``): every component must share the JWT
    # secret (task tokens), the fernet key (encrypted connections) and the API secret key (log fetching).
    airflow_jwt_secret: str
    airflow_fernet_key: str
    airflow_api_secret_key: str
    # Password of its ``admin`` user (SimpleAuthManager), for the UI and REST API clients.
    airflow_admin_password: str
    # Its ``inspector`` (the only user who may answer the QA gate) and ``contractor`` (runs DAGs, may not).
    airflow_inspector_password: str
    airflow_contractor_password: str

    @classmethod
    def generate(cls) -> Secrets:
        """Fresh random credentials (the LS token is 40 hex chars, like a DRF token)."""
        return cls(
            ls_email=LS_ADMIN_EMAIL,
            ls_password=secrets.token_hex(16),
            ls_token=secrets.token_hex(20),
            s3_access_key="DD" + secrets.token_hex(9).upper(),
            s3_secret_key=secrets.token_hex(20),
            ls_secret_key=secrets.token_urlsafe(48),
            airflow_jwt_secret=secrets.token_urlsafe(48),
            # A Fernet key is 32 random bytes in url-safe base64.
            airflow_fernet_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            airflow_api_secret_key=secrets.token_urlsafe(48),
            airflow_admin_password=secrets.token_urlsafe(18),
            airflow_inspector_password=secrets.token_urlsafe(18),
            airflow_contractor_password=secrets.token_urlsafe(18),
        )

    def values(self) -> tuple[str, ...]:
        """Every secret value, for redacting log excerpts."""
        return (
            self.ls_password,
            self.ls_token,
            self.s3_access_key,
            self.s3_secret_key,
            self.ls_secret_key,
            self.airflow_jwt_secret,
            self.airflow_fernet_key,
            self.airflow_api_secret_key,
            self.airflow_admin_password,
            self.airflow_inspector_password,
            self.airflow_contractor_password,
        )


@dataclass(frozen=True)
class ServiceRecord:
    """One process ``up`` started: enough to find it again, check it and stop exactly it."""

    name: str
    port: int
    url: str
    log: str
    pid: int | None = None
    start_time: int | None = None
    started_at: float | None = None


@dataclass(frozen=True)
class StackState:
    """The content of ``stack.json``."""

    services: Mapping[str, ServiceRecord] = field(default_factory=dict)
    airflow_home: str | None = None

    def with_service(self, record: ServiceRecord) -> StackState:
        """A copy with ``record`` replacing the service of the same name."""
        return StackState(services={**self.services, record.name: record}, airflow_home=self.airflow_home)

    def with_airflow_home(self, path: Path) -> StackState:
        """A copy that records the AIRFLOW_HOME in use."""
        return StackState(services=self.services, airflow_home=str(path))


def _write_atomic(path: Path, text: str, *, mode: int = 0o644) -> None:
    # Write-then-rename so a crash or a concurrent reader never sees half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _record_from(name: str, raw: Mapping[str, Any]) -> ServiceRecord:
    known = {f.name for f in fields(ServiceRecord)}
    return ServiceRecord(**{k: v for k, v in raw.items() if k in known and k != "name"}, name=name)


def load_state(paths: StackPaths) -> StackState:
    """Read ``stack.json``; a missing or unreadable file is an empty state (nothing is running)."""
    try:
        raw = json.loads(paths.state_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return StackState()
    services = {name: _record_from(name, rec) for name, rec in raw.get("services", {}).items()}
    return StackState(services=services, airflow_home=raw.get("airflow_home"))


def save_state(paths: StackPaths, state: StackState) -> None:
    """Write ``stack.json`` atomically."""
    doc = {
        "version": STATE_VERSION,
        "services": {name: asdict(rec) for name, rec in sorted(state.services.items())},
        "airflow_home": state.airflow_home,
    }
    _write_atomic(paths.state_file, json.dumps(doc, indent=2) + "\n")


def _read_secrets(paths: StackPaths) -> dict[str, Any] | None:
    try:
        raw = json.loads(paths.secrets_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return raw if isinstance(raw, dict) else None


def _complete(raw: Mapping[str, Any]) -> Secrets:
    # Values a newer version added are generated; the credentials already in use are kept.
    fresh = asdict(Secrets.generate())
    return Secrets(**{f.name: str(raw.get(f.name) or fresh[f.name]) for f in fields(Secrets)})


def load_secrets(paths: StackPaths) -> Secrets | None:
    """Read ``secrets.json``; None if it is missing or unreadable."""
    raw = _read_secrets(paths)
    return None if raw is None else _complete(raw)


def load_or_create_secrets(paths: StackPaths) -> Secrets:
    """Read ``secrets.json``, creating or completing it (mode 0600) with fresh values where missing."""
    raw = _read_secrets(paths) or {}
    value = _complete(raw)
    if asdict(value) != raw:
        save_secrets(paths, value)
    return value


def save_secrets(paths: StackPaths, value: Secrets) -> None:
    """Write ``secrets.json`` with owner-only permissions."""
    _write_atomic(paths.secrets_file, json.dumps(asdict(value), indent=2) + "\n", mode=0o600)


@contextlib.contextmanager
def locked(paths: StackPaths) -> Iterator[None]:
    """Hold an exclusive lock on the stack home while changing what runs in it."""
    paths.home.mkdir(parents=True, exist_ok=True)
    with paths.lock_file.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
