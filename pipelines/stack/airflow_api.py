"""A small client of Airflow's public REST API (``/api/v2``), as a contractor's script would use it.

Used by the distributed tests and the Celery scale benchmark against ``stack up --production-like``;
it works against any Airflow 3.3 api-server (docker-compose, a managed deployment) given a JWT. Only
``httpx``: nothing here imports Airflow.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from pipelines.stack.errors import StackError

FINISHED = frozenset({"success", "failed"})


@dataclass(frozen=True, kw_only=True)
class TaskInstance:
    """One task instance as the REST API reports it (mapped ones carry their ``map_index``)."""

    task_id: str
    map_index: int
    state: str | None
    hostname: str | None
    pool: str
    try_number: int
    start_date: str | None
    end_date: str | None
    duration: float | None

    @property
    def key(self) -> str:
        """``task`` or ``task[map_index]``."""
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


def token(api_url: str, *, username: str, password: str, timeout: float = 30.0) -> str:
    """A JWT from ``POST /auth/token`` (SimpleAuthManager)."""
    resp = httpx.post(
        f"{api_url}/auth/token", json={"username": username, "password": password}, timeout=timeout
    )
    if resp.status_code not in (200, 201):
        raise StackError(f"the api-server refused the login of {username!r} ({resp.status_code})")
    return str(resp.json()["access_token"])


class AirflowApi:
    """``/api/v2`` with a bearer token; every call raises ``httpx.HTTPStatusError`` on an error status."""

    def __init__(self, api_url: str, jwt: str, *, timeout: float = 60.0) -> None:
        self.api_url = api_url.rstrip("/")
        self._http = httpx.Client(
            base_url=f"{self.api_url}/api/v2", headers={"Authorization": f"Bearer {jwt}"}, timeout=timeout
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> AirflowApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, **params: Any) -> Any:
        resp = self._http.get(path, params=params)
        resp.raise_for_status()
        return resp.json()

    def _pages(self, path: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self._get(path, limit=100, offset=offset, **params)
            items = page.get(key) or []
            yield from items
            offset += len(items)
            if not items or offset >= int(page.get("total_entries", 0)):
                return

    def dag_count(self) -> int:
        """DAGs the dag-processor has written to the metadata DB."""
        return int(self._get("/dags", limit=1)["total_entries"])

    def dag(self, dag_id: str) -> dict[str, Any]:
        """``GET /dags/{dag_id}/details`` (``is_paused``, ``last_parse_duration``, ``fileloc`` ...)."""
        return dict(self._get(f"/dags/{quote(dag_id)}/details"))

    def import_errors(self) -> list[dict[str, Any]]:
        """Every DAG file import error the dag-processor recorded."""
        return list(self._pages("/importErrors", "import_errors"))

    def pool(self, name: str) -> dict[str, Any]:
        """``GET /pools/{name}`` (slots, running/queued/open slots)."""
        return dict(self._get(f"/pools/{quote(name)}"))

    def unpause(self, dag_id: str) -> None:
        """Unpause a DAG (the scheduler ignores runs of paused DAGs)."""
        resp = self._http.patch(f"/dags/{quote(dag_id)}", json={"is_paused": False})
        resp.raise_for_status()

    def trigger(self, dag_id: str, *, conf: dict[str, Any], run_id: str | None = None) -> str:
        """Create a manual run with ``conf``; return its run id."""
        body: dict[str, Any] = {"logical_date": None, "conf": conf}
        if run_id:
            body["dag_run_id"] = run_id
        resp = self._http.post(f"/dags/{quote(dag_id)}/dagRuns", json=body)
        resp.raise_for_status()
        return str(resp.json()["dag_run_id"])

    def create_connection(self, conn_id: str, *, conn_type: str, login: str, password: str,
                          extra: dict[str, Any] | None = None) -> None:
        """Create the connection ``conn_id`` in the metadata DB, as an admin does in the UI (409 if it exists)."""
        body = {"connection_id": conn_id, "conn_type": conn_type, "login": login, "password": password,
                "extra": json.dumps(extra or {})}
        self._http.post("/connections", json=body).raise_for_status()

    def delete_connection(self, conn_id: str) -> None:
        """Delete the connection ``conn_id`` (gone already is fine)."""
        resp = self._http.delete(f"/connections/{quote(conn_id)}")
        if resp.status_code != 404:
            resp.raise_for_status()

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """``GET /dags/{dag_id}/dagRuns/{run_id}`` (``state``, ``start_date``, ``end_date`` ...)."""
        return dict(self._get(f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}"))

    def active_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Runs of ``dag_id`` still ``queued`` or ``running`` (with ``max_active_runs=1`` they hold up a new one)."""
        return list(self._pages(f"/dags/{quote(dag_id)}/dagRuns", "dag_runs", state=["queued", "running"]))

    def fail_run(self, dag_id: str, run_id: str) -> None:
        """Mark a run failed (stops what it still waits for)."""
        resp = self._http.patch(f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}", json={"state": "failed"})
        resp.raise_for_status()

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        """Every task instance of a run, mapped ones included."""
        raw = self._pages(f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances", "task_instances")
        return [
            TaskInstance(
                task_id=ti["task_id"],
                map_index=int(ti["map_index"]),
                state=ti.get("state"),
                hostname=ti.get("hostname") or None,
                pool=ti.get("pool") or "",
                try_number=int(ti.get("try_number") or 0),
                start_date=ti.get("start_date"),
                end_date=ti.get("end_date"),
                duration=ti.get("duration"),
            )
            for ti in raw
        ]

    def xcom(
        self, dag_id: str, run_id: str, task_id: str, *, key: str = "return_value", map_index: int = -1
    ) -> Any:
        """The value a task (or one mapped instance) pushed, or None if it has not yet."""
        path = (
            f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{quote(task_id)}/xcomEntries/{key}"
        )
        resp = self._http.get(path, params={"deserialize": "true", "map_index": map_index})
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json().get("value")

    def asset_events(self, *, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Asset events a run emitted (``uri``, ``name``, ``extra`` ...)."""
        return list(self._pages("/assets/events", "asset_events", source_dag_id=dag_id, source_run_id=run_id))

    def waiting_for_input(self, *, task_id: str, dag_id: str = "~", run_id: str = "~") -> list[dict[str, Any]]:
        """Unanswered human-in-the-loop requests of ``task_id`` (``~``: any DAG or run), each with its
        ``task_instance`` (``dag_id``, ``dag_run_id``, ``state`` ...), ``subject``, ``body``, ``options``."""
        path = f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/hitlDetails"
        return list(self._pages(path, "hitl_details", task_id=task_id, response_received=False))

    def hitl_detail(self, dag_id: str, run_id: str, task_id: str, *, map_index: int = -1) -> dict[str, Any]:
        """``GET .../taskInstances/{task_id}/{map_index}/hitlDetails``: the request and, once answered, who
        answered what and when."""
        return dict(self._get(self._hitl_path(dag_id, run_id, task_id, map_index)))

    def respond(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        *,
        options: list[str],
        params: dict[str, Any] | None = None,
        map_index: int = -1,
    ) -> httpx.Response:
        """Answer a human-in-the-loop request as the logged-in user; the response is returned unchecked:
        403 (not among the assigned users), 409 (already answered) and 400 (no such option) are answers too."""
        return self._http.patch(
            self._hitl_path(dag_id, run_id, task_id, map_index),
            json={"chosen_options": options, "params_input": params or {}},
        )

    @staticmethod
    def _hitl_path(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
        return f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{quote(task_id)}/{map_index}/hitlDetails"

    def wait_run(self, dag_id: str, run_id: str, *, timeout: float, poll: float = 3.0) -> dict[str, Any]:
        """Poll a run until it succeeds or fails; raise TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if run.get("state") in FINISHED:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} run {run_id} still {run.get('state')} after {timeout:.0f} s")
            time.sleep(poll)
