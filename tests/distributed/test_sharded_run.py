"""One dataset run, triggered through the REST API, end to end on two Celery workers.

The run is the session fixture ``sharded_run`` (tests/distributed/conftest.py): 401 images in 3 shards, a
storage root on the S3 endpoint shared by both workers, simulated annotators in Label Studio.
"""

from __future__ import annotations

import pytest

from pipelines.stack import pools, production
from pipelines.stack.airflow_api import AirflowApi
from pipelines.storage import S3Settings, layout, open_store
from tests.distributed.runs import SHARDED_DATASET, SHARDED_ITEMS, RunOutcome, run_summary

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(2400)]

MAPPED = ("collect", "deidentify")


def test_triggered_run_succeeds_and_publishes_a_release_on_shared_storage(
    sharded_run: tuple[RunOutcome, str], production_stack: production.ProductionInfo, airflow: AirflowApi
) -> None:
    outcome, report = sharded_run
    assert outcome.state == "success", report
    assert {ti.state for ti in outcome.task_instances} == {"success"}, report

    published = airflow.xcom(outcome.dag_id, outcome.run_id, "publish")
    stack = production_stack.stack
    store = open_store(
        outcome.storage,
        s3=S3Settings(
            endpoint_url=stack.s3_endpoint,
            access_key=stack.s3_access_key,
            secret_key=stack.s3_secret_key,
            region=stack.s3_region,
        ),
    )
    assert store.read_pointer(layout.latest(SHARDED_DATASET)) == published["version"]
    assert store.exists(published["manifest_key"])
    from pipelines.publish import open_dataset

    released = open_dataset(SHARDED_DATASET, storage=store)
    assert released.count_rows() == published["rows"]
    assert 0 < published["rows"] <= SHARDED_ITEMS

    # Every shard's items were collected (on whichever worker) and counted: in = out + quarantined.
    shards = [airflow.xcom(outcome.dag_id, outcome.run_id, "collect", map_index=i) for i in range(3)]
    assert sum(s["items_in"] for s in shards) == SHARDED_ITEMS
    assert all(s["items_in"] == s["items_out"] + s["quarantined"] for s in shards)
    events = airflow.asset_events(dag_id=outcome.dag_id, run_id=outcome.run_id)
    assert [e["extra"].get("version") for e in events] == [published["version"]]
    assert events[0]["uri"] == f"datadam://releases/{SHARDED_DATASET}"


def test_mapped_shards_ran_on_both_celery_workers(
    sharded_run: tuple[RunOutcome, str], production_stack: production.ProductionInfo
) -> None:
    outcome, report = sharded_run
    workers = {production.task_hostname(w) for w in production.worker_names(2)}
    for task_id in MAPPED:
        shards = outcome.mapped(task_id)
        assert sorted(ti.map_index for ti in shards) == [0, 1, 2], report
        assert {ti.state for ti in shards} == {"success"}, report
    hosts = {ti.hostname for task_id in MAPPED for ti in outcome.mapped(task_id)}
    assert hosts == workers, (
        f"mapped shards ran on {hosts}, expected both of {workers}: {run_summary(outcome)}"
    )
    # Every task, mapped or not, ran on a Celery worker (never inside the scheduler or an api process).
    assert {ti.hostname for ti in outcome.task_instances} <= workers, run_summary(outcome)


def test_label_studio_calls_ran_in_their_pool(sharded_run: tuple[RunOutcome, str]) -> None:
    outcome, report = sharded_run
    assert outcome.one("label_push").pool == pools.LABELSTUDIO_POOL, report
    assert outcome.one("label_pull").pool == pools.LABELSTUDIO_POOL, report
    assert outcome.one("review_pull").pool == pools.LABELSTUDIO_POOL, report
    ls_tasks = ("label_push", "label_pull", "review_pull")
    others = {ti.pool for ti in outcome.task_instances if ti.task_id not in ls_tasks}
    assert others == {"default_pool"}
