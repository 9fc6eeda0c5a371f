"""The S3-compatible endpoint of the local stack: moto's server, detached, on loopback.

moto keeps objects in memory: a restarted endpoint is empty (``up`` recreates the bucket). It accepts
any key pair; we still generate one so code paths that need credentials are exercised.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import botocore.config
import botocore.exceptions

from pipelines.stack import _proc
from pipelines.stack.state import ServiceRecord, StackPaths, repo_root
from pipelines.storage.store import S3Settings, boto_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

NAME = "s3"
REGION = "us-east-1"
BUCKET = "datadam"


def _python() -> str:
    venv_python = repo_root() / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def client(*, endpoint: str, access_key: str, secret_key: str, region: str = REGION, timeout: float = 30.0) -> S3Client:
    """A boto3 S3 client for an S3-compatible endpoint.

    Path-style addressing because ``<bucket>.127.0.0.1`` does not resolve; checksums only when required
    because boto3>=1.36's default flexible checksums break several S3-compatible stores.
    """
    settings = S3Settings(endpoint_url=endpoint, access_key=access_key, secret_key=secret_key, region=region)
    return boto_client(settings, timeout=timeout, attempts=2)


def launch(paths: StackPaths, port: int) -> ServiceRecord:
    """Start ``python -m moto.server`` detached on ``127.0.0.1:port`` (does not wait for it)."""
    log = paths.logs / "s3.log"
    argv = [_python(), "-m", "moto.server", "-H", _proc.LOOPBACK, "-p", str(port)]
    return _proc.launch(NAME, argv, env=_server_env(), log_path=log, cwd=paths.home, port=port)


def _server_env() -> dict[str, str]:
    # moto needs nothing from us; keep PATH/HOME/locale only.
    return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")}


def is_healthy(endpoint: str, access_key: str, secret_key: str) -> bool:
    """An S3 ``ListBuckets`` succeeds."""
    try:
        client(endpoint=endpoint, access_key=access_key, secret_key=secret_key, timeout=3.0).list_buckets()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        return False
    return True


def wait_healthy(
    record: ServiceRecord, *, access_key: str, secret_key: str, timeout: float, redact: tuple[str, ...]
) -> None:
    """Block until ``ListBuckets`` works; raise StackError with the log tail if it dies or times out."""
    _proc.wait_healthy(
        lambda: is_healthy(record.url, access_key, secret_key),
        what="S3 endpoint",
        unhealthy=f"not answering at {record.url}",
        record=record,
        timeout=timeout,
        poll=0.3,
        redact=redact,
    )


def ensure_bucket(endpoint: str, access_key: str, secret_key: str, bucket: str = BUCKET) -> None:
    """Create ``bucket`` unless it exists (moto forgets buckets when it restarts)."""
    s3 = client(endpoint=endpoint, access_key=access_key, secret_key=secret_key)
    existing = {b.get("Name") for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
