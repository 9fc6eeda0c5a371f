"""`datadam qa show|approve|reject RUN`: what a QA inspector runs to read a validation and decide on it.

RUN is a storage path ``runs/<dataset>/<run>`` (as the report's location prints it; a ``file://`` or ``s3://``
URI of it, or of a file under it, works too), or a run id with ``--dataset``; a run id alone is looked up
across datasets. Storage comes from ``--storage``, else ``$DATADAM_STORAGE``, else the local stack's
``file://`` root (the stack is not started for this).

A decision is bound to the quality.json the inspector read (its sha256): re-validating the run voids it. In
Airflow the ``gate`` task is deferred until the decision file appears; approving lets ``publish`` run,
rejecting fails the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli_common import esc, open_root, plain
from pipelines.storage import ObjectStore, layout

qa_app = typer.Typer(help="QA inspectors: read a run's validation and approve or reject it for publishing.",
                     no_args_is_help=True)


def _out() -> Console:
    # Built per call: a console reads the terminal width (COLUMNS) when it is made.
    return Console(soft_wrap=True)


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True)


StorageOption = Annotated[str | None, typer.Option(help="storage root URI (default: $DATADAM_STORAGE or the "
                                                        "local stack's)")]
DatasetOption = Annotated[str | None, typer.Option("--dataset", "-d", help="dataset id, when RUN is a run id")]


class RunNotFound(LookupError):
    """RUN names no validated run (the message says what was looked for)."""


@dataclass(frozen=True)
class RunRef:
    """A run resolved to its dataset and its run directory name under ``runs/<dataset>/``."""

    dataset: str
    run: str






def resolve_run(store: ObjectStore, run: str, dataset: str | None = None) -> RunRef:
    """The dataset and run directory of RUN (a ``runs/<ds>/<run>`` path or URI, or a run id).

    Raises:
        RunNotFound: Nothing matches, or a bare run id matches runs of several datasets.
    """
    text = run.strip().rstrip("/")
    if "runs/" in text or text.startswith("runs"):
        parts = text[text.index("runs"):].split("/")
        if len(parts) < 3 or parts[0] != "runs":
            raise RunNotFound(f"{run!r}: expected runs/<dataset>/<run>")
        ref = RunRef(parts[1], parts[2])
        if dataset and dataset != ref.dataset:
            raise RunNotFound(f"{run!r} is a run of {ref.dataset!r}, not of {dataset!r}")
        return ref
    safe = layout.safe_run_id(text)
    if dataset:
        return RunRef(dataset, safe)
    found = sorted({o.key.split("/")[1] for o in store.list("runs")
                    if o.key.count("/") >= 3 and o.key.split("/")[2] == safe})
    if not found:
        raise RunNotFound(f"no run {text!r} under {store.uri('runs')}")
    if len(found) > 1:
        raise RunNotFound(f"run {text!r} exists for several datasets ({', '.join(found)}): pass --dataset")
    return RunRef(found[0], safe)


def summary(store: ObjectStore, ref: RunRef) -> dict[str, Any]:
    """What ``qa show`` prints, as data: the characteristics, the verdict, the gate and the decision."""
    from pipelines.validate.gate import current_decision, result_key
    from pipelines.validate.stage import quality_key, report_key

    qkey = quality_key(ref.dataset, ref.run)
    if not store.exists(qkey):
        raise RunNotFound(f"{store.uri(qkey)}: the run has not been validated (no quality.json)")
    quality = store.read_json(qkey)
    decision, applies = current_decision(store=store, dataset=ref.dataset, run_id=ref.run)
    gkey = result_key(ref.dataset, ref.run)
    return {
        "dataset": ref.dataset, "run": ref.run, "run_id": quality.get("run_id"), "items": quality.get("items"),
        "delivery": quality.get("delivery", {}), "success": quality.get("success"),
        "checks_failed": quality.get("checks_failed", []), "checks_warned": quality.get("checks_warned", []),
        "not_measured": quality.get("not_measured", []), "characteristics": quality.get("characteristics", {}),
        "report": store.uri(report_key(ref.dataset, ref.run)),
        "gate": store.read_json(gkey) if store.exists(gkey) else None,
        "decision": None if decision is None else {**decision.__dict__, "applies_to_current_report": applies},
    }


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


@qa_app.command("show")
def show(
    run: Annotated[str, typer.Argument(help="runs/<dataset>/<run>, or a run id")],
    dataset: DatasetOption = None,
    storage: StorageOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Summary of a run's validation: each NIA characteristic with target, measured and result; the gate."""
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


def _decide(decision: str, run: str, dataset: str | None, storage: str | None, by: str, note: str) -> None:
    from pipelines.validate.gate import GateError, record_decision

    store = open_root(storage)
    try:
        ref = resolve_run(store, run, dataset)
        rec = record_decision(store=store, dataset=ref.dataset, run_id=ref.run, decision=decision, by=by, note=note)
    except (RunNotFound, GateError) as exc:
        _err().print(f"[red]{esc(exc)}[/red]")
        raise typer.Exit(2) from exc
    colour = "green" if decision == "approved" else "red"
    _out().print(f"[{colour}]{decision}[/{colour}] {esc(ref.dataset)} run {esc(ref.run)} by {esc(rec.by)} at {rec.at} "
               f"(on quality.json sha256 {rec.quality_sha256[:12]}…)")
    _out().print("the gate picks this up at its next poll (Airflow), or at the next `gate` run")


ByOption = Annotated[str, typer.Option("--by", help="the inspector's name (recorded)")]
NoteOption = Annotated[str, typer.Option("--note", help="why (recorded with the decision)")]


@qa_app.command("approve")
def approve(
    run: Annotated[str, typer.Argument(help="runs/<dataset>/<run>, or a run id")],
    by: ByOption,
    note: NoteOption,
    dataset: DatasetOption = None,
    storage: StorageOption = None,
) -> None:
    """Approve a run for publishing (also one whose blocking checks failed: the note says why)."""
    _decide("approved", run, dataset, storage, by, note)


@qa_app.command("reject")
def reject(
    run: Annotated[str, typer.Argument(help="runs/<dataset>/<run>, or a run id")],
    by: ByOption,
    note: NoteOption,
    dataset: DatasetOption = None,
    storage: StorageOption = None,
) -> None:
    """Reject a run: it is never published; in Airflow the waiting run fails."""
    _decide("rejected", run, dataset, storage, by, note)
