"""`datadam datasets list|search|info` and `datadam download ID`: what AI developers run.

Storage comes from ``--storage``, else ``$DATADAM_STORAGE``, else the local stack's ``file://`` root. For an
``s3://`` root the credentials and endpoint come from the standard AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL_S3`` ...), never from the command line.

Register in ``pipelines/cli/__init__.py`` with ``cli_datasets.register(app)``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from pipelines.cli.common import esc, plain, plain_pace, storage_root
from pipelines.pace import Pace
from pipelines.publish.catalog import read_catalog, search
from pipelines.publish.download import DownloadError, download, plan, trusted_manifest
from pipelines.storage import ObjectStore, StorageError, layout, open_store
from pipelines.storage.root import STORAGE_ENV

datasets_app = typer.Typer(help="Find released datasets: list, search, info (AI developers).", no_args_is_help=True)
_out = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)

StorageOpt = Annotated[str | None, typer.Option("--storage", help=f"storage root URI (default: ${STORAGE_ENV}, "
                                                                   "else the local stack's file:// root)")]
FieldOpt = Annotated[str | None, typer.Option("--field", help="only this field (e.g. agriculture)")]
ModalityOpt = Annotated[str | None, typer.Option("--modality", help="only this modality (image, audio, text ...)")]
AnnotationOpt = Annotated[str | None, typer.Option("--annotation", help="only this annotation type (bbox ...)")]
FormatOpt = Annotated[str, typer.Option("--format", help="table or json")]




def _open(storage: str | None) -> ObjectStore:
    try:
        return open_store(storage_root(storage))
    except StorageError as exc:
        _err.print(f"[red]{esc(exc)}[/red]")
        raise typer.Exit(2) from exc


def _entries_table(entries: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for col in ("id", "name", "field", "modality", "annotation", "version", "rows", "QC"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(*map(plain, (e["id"], f"{e['name']}\n{e['name_en']}", e.get("field_name") or e["field"],
                                   e["modality"], e["annotation_type"], e["latest"], f"{e['rows']:,}")),
                      "[green]pass[/green]" if e["quality"]["success"] else "[red]fail[/red]")
    return table


def _show(entries: list[dict[str, Any]], fmt: str, title: str) -> None:
    if fmt == "json":
        _out.print_json(json.dumps(entries, ensure_ascii=False))
        return
    if not entries:
        _out.print("no dataset matches")
        return
    _out.print(_entries_table(entries, esc(title)))


@datasets_app.command("list")
def list_cmd(storage: StorageOpt = None, field: FieldOpt = None, modality: ModalityOpt = None,
             annotation: AnnotationOpt = None, fmt: FormatOpt = "table") -> None:
    """Every released dataset in the catalog (optionally filtered)."""
    store = _open(storage)
    entries = search(read_catalog(store), "", field=field, modality=modality, annotation=annotation)
    _show(entries, fmt, f"datasets in {store.root}")


@datasets_app.command("search")
def search_cmd(query: Annotated[str, typer.Argument(help="words to find in ids, names, descriptions, labels")],
               storage: StorageOpt = None, field: FieldOpt = None, modality: ModalityOpt = None,
               annotation: AnnotationOpt = None, fmt: FormatOpt = "table") -> None:
    """Datasets whose id, names, description, labels or intended use contain every word of QUERY."""
    store = _open(storage)
    entries = search(read_catalog(store), query, field=field, modality=modality, annotation=annotation)
    _show(entries, fmt, f"datasets matching {query!r}")
    if not entries:
        raise typer.Exit(1)


@datasets_app.command("info")
def info_cmd(dataset_id: str, version: Annotated[str | None, typer.Option(help="a version (default: LATEST)")] = None,
             storage: StorageOpt = None, fmt: FormatOpt = "table") -> None:
    """One dataset: metadata, splits, quality, versions and the download command."""
    store = _open(storage)
    try:
        trusted = trusted_manifest(store, dataset_id, version)  # what info shows is what download would verify
    except DownloadError as exc:
        _err.print(Text(" ".join(str(exc).split()), style="red"))
        raise typer.Exit(1) from exc
    v, manifest = trusted.version, trusted.manifest
    versions = sorted({o.key.split("/")[2] for o in store.list(layout.release(dataset_id))
                       if o.key.endswith("/manifest.json") and not o.key.split("/")[2].startswith(".")})
    cmd = f"datadam download {dataset_id} --version {v} --storage {store.root}"
    if fmt == "json":
        _out.print_json(json.dumps({"manifest": manifest, "versions": versions, "download": cmd},
                                   ensure_ascii=False, default=str))
        return
    from pipelines.publish.card import aihub_metadata, quality_rows, split_rows

    _out.print(f"[bold]{esc(manifest['name'])}[/bold] / {esc(manifest['name_en'])}  ({esc(dataset_id)} {esc(v)})")
    _out.print(plain(manifest["metadata"]["description"]))
    meta = Table(title="metadata")
    for col in ("항목", "item", "value"):
        meta.add_column(col, overflow="fold")
    for m_row in aihub_metadata(manifest):
        meta.add_row(*map(plain, m_row))
    _out.print(meta)
    splits = Table(title="splits")
    for col in ("split", "rows", "size", "planned", "achieved"):
        splits.add_column(col)
    for s_row in split_rows(manifest):
        splits.add_row(*map(plain, s_row))
    _out.print(splits)
    quality = Table(title=f"quality ({'pass' if manifest['quality'].get('success') else 'fail'})")
    for col in ("characteristic", "target", "measured", "verdict"):
        quality.add_column(col, overflow="fold")
    for q_row in quality_rows(manifest):
        quality.add_row(*map(plain, q_row))
    _out.print(quality)
    log = Table(title=plain(f"versions: {', '.join(versions)}"))
    for col in ("version", "date", "change"):
        log.add_column(col, overflow="fold")
    for c in reversed(manifest.get("changelog", [])):
        log.add_row(*map(plain, (c["version"], c["date"], c["summary"])))
    _out.print(log)
    _out.print(plain(f"download: {cmd}"))


class _RichProgress:
    """Per-file bars plus a total, updated from the transfer threads."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.total = progress.add_task("total", total=total)
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def start(self, key: str, total: int, done: int) -> None:
        with self._lock:
            name = key.split("/", 3)[-1]
            self._tasks[key] = self.progress.add_task(name, total=total, completed=done)
            self.progress.advance(self.total, done)

    def advance(self, key: str, n: int) -> None:
        self.progress.advance(self._tasks[key], n)
        self.progress.advance(self.total, n)

    def finish(self, key: str) -> None:
        self.progress.update(self._tasks[key], visible=False)


class _PlainProgress:
    """The transfer as plain lines every few seconds (not a terminal: CI, a pipe, a log file)."""

    def __init__(self, pace: Pace) -> None:
        self.pace = pace

    def start(self, key: str, total: int, done: int) -> None:
        if done:
            self.pace.advance(done)

    def advance(self, key: str, n: int) -> None:
        self.pace.advance(n)

    def finish(self, key: str) -> None:
        pass


def download_cmd(
    dataset_id: Annotated[str, typer.Argument(help="the dataset id (see `datadam datasets list`)")],
    version: Annotated[str | None, typer.Option("--version", help="a version (default: LATEST)")] = None,
    split: Annotated[str | None, typer.Option("--split", help="train, validation or test (default: all)")] = None,
    to: Annotated[Path, typer.Option("--to", help="local directory; files go to DIR/<id>/<version>/")] = Path("."),
    storage: StorageOpt = None,
    workers: Annotated[int, typer.Option(help="files transferred in parallel")] = 4,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bars")] = False,
    manifest_sha256: Annotated[str | None, typer.Option(
        "--manifest-sha256", help="the release manifest's sha256 as published elsewhere; the download must match it",
    )] = None,
) -> None:
    """Download one version of a dataset, verifying LATEST -> manifest -> every file's sha256; resumable."""
    store = _open(storage)
    try:
        trusted = trusted_manifest(store, dataset_id, version, manifest_sha256=manifest_sha256)
        total = sum(int(f["size"]) for f in plan(trusted.manifest, split))
        kw: dict[str, Any] = {"dataset": dataset_id, "store": store, "to": to, "version": trusted.version,
                              "split": split, "workers": workers, "manifest_sha256": manifest_sha256}
        if quiet:
            res = download(**kw)
        elif not _err.is_terminal:
            pace = plain_pace(f"download {dataset_id} {trusted.version}", total=total, console=_err, unit="bytes")
            res = download(**kw, progress=_PlainProgress(pace))
            pace.finish()
        else:
            # task descriptions are file names from the manifest: data, not markup
            columns = (TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
                       TransferSpeedColumn(), TimeRemainingColumn())
            with Progress(*columns, console=_err, transient=False) as bars:
                res = download(**kw, progress=_RichProgress(bars, total))
    except (DownloadError, StorageError, OSError) as exc:
        # One line, printed as text: the message quotes names read from storage, never markup to render.
        _err.print(Text.assemble(("download failed: ", "red"), " ".join(str(exc).split())))
        raise typer.Exit(1) from exc
    if not res.vouched_by:
        _err.print(Text(f"warning: {res.dataset} {res.version} was published before releases recorded their "
                        "manifest's sha256; its files match its manifest, but nothing vouches for the manifest "
                        "itself (pass --manifest-sha256 to pin it)", style="yellow"))
    _out.print(plain(f"{res.dataset} {res.version}: {res.files} files, {res.bytes:,} bytes verified in "
                     f"{res.directory} ({res.transferred:,} bytes transferred, {res.skipped} already present, "
                     f"{res.resumed} resumed)"))


# What this module adds to ``datadam`` (merged into its top level): ``download`` and the ``datasets`` group.
app = typer.Typer()
app.command("download")(download_cmd)
app.add_typer(datasets_app, name="datasets")
