"""The production-like topology itself: the machine's PostgreSQL and Redis, every Airflow component, the DAGs.

These tests need the machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) and fail when
either is down.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from pipelines.stack import pools, production
from pipelines.stack.airflow_api import AirflowApi
from pipelines.stack.airflow_home import db_path
from pipelines.stack.state import StackPaths

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(900)]


def test_the_machines_postgres_and_redis_are_up() -> None:
    cfg = production.ProductionConfig.from_env()
    assert production.postgres_problem(cfg) is None, production.postgres_problem(cfg)
    assert production.redis_problem(cfg) is None, production.redis_problem(cfg)


def test_airflow_runs_on_celery_with_a_postgres_metadata_db(
    production_stack: production.ProductionInfo,
) -> None:
    env = production_stack.env
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://datadam_airflow@")
    assert env["AIRFLOW__CELERY__BROKER_URL"] == f"redis://127.0.0.1:6379/{production.REDIS_DB}"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"{production_stack.api_url}/execution/"
    cfg = production_stack.config
    with psycopg.connect(host=cfg.pg_host, port=cfg.pg_port, user=cfg.db_name, dbname=cfg.db_name) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        (jobs,) = conn.execute(
            "SELECT count(DISTINCT job_type) FROM job WHERE state = 'running' AND job_type = ANY(%s)",
            (["SchedulerJob", "TriggererJob", "DagProcessorJob"],),
        ).fetchone() or (0,)
    assert {"dag", "dag_run", "task_instance", "slot_pool", "alembic_version"} <= tables
    assert jobs == 3, "scheduler, triggerer and dag-processor each hold a running job in PostgreSQL"


def test_every_component_is_healthy_and_both_workers_answer(
    production_stack: production.ProductionInfo,
) -> None:
    rows = {row.name: row for row in production.status()}
    expected = {
        "postgres",
        "redis",
        "api-server",
        "scheduler",
        "dag-processor",
        "triggerer",
        "worker-1",
        "worker-2",
    }
    assert expected <= set(rows)
    assert all(rows[name].healthy for name in expected), {n: rows[n].detail for n in expected}
    nodes = production.celery_nodes(production_stack.config)
    assert set(production_stack.workers) <= nodes
    assert len(set(production_stack.workers)) == 2, "two workers, two distinct Celery node names"


def test_rest_api_needs_a_token_and_issues_one_to_the_admin(
    production_stack: production.ProductionInfo,
) -> None:
    import httpx

    anonymous = httpx.get(f"{production_stack.api_url}/api/v2/dags", params={"limit": 1}, timeout=30)
    assert anonymous.status_code == 401
    wrong = httpx.post(
        f"{production_stack.api_url}/auth/token", json={"username": "admin", "password": "wrong"}, timeout=30
    )
    assert wrong.status_code == 401
    assert production_stack.api_token().count(".") == 2, "a JWT"


def test_all_dags_are_scheduled_without_import_errors(airflow: AirflowApi, all_dags: int) -> None:
    from pipelines.spec import load_catalog

    assert all_dags == len(load_catalog().specs) == 150
    assert airflow.import_errors() == []
    dag = airflow.dag("stroke-ct-angiography-occlusion")
    assert dag["fileloc"].endswith("dags/datadam.py")
    assert dag["last_parse_duration"] > 0


def test_dag_processor_logs_the_parse_time_of_the_dag_file_and_status_shows_it(
    production_stack: production.ProductionInfo, all_dags: int
) -> None:
    rec = production._load(StackPaths(production_stack.home)).services[production.DAG_PROCESSOR]
    deadline = time.monotonic() + 120  # the stats table is printed every 30 s
    while (stats := production.parse_stats(Path(rec.log), since=rec.started_at)) is None:
        assert time.monotonic() < deadline, f"no 'DAG File Processing Stats' row for datadam.py in {rec.log}"
        time.sleep(5)
    assert (stats.file, stats.dags, stats.errors) == ("datadam.py", 150, 0)
    assert 0 < stats.seconds < 60
    row = next(r for r in production.status() if r.name == production.DAG_PROCESSOR)
    assert "datadam.py: 150 DAGs, 0 errors, parsed in" in row.detail


def test_labelstudio_pool_exists_in_postgres_and_in_the_sqlite_stack(
    production_stack: production.ProductionInfo, airflow: AirflowApi
) -> None:
    pool = airflow.pool(pools.LABELSTUDIO_POOL)
    assert pool["slots"] >= 1
    assert pools.sqlite_has_pool(db_path(production_stack.stack.airflow_home))
