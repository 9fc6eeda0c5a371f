"""The local stack against the real services: Label Studio, the S3 endpoint and Airflow's SQLite DB."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from pipelines.stack import StackInfo, _proc, down, restart_labelstudio, status, up
from pipelines.stack.airflow_home import airflow_executable
from pipelines.stack.state import StackPaths, load_state

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration


def _healthy(info: StackInfo) -> dict[str, bool]:
    return {row.name: row.healthy for row in status(home=info.home)}


def test_labelstudio_is_healthy_and_the_token_authenticates_as_the_admin(
    stack: StackInfo, ls_client: LabelStudio
) -> None:
    assert httpx.get(f"{stack.ls_url}/health", timeout=10).status_code == 200
    assert ls_client.users.whoami().email == stack.ls_email
    raw = httpx.get(
        f"{stack.ls_url}/api/current-user/whoami",
        headers={"Authorization": f"Token {stack.ls_token}"},
        timeout=30,
    )
    assert raw.status_code == 200, "the legacy token must work without the SDK too (Airflow's http conn)"
    refused = httpx.get(
        f"{stack.ls_url}/api/current-user/whoami", headers={"Authorization": "Token wrong"}, timeout=30
    )
    assert refused.status_code == 401


def test_labelstudio_listens_on_loopback_only(stack: StackInfo) -> None:
    assert stack.ls_url.startswith("http://127.0.0.1:")
    assert stack.s3_endpoint.startswith("http://127.0.0.1:")


def test_s3_put_get_round_trip(stack: StackInfo, s3_client: S3Client) -> None:
    key = f"tests/stack/{uuid.uuid4().hex}.txt"
    body = "데이터댐 round trip".encode()
    s3_client.put_object(Bucket=stack.s3_bucket, Key=key, Body=body)
    got = s3_client.get_object(Bucket=stack.s3_bucket, Key=key)["Body"].read()
    assert got == body
    listed = s3_client.list_objects_v2(Bucket=stack.s3_bucket, Prefix="tests/stack/")
    assert key in [obj.get("Key") for obj in listed.get("Contents", [])]


def test_airflow_db_check_passes_on_the_migrated_sqlite_db(stack: StackInfo) -> None:
    env = {**os.environ, **stack.airflow_env()}
    argv = [str(airflow_executable()), "db", "check"]
    check = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    db = Path(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"dag", "dag_run", "task_instance", "connection"} <= tables


_READ_CONNS = """
import json
from airflow.sdk import BaseHook
out = {}
for cid in ("datadam_s3", "datadam_labelstudio"):
    c = BaseHook.get_connection(cid)
    out[cid] = {"type": c.conn_type, "host": c.host, "port": c.port, "extra": c.extra_dejson,
                "has_password": bool(c.password)}
print(json.dumps(out))
"""


def test_airflow_resolves_both_stack_connections_from_the_environment(stack: StackInfo) -> None:
    env = {**os.environ, **stack.airflow_env()}
    python = airflow_executable().parent / "python"
    argv = [str(python), "-c", _READ_CONNS]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    conns = json.loads(done.stdout.strip().splitlines()[-1])
    assert conns["datadam_s3"]["type"] == "aws"
    assert conns["datadam_s3"]["extra"] == {"endpoint_url": stack.s3_endpoint, "region_name": "us-east-1"}
    ls = conns["datadam_labelstudio"]
    assert (ls["type"], f"http://{ls['host']}:{ls['port']}") == ("http", stack.ls_url)
    assert ls["has_password"] and conns["datadam_s3"]["has_password"]


def test_restart_labelstudio_keeps_the_port_and_the_token(stack: StackInfo) -> None:
    before = load_state(StackPaths(stack.home)).services["labelstudio"]
    info = restart_labelstudio()
    after = load_state(StackPaths(stack.home)).services["labelstudio"]
    assert info.ls_url == stack.ls_url and after.port == before.port
    assert after.pid != before.pid
    assert not _proc.is_running(before.pid, before.start_time)
    assert info.ls_token == stack.ls_token
    from label_studio_sdk import LabelStudio

    assert LabelStudio(base_url=info.ls_url, api_key=info.ls_token).users.whoami().email == stack.ls_email


def test_down_stops_exactly_the_recorded_processes_and_up_brings_them_back(stack: StackInfo) -> None:
    records = load_state(StackPaths(stack.home)).services
    pids = {name: (rec.pid, rec.start_time) for name, rec in records.items()}
    try:
        stopped = down()
        assert sorted(stopped) == ["labelstudio", "s3"]
        for pid, start in pids.values():
            assert not _proc.is_running(pid, start)
        assert _healthy(stack) == {"labelstudio": False, "s3": False, "airflow": True}
        assert {row.name: row.pid for row in status()} == {"labelstudio": None, "s3": None, "airflow": None}
        assert down() == []
    finally:
        # Bring the stack back for the tests after this one; previous ports are preferred, so URLs hold.
        again = up()
    assert set(again.started) >= {"labelstudio", "s3"}
    assert (again.ls_url, again.s3_endpoint) == (stack.ls_url, stack.s3_endpoint)
    assert _healthy(again) == {"labelstudio": True, "s3": True, "airflow": True}
    assert up().started == (), "a second up reuses everything"
