"""`datadam run ID` and `datadam demo`: run dataset DAGs end to end on the local stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli_common import esc, plain
from pipelines.spec import load_catalog
from pipelines.stack import StackInfo, up
from pipelines.storage import S3Settings, layout, open_store

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPECS = ("crop-disease-open-field", "civil-complaint-classification", "dialect-speech-jeju")
RESULT_PREFIX = "DATADAM_RESULT "
_out = Console(soft_wrap=True)  # keep URIs on one line, copyable
_err = Console(stderr=True)


@dataclass(frozen=True)
class RunSummary:
    """What a user needs after a run: outcome, where the release and the report are."""

    spec_id: str
    run_id: str | None
    state: str
    seconds: float
    storage: str
    release: str | None
    rows: int | None
    report: str | None
    log: Path
    tasks: dict[str, Any]


def _env(stack: StackInfo, storage: str) -> dict[str, str]:
    env = {**os.environ, **stack.airflow_env(), "DATADAM_STORAGE": storage,
           "DATADAM_LS_URL": stack.ls_url, "DATADAM_LS_TOKEN": stack.ls_token}
    if storage.startswith("s3://"):
        env.update(stack.s3_env())
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _store(stack: StackInfo, storage: str) -> Any:
    s3 = None
    if storage.startswith("s3://"):
        s3 = S3Settings(endpoint_url=stack.s3_endpoint, access_key=stack.s3_access_key,
                        secret_key=stack.s3_secret_key, region=stack.s3_region)
    store = open_store(storage, s3=s3)
    store.ensure_bucket()
    return store


def run_one(spec_id: str, *, stack: StackInfo, storage: str, items: int | None, simulate: bool,
            annotators: int = 3, error_rate: float = 0.02, reviewer_error_rate: float = 0.01, poll_s: float = 2.0,
            timeout_s: float = 1800.0, review_timeout_s: float | None = None) -> RunSummary:
    """Run one DAG through ``dag.test()`` in a subprocess; with ``simulate``, simulated annotators and reviewers
    work alongside (a higher error rate fails semantic accuracy: the gate then waits for ``datadam qa approve``).

    ``review_timeout_s`` (default ``timeout_s``) bounds ``review_wait``: past it the run goes on with semantic
    accuracy "not measured", as a contractor's run does when reviewers have not finished."""
    spec = load_catalog().get(spec_id)
    logs = stack.home / "logs" / "runs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    log = logs / f"{spec_id}-{stamp}.log"
    env = _env(stack, storage)
    store = _store(stack, storage)
    sim_proc = None
    if simulate:
        sim_log = logs / f"{spec_id}-{stamp}-annotators.log"
        sim_proc = subprocess.Popen(
            [sys.executable, "-m", "sim.annotators", "--storage", storage, "--spec-id", spec_id,
             "--annotators", str(annotators), "--error-rate", str(error_rate), "--watch", "--follow", "--review",
             "--reviewer-error-rate", str(reviewer_error_rate),
             "--timeout", str(timeout_s)],
            cwd=ROOT, env=env, stdout=sim_log.open("w"), stderr=subprocess.STDOUT)
    review_s = timeout_s if review_timeout_s is None else review_timeout_s
    conf = {"label_poll_s": poll_s, "label_timeout_s": timeout_s, "review_timeout_s": review_s,
            "gate_poll_s": poll_s, "gate_timeout_s": timeout_s}
    cmd = [sys.executable, "-m", "pipelines.orchestration.runner", spec_id, "--storage", storage,
           "--conf", json.dumps(conf)]
    if items is not None:
        cmd += ["--items", str(items)]
    t0 = time.perf_counter()
    try:
        # Airflow logs to stdout: everything goes to the log file as it happens; the outcome is its last line.
        with log.open("w") as fh:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, text=True, check=False,
                                  timeout=2 * timeout_s + 600)
    finally:
        if sim_proc is not None:
            sim_proc.terminate()
            try:
                sim_proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                sim_proc.kill()
    outcome: dict[str, Any] = {}
    with log.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(RESULT_PREFIX):
                outcome = json.loads(line[len(RESULT_PREFIX):])
    run_id = outcome.get("run_id")
    version = store.read_pointer(layout.latest(spec.id))
    release = rows = None
    if version:
        release = store.uri(layout.release(spec.id, version))
        manifest = store.read_json(f"{layout.release(spec.id, version)}/manifest.json")
        rows = int((manifest.get("rows") or {}).get("total", 0))
    report = None
    if run_id:
        key = f"{layout.run(spec.id, run_id, 'validate')}/report.html"
        report = store.uri(key) if store.exists(key) else None
    return RunSummary(spec_id=spec_id, run_id=run_id, state=outcome.get("state", f"exit {proc.returncode}"),
                      seconds=round(time.perf_counter() - t0, 1), storage=storage, release=release, rows=rows,
                      report=report, log=log, tasks=outcome.get("tasks", {}))


def _print(summary: RunSummary) -> None:
    ok = summary.state == "success"
    colour = "green" if ok else "red"
    _out.print(f"[bold]{esc(summary.spec_id)}[/bold]: [{colour}]{esc(summary.state)}[/{colour}] in "
               f"{summary.seconds:.0f} s  (run {esc(summary.run_id)})")
    if summary.release:
        _out.print(plain(f"  release: {summary.release}  ({summary.rows} rows)"))
    if summary.report:
        _out.print(plain(f"  QA report: {summary.report}"))
    if not ok:
        failed = [k for k, v in summary.tasks.items() if v.get("state") not in ("success", "skipped")]
        _out.print(plain(f"  failed tasks: {', '.join(failed) or '?'}; log: {summary.log}"))


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        spec_id: str,
        items: Annotated[int | None, typer.Option(help="items to collect (default: the spec's source)")] = None,
        storage: Annotated[str | None, typer.Option(help="storage root URI (default: the stack's file:// root)")] = (
            None
        ),
        simulate: Annotated[bool, typer.Option(help="simulated annotators label the tasks (demo/test)")] = False,
        annotators: Annotated[int, typer.Option(help="simulated annotators")] = 3,
        error_rate: Annotated[float, typer.Option(
            help="simulated annotators' error rate (reviewers reject wrong labels: a high rate fails semantic "
                 "accuracy and the run waits at the gate for `datadam qa approve|reject`)")] = 0.02,
        timeout: Annotated[float, typer.Option(help="seconds to wait for annotation")] = 7 * 24 * 3600.0,
    ) -> None:
        """Run one dataset's DAG end to end on the local stack (Airflow dag.test, real Label Studio)."""
        stack = up()
        summary = run_one(spec_id, stack=stack, storage=storage or stack.storage_root, items=items,
                          simulate=simulate, annotators=annotators, error_rate=error_rate, timeout_s=timeout)
        _print(summary)
        raise typer.Exit(0 if summary.state == "success" else 1)

    @app.command("demo")
    def demo(
        items: Annotated[int, typer.Option(help="items per dataset")] = 60,
        storage: Annotated[str | None, typer.Option(help="storage root URI")] = None,
    ) -> None:
        """Start the stack and run three dataset types end to end with simulated annotators."""
        t0 = time.perf_counter()
        _out.print("starting the local stack (first run installs Label Studio in its own venv) ...")
        stack = up()
        root = storage or stack.storage_root
        summaries = []
        for spec_id in DEMO_SPECS:
            _out.print(f"running [bold]{spec_id}[/bold] with {items} items and 3 simulated annotators ...")
            summaries.append(run_one(spec_id, stack=stack, storage=root, items=items, simulate=True,
                                     timeout_s=900.0))
            _print(summaries[-1])
        table = Table(title=f"datadam demo — {time.perf_counter() - t0:.0f} s")
        for col in ("dataset", "state", "rows", "release"):
            table.add_column(col, overflow="fold")
        for s in summaries:
            table.add_row(*map(plain, (s.spec_id, s.state, s.rows or "-", s.release or "-")))
        _out.print(table)
        _out.print(f"Label Studio: {stack.ls_url}  (see `datadam stack status`; stop with `datadam stack down`)")
        raise typer.Exit(0 if all(s.state == "success" for s in summaries) else 1)
