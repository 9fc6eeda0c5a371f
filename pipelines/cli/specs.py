"""`datadam specs ...`: list, show, check, scaffold and export the JSON Schema of dataset specs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from pipelines.cli.common import esc, plain
from pipelines.spec import (
    ANNOTATION_TYPES,
    MODALITY_KINDS,
    SpecError,
    check_files,
    default_schemas_dir,
    json_schema_text,
    load_catalog,
    parse_spec,
)
from pipelines.spec.reference import reference_markdown
from pipelines.spec.snapshot import spec_files

app = typer.Typer(help="Dataset-type specs: list, show, check, scaffold.", no_args_is_help=True)
_out = Console()
_err = Console(stderr=True)


def _row(spec: Any) -> dict[str, Any]:
    return {
        "id": spec.id,
        "name": spec.name,
        "name_en": spec.name_en,
        "field": spec.field,
        "group": spec.group,
        "modality": spec.modality.kind,
        "annotation": spec.annotation.type,
        "version": spec.version,
        "target_volume": spec.target_volume,
    }


@app.command("list")
def list_specs(
    field: Annotated[str | None, typer.Option(help="only this field id")] = None,
    modality: Annotated[str | None, typer.Option(help="only this modality kind")] = None,
    annotation: Annotated[str | None, typer.Option(help="only this annotation type")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """List the catalog's dataset types."""
    cat = load_catalog()
    rows = [
        _row(s) for s in cat.specs.values()
        if (field is None or s.field == field)
        and (modality is None or s.modality.kind == modality)
        and (annotation is None or s.annotation.type == annotation)
    ]
    if fmt == "json":
        doc = {
            "count": len(rows),
            "fields": sorted({r["field"] for r in rows}),
            "groups": sorted({r["group"] for r in rows}),
            "specs": rows,
        }
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt != "table":
        raise typer.BadParameter("--format is table or json")
    table = Table(title=f"{len(rows)} dataset types")
    for col in ("id", "name", "field", "modality", "annotation", "target_volume"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*map(plain, (r["id"], r["name"], r["field"], r["modality"], r["annotation"],
                                   f"{r['target_volume']:,}")))
    _out.print(table)


@app.command("show")
def show(spec_id: str) -> None:
    """Print one spec, as validated (defaults filled in)."""
    cat = load_catalog()
    try:
        spec = cat.get(spec_id)
    except KeyError as exc:
        _err.print(f"[red]{esc(exc.args[0])}[/red]")
        raise typer.Exit(1) from None
    doc = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    sys.stdout.write(f"# {cat.paths[spec_id]}\n")
    sys.stdout.write(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


@app.command("check")
def check(paths: Annotated[list[Path] | None, typer.Argument(help="spec files or dirs (default: all)")] = None) -> None:
    """Validate specs against the model and the catalog; one line per problem, exit 1 if any."""
    root = default_schemas_dir()
    files: list[Path] = []
    for p in paths or [root]:
        if p.is_dir():
            files += spec_files(p) if (p / "datasets").is_dir() else sorted(p.rglob("*.yaml"))
        elif p.exists():
            files.append(p)
        else:
            _err.print(plain(f"{p}: no such file or directory"))
            raise typer.Exit(1)
    try:
        specs, issues = check_files(files, root=root)
    except SpecError as exc:  # fields.yaml / groups.yaml themselves are broken
        issues, specs = exc.issues, {}
    for issue in issues:
        sys.stdout.write(f"{issue}\n")
    if issues:
        _err.print(f"[red]{len(issues)} problem(s) in {len({i.file for i in issues})} file(s)[/red]")
        raise typer.Exit(1)
    _err.print(f"[green]{len(specs)} spec(s) OK[/green]")


def _scaffold(spec_id: str, field: str, group: str, modality: str, annotation: str) -> dict[str, Any]:
    modalities: dict[str, dict[str, Any]] = {
        "image": {"kind": "image", "formats": ["jpeg", "png"], "min_width": 1280, "min_height": 720},
        "video": {"kind": "video", "formats": ["mp4"], "min_width": 1280, "min_height": 720},
        "audio": {"kind": "audio", "formats": ["wav"], "sample_rates": [16000]},
        "text": {"kind": "text", "formats": ["jsonl"]},
        "timeseries": {"kind": "timeseries", "formats": ["csv"], "channels": ["value"], "sampling_hz": 1.0},
        "multimodal": {"kind": "multimodal", "components": [
            {"kind": "image", "formats": ["jpeg"], "min_width": 640, "min_height": 480},
            {"kind": "text", "formats": ["jsonl"]}]},
    }
    modality_doc = modalities[modality]
    labels = ["분류1", "분류2"]
    ann: dict[str, Any] = {"type": annotation}
    if annotation in {"classification", "multi_label", "bbox", "polygon", "polyline", "segmentation",
                      "temporal_events", "timeseries_labels", "ner"}:
        ann["labels"] = labels
    elif annotation == "keypoints":
        ann.update(labels=["사람"], keypoints=["머리", "목"], skeleton=[["머리", "목"]])
    elif annotation == "translation":
        ann["target_language"] = "en"
    elif annotation == "dialogue_intent":
        ann["intents"] = ["문의", "요청"]
    ann.update(review_share=0.05)
    return {
        "id": spec_id,
        "name": "새 데이터셋 (이름을 고치세요)",
        "name_en": "New dataset (rename me)",
        "field": field,
        "group": group,
        "version": "1.0-beta",
        "license": "LicenseRef-AIHub",
        "description": "Describe what is collected, from whom, and what it is for (1-3 sentences).",
        "modality": modality_doc,
        "source": {"kind": "synthetic", "seed": 0},
        "deidentify": [],
        "annotation": ann,
        "schema": {"source_id": {"type": "string", "required": True, "description": "keeps one source in one split"}},
        "quality": {"syntactic_accuracy": 1.0, "semantic_accuracy": 0.95, "technical_conformity": 0.99},
        "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "group_by": "source_id"},
        "target_volume": 10000,
    }


@app.command("new")
def new(
    spec_id: str,
    field: Annotated[str, typer.Option(help="field id (schemas/fields.yaml)")],
    modality: Annotated[str, typer.Option(help=f"one of {', '.join(MODALITY_KINDS)}")],
    annotation: Annotated[str, typer.Option(help=f"one of {', '.join(ANNOTATION_TYPES)}")],
    group: Annotated[str | None, typer.Option(help="group id (default: the field's first group)")] = None,
    force: Annotated[bool, typer.Option(help="overwrite an existing file")] = False,
) -> None:
    """Scaffold a spec that passes `datadam specs check`; edit its names, labels and targets."""
    cat = load_catalog()
    if modality not in MODALITY_KINDS:
        raise typer.BadParameter(f"--modality must be one of {', '.join(MODALITY_KINDS)}")
    if annotation not in ANNOTATION_TYPES:
        raise typer.BadParameter(f"--annotation must be one of {', '.join(ANNOTATION_TYPES)}")
    if field not in cat.fields:
        raise typer.BadParameter(f"--field must be one of {', '.join(cat.fields)}")
    groups = [g.id for g in cat.groups.values() if g.field == field]
    group = group or groups[0]
    doc = _scaffold(spec_id, field, group, modality, annotation)
    path = cat.root / "datasets" / field / f"{spec_id}.yaml"
    try:
        parse_spec(doc, file=path)
    except SpecError as exc:  # e.g. an annotation type that does not fit the modality
        for issue in exc.issues:
            _err.print(plain(issue))
        raise typer.Exit(1) from None
    if path.exists() and not force:
        _err.print(plain(f"{path} exists (use --force)"))
        raise typer.Exit(1)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _out.print(plain(f"wrote {path}"))


@app.command("schema")
def schema(
    out: Annotated[Path | None, typer.Option(help="where to write (default schemas/dataset-spec.schema.json)")] = None,
) -> None:
    """Write the JSON Schema of a spec file (and docs/spec.md), generated from the pydantic model."""
    target = out or default_schemas_dir() / "dataset-spec.schema.json"
    target.write_text(json_schema_text(), encoding="utf-8")
    _out.print(f"wrote {target}")
    if out is None:
        ref = default_schemas_dir().parent / "docs" / "spec.md"
        ref.write_text(reference_markdown(), encoding="utf-8")
        _out.print(f"wrote {ref}")
