"""`datadam quarantine show RUN`: what a run refused, and why.

Storage comes from ``--storage``, else ``$DATADAM_STORAGE``, else the local stack's ``file://`` root; ``s3://``
roots take their endpoint and credentials from the standard AWS variables.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli.common import esc, plain, storage_root
from pipelines.orchestration.stages import TASK_IDS
from pipelines.storage import StorageError, open_store
from pipelines.storage.root import STORAGE_ENV

app = typer.Typer(help="What a run refused, and why.", no_args_is_help=True)
_out = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)


@app.command("show")
def quarantine_show(
    run_id: Annotated[str, typer.Argument(help="the run id (Airflow's, e.g. manual__2026-...)")],
    dataset: Annotated[str | None, typer.Option("--dataset", help="only this dataset")] = None,
    storage: Annotated[str | None, typer.Option(help=f"storage root URI (default ${STORAGE_ENV})")] = None,
    examples: Annotated[int, typer.Option(help="examples per reason")] = 3,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    originals: Annotated[bool, typer.Option("--originals", help="show each example's original source URI (reads "
                                            "restricted/: for contractors)")] = False,
) -> None:
    """Counts of quarantined items by stage and reason code, with examples, for every dataset of a run.

    Quarantine rows hold source URIs with identifiers masked; ``--originals`` adds the original URI of each
    example from ``restricted/``.
    """
    from pipelines.collect.quarantine import original_uris, quarantine_files, stage_counts, summarise

    try:
        store = open_store(storage_root(storage))
        found = quarantine_files(store, run_id, dataset)
    except (StorageError, ValueError) as exc:
        _err.print(f"[red]{esc(exc)}[/red]")
        raise typer.Exit(2) from exc
    if not found:
        _err.print(f"[yellow]no quarantine files for run {esc(repr(run_id))} in {esc(store.root)}[/yellow]")
        raise typer.Exit(1)
    report = {ds: {**summarise(store, keys, examples=examples, order=TASK_IDS),
                   "stages": stage_counts(store, ds, run_id)}
              for ds, keys in found.items()}
    if originals:
        for ds, rep in report.items():
            uris = original_uris(store, ds, run_id)
            for r in rep["by_reason"]:
                for e in r["examples"]:
                    e["original_uri"] = uris.get(e["item_id"])
    if fmt == "json":
        _out.print_json(json.dumps(report, ensure_ascii=False, default=str))
        return
    for ds, rep in report.items():
        collect = rep["stages"].get("collect")
        note = (f" — collect: {collect['items_in']} in, {collect['items_out']} passed, "
                f"{collect['quarantined']} quarantined" if collect else "")
        table = Table(title=plain(f"{ds} · run {run_id}: {rep['total']} quarantined{note}"))
        for col in ("stage", "reason", "count", "examples (item · detail)"):
            table.add_column(col, overflow="fold")
        for r in rep["by_reason"]:
            ex = "\n".join(f"{e['item_id']} · " + (f"{e['original_uri']} · " if e.get("original_uri") else "")
                           + str(e.get("detail") or "")[:120] for e in r["examples"])
            table.add_row(*map(plain, (r["stage"], r["reason"], r["count"], ex)))  # details quote file names
        _out.print(table)
