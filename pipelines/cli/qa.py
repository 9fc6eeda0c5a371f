"""`datadam qa show|approve|reject RUN`: what a QA inspector runs to read a validation and decide on it.

RUN is a storage path ``runs/<dataset>/<run>`` (as the report's location prints it; a ``file://`` or ``s3://``
URI of it, or of a file under it, works too), or a run id with ``--dataset``; a run id alone is looked up
across datasets. Storage comes from ``--storage``, else ``$DATADAM_STORAGE``, else the local stack's
``file://`` root (the stack is not started for this).

A decision is bound to the quality.json the inspector read (its sha256): re-validating the run voids it.

Where the decision goes depends on where the run waits (docs/adr/0020):
- on an Airflow api-server (``--airflow URL`` or ``$DATADAM_AIRFLOW_URL``; the production-like stack and
  docker-compose), the ``gate`` task waits in ``awaiting_input`` for a human-in-the-loop answer: the command
  answers it through the REST API as ``$DATADAM_AIRFLOW_USER`` / ``$DATADAM_AIRFLOW_PASSWORD`` (or a JWT in
  ``$DATADAM_AIRFLOW_TOKEN``), and Airflow refuses anyone who is not one of the gate's inspectors. The task
  then records the decision in the run itself.
- otherwise (a local ``datadam run``) the command writes the run's decision file, which the deferred gate
  picks up. Either way approving lets ``publish`` run, rejecting fails the run, and rework re-opens the
  failing items in Label Studio and fails the run.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli.common import esc, open_root, plain
from pipelines.storage import layout

app = typer.Typer(help="QA inspectors: read a run's validation and approve or reject it for publishing.",
                     no_args_is_help=True)


def _out() -> Console:
    # Built per call: a console reads the terminal width (COLUMNS) when it is made.
    return Console(soft_wrap=True)


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True)


StorageOption = Annotated[str | None, typer.Option(help="storage root URI (default: $DATADAM_STORAGE or the "
                                                        "local stack's)")]
DatasetOption = Annotated[str | None, typer.Option("--dataset", "-d", help="dataset id, when RUN is a run id")]


def _value(v: Any, key: str) -> str:
    if v is None:
        return "—"
    if key == "diversity":
        return f"±{100 * float(v):.1f}%p"
    if key == "validity":
        return f"{float(v):.4g}"
    return f"{100 * float(v):.2f}%"


_STYLE = {"pass": "green", "fail": "red", "warn": "yellow", "not_measured": "magenta"}
_WORD = {"pass": "합격 PASS", "fail": "불합격 FAIL", "warn": "경고 WARN", "not_measured": "미측정 NOT MEASURED"}


def _print_summary(s: dict[str, Any]) -> None:
    d = s["delivery"] or {}
    out = _out()
    out.print(f"[bold]{esc(s['dataset'])}[/bold]  run {esc(s['run_id'])}  ({s['items']} records, "
              f"{'final' if d.get('mode') == 'final' else 'partial'} delivery: {esc(d.get('reason', ''))})")
    table = Table(title="품질 특성 / Quality characteristics")
    for col in ("특성 characteristic", "목표 target", "측정 measured", "판정 result", "필수 blocking"):
        table.add_column(col)
    from pipelines.validate.checks import CHARACTERISTICS

    chars = s["characteristics"]
    for key in [k for k in CHARACTERISTICS if k in chars] + [k for k in chars if k not in CHARACTERISTICS]:
        c = chars[key]
        status = str(c.get("status") or ("pass" if c.get("passed") else "fail"))
        target = c.get("target")
        table.add_row(plain(f"{c['name_ko']} {c['name_en']}"),
                      plain(_value(target, key) if target is not None else "—"),
                      plain(_value(c.get("measured"), key)), f"[{_STYLE[status]}]{_WORD[status]}[/{_STYLE[status]}]",
                      "yes" if c.get("blocking") else "no")
    out.print(table)
    if s["checks_failed"]:
        out.print(f"[red]blocking checks failed:[/red] {esc(', '.join(s['checks_failed']))}")
    if s["checks_warned"]:
        out.print(f"[yellow]warnings:[/yellow] {esc(', '.join(s['checks_warned']))}")
    if s["not_measured"]:
        out.print(f"[magenta]not measured (never counted as passed):[/magenta] {esc(', '.join(s['not_measured']))}")
    verdict = ("[green]eligible for automatic approval[/green]" if s["success"]
               else "[red]needs an inspector's decision[/red]")
    out.print(f"verdict: {verdict}")
    dec = s["decision"]
    if dec:
        stale = "" if dec["applies_to_current_report"] else " [yellow](on an earlier validation: void)[/yellow]"
        out.print(f"decision: [bold]{esc(dec['decision'])}[/bold] by {esc(dec['by'])} at {esc(dec['at'])}: "
                  f"{esc(dec['note'])}{stale}")
    gate = s["gate"]
    if gate:
        out.print(plain(f"gate: {gate.get('status')} ({gate.get('by') or '-'}): {gate.get('note', '')}"))
    out.print(plain(f"report: {s['report']}"))


@app.command("show")
def show(
    run: Annotated[str, typer.Argument(help="runs/<dataset>/<run>, or a run id")],
    dataset: DatasetOption = None,
    storage: StorageOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Summary of a run's validation: each NIA characteristic with target, measured and result; the gate."""
    from pipelines.validate.inspection import RunNotFound, resolve_run, summary

    store = open_root(storage)
    try:
        s = summary(store, resolve_run(store, run, dataset))
    except RunNotFound as exc:
        _err().print(f"[red]{esc(exc)}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        _out().print_json(json.dumps(s, ensure_ascii=False, default=str))
    else:
        _print_summary(s)


AIRFLOW_URL_ENV = "DATADAM_AIRFLOW_URL"
AIRFLOW_USER_ENV = "DATADAM_AIRFLOW_USER"
AIRFLOW_PASSWORD_ENV = "DATADAM_AIRFLOW_PASSWORD"
AIRFLOW_TOKEN_ENV = "DATADAM_AIRFLOW_TOKEN"
GATE_TASK = "gate"
# The option each decision picks in the gate's human-in-the-loop request (pipelines/orchestration/factory.py).
GATE_OPTION = {"approved": "Approve", "rejected": "Reject", "rework": "Send back for rework"}


class AirflowAnswerError(RuntimeError):
    """The api-server has no such waiting gate, or refused the answer (the message says which)."""


def _airflow_api(url: str) -> Any:
    from pipelines.stack.airflow_api import AirflowApi, token

    jwt = os.environ.get(AIRFLOW_TOKEN_ENV)
    if not jwt:
        user, password = os.environ.get(AIRFLOW_USER_ENV), os.environ.get(AIRFLOW_PASSWORD_ENV)
        if not user or not password:
            raise AirflowAnswerError(f"answering on {url} needs ${AIRFLOW_USER_ENV} and ${AIRFLOW_PASSWORD_ENV} "
                                     f"(or a JWT in ${AIRFLOW_TOKEN_ENV})")
        jwt = token(url, username=user, password=password)
    return AirflowApi(url, jwt)


def _waiting_gate(api: Any, run: str, dataset: str | None) -> dict[str, Any]:
    """The unanswered gate request of RUN (an Airflow run id, a run directory name or ``runs/<ds>/<run>``)."""
    text = run.strip().rstrip("/")
    if "runs/" in text or text.startswith("runs"):
        parts = text[text.index("runs"):].split("/")
        if len(parts) >= 3:
            dataset, text = dataset or parts[1], parts[2]
    safe = layout.safe_run_id(text)
    # Storage names a run by its safe id (layout.safe_run_id), Airflow by its own: either finds it.
    found = [d for d in api.waiting_for_input(task_id=GATE_TASK, dag_id=dataset or "~")
             if layout.safe_run_id(d["task_instance"]["dag_run_id"]) == safe]
    if not found:
        raise AirflowAnswerError(f"no gate waiting for an inspector for run {run!r}"
                                 f"{f' of {dataset!r}' if dataset else ''} on {api.api_url}")
    if len(found) > 1:
        dags = ", ".join(sorted(d["task_instance"]["dag_id"] for d in found))
        raise AirflowAnswerError(f"run {run!r} waits at the gate of several datasets ({dags}): pass --dataset")
    return dict(found[0])


def answer_in_airflow(*, url: str, run: str, dataset: str | None, decision: str, note: str) -> dict[str, Any]:
    """Answer RUN's waiting gate through the REST API; return Airflow's record (who, when, what).

    Raises:
        AirflowAnswerError: No such waiting gate, missing credentials, or Airflow refused the answer (403: the
            user is not one of the gate's inspectors; 409: somebody answered first).
    """
    with _airflow_api(url) as api:
        detail = _waiting_gate(api, run, dataset)
        ti = detail["task_instance"]
        resp = api.respond(ti["dag_id"], ti["dag_run_id"], GATE_TASK, options=[GATE_OPTION[decision]],
                           params={"note": note})
    if resp.status_code == 403:
        allowed = ", ".join(u["name"] for u in detail.get("assigned_users") or [])
        raise AirflowAnswerError(f"Airflow refused the answer: {resp.json().get('detail', resp.text)} "
                                 f"(the gate's inspectors: {allowed or 'none listed'})")
    if resp.status_code == 409:
        raise AirflowAnswerError(f"the gate of {ti['dag_id']} run {ti['dag_run_id']} was already answered")
    if resp.status_code != 200:
        raise AirflowAnswerError(f"Airflow refused the answer (HTTP {resp.status_code}): {resp.text[:300]}")
    return {"dag_id": ti["dag_id"], "run_id": ti["dag_run_id"], **resp.json()}


def _decide(decision: str, run: str, dataset: str | None, storage: str | None, by: str | None, note: str,
            airflow: str | None) -> None:
    from pipelines.validate.gate import GateError, record_decision
    from pipelines.validate.inspection import RunNotFound, resolve_run

    colour = "green" if decision == "approved" else "red"
    url = airflow or os.environ.get(AIRFLOW_URL_ENV)
    if url:
        try:
            ans = answer_in_airflow(url=url, run=run, dataset=dataset, decision=decision, note=note)
        except AirflowAnswerError as exc:
            _err().print(f"[red]{esc(exc)}[/red]")
            raise typer.Exit(2) from exc
        who = ans["responded_by"]["name"]
        if by and by != who:
            _err().print(f"[yellow]Airflow records the logged-in user {esc(who)}, not --by {esc(by)}[/yellow]")
        _out().print(f"[{colour}]{decision}[/{colour}] {esc(ans['dag_id'])} run {esc(ans['run_id'])} by {esc(who)} "
                     f"at {esc(ans['responded_at'])} in Airflow; the gate task records it in the run")
        return
    store = open_root(storage)
    try:
        ref = resolve_run(store, run, dataset)
        rec = record_decision(store=store, dataset=ref.dataset, run_id=ref.run, decision=decision, by=by or "",
                              note=note)
    except (RunNotFound, GateError) as exc:
        _err().print(f"[red]{esc(exc)}[/red]")
        raise typer.Exit(2) from exc
    _out().print(f"[{colour}]{decision}[/{colour}] {esc(ref.dataset)} run {esc(ref.run)} by {esc(rec.by)} at {rec.at} "
               f"(on quality.json sha256 {rec.quality_sha256[:12]}…)")
    _out().print("the gate picks this up at its next poll (Airflow), or at the next `gate` run")


ByOption = Annotated[str | None, typer.Option("--by", help="the inspector's name (recorded; on an api-server "
                                                           "Airflow records the logged-in user)")]
NoteOption = Annotated[str, typer.Option("--note", help="why (recorded with the decision)")]
AirflowOption = Annotated[str | None, typer.Option(
    "--airflow", help=f"api-server URL where the run waits (default ${AIRFLOW_URL_ENV}); answers its gate "
                      f"as ${AIRFLOW_USER_ENV}")]


RunArgument = Annotated[str, typer.Argument(help="runs/<dataset>/<run>, or a run id")]


@app.command("approve")
def approve(run: RunArgument, note: NoteOption, by: ByOption = None, dataset: DatasetOption = None,
            storage: StorageOption = None, airflow: AirflowOption = None) -> None:
    """Approve a run for publishing (also one whose blocking checks failed: the note says why)."""
    _decide("approved", run, dataset, storage, by, note, airflow)


@app.command("reject")
def reject(run: RunArgument, note: NoteOption, by: ByOption = None, dataset: DatasetOption = None,
           storage: StorageOption = None, airflow: AirflowOption = None) -> None:
    """Reject a run: it is never published; in Airflow the waiting run fails."""
    _decide("rejected", run, dataset, storage, by, note, airflow)


@app.command("rework")
def rework(run: RunArgument, note: NoteOption, by: ByOption = None, dataset: DatasetOption = None,
           storage: StorageOption = None, airflow: AirflowOption = None) -> None:
    """Send a run back for rework: not published; its failing items are re-opened in Label Studio."""
    _decide("rework", run, dataset, storage, by, note, airflow)
