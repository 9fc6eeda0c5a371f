"""Shared fixtures: the real local stack (Label Studio, an S3 endpoint, AIRFLOW_HOME) and clients on it.

The tests run in their own stack home, ``<repo>/.datadam/test`` (set as ``DATADAM_HOME`` for the session and
its subprocesses), so the Label Studio projects, storage and Airflow runs they leave are never picked up by a
user's ``datadam demo`` or runs in ``<repo>/.datadam``; Label Studio's virtualenv is the default home's, installed
once for both. A ``DATADAM_HOME`` set by the user or CI is used as it is. Repeated local runs reuse running
services and Label Studio's migrated database. At the end of the session the ``stack`` fixture stops only the
services this session started; set ``DATADAM_KEEP_STACK=1`` to keep them for the next run.
A service that cannot start fails the tests that need it (with its log tail); it never skips them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from pipelines.stack import StackError, StackInfo, down, status, up
from pipelines.stack import s3 as stack_s3
from pipelines.stack.state import separate_home_env

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio
    from mypy_boto3_s3 import S3Client

KEEP_ENV = "DATADAM_KEEP_STACK"
TESTS_HOME = "test"


def pytest_configure(config: pytest.Config) -> None:
    """Give the session (and every process it starts) the tests' own stack home, unless one was chosen."""
    os.environ.update(separate_home_env(TESTS_HOME, os.environ))


def _running_before() -> set[str]:
    return {row.name for row in status() if row.pid is not None}


@pytest.fixture(scope="session")
def stack() -> Iterator[StackInfo]:
    """The running local stack; started (or reused) once per session."""
    before = _running_before()
    try:
        info = up()
    except StackError as exc:
        # Leave nothing half-started behind, but never stop what was running before us.
        down(services=[name for name in ("labelstudio", "s3") if name not in before])
        pytest.fail(f"the local stack could not start:\n{exc}", pytrace=False)
    yield info
    if os.environ.get(KEEP_ENV, "").lower() in ("1", "true", "yes"):
        return
    ours = [name for name in info.started if name not in before]
    if ours:
        down(services=ours)


@pytest.fixture
def s3_client(stack: StackInfo) -> S3Client:
    """A boto3 S3 client on the stack's endpoint (path-style, checksums only when required)."""
    return stack_s3.client(
        endpoint=stack.s3_endpoint,
        access_key=stack.s3_access_key,
        secret_key=stack.s3_secret_key,
        region=stack.s3_region,
    )


@pytest.fixture
def ls_client(stack: StackInfo) -> LabelStudio:
    """A label-studio-sdk client authenticated as the stack's admin."""
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=stack.ls_url, api_key=stack.ls_token, timeout=60)


@pytest.fixture
def airflow_env(stack: StackInfo, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point this process at the stack's AIRFLOW_HOME and connections (undone after the test).

    Airflow reads its configuration at import time, so this only helps code that imports airflow
    after the fixture ran, or subprocesses started with ``os.environ``.
    """
    env = stack.airflow_env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


_LAYERS = ("unit", "integration", "distributed")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test declares its layer: `make test` selects by marker, so an unmarked test would silently never run."""
    unmarked = [item.nodeid for item in items if not any(item.get_closest_marker(m) for m in _LAYERS)]
    if unmarked:
        raise pytest.UsageError("tests without a unit/integration/distributed marker:\n  " + "\n  ".join(unmarked))
