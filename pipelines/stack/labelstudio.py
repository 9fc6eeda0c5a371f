"""The Label Studio server of the local stack: its own virtualenv, a detached process, a working API token.

Label Studio pins Django 5.2, pyarrow<25, pytz<2023 ... which clash with Airflow's pins, so it runs from
``<home>/ls-venv`` (or ``$DATADAM_LS_VENV``, shared by several homes) installed from ``stack/labelstudio.lock.txt``
and is only ever started as a subprocess.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx

from pipelines.stack import _proc
from pipelines.stack.errors import StackError
from pipelines.stack.state import Secrets, ServiceRecord, StackPaths, repo_root

log = logging.getLogger(__name__)

NAME = "labelstudio"
LOCK_FILE = Path("stack") / "labelstudio.lock.txt"
_MARKER = ".datadam-lock.sha256"
# Variables a clean child environment keeps from ours; everything else (HOST, PORT, DEBUG, DJANGO_DB,
# USERNAME ... which Label Studio reads unprefixed) stays out so a developer's shell cannot reconfigure it.
_PASSTHROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "UV_CACHE_DIR",
    "UV_INDEX_URL",
    "SSL_CERT_FILE",
)


def find_uv() -> Path:
    """``uv`` on PATH, else ``<repo>/.tools/bin/uv`` where the Makefile bootstraps it."""
    found = shutil.which("uv")
    if found:
        return Path(found)
    local = repo_root() / ".tools" / "bin" / "uv"
    if local.exists():
        return local
    raise StackError("uv not found on PATH nor at .tools/bin/uv; run `make bootstrap` first")


def _lock_hash(lock: Path) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def venv_is_current(paths: StackPaths, lock: Path) -> bool:
    """True if the LS virtualenv exists and was installed from this exact lock file."""
    marker = paths.ls_venv / _MARKER
    exe = paths.ls_venv / "bin" / "label-studio"
    return exe.exists() and marker.exists() and marker.read_text().strip() == _lock_hash(lock)


def _run_logged(argv: list[str], log: Path, timeout: float) -> None:
    with log.open("ab") as fh:
        fh.write(f"$ {' '.join(argv)}\n".encode())
        fh.flush()
        done = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    if done.returncode != 0:
        raise StackError(
            f"Label Studio install failed ({argv[1]} {argv[2]} exited {done.returncode}):\n" + _proc.log_tail(log)
        )


@contextlib.contextmanager
def _venv_locked(venv: Path) -> Iterator[None]:
    # The stack home's lock does not cover a virtualenv shared by several homes (the tests' and the demo's).
    venv.parent.mkdir(parents=True, exist_ok=True)
    with venv.with_name(venv.name + ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_venv(paths: StackPaths, *, timeout: float = 1800.0) -> Path:
    """Create and install ``paths.ls_venv`` unless it already matches the lock; return ``label-studio``.

    Idempotent: a marker file holds the sha256 of the lock it was installed from.
    """
    lock = repo_root() / LOCK_FILE
    exe = paths.ls_venv / "bin" / "label-studio"
    if venv_is_current(paths, lock):
        return exe
    with _venv_locked(paths.ls_venv):
        if not venv_is_current(paths, lock):  # another home may have installed it while we waited
            _install(paths, lock, timeout)
    return exe


def _install(paths: StackPaths, lock: Path, timeout: float) -> None:
    uv = str(find_uv())
    log = paths.logs / "ls-install.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    python = paths.ls_venv / "bin" / "python"
    if not python.exists():
        _run_logged([uv, "venv", "--python", "3.11", str(paths.ls_venv)], log, timeout)
    _run_logged([uv, "pip", "install", "--python", str(python), "-r", str(lock)], log, timeout)
    (paths.ls_venv / _MARKER).write_text(_lock_hash(lock) + "\n")


def server_env(paths: StackPaths, secrets: Secrets, port: int) -> dict[str, str]:
    """The environment of the Label Studio process (holds secrets: never log it)."""
    env = {k: os.environ[k] for k in _PASSTHROUGH if k in os.environ}
    env["PATH"] = f"{paths.ls_venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env.update(
        {
            "LABEL_STUDIO_BASE_DATA_DIR": str(paths.ls_data),
            "LABEL_STUDIO_HOST": f"http://{_proc.LOOPBACK}:{port}",
            "LABEL_STUDIO_USERNAME": secrets.ls_email,
            "LABEL_STUDIO_PASSWORD": secrets.ls_password,
            "LABEL_STUDIO_USER_TOKEN": secrets.ls_token,
            # 1.23 creates organisations with legacy tokens disabled, which would make the preset
            # USER_TOKEN useless; this flag only matters when the organisation is first created.
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            "LATEST_VERSION_CHECK": "false",
            # Dev stack on loopback only. Serving stays closed per file anyway: Label Studio answers 403
            # unless a Local Storage connection of the task's project has a path that prefixes the file.
            "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
            "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": "/",
            # Webhooks to 127.0.0.1 (our own listeners) are refused as "reserved network address" otherwise.
            "LABEL_STUDIO_SSRF_PROTECTION_ENABLED": "false",
            # Read unprefixed (django-environ). Stable, so sessions and access tokens survive restarts.
            "SECRET_KEY": secrets.ls_secret_key,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def launch(paths: StackPaths, secrets: Secrets, port: int) -> ServiceRecord:
    """Start ``label-studio start`` detached on ``127.0.0.1:port`` (does not wait for it)."""
    exe = ensure_venv(paths)
    paths.ls_data.mkdir(parents=True, exist_ok=True)
    log = paths.logs / "labelstudio.log"
    argv = [str(exe), "start", "--no-browser", "--internal-host", _proc.LOOPBACK, "--port", str(port)]
    return _proc.launch(NAME, argv, env=server_env(paths, secrets, port), log_path=log, cwd=paths.ls_data, port=port)


def is_healthy(url: str, *, timeout: float = 5.0) -> bool:
    """``GET /health`` answers 200."""
    try:
        return httpx.get(f"{url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_healthy(record: ServiceRecord, *, timeout: float, redact: tuple[str, ...]) -> None:
    """Block until ``/health`` answers 200; raise StackError with the log tail if it dies or times out."""
    _proc.wait_healthy(
        lambda: is_healthy(record.url),
        what="Label Studio",
        unhealthy=f"not healthy at {record.url}/health",
        record=record,
        timeout=timeout,
        poll=1.0,
        redact=redact,
    )


def _auth_header(url: str, token: str) -> dict[str, str]:
    # A personal access token is a JWT refresh token: trade it for an access token, as the SDK does.
    if token.count(".") == 2:
        resp = httpx.post(f"{url}/api/token/refresh/", json={"refresh": token}, timeout=30.0)
        resp.raise_for_status()
        return {"Authorization": f"Bearer {resp.json()['access']}"}
    return {"Authorization": f"Token {token}"}


def whoami(url: str, token: str, *, timeout: float = 30.0) -> str | None:
    """The e-mail of the user ``token`` authenticates as, or None if the server refuses it."""
    try:
        resp = httpx.get(f"{url}/api/current-user/whoami", headers=_auth_header(url, token), timeout=timeout)
    except httpx.HTTPError:
        return None
    if resp.status_code != 200:
        return None
    email = resp.json().get("email")
    return str(email) if email else None


def _login(client: httpx.Client, secrets: Secrets) -> bool:
    client.get("/user/login/")
    csrf = client.cookies.get("csrftoken") or ""
    resp = client.post(
        "/user/login/",
        data={"email": secrets.ls_email, "password": secrets.ls_password, "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{client.base_url}user/login/"},
    )
    return resp.status_code in (301, 302) and "sessionid" in client.cookies


def _reset_password(paths: StackPaths, secrets: Secrets) -> None:
    # The admin exists from an earlier start whose secrets.json was lost: set our password. It goes
    # through stdin (getpass falls back to it without a terminal), never argv where `ps` would show it.
    exe = paths.ls_venv / "bin" / "label-studio"
    env = server_env(paths, secrets, 0)
    argv = [str(exe), "reset_password", "--username", secrets.ls_email]
    subprocess.run(
        argv,
        input=f"{secrets.ls_password}\n",
        text=True,
        env=env,
        cwd=paths.ls_data,
        capture_output=True,
        timeout=300,
        check=False,
        start_new_session=True,
    )


def _csrf_headers(client: httpx.Client) -> dict[str, str]:
    return {"X-CSRFToken": client.cookies.get("csrftoken") or "", "Referer": str(client.base_url)}


def _token_via_session(client: httpx.Client) -> str | None:
    """As the logged-in admin: enable legacy tokens for the organisation and read the user's token.

    Falls back to minting a personal access token (a JWT) when the legacy token still does not work.
    """
    client.post(
        "/api/jwt/settings",
        json={"api_tokens_enabled": True, "legacy_api_tokens_enabled": True},
        headers=_csrf_headers(client),
    )
    resp = client.get("/api/current-user/token")
    legacy = str(resp.json().get("token", "")) if resp.status_code == 200 else ""
    if legacy and whoami(str(client.base_url).rstrip("/"), legacy):
        log.info("Label Studio: legacy API tokens enabled for the organisation; using the admin's token")
        return legacy
    resp = client.post("/api/token/", headers=_csrf_headers(client))
    if resp.status_code in (200, 201):
        log.info("Label Studio: legacy tokens unavailable; minted a personal access token")
        return str(resp.json()["token"])
    return None


def provision_token(paths: StackPaths, secrets: Secrets, url: str) -> Secrets:
    """Make sure ``secrets.ls_token`` authenticates against the running server.

    The preset token works whenever the organisation was created with legacy tokens enabled (the normal
    case: we set the flag on every start). Otherwise log in as the admin (resetting its password if an
    older secrets.json was lost), enable legacy tokens through ``/api/jwt/settings`` and use the user's
    real token, or mint a personal access token.

    Returns:
        The secrets, with ``ls_token`` replaced when the working token differs from the stored one.

    Raises:
        StackError: no working token could be obtained.
    """
    if whoami(url, secrets.ls_token) == secrets.ls_email:
        return secrets
    log.info("Label Studio refuses the stored API token; provisioning one as the admin")
    with httpx.Client(base_url=url, timeout=60.0, follow_redirects=False) as client:
        if not _login(client, secrets):
            log.info("Label Studio: admin login failed; resetting its password to the stored one")
            _reset_password(paths, secrets)
            client.cookies.clear()
            if not _login(client, secrets):
                raise StackError(f"cannot log in to Label Studio at {url} as {secrets.ls_email}")
        token = _token_via_session(client)
    if token is None or whoami(url, token) != secrets.ls_email:
        raise StackError(f"Label Studio at {url} refuses every API token we could provision")
    return dataclasses.replace(secrets, ls_token=token)
