"""The production-like topology on this machine: Airflow on Celery over the machine's PostgreSQL and Redis.

``production_stack`` starts (or reuses) ``stack up --production-like`` once per session: the machine's
PostgreSQL (database ``datadam_airflow``) and Redis, api-server, scheduler, dag-processor, triggerer and
two Celery workers with one slot each. PostgreSQL or Redis being down FAILS every test here, with the
command that starts it; nothing is skipped. At the end it stops only the processes this session started
(``DATADAM_KEEP_STACK=1`` keeps them).

``sharded_run`` is one real dataset run as a contractor starts it: unpause and trigger through the REST API
with a storage root on the S3 endpoint (shared object storage between the workers), the annotator simulator
labelling in Label Studio once ``label_push`` reported its project, then waiting for the run to finish.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import pytest

from pipelines.stack import StackError, StackInfo, production
from pipelines.stack.airflow_api import AirflowApi
from tests.conftest import KEEP_ENV
from tests.distributed.runs import (
    SHARDED_DATASET,
    SHARDED_ITEMS,
    RunOutcome,
    failure_report,
    trigger_and_wait,
)


@pytest.fixture(scope="session")
def production_stack(stack: StackInfo) -> Iterator[production.ProductionInfo]:
    """The running production-like topology (two Celery workers, one slot each)."""
    before = {row.name for row in production.status() if row.pid is not None}
    try:
        info = production.up(workers=2, concurrency=1)
    except StackError as exc:
        pytest.fail(f"the production-like stack could not start:\n{exc}", pytrace=False)
    yield info
    if os.environ.get(KEEP_ENV, "").lower() in ("1", "true", "yes"):
        return
    if set(info.started) - before:
        production.down()


@pytest.fixture(scope="session")
def airflow(production_stack: production.ProductionInfo) -> Iterator[AirflowApi]:
    """A REST API client logged in as ``admin`` through ``POST /auth/token``."""
    with production_stack.api() as api:
        yield api


@pytest.fixture(scope="session")
def all_dags(airflow: AirflowApi) -> int:
    """Wait until the dag-processor has written every spec's DAG; return how many there are."""
    from pipelines.spec import load_catalog

    expected = len(load_catalog().specs)
    deadline = time.monotonic() + 300
    while (count := airflow.dag_count()) < expected and time.monotonic() < deadline:
        time.sleep(2)
    return count


@pytest.fixture(scope="session")
def sharded_run(
    production_stack: production.ProductionInfo, airflow: AirflowApi, all_dags: int
) -> tuple[RunOutcome, str]:
    """One sharded dataset run end to end on the Celery workers; also returns the failure report."""
    storage = f"s3://{production_stack.stack.s3_bucket}/distributed-{uuid.uuid4().hex[:8]}"
    outcome = trigger_and_wait(
        production_stack, airflow, dag_id=SHARDED_DATASET, items=SHARDED_ITEMS, storage=storage
    )
    return outcome, failure_report(production_stack, outcome)
