"""The local stack without services: state files, secrets, ports, process identity, env, CLI."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.stack import StackInfo, _proc, down, status
from pipelines.stack.cli import stack_app
from pipelines.stack.state import (
    HOME_ENV,
    LS_VENV_ENV,
    ServiceRecord,
    StackPaths,
    StackState,
    load_or_create_secrets,
    load_secrets,
    load_state,
    repo_root,
    resolve_home,
    save_state,
    separate_home_env,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def paths(tmp_path: Path) -> StackPaths:
    return StackPaths(tmp_path / "home")


def _info(home: Path, **kw: str) -> StackInfo:
    values = {
        "ls_url": "http://127.0.0.1:18080",
        "ls_token": "a" * 40,
        "s3_endpoint": "http://127.0.0.1:15000",
        "s3_access_key": "AKEY",
        "s3_secret_key": "s3cret-value",
        **kw,
    }
    return StackInfo(home=home, airflow_home=home / "airflow", **values)


# --- home and state files ---------------------------------------------------------------------------


def test_home_defaults_to_repo_dot_datadam(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOME_ENV, raising=False)
    assert resolve_home() == repo_root() / ".datadam"
    assert (repo_root() / "pyproject.toml").exists()


def test_home_env_overrides_and_is_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(HOME_ENV, "rel/home")
    assert resolve_home() == tmp_path / "rel" / "home"
    assert resolve_home(Path("other")) == tmp_path / "other"


def _disjoint(a: Path, b: Path) -> bool:
    return not (a.is_relative_to(b) or b.is_relative_to(a))


def test_tests_home_shares_nothing_with_the_demo_but_the_label_studio_venv(monkeypatch: pytest.MonkeyPatch) -> None:
    # `make test` then `make demo` in one clone: the demo must not reuse the Label Studio server, projects
    # (its database), storage or Airflow runs the tests left, yet must not install Label Studio again.
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.delenv(LS_VENV_ENV, raising=False)
    demo = StackPaths(resolve_home())
    for key, value in separate_home_env("test", {}).items():
        monkeypatch.setenv(key, value)
    tests = StackPaths(resolve_home())
    assert tests.home == repo_root() / ".datadam" / "test"
    assert tests.state_file != demo.state_file  # so no running server is reused across the two
    for part in ("ls_data", "storage", "airflow_home"):
        assert _disjoint(getattr(tests, part), getattr(demo, part)), part
    assert tests.ls_venv == demo.ls_venv == repo_root() / ".datadam" / "ls-venv"


def test_a_chosen_home_stands_for_the_tests() -> None:
    assert separate_home_env("test", {HOME_ENV: "/srv/stack"}) == {}
    assert separate_home_env("test", {LS_VENV_ENV: "/opt/ls"})[LS_VENV_ENV] == "/opt/ls"


def test_this_session_never_runs_on_the_implicit_default_home() -> None:
    # tests/conftest.py sets the tests' home before any fixture runs (or keeps the one the user chose).
    assert os.environ.get(HOME_ENV)


def test_state_round_trip_keeps_every_field(paths: StackPaths) -> None:
    rec = ServiceRecord(
        name="s3", port=15000, url="http://127.0.0.1:15000", log="/l", pid=42, start_time=7, started_at=1.5
    )
    save_state(paths, StackState().with_service(rec).with_airflow_home(paths.airflow_home))
    loaded = load_state(paths)
    assert loaded.services == {"s3": rec}
    assert loaded.airflow_home == str(paths.airflow_home)
    assert json.loads(paths.state_file.read_text())["version"] == 1


def test_missing_or_corrupt_state_means_nothing_runs(paths: StackPaths) -> None:
    assert load_state(paths) == StackState()
    paths.home.mkdir(parents=True)
    paths.state_file.write_text("{not json")
    assert load_state(paths).services == {}


# --- secrets --------------------------------------------------------------------------------------


def test_secrets_are_generated_once_owner_only_and_reused(paths: StackPaths) -> None:
    first = load_or_create_secrets(paths)
    assert stat.S_IMODE(paths.secrets_file.stat().st_mode) == 0o600
    assert len(first.ls_token) == 40 and int(first.ls_token, 16) >= 0
    assert load_or_create_secrets(paths) == first
    assert load_secrets(paths) == first


def test_secrets_file_from_an_older_version_keeps_its_credentials(paths: StackPaths) -> None:
    first = load_or_create_secrets(paths)
    raw = json.loads(paths.secrets_file.read_text())
    del raw["ls_secret_key"]
    paths.secrets_file.write_text(json.dumps(raw))
    again = load_or_create_secrets(paths)
    assert (again.ls_token, again.ls_password, again.s3_secret_key) == (
        first.ls_token,
        first.ls_password,
        first.s3_secret_key,
    )
    assert again.ls_secret_key and "ls_secret_key" in json.loads(paths.secrets_file.read_text())


def test_stack_json_never_holds_secrets(paths: StackPaths) -> None:
    secrets = load_or_create_secrets(paths)
    rec = ServiceRecord(name="labelstudio", port=1, url="http://127.0.0.1:1", log="/l", pid=1, start_time=1)
    save_state(paths, StackState().with_service(rec))
    text = paths.state_file.read_text()
    assert not [v for v in secrets.values() if v in text]


# --- ports ----------------------------------------------------------------------------------------


def test_free_port_is_bindable_below_the_ephemeral_range_and_keeps_a_free_preferred_port() -> None:
    port = _proc.free_port()
    assert _proc.port_is_free(port)
    assert 1024 <= port < _proc._ephemeral_range()[0]
    assert _proc.free_port(prefer=port) == port


def test_busy_preferred_port_and_avoided_ports_are_not_returned() -> None:
    with socket.socket() as listener:
        listener.bind((_proc.LOOPBACK, 0))
        listener.listen()
        busy = listener.getsockname()[1]
        assert not _proc.port_is_free(busy)
        assert _proc.free_port(prefer=busy) != busy
        other = _proc.free_port()
        assert _proc.free_port(prefer=other, avoid=[other]) != other


# --- process identity -----------------------------------------------------------------------------


def test_own_process_is_identified_by_pid_and_start_time() -> None:
    start = _proc.proc_start_time(os.getpid())
    assert start is not None
    assert _proc.is_running(os.getpid(), start)
    assert not _proc.is_running(os.getpid(), start + 1)
    assert not _proc.is_running(None, start)


def test_stop_kills_the_detached_process_but_never_a_pid_with_another_start_time(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(120)"]
    pid, start = _proc.spawn_detached(argv, env=dict(os.environ), log_path=tmp_path / "x.log", cwd=tmp_path)
    assert os.getpgid(pid) == pid  # own session: a terminal's Ctrl-C does not reach it
    assert not _proc.stop(pid, start + 1), "a different start time must be treated as someone else's process"
    assert _proc.is_running(pid, start)
    assert _proc.stop(pid, start, grace=5.0)
    assert not _proc.is_running(pid, start)
    assert not _proc.stop(pid, start)


def test_log_tail_redacts_secrets(tmp_path: Path) -> None:
    log = tmp_path / "s.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)) + "token=abcdef123456 done\n")
    tail = _proc.log_tail(log, lines=3, redact=["abcdef123456"])
    assert tail.splitlines() == ["line 98", "line 99", "token=*** done"]
    assert "no log" in _proc.log_tail(tmp_path / "missing.log")


# --- StackInfo ------------------------------------------------------------------------------------


def test_stack_info_defaults_and_repr_hides_secrets(tmp_path: Path) -> None:
    info = _info(tmp_path)
    assert info.storage_root == f"file://{tmp_path}/storage"
    assert (info.s3_region, info.s3_bucket) == ("us-east-1", "datadam")
    text = repr(info)
    assert "a" * 40 not in text and "s3cret-value" not in text and "AKEY" not in text


def test_airflow_env_has_absolute_sqlite_and_both_connections(tmp_path: Path) -> None:
    env = _info(tmp_path).airflow_env()
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    db = tmp_path / "airflow" / "airflow.db"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{db}"  # absolute: four slashes
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite:////")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(repo_root() / "dags")
    s3 = json.loads(env["AIRFLOW_CONN_DATADAM_S3"])
    assert s3 == {
        "conn_type": "aws",
        "login": "AKEY",
        "password": "s3cret-value",
        "extra": {"endpoint_url": "http://127.0.0.1:15000", "region_name": "us-east-1"},
    }
    ls = json.loads(env["AIRFLOW_CONN_DATADAM_LABELSTUDIO"])
    assert ls == {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": 18080,
        "schema": "http",
        "password": "a" * 40,
    }


def test_airflow_env_leaves_out_connections_of_services_not_running(tmp_path: Path) -> None:
    env = _info(tmp_path, ls_url="", s3_endpoint="").airflow_env()
    assert "AIRFLOW_CONN_DATADAM_S3" not in env and "AIRFLOW_CONN_DATADAM_LABELSTUDIO" not in env


def test_s3_env_points_boto3_at_the_endpoint_with_lenient_checksums(tmp_path: Path) -> None:
    env = _info(tmp_path).s3_env()
    assert env["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:15000"
    assert env["AWS_ACCESS_KEY_ID"] == "AKEY" and env["AWS_SECRET_ACCESS_KEY"] == "s3cret-value"
    assert env["AWS_REQUEST_CHECKSUM_CALCULATION"] == "when_required"
    assert env["AWS_RESPONSE_CHECKSUM_VALIDATION"] == "when_required"


# --- public API on an empty home ------------------------------------------------------------------


def test_status_of_an_empty_home_reports_everything_down(tmp_path: Path) -> None:
    rows = {row.name: row for row in status(home=tmp_path)}
    assert list(rows) == ["labelstudio", "s3", "airflow"]
    assert not any(row.healthy for row in rows.values())
    assert rows["labelstudio"].detail == "never started"
    assert rows["airflow"].detail == "metadata DB not migrated"


def test_down_on_an_empty_home_stops_nothing(tmp_path: Path) -> None:
    assert down(home=tmp_path) == []


def test_down_skips_a_recorded_pid_that_now_belongs_to_another_process(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path)
    me = ServiceRecord(name="s3", port=1, url="http://127.0.0.1:1", log="/l", pid=os.getpid(), start_time=1)
    save_state(paths, StackState().with_service(me))
    assert down(home=tmp_path) == []  # we are alive, but not with start time 1: must not be signalled
    assert load_state(paths).services["s3"].pid is None


def test_unknown_service_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown stack services"):
        down(home=tmp_path, services=["postgres"])


def test_cli_status_prints_a_table_and_fails_when_down(tmp_path: Path) -> None:
    result = CliRunner().invoke(stack_app, ["status", "--home", str(tmp_path)])
    assert result.exit_code == 1
    for word in ("labelstudio", "s3", "airflow", "down"):
        assert word in result.output
