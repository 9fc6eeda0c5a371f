"""Run dataset DAGs locally with ``dag.test()`` (in-process, SQLite metadata DB, triggers run inline).

Invoked by ``datadam run`` in a subprocess whose environment already points Airflow at the stack
(AIRFLOW_HOME, connections as AIRFLOW_CONN_*); prints one JSON line with the outcome last.

    python -m pipelines.orchestration.runner SPEC_ID [--items N] [--storage URI] [--conf JSON]
    python -m pipelines.orchestration.runner --serve [--storage URI]

``--serve`` runs one DAG after another in the same process, so that Airflow's import, its in-process execution
API and the stages' imports are paid once (``datadam sweep``; about half a minute per run on a 2-core machine):
each line read from stdin is a JSON request ``{"spec_id", "items", "storage", "conf", "log", "env"}``; the
process's output goes to the request's ``log`` while that DAG runs, and the outcome is the log's last line
(``RESULT_PREFIX``), as in the one-DAG form.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

# The DAG folder shipped inside the package (in a checkout a symlink to the repository's dags/; docs/adr/0026).
DAGS_FOLDER = Path(str(resources.files("pipelines") / "_dags")).resolve()
RESULT_PREFIX = "DATADAM_RESULT "
# Where a local run wants each task's final failure written, one JSON line per failure (the DAG's
# on_failure_callback writes it); unset in production, where the task log holds the same error.
FAILURES_ENV = "DATADAM_FAILURES_FILE"
ONLY_DAG_ENV = "DATADAM_ONLY_DAG"


def run_dag(spec_id: str, *, items: int | None, storage: str | None, conf: dict[str, Any]) -> dict[str, Any]:
    """Run the DAG of ``spec_id`` to the end; return its state, run id and each task's state and XCom."""
    # Only this DAG is built (dags/datadam.py reads it): dag.test() syncs every DAG the folder yields to the
    # metadata DB before it starts, which for 150 specs cost about 15 s of every local run.
    os.environ[ONLY_DAG_ENV] = spec_id
    # No api-server answers a human-in-the-loop request here: the gate waits for `datadam qa`'s decision file
    # even when the shell carries a deployment's DATADAM_GATE=hitl (docs/adr/0020).
    from pipelines.orchestration.settings import GATE_ENV

    os.environ[GATE_ENV] = "file"
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    if spec_id not in bag.dags:
        raise SystemExit(f"no DAG {spec_id!r} in {DAGS_FOLDER} (import errors: {list(bag.import_errors)})")
    dag = bag.dags[spec_id]
    t0 = time.perf_counter()
    run = dag.test(run_conf={"items": items, "storage": storage, **conf})
    elapsed = time.perf_counter() - t0
    tasks: dict[str, Any] = {}
    for ti in run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tasks[key] = {"state": str(ti.state), "try_number": ti.try_number, "hostname": ti.hostname}
    return {"dag_id": spec_id, "run_id": run.run_id, "state": str(run.state), "seconds": round(elapsed, 1),
            "tasks": tasks}


def _redirect_output(path: str) -> None:
    """Point this process's stdout and stderr (the file descriptors: Airflow's loggers hold the streams) at
    ``path``, appending."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
    finally:
        os.close(fd)


def serve(requests: Iterable[str], *, storage: str | None = None) -> int:
    """Run each request's DAG in turn (see the module's doc); one that raises is reported as state ``error``
    with its exception, and the next request still runs."""
    for line in requests:
        if not line.strip():
            continue
        req = json.loads(line)
        _redirect_output(req["log"])
        os.environ.update({str(k): str(v) for k, v in (req.get("env") or {}).items()})
        try:
            outcome = run_dag(req["spec_id"], items=req.get("items"), storage=req.get("storage") or storage,
                              conf=req.get("conf") or {})
        except Exception as exc:  # reported to the caller, who names it as the run's reason
            outcome = {"dag_id": req["spec_id"], "run_id": None, "state": "error",
                       "error": f"{type(exc).__name__}: {exc}", "tasks": {}}
        except SystemExit as exc:  # run_dag's "no such DAG"
            outcome = {"dag_id": req["spec_id"], "run_id": None, "state": "error", "error": str(exc.code),
                       "tasks": {}}
        sys.stdout.write(RESULT_PREFIX + json.dumps(outcome) + "\n")
        sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    from pipelines.lifeline import die_with_parent

    die_with_parent()
    ap = argparse.ArgumentParser(prog="python -m pipelines.orchestration.runner")
    ap.add_argument("spec_id", nargs="?")
    ap.add_argument("--serve", action="store_true", help="run the DAGs requested on stdin, one after another")
    ap.add_argument("--items", type=int, default=None)
    ap.add_argument("--storage", default=None, help="storage root (with --serve: of requests that name none)")
    ap.add_argument("--conf", default="{}", help="extra run conf as JSON (e.g. label_poll_s)")
    args = ap.parse_args(argv)
    if args.serve:
        return serve(sys.stdin, storage=args.storage)
    if args.spec_id is None:
        ap.error("SPEC_ID is required without --serve")
    outcome = run_dag(args.spec_id, items=args.items, storage=args.storage, conf=json.loads(args.conf))
    sys.stdout.write(RESULT_PREFIX + json.dumps(outcome) + "\n")
    sys.stdout.flush()
    return 0 if outcome["state"] == "success" else 1


if __name__ == "__main__":
    raise SystemExit(main())
