"""`datadam label status ID`: annotation progress, agreement and annotator scorecards, for contractors."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli.common import esc, plain
from pipelines.label import LabelStudioClient, LabelStudioError, LabelStudioSettings, progress, project_title
from pipelines.label.manifests import run_ids, run_item_ids
from pipelines.spec import load_catalog, load_spec
from pipelines.storage import artifacts, open_store

app = typer.Typer(help="Annotation in Label Studio: progress, agreement, scorecards.", no_args_is_help=True)


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * float(v):.1f}%"


def _num(v: Any) -> str:
    return "-" if v is None else f"{float(v):.3f}"


def _settings() -> tuple[LabelStudioSettings, str]:
    """Label Studio and the storage root: from the environment, else from the local stack."""
    try:
        ls = LabelStudioSettings.from_env()
        storage = os.environ.get("DATADAM_STORAGE", "")
        if storage:
            return ls, storage
    except LabelStudioError:
        pass
    from pipelines.stack import up

    stack = up()
    return LabelStudioSettings(url=stack.ls_url, token=stack.ls_token), os.environ.get(
        "DATADAM_STORAGE", stack.storage_root)


def _latest_run(store: Any, dataset: str) -> str | None:
    runs = run_ids(store, dataset)
    pulled = [r for r in runs if artifacts.LABEL_QC_SUMMARY.exists(store, dataset, r)]
    if pulled:
        return pulled[-1]
    return runs[-1] if runs else None


@app.command("status")
def status(
    spec_id: str,
    run: Annotated[str | None, typer.Option(help="run id (default: the latest run with annotations pulled)")] = None,
    storage: Annotated[str | None, typer.Option(help="storage root URI (default: $DATADAM_STORAGE or the stack's)")] = (
        None
    ),
    spec_file: Annotated[str | None, typer.Option(help="a spec file outside the catalog (its id must match)")] = None,
) -> None:
    """Progress (done/total, per annotator), agreement, gold and review results, and annotator scorecards."""
    _out = Console(soft_wrap=True)  # made per call: it reads the terminal width (COLUMNS) now
    spec = load_spec(spec_file) if spec_file else load_catalog().get(spec_id)
    if spec.id != spec_id:
        raise typer.BadParameter(f"{spec_file} holds spec {spec.id!r}, not {spec_id!r}")
    ls, root = _settings()
    store = open_store(storage or root)
    run_id = run or _latest_run(store, spec.id)
    client = LabelStudioClient(ls)
    pid = client.find_project(project_title(spec))
    _out.print(f"[bold]{esc(spec.id)}[/bold] {esc(spec.name)} — {spec.annotation.type}; run {esc(run_id or '-')}")
    if pid is None:
        _out.print(plain(f"no Label Studio project {project_title(spec)!r} yet (run label_push first)"))
        raise typer.Exit(1)
    scope = run_item_ids(store=store, dataset=spec.id, run_id=run_id) if run_id else None
    p = progress(ls=ls, project_id=pid, item_ids=scope or None)
    _out.print(f"progress: {p.done}/{p.total} tasks done ({_pct(p.done / p.total if p.total else None)}), "
               f"project {pid} at {ls.url}/projects/{pid}")
    summary = artifacts.LABEL_QC_SUMMARY.read_if_exists(store, spec.id, run_id) if run_id else None
    cards: dict[str, dict[str, Any]] = {c["annotator"]: c for c in (summary or {}).get("annotators", [])}
    table = Table(title="annotators")
    for col in ("annotator", "tasks (live)", "pulled", "skipped", "gold acc.", "agree w/ consensus",
                "review acc.", "lead time s"):
        if col == "annotator":
            table.add_column(col, no_wrap=True)  # an e-mail cut short identifies nobody
        else:
            table.add_column(col, justify="right")
    for who in sorted(set(p.per_annotator) | set(cards)):
        c = cards.get(who, {})
        table.add_row(plain(who), str(p.per_annotator.get(who, 0)), str(c.get("annotations", "-")),
                      str(c.get("skipped", "-")),
                      _pct(c.get("gold_accuracy")), _pct(c.get("agreement_with_consensus")),
                      _pct(c.get("review_acceptance")), _num(c.get("mean_lead_time_s")))
    _out.print(table)
    if summary is None:
        _out.print("no QC yet for this run (label_pull writes it)")
        return
    agr, gold, rev = summary["agreement"], summary["gold"], summary["review"]
    q = spec.quality
    qc_table = Table(title="quality control")
    for col in ("measure", "value", "target", "basis"):
        qc_table.add_column(col)
    qc_table.add_row(f"agreement ({agr['metric']})", _num(agr["value"]), _num(q.agreement),
                     f"{agr['overlap_items']} overlap items")
    if agr.get("fleiss_kappa") is not None:
        qc_table.add_row("Fleiss' kappa", _num(agr["fleiss_kappa"]), "-", "items with the modal rater count")
    qc_table.add_row("gold accuracy", _pct(gold["accuracy"]), _pct(q.gold_accuracy), f"{gold['items']} gold items")
    plan = summary.get("review_plan") or {}
    qc_table.add_row("semantic accuracy (review)", _pct(rev["semantic_accuracy"]), _pct(q.semantic_accuracy),
                     f"{rev['reviewed']}/{plan.get('n', 0)} sampled reviewed ({plan.get('method', '-')})")
    _out.print(qc_table)
    if rev.get("rejection_reasons"):
        _out.print(plain("rejections: " + ", ".join(f"{k} {v}" for k, v in rev["rejection_reasons"].items())))
