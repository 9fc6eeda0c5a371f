"""`datadam sweep`: many dataset types end to end on the local stack, with simulated annotators and reviewers.

Each selected spec runs through its real DAG (``datadam run --simulate``), one after the other on one stack.

The sweep plays the inspector once, the way the programme works: a run held at the gate only by item-level label
checks that re-annotation can fix (:func:`reworkable`: the checks the check table declares ``reworkable`` —
review acceptance, gold answers, a label's syntax, the annotators' agreement — each naming its failing items) is
sent back for rework as ``datadam sweep`` (the gate re-opens those items in Label Studio, the simulated annotators
label them again as planned: docs/adr/0039), and the
spec runs once more; its row says ``reworked: 1`` and what the rework was for. A run held for anything else
(technical conformity, plan targets, run-wide measures), a second hold, or any hold with ``--no-rework``, waits
``--gate-timeout`` seconds and counts as failed, with the checks that held it as the reason.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli.common import plain, progress
from pipelines.cli.run import DagRunner, RunSummary, SimRunner, _store, held_run, run_one, stop_on_sigterm
from pipelines.spec import DatasetSpec, load_catalog

_out = Console(soft_wrap=True)
_err = Console(stderr=True)


@dataclass(frozen=True)
class SweepRow:
    """One spec's line in the sweep's table and JSON summary."""

    spec_id: str
    modality: str
    annotation: str
    outcome: str  # success | failed | refused | stopped | ...
    rows: int | None
    seconds: float
    reason: str | None
    log: str
    reworked: int = 0  # runs sent back for rework by the sweep before this outcome (0 or 1)


def select_specs(*, field: Sequence[str] = (), modality: Sequence[str] = (), annotation: Sequence[str] = (),
                 only: Sequence[str] = ()) -> list[DatasetSpec]:
    """The catalog's specs matching every given filter (each filter: any of its values), sorted by id.

    Raises:
        KeyError: ``only`` names an id the catalog does not have.
    """
    catalog = load_catalog()
    unknown = sorted(set(only) - set(catalog.specs))
    if unknown:
        raise KeyError(f"no such dataset type: {', '.join(unknown)}")
    chosen = []
    for spec in sorted(catalog.specs.values(), key=lambda s: s.id):
        if only and spec.id not in only:
            continue
        if field and spec.field not in field:
            continue
        if modality and spec.modality.kind not in modality:
            continue
        if annotation and spec.annotation.type not in annotation:
            continue
        chosen.append(spec)
    return chosen


SWEEP_INSPECTOR = "datadam sweep"


def _can_rework(check: dict[str, Any]) -> bool:
    """The check's own ``reworkable`` flag; a quality.json written before checks carried one: its characteristic."""
    from pipelines.validate.checks import REWORKABLE_CHARACTERISTICS

    flag = check.get("reworkable")
    if flag is None:
        return check.get("characteristic") in REWORKABLE_CHARACTERISTICS
    return bool(flag)


def reworkable(quality: dict[str, Any]) -> list[str]:
    """What a rework can fix in a run held at the gate (``quality.json``): its failed blocking checks as
    ``"<id> <measured>"`` when every one is reworkable (its ``reworkable`` flag) and names its failing items,
    else ``[]``."""
    if quality.get("success"):
        return []
    failed = [c for c in quality.get("checks") or [] if c.get("status") == "fail" and c.get("blocking")]
    if not failed or {c.get("id") for c in failed} != set(quality.get("checks_failed") or []):
        return []  # a failure the checks do not itemise (e.g. a check that raised) is not a label's to fix
    if any(not _can_rework(c) or not c.get("failing_items") for c in failed):
        return []
    return [f"{c['id']} {c['measured']:.4g}" if isinstance(c.get("measured"), int | float) else str(c["id"])
            for c in failed]


def row_of(spec: DatasetSpec, summary: RunSummary, *, reworked_for: Sequence[str] = (),
           seconds: float | None = None) -> SweepRow:
    reason = summary.reason
    if reworked_for:
        why = f"after 1 rework: {', '.join(reworked_for)}"
        reason = why if summary.state == "success" else f"{why}; then {reason}"
    return SweepRow(spec_id=spec.id, modality=spec.modality.kind, annotation=spec.annotation.type,
                    outcome=summary.state, rows=summary.rows,
                    seconds=round(summary.seconds if seconds is None else seconds, 1), reason=reason,
                    log=str(summary.log), reworked=int(bool(reworked_for)))


def summarise(rows: Sequence[SweepRow]) -> dict[str, Any]:
    """Totals, and outcomes per annotation type and per modality."""
    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    by_modality: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        by_type[r.annotation][r.outcome] += 1
        by_modality[r.modality][r.outcome] += 1
    return {
        "specs": len(rows),
        "succeeded": sum(r.outcome == "success" for r in rows),
        "outcomes": dict(Counter(r.outcome for r in rows)),
        "reworked": sum(r.reworked for r in rows),
        "seconds": round(sum(r.seconds for r in rows), 1),
        "by_annotation": {k: dict(v) for k, v in sorted(by_type.items())},
        "by_modality": {k: dict(v) for k, v in sorted(by_modality.items())},
    }


def write_summary(path: Path, *, rows: Sequence[SweepRow], settings: dict[str, Any], wall_s: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"settings": settings, "wall_seconds": round(wall_s, 1), "summary": summarise(rows),
           "runs": [asdict(r) for r in rows]}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")


def _table(rows: Sequence[SweepRow], title: str) -> Table:
    table = Table(title=title)
    for col in ("spec", "modality", "annotation", "outcome", "reworked", "rows", "s", "reason"):
        table.add_column(col, overflow="fold")
    for r in rows:
        colour = "green" if r.outcome == "success" else "red"
        table.add_row(plain(r.spec_id), r.modality, r.annotation, f"[{colour}]{r.outcome}[/{colour}]",
                      str(r.reworked), "-" if r.rows is None else str(r.rows), f"{r.seconds:.0f}",
                      plain(r.reason or ""))
    return table


class _Inspector:
    """Hears one run of a sweep; when the gate holds it for checks a rework can fix, sends it back (once)."""

    def __init__(self, store: Any, *, enabled: bool) -> None:
        self.store, self.enabled = store, enabled
        self.sent_back: list[str] = []

    def on_event(self, kind: str, what: str) -> None:
        run = held_run(what) if kind == "progress" else None
        if run is None or not self.enabled or self.sent_back:
            return
        from pipelines.storage import artifacts
        from pipelines.validate.gate import record_decision
        from pipelines.validate.inspection import resolve_run

        ref = resolve_run(self.store, run)
        fixable = reworkable(artifacts.QUALITY.read(self.store, ref.dataset, ref.run))
        if fixable:
            record_decision(store=self.store, dataset=ref.dataset, run_id=ref.run, decision="rework",
                            by=SWEEP_INSPECTOR, note=f"sent back once by the sweep, playing the inspector: "
                                                     f"{', '.join(fixable)} (item-level label checks)")
            self.sent_back = fixable


# The `sweep` command, merged into datadam's top level.
app = typer.Typer()


def _add_commands(app: typer.Typer) -> None:
    @app.command("sweep")
    def sweep(
        field: Annotated[list[str] | None, typer.Option(help="only these fields (repeatable)")] = None,
        modality: Annotated[list[str] | None, typer.Option(help="only these modalities (repeatable)")] = None,
        annotation: Annotated[list[str] | None, typer.Option(help="only these annotation types (repeatable)")] = None,
        only: Annotated[list[str] | None, typer.Option(help="only these spec ids (repeatable)")] = None,
        items: Annotated[int, typer.Option(help="items per dataset")] = 12,
        timeout: Annotated[float, typer.Option(help="seconds one run may wait for annotation")] = 600.0,
        gate_timeout: Annotated[float, typer.Option(
            help="seconds a held run waits when the sweep does not send it back for rework")] = 5.0,
        storage: Annotated[str | None, typer.Option(help="storage root URI (default: the stack's)")] = None,
        no_rework: Annotated[bool, typer.Option(
            "--no-rework", help="never send a held run back for rework (every hold counts as failed)")] = False,
    ) -> None:
        """Run the selected dataset types end to end with simulated annotators; exit 1 if any fails."""
        from pipelines.stack import up

        try:
            specs = select_specs(field=field or (), modality=modality or (), annotation=annotation or (),
                                 only=only or ())
        except KeyError as exc:
            _err.print(plain(f"error: {exc.args[0]}"))
            raise typer.Exit(2) from None
        if not specs:
            _err.print("error: no dataset type matches the filters")
            raise typer.Exit(2)
        stack = up()
        root = storage or stack.storage_root
        stamp = time.strftime("%Y%m%dT%H%M%S")
        out = stack.home / "logs" / "sweeps" / f"sweep-{stamp}.json"
        settings = {"items": items, "timeout_s": timeout, "gate_timeout_s": gate_timeout, "storage": root,
                    "rework": not no_rework, "specs": [s.id for s in specs]}
        store = _store(stack, root)
        rows: list[SweepRow] = []
        t0 = time.perf_counter()
        # One Airflow process runs the DAGs one after another: its import and start-up are paid once, not per spec.
        runner = DagRunner.for_stack(stack, root, log=out.with_suffix(".runner.log"))
        # ... and one simulator process plays the annotators and reviewers of every run, one run after another.
        sim = SimRunner.for_stack(stack, root, log=out.with_suffix(".sim.log"))
        try:
            with progress("sweep", total=len(specs), console=_out, unit="dataset types") as bar:
                for spec in specs:
                    _out.print(plain(f"{spec.id} ({spec.modality.kind}, {spec.annotation.type}) ..."))
                    inspector = _Inspector(store, enabled=not no_rework)
                    with stop_on_sigterm():
                        summary = run_one(spec.id, stack=stack, storage=root, items=items, simulate=True,
                                          poll_s=0.5, timeout_s=timeout, gate_timeout_s=gate_timeout,
                                          runner=runner, sim=sim, on_event=inspector.on_event)
                    first_s = summary.seconds
                    if inspector.sent_back and summary.state != "stopped":
                        _out.print(plain(f"  sent back for rework ({', '.join(inspector.sent_back)}); running "
                                         f"{spec.id} once more"))
                        with stop_on_sigterm():
                            summary = run_one(spec.id, stack=stack, storage=root, items=items, simulate=True,
                                              poll_s=0.5, timeout_s=timeout, gate_timeout_s=gate_timeout,
                                              runner=runner, sim=sim)
                    rows.append(row_of(spec, summary, reworked_for=inspector.sent_back,
                                       seconds=first_s + summary.seconds if inspector.sent_back else None))
                    write_summary(out, rows=rows, settings=settings, wall_s=time.perf_counter() - t0)
                    bar.advance()
                    if summary.state == "stopped" and summary.reason and summary.reason.startswith("stopped by"):
                        break
        finally:
            runner.close()
            sim.close()
        wall = time.perf_counter() - t0
        ok = sum(r.outcome == "success" for r in rows)
        _out.print(_table(rows, f"datadam sweep — {ok}/{len(specs)} succeeded in {wall:.0f} s"))
        per_type = summarise(rows)["by_annotation"]
        _out.print("per annotation type: " + "; ".join(
            f"{t} {c.get('success', 0)}/{sum(c.values())}" for t, c in per_type.items()))
        _out.print(plain(f"summary: {out}"))
        raise typer.Exit(0 if ok == len(specs) else 1)


_add_commands(app)
