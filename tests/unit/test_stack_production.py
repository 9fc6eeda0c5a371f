"""The production-like stack without services: settings, per-process environment, state, parse stats, CLI."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.stack import _proc, production
from pipelines.stack.cli import stack_app
from pipelines.stack.core import StackInfo
from pipelines.stack.errors import StackError
from pipelines.stack.state import Secrets, ServiceRecord, StackPaths

pytestmark = pytest.mark.unit

# A real "DAG File Processing Stats" block from a dag-processor log: the first table of a fresh process
# has no finished parse yet; the second does.
STATS_LOG = """\
2026-11-23T21:00:33.1Z [info     ] some other line
================================================================================
DAG File Processing Stats

Bundle       File Path      PID  Current Duration      # DAGs    # Errors  Last Duration    Last Run At
-----------  -----------  -----  ------------------  --------  ----------  ---------------  -------------
dags-folder  datadam.py   29939  0.54s                      0           0
================================================================================ [airflow.dag_processing]
================================================================================
DAG File Processing Stats

Bundle       File Path    PID    Current Duration      # DAGs    # Errors  Last Duration    Last Run At
-----------  -----------  -----  ------------------  --------  ----------  ---------------  ------------------
dags-folder  datadam.py                                   150           0  12.20s          2026-11-23T21:00:34
================================================================================ [airflow.dag_processing]
"""


@pytest.fixture
def closed_port() -> int:
    return _proc.free_port()


def _stack(home: Path) -> StackInfo:
    return StackInfo(
        home=home,
        ls_url="http://127.0.0.1:18080",
        ls_token="t" * 40,
        s3_endpoint="http://127.0.0.1:15000",
        s3_access_key="AK",
        s3_secret_key="SK",
        airflow_home=home / "airflow",
    )


def _env(tmp_path: Path, secrets: Secrets | None = None) -> dict[str, str]:
    return production.production_env(
        paths=StackPaths(tmp_path),
        stack=_stack(tmp_path),
        secrets=secrets or Secrets.generate(),
        cfg=production.ProductionConfig(),
        api_port=18081,
    )


def test_config_points_at_the_machines_postgres_and_a_dedicated_redis_db() -> None:
    cfg = production.ProductionConfig()
    assert cfg.sql_alchemy_conn == "postgresql+psycopg://datadam_airflow@127.0.0.1:5432/datadam_airflow"
    assert cfg.result_backend == "db+" + cfg.sql_alchemy_conn
    assert cfg.broker_url == "redis://127.0.0.1:6379/7"
    assert (cfg.workers, cfg.concurrency) == (2, 1)


def test_config_from_env_overrides_hosts_ports_and_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATADAM_PG_PORT", "5433")
    monkeypatch.setenv("DATADAM_PG_DB", "other_db")
    monkeypatch.setenv("DATADAM_REDIS_DB", "9")
    cfg = production.ProductionConfig.from_env(workers=3, concurrency=2)
    assert cfg.sql_alchemy_conn == "postgresql+psycopg://other_db@127.0.0.1:5433/other_db"
    assert cfg.broker_url.endswith("/9") and (cfg.workers, cfg.concurrency) == (3, 2)


def test_every_process_shares_secrets_executor_and_the_execution_api(tmp_path: Path) -> None:
    secrets = Secrets.generate()
    env = _env(tmp_path, secrets)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__FERNET_KEY"] == secrets.airflow_fernet_key
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == secrets.airflow_jwt_secret
    assert env["AIRFLOW__API__SECRET_KEY"] == secrets.airflow_api_secret_key
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18081/execution/"
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow-prod")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://")
    assert json.loads(env["AIRFLOW_CONN_DATADAM_S3"])["extra"]["endpoint_url"] == "http://127.0.0.1:15000"
    assert json.loads(env["AIRFLOW_CONN_DATADAM_LABELSTUDIO"])["port"] == 18080
    assert env["DATADAM_STORAGE"] == "s3://datadam", "shared object storage, not a worker's local disk"


def test_a_fernet_key_is_32_urlsafe_base64_bytes() -> None:
    import base64

    assert len(base64.urlsafe_b64decode(Secrets.generate().airflow_fernet_key)) == 32


def test_process_env_drops_the_callers_airflow_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite:////elsewhere.db")
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "1")
    monkeypatch.setenv("AIRFLOW_CONN_OTHER", "http://x")
    env = production._process_env(production.SCHEDULER, _env(tmp_path), 0)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://")
    assert "AIRFLOW__CORE__PARALLELISM" not in env and "AIRFLOW_CONN_OTHER" not in env
    assert env["PATH"]


def test_two_workers_on_one_host_get_their_own_log_port_and_hostname(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    common = _env(tmp_path)
    one = production._process_env("worker-1", common, 30001)
    two = production._process_env("worker-2", common, 30002)
    assert one["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] != two["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"]
    assert one[production.WORKER_HOSTNAME_ENV] != two[production.WORKER_HOSTNAME_ENV]
    # Airflow imports the callable by its dotted path; it must resolve and report the worker's name.
    module, _, attr = one["AIRFLOW__CORE__HOSTNAME_CALLABLE"].rpartition(".")
    hostname = getattr(importlib.import_module(module), attr)
    monkeypatch.setenv(production.WORKER_HOSTNAME_ENV, one[production.WORKER_HOSTNAME_ENV])
    assert hostname() == production.task_hostname("worker-1")
    monkeypatch.delenv(production.WORKER_HOSTNAME_ENV)
    assert hostname()  # the machine's name outside a worker
    argv = production._argv("worker-2", api_port=1, concurrency=3)
    assert argv[1:] == [
        "celery",
        "worker",
        "--celery-hostname",
        production.celery_hostname("worker-2"),
        "--concurrency",
        "3",
    ]


def test_parse_stats_reads_the_last_finished_parse_of_the_dag_file(tmp_path: Path) -> None:
    log = tmp_path / "airflow-dag-processor.log"
    assert production.parse_stats(log) is None
    log.write_text(STATS_LOG)
    stats = production.parse_stats(log)
    assert stats == production.ParseStats(
        file="datadam.py", dags=150, errors=0, seconds=12.2, at="2026-11-23T21:00:34"
    )
    # Rows logged before the running process started belong to an earlier one.
    from datetime import UTC, datetime

    after = datetime(2026, 11, 23, 21, 5, tzinfo=UTC).timestamp()
    assert production.parse_stats(log, since=after) is None
    assert production.parse_stats(log, file="other.py") is None


def test_state_round_trip_and_stop_order(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path)
    recs = {
        name: ServiceRecord(name=name, port=0, url="", log="/l", pid=None)
        for name in (*production.CORE_PROCESSES, "worker-2", "worker-1")
    }
    production._save(paths, production._State(services=recs, fingerprint="f", concurrency=2))
    loaded = production._load(paths)
    assert (loaded.services, loaded.fingerprint, loaded.concurrency) == (recs, "f", 2)
    assert production._stop_order(recs) == [
        "scheduler",
        "worker-1",
        "worker-2",
        "triggerer",
        "dag-processor",
        "api-server",
    ]


def test_down_and_status_of_an_empty_home(tmp_path: Path, closed_port: int) -> None:
    assert production.down(home=tmp_path) == []
    cfg = production.ProductionConfig(pg_port=closed_port, redis_port=closed_port)
    rows = {row.name: row for row in production.status(home=tmp_path, config=cfg)}
    assert list(rows) == ["postgres", "redis", *production.CORE_PROCESSES]
    assert not any(row.healthy for row in rows.values())
    assert "refuses connections" in rows["postgres"].detail and "does not answer" in rows["redis"].detail
    assert rows["scheduler"].detail == "never started"


def test_up_fails_with_the_start_commands_when_postgres_and_redis_are_down(
    tmp_path: Path, closed_port: int
) -> None:
    cfg = production.ProductionConfig(pg_port=closed_port, redis_port=closed_port)
    with pytest.raises(StackError) as err:
        production.up(home=tmp_path, config=cfg)
    assert "pg_ctlcluster" in str(err.value) and "redis-server --daemonize yes" in str(err.value)
    assert not (tmp_path / production.STATE_FILE).exists(), "nothing was started"


def test_cli_status_production_like_lists_every_process_and_fails_when_down(
    tmp_path: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATADAM_PG_PORT", str(closed_port))
    monkeypatch.setenv("DATADAM_REDIS_PORT", str(closed_port))
    result = CliRunner().invoke(stack_app, ["status", "--production-like", "--home", str(tmp_path)])
    assert result.exit_code == 1
    for word in ("postgres", "redis", "api-server", "scheduler", "dag-processor", "triggerer"):
        assert word in result.output


def test_cli_down_of_an_empty_home_stops_nothing(tmp_path: Path) -> None:
    for args in (["down"], ["down", "--production-like"], ["down", "-s", "s3"]):
        result = CliRunner().invoke(stack_app, [*args, "--home", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert "nothing was running" in result.output
