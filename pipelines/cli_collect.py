"""`datadam deid text|image|dicom` (try the de-identification rules on a sample) and `datadam quarantine show RUN`.

Register in ``pipelines/cli.py`` with ``cli_collect.register(app)``.

Storage (quarantine) comes from ``--storage``, else ``$DATADAM_STORAGE``, else the local stack's ``file://``
root; ``s3://`` roots take their endpoint and credentials from the standard AWS variables.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli_common import STORAGE_ENV, esc, plain, storage_root
from pipelines.orchestration.stages import TASK_IDS
from pipelines.spec.models import TEXT_PII, VISUAL_PII
from pipelines.storage import ObjectStore, StorageError, layout, open_store

DEFAULT_DICTIONARIES = {"names": "dictionaries/names-ko.txt", "addresses": "dictionaries/addresses-ko.txt"}

deid_app = typer.Typer(help="Try the de-identification rules on a sample (contractors).", no_args_is_help=True)
quarantine_app = typer.Typer(help="What a run refused, and why.", no_args_is_help=True)
_out = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)


def _targets(value: str | None, allowed: frozenset[str]) -> list[str]:
    if not value:
        return sorted(allowed)
    targets = [t.strip() for t in value.split(",") if t.strip()]
    bad = sorted(set(targets) - allowed)
    if bad:
        raise typer.BadParameter(f"unknown target(s) {bad}; choose from {sorted(allowed)}")
    return targets


@deid_app.command("text")
def deid_text_cmd(
    targets: Annotated[str | None, typer.Option(help="comma-separated: " + ",".join(sorted(TEXT_PII)))] = None,
    spec: Annotated[str | None, typer.Option(help="use a dataset spec's targets and dictionaries")] = None,
    names: Annotated[Path | None, typer.Option(help="name dictionary (one name a line)")] = None,
    addresses: Annotated[Path | None, typer.Option(help="address dictionary (place tokens, one a line)")] = None,
    report: Annotated[str, typer.Option(help="findings on stderr: table, json or none")] = "table",
) -> None:
    """Mask personal data in the text on standard input; the masked text goes to standard output."""
    from pipelines.collect.deid import TextDeidentifier, load_dictionary, resolve_dictionary, spec_dictionaries

    if spec:
        from pipelines.spec import load_catalog

        s = load_catalog().get(spec)
        wanted: list[str] = sorted(set(s.deidentify.targets) & TEXT_PII)
        dictionaries: dict[str, tuple[str, ...]] = spec_dictionaries(s)
    else:
        wanted = _targets(targets, TEXT_PII)
        dictionaries = {}
        for kind, given in (("names", names), ("addresses", addresses)):
            if kind in wanted:
                dictionaries[kind] = load_dictionary(given.resolve() if given else
                                                     resolve_dictionary(DEFAULT_DICTIONARIES[kind]))
    deid = TextDeidentifier(targets=wanted, dictionaries=dictionaries)
    text = sys.stdin.read()
    masked, findings = deid.mask(text)
    sys.stdout.write(masked)
    sys.stdout.flush()
    rows = [{**f.as_dict(), "line": text.count("\n", 0, f.start) + 1} for f in findings]
    if report == "json":
        sys.stderr.write(json.dumps({"targets": wanted, "findings": rows}, ensure_ascii=False) + "\n")
    elif report == "table":
        table = Table(title=f"{len(rows)} finding(s)", show_lines=False)
        for col in ("line", "kind", "rule", "confidence", "placeholder"):
            table.add_column(col)
        for r in rows:
            table.add_row(*map(plain, (r["line"], r["kind"], r["rule"], f"{r['confidence']:.2f}", r["placeholder"])))
        _err.print(table)
    left = deid.find(masked)
    if left:  # the re-check the pipeline runs: a sample that fails it would be quarantined
        _err.print(f"[red]{len(left)} finding(s) remain after masking: {esc(sorted({f.kind for f in left}))}[/red]")
        raise typer.Exit(1)


@deid_app.command("image")
def deid_image_cmd(
    src: Annotated[Path, typer.Argument(help="image file (JPEG, PNG, WebP, TIFF, BMP)", exists=True, dir_okay=False)],
    dst: Annotated[Path, typer.Argument(help="where to write the masked image")],
    targets: Annotated[str | None, typer.Option(help="comma-separated: " + ",".join(sorted(VISUAL_PII)))] = None,
) -> None:
    """Mask faces and licence plates and drop the metadata; the regions found go to standard error."""
    from pipelines.collect.deid import deid_image, regions_in

    wanted = _targets(targets, VISUAL_PII)
    try:
        out, regions = deid_image(src.read_bytes(), targets=wanted)
        left = regions_in(out, targets=wanted) if regions else []
    except (OSError, ValueError) as exc:
        _err.print(f"[red]{esc(src)}: not an image this tool can read: {esc(exc)}[/red]")
        raise typer.Exit(2) from exc
    if left:
        _err.print(f"[red]{len(left)} region(s) still detected after masking; nothing written[/red]")
        raise typer.Exit(1)
    dst.write_bytes(out)
    table = Table(title=plain(f"{len(regions)} region(s) masked -> {dst}"))
    for col in ("kind", "x", "y", "w", "h", "detector"):
        table.add_column(col)
    for r in regions:
        table.add_row(*map(plain, (r.kind, r.x, r.y, r.w, r.h, r.detector)))
    _err.print(table)


@deid_app.command("dicom")
def deid_dicom_cmd(
    src: Annotated[Path, typer.Argument(help="DICOM file (with or without meta header)", exists=True, dir_okay=False)],
    dst: Annotated[Path, typer.Argument(help="where to write the de-identified DICOM file")],
    spec: Annotated[str | None, typer.Option(help="use a dataset spec's modality.dicom block")] = None,
    burned_in: Annotated[str | None, typer.Option(help="mask or quarantine (overrides the spec)")] = None,
    display: Annotated[Path | None, typer.Option(help="also write the display PNG annotators would see")] = None,
) -> None:
    """PS3.15 Annex E on one file; what was done goes to standard error as JSON.

    UIDs are replaced with a throwaway key: a run uses the dataset's key under ``restricted/``, so the UIDs
    written here differ from a run's.
    """
    import secrets

    from pipelines.collect.deid.dicom import deid_dicom
    from pipelines.collect.reasons import Reject
    from pipelines.spec.models import DicomOptions, ImageModality

    opts = DicomOptions()
    if spec:
        from pipelines.spec import load_catalog

        mod = load_catalog().get(spec).modality
        if not isinstance(mod, ImageModality) or "dicom" not in mod.formats:
            _err.print(f"[red]{spec} does not accept DICOM (modality.formats)[/red]")
            raise typer.Exit(2)
        opts = mod.dicom_options()
    if burned_in is not None:
        if burned_in not in ("mask", "quarantine"):
            raise typer.BadParameter("--burned-in is mask or quarantine")
        opts = opts.model_copy(update={"burned_in": burned_in})
    try:
        res = deid_dicom(src.read_bytes(), opts=opts, secret=secrets.token_bytes(32), method="datadam deid dicom")
    except Reject as rej:
        _err.print(f"[red]{src}: {rej.reason}: {rej.detail}; nothing written[/red]")
        raise typer.Exit(1) from None
    dst.write_bytes(res.data)
    if display is not None:
        display.write_bytes(res.display)
    sys.stderr.write(json.dumps({"written": str(dst), **res.audit, "facts": res.facts}, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------------------------- quarantine




def quarantine_files(store: ObjectStore, run_id: str, dataset: str | None = None) -> dict[str, list[str]]:
    """dataset -> the quarantine Parquet files of the run, across its stages."""
    safe = layout.safe_run_id(run_id)
    datasets = [dataset] if dataset else sorted(
        {o.key.split("/")[1] for o in store.list("runs") if o.key.count("/") >= 3 and o.key.split("/")[2] == safe})
    out: dict[str, list[str]] = {}
    for ds in datasets:
        keys = [o.key for o in store.list(layout.run(ds, run_id))
                if o.key.rsplit("/", 1)[-1].startswith("quarantine") and o.key.endswith(".parquet")]
        if keys or dataset:
            out[ds] = keys
    return out


def summarise(store: ObjectStore, keys: list[str], *, examples: int) -> dict[str, Any]:
    """Counts by (stage, reason) and a few examples of each, reading only the columns shown."""
    counts: Counter[tuple[str, str]] = Counter()
    shown: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    cols = ["item_id", "stage", "reason", "detail", "source_uri"]
    for key in keys:
        table = store.read_table(key)
        for row in table.select([c for c in cols if c in table.column_names]).to_pylist():
            k = (str(row.get("stage") or key.split("/")[-2]), str(row["reason"]))
            counts[k] += 1
            if len(shown[k]) < examples:
                shown[k].append(row)
    order = {s: i for i, s in enumerate(TASK_IDS)}  # reasons in pipeline order
    rows = sorted(counts.items(), key=lambda kv: (order.get(kv[0][0], len(order)), -kv[1], kv[0][1]))
    return {
        "total": sum(counts.values()),
        "by_reason": [{"stage": s, "reason": r, "count": n, "examples": shown[(s, r)]} for (s, r), n in rows],
    }


def original_uris(store: ObjectStore, dataset: str, run_id: str) -> dict[str, str]:
    """item id -> original source URI, from the run's restricted files (the collect manifests and the quarantine
    rows' restricted twins): what a contractor, who may read ``restricted/``, needs to find an original."""
    out: dict[str, str] = {}
    for o in store.list(layout.restricted_run(dataset, run_id)):
        name = o.key.rsplit("/", 1)[-1]
        if name.endswith(".parquet") and name.startswith(("part-", "quarantine-")):
            table = store.read_table(o.key, columns=["item_id", "source_uri"])
            out.update((r["item_id"], r["source_uri"]) for r in table.to_pylist() if r["source_uri"])
    return out


def _stage_counts(store: ObjectStore, dataset: str, run_id: str) -> dict[str, dict[str, int]]:
    """items in / out of collect and deidentify from their summaries, when the run has them."""
    out: dict[str, dict[str, int]] = {}
    base = layout.run(dataset, run_id, "collect")
    summaries = [store.read_json(o.key) for o in store.list(base) if o.key.rsplit("/", 1)[-1].startswith("summary-")]
    if summaries:
        out["collect"] = {k: sum(int(s[k]) for s in summaries) for k in ("items_in", "items_out", "quarantined")}
    return out


@quarantine_app.command("show")
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
    try:
        store = open_store(storage_root(storage))
        found = quarantine_files(store, run_id, dataset)
    except (StorageError, ValueError) as exc:
        _err.print(f"[red]{esc(exc)}[/red]")
        raise typer.Exit(2) from exc
    if not found:
        _err.print(f"[yellow]no quarantine files for run {esc(repr(run_id))} in {esc(store.root)}[/yellow]")
        raise typer.Exit(1)
    report = {ds: {**summarise(store, keys, examples=examples), "stages": _stage_counts(store, ds, run_id)}
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


def register(app: typer.Typer) -> None:
    """Add ``deid`` and ``quarantine`` to the ``datadam`` app."""
    app.add_typer(deid_app, name="deid")
    app.add_typer(quarantine_app, name="quarantine")
