"""`datadam deid text|image|dicom`: try the de-identification rules on a sample (contractors)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli.common import esc, plain
from pipelines.spec.models import TEXT_PII, VISUAL_PII

DEFAULT_DICTIONARIES = {"names": "dictionaries/names-ko.txt", "addresses": "dictionaries/addresses-ko.txt"}

app = typer.Typer(help="Try the de-identification rules on a sample (contractors).", no_args_is_help=True)
_err = Console(stderr=True, soft_wrap=True)


def _targets(value: str | None, allowed: frozenset[str]) -> list[str]:
    if not value:
        return sorted(allowed)
    targets = [t.strip() for t in value.split(",") if t.strip()]
    bad = sorted(set(targets) - allowed)
    if bad:
        raise typer.BadParameter(f"unknown target(s) {bad}; choose from {sorted(allowed)}")
    return targets


@app.command("text")
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


@app.command("image")
def deid_image_cmd(
    src: Annotated[Path, typer.Argument(help="image file (JPEG, PNG, WebP, TIFF, BMP)", exists=True, dir_okay=False)],
    dst: Annotated[Path, typer.Argument(help="where to write the masked image")],
    targets: Annotated[str | None, typer.Option(help="comma-separated: " + ",".join(sorted(VISUAL_PII)))] = None,
) -> None:
    """Mask faces and licence plates and drop the metadata; the regions found go to standard error."""
    from pipelines.collect.deid.image import deid_image_checked

    wanted = _targets(targets, VISUAL_PII)
    try:
        done = deid_image_checked(src.read_bytes(), targets=wanted)  # ``left``: its last re-check of the output
        out, regions, left = done.data, done.regions, done.left
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


@app.command("dicom")
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
