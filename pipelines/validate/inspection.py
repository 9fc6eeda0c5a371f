"""What a QA inspector reads of a run: the run a name points at, and its validation, verdict, gate and decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.storage import ObjectStore, artifacts, layout


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
    from pipelines.validate.gate import current_decision

    quality = artifacts.QUALITY.read_if_exists(store, ref.dataset, ref.run)
    if quality is None:
        raise RunNotFound(f"{artifacts.QUALITY.uri(store, ref.dataset, ref.run)}: the run has not been validated "
                          "(no quality.json)")
    decision, applies = current_decision(store=store, dataset=ref.dataset, run_id=ref.run)
    return {
        "dataset": ref.dataset, "run": ref.run, "run_id": quality.get("run_id"), "items": quality.get("items"),
        "delivery": quality.get("delivery", {}), "success": quality.get("success"),
        "checks_failed": quality.get("checks_failed", []), "checks_warned": quality.get("checks_warned", []),
        "not_measured": quality.get("not_measured", []), "characteristics": quality.get("characteristics", {}),
        "report": artifacts.REPORT.uri(store, ref.dataset, ref.run),
        "gate": artifacts.GATE_RESULT.read_if_exists(store, ref.dataset, ref.run),
        "decision": None if decision is None else {**decision.__dict__, "applies_to_current_report": applies},
    }
