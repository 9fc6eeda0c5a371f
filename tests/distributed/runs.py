"""A dataset run as a contractor starts it on the production-like stack: REST trigger, simulated annotators.

Shared by the distributed tests and ``bench/bench_celery_scale.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.stack import production
from pipelines.stack.airflow_api import AirflowApi, TaskInstance
from pipelines.stack.state import repo_root

# An image bbox dataset whose tasks need one annotation each, so the simulator's labels finish the wait.
SHARDED_DATASET = "stroke-ct-angiography-occlusion"
# Images are collected 200 per shard: 401 items are 3 shards (200, 200, 1), so 3 mapped collect and 3
# mapped deidentify tasks, more than one worker's single slot can hold at once.
SHARDED_ITEMS = 401
RUN_TIMEOUT_S = 1500.0
# Polling knobs of label_wait and gate for this run (production defaults are 30 s and 60 s).
FAST_WAITS = {"label_poll_s": 2.0, "label_timeout_s": RUN_TIMEOUT_S, "review_timeout_s": RUN_TIMEOUT_S,
              "gate_poll_s": 2.0}


@dataclass(frozen=True)
class RunOutcome:
    """What one triggered run left behind."""

    dag_id: str
    run_id: str
    storage: str
    state: str
    seconds: float
    task_instances: list[TaskInstance]
    simulator_log: Path
    # other runs of the DAG still active when this one ended or timed out (why a run may sit ``queued``)
    others_active: tuple[str, ...] = ()

    def mapped(self, task_id: str) -> list[TaskInstance]:
        """The mapped instances of ``task_id``."""
        return [ti for ti in self.task_instances if ti.task_id == task_id and ti.map_index >= 0]

    def one(self, task_id: str) -> TaskInstance:
        """The single (unmapped) instance of ``task_id``."""
        (ti,) = [ti for ti in self.task_instances if ti.task_id == task_id]
        return ti


def task_state(api: AirflowApi, dag_id: str, run_id: str, task_id: str) -> str | None:
    """The state of a run's (unmapped) task, None before the scheduler made its instance."""
    return next((ti.state for ti in api.task_instances(dag_id, run_id) if ti.task_id == task_id), None)


def failure_report(info: production.ProductionInfo, outcome: RunOutcome) -> str:
    """Failed tasks with the tail of their logs, for a failing assertion to show."""
    lines = [f"{outcome.dag_id} run {outcome.run_id}: {outcome.state} after {outcome.seconds:.0f} s"]
    for ti in outcome.task_instances:
        lines.append(f"  {ti.key}: {ti.state} on {ti.hostname} (try {ti.try_number})")
        if ti.state not in ("success", "skipped", None):
            folder = info.airflow_home / "logs" / f"dag_id={outcome.dag_id}" / f"run_id={outcome.run_id}"
            for log in sorted(folder.glob(f"task_id={ti.task_id}/**/*.log"))[-1:]:
                lines.append("    " + "\n    ".join(log.read_text(errors="replace").splitlines()[-15:]))
    if outcome.others_active:
        lines.append(f"  other active runs of {outcome.dag_id}: {', '.join(outcome.others_active)}")
    lines.append(f"  simulator log: {outcome.simulator_log}")
    return "\n".join(lines)


def trigger_and_wait(
    info: production.ProductionInfo,
    api: AirflowApi,
    *,
    dag_id: str,
    items: int,
    storage: str,
    annotate: bool = True,
    timeout: float = RUN_TIMEOUT_S,
    conf: dict[str, Any] | None = None,
    until: Callable[[str], bool] | None = None,
) -> RunOutcome:
    """Trigger ``dag_id`` through the REST API, label with the simulator alongside, wait for the end.

    ``conf`` adds to the run conf; ``until(run_id)`` ends the wait early (e.g. once a task waits for a person).

    Runs of ``dag_id`` that a stack stopped mid-way left ``running`` in the metadata DB (PostgreSQL outlives
    the processes) are marked failed first, as an operator would: with ``max_active_runs=1`` the new run
    would otherwise stay ``queued`` behind them until their own waits time out.
    """
    for stale in api.active_runs(dag_id):
        print(f"marking the leftover run {stale['dag_run_id']} ({stale['state']}) of {dag_id} failed")
        api.fail_run(dag_id, str(stale["dag_run_id"]))
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, conf={"items": items, "storage": storage, **FAST_WAITS, **(conf or {})})
    logs = info.home / "logs" / "runs"
    logs.mkdir(parents=True, exist_ok=True)
    sim_log = logs / f"{dag_id}-distributed-{uuid.uuid4().hex[:6]}-annotators.log"
    sim: subprocess.Popen[bytes] | None = None
    began = time.monotonic()
    try:
        while True:
            state = str(api.dag_run(dag_id, run_id).get("state"))
            if state in ("success", "failed") or time.monotonic() - began > timeout:
                break
            if until is not None and until(run_id):
                break
            pushed = api.xcom(dag_id, run_id, "label_push") if annotate and sim is None else None
            if pushed:
                # The project exists and holds this run's tasks: the annotators can start.
                env = {
                    **os.environ,
                    **info.stack.s3_env(),
                    "DATADAM_LS_URL": info.stack.ls_url,
                    "DATADAM_LS_TOKEN": info.stack.ls_token,
                }
                argv = [
                    sys.executable,
                    "-m",
                    "sim.annotators",
                    "--spec-id",
                    dag_id,
                    "--storage",
                    storage,
                    "--project-id",
                    str(pushed["project_id"]),
                    "--run-id",
                    run_id,
                    "--annotators",
                    "3",
                    "--error-rate",
                    "0.05",
                    "--watch",
                    "--follow",  # and then review the sample label_pull queues (review_wait waits for it)
                    "--review",
                    "--timeout",
                    str(timeout),
                ]
                with sim_log.open("wb") as out:
                    sim = subprocess.Popen(
                        argv, cwd=repo_root(), env=env, stdout=out, stderr=subprocess.STDOUT
                    )
            time.sleep(3)
    finally:
        if sim is not None:
            sim.terminate()
            try:
                sim.wait(timeout=20)
            except subprocess.TimeoutExpired:
                sim.kill()
    return RunOutcome(
        dag_id=dag_id,
        run_id=run_id,
        storage=storage,
        state=state,
        seconds=time.monotonic() - began,
        task_instances=api.task_instances(dag_id, run_id),
        simulator_log=sim_log,
        others_active=tuple(
            f"{r['dag_run_id']} ({r['state']})" for r in api.active_runs(dag_id) if r["dag_run_id"] != run_id
        ),
    )


def run_summary(outcome: RunOutcome) -> dict[str, Any]:
    """Task key -> (state, hostname, pool), for assertion messages."""
    return {ti.key: (ti.state, ti.hostname, ti.pool) for ti in outcome.task_instances}
