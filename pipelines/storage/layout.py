"""The storage layout of DESIGN.md, in one place. Stages build keys only through these functions."""

from __future__ import annotations

import re

_RUN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+\-]{0,127}$")


def _check(part: str, what: str) -> str:
    if not part or "/" in part or part in {".", ".."}:
        raise ValueError(f"bad {what} for a storage key: {part!r}")
    return part


def safe_run_id(run_id: str) -> str:
    """Airflow run ids carry ``:`` and ``+``; keep them readable but safe as one path segment."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]", "_", run_id)
    if not _RUN_RE.match(cleaned):
        raise ValueError(f"bad run id: {run_id!r}")
    return cleaned


def restricted(dataset: str, *parts: str) -> str:
    """Originals as collected; may hold personal data; never published or shown to annotators."""
    return "/".join(["restricted", _check(dataset, "dataset"), *parts])


def restricted_run(dataset: str, run_id: str, stage: str = "") -> str:
    """A run's stage output that holds personal data (un-masked manifests): under ``restricted/``, never ``runs/``."""
    base = f"{restricted(dataset, 'runs')}/{safe_run_id(run_id)}"
    return f"{base}/{_check(stage, 'stage')}" if stage else base


def media(dataset: str, sha256: str, ext: str) -> str:
    """De-identified media, content-addressed: what annotators and releases see."""
    return f"media/{_check(dataset, 'dataset')}/{sha256}.{ext.lstrip('.')}"


def run(dataset: str, run_id: str, stage: str = "") -> str:
    base = f"runs/{_check(dataset, 'dataset')}/{safe_run_id(run_id)}"
    return f"{base}/{_check(stage, 'stage')}" if stage else base


def run_file(dataset: str, run_id: str, stage: str, name: str) -> str:
    """A file a stage keeps in its run folder (``name`` may hold ``/``: ``data_docs/index.html``)."""
    return f"{run(dataset, run_id, stage)}/{name}"


def restricted_run_file(dataset: str, run_id: str, stage: str, name: str) -> str:
    """A file a stage keeps in its restricted run folder (it may hold personal data)."""
    return f"{restricted_run(dataset, run_id, stage)}/{name}"


# The artifacts one stage leaves for the next (DESIGN.md, storage layout).
def collect_plan(dataset: str, run_id: str) -> str:
    """A run's collect plan: its shards, its source and the source binding it ran with (if any)."""
    return run_file(dataset, run_id, "collect", "plan.json")


def records(dataset: str, run_id: str) -> str:
    """The refined canonical records of a run."""
    return run_file(dataset, run_id, "refine", "records.parquet")


def refine_summary(dataset: str, run_id: str) -> str:
    """Counts of a run's refine: items in, records, quarantined."""
    return run_file(dataset, run_id, "refine", "summary.json")


def validate_file(dataset: str, run_id: str, name: str) -> str:
    """A file of a run's validation (``gx_result.json``, ``data_docs/...``)."""
    return run_file(dataset, run_id, "validate", name)


def label_annotations(dataset: str, run_id: str) -> str:
    """The run's annotations as pulled from Label Studio (``ANNOTATION_SCHEMA``)."""
    return _pulled(dataset, run_id, "annotations.parquet")


def label_qc(dataset: str, run_id: str) -> str:
    """The run's per-item QC (``label.pull.QC_SCHEMA``): agreement, review, gold and the consensus refine releases."""
    return _pulled(dataset, run_id, "qc.parquet")


def label_qc_summary(dataset: str, run_id: str) -> str:
    """The run's QC summary: dataset agreement, gold accuracy, semantic accuracy, annotator scorecards."""
    return _pulled(dataset, run_id, "qc_summary.json")


def _pulled(dataset: str, run_id: str, name: str) -> str:
    return run_file(dataset, run_id, "label_pull", name)


def quality(dataset: str, run_id: str) -> str:
    """The machine-readable quality report of a run's validation."""
    return validate_file(dataset, run_id, "quality.json")


def report(dataset: str, run_id: str) -> str:
    """The QA report page of a run's validation."""
    return validate_file(dataset, run_id, "report.html")


def gate_result(dataset: str, run_id: str) -> str:
    return run_file(dataset, run_id, "gate", "result.json")


def gate_decision(dataset: str, run_id: str) -> str:
    """The inspector's recorded decision on a run."""
    return run_file(dataset, run_id, "gate", "decision.json")


def gate_rework(dataset: str, run_id: str) -> str:
    """The items an inspector sent back for rework (the gate writes it; the label stage re-opens them)."""
    return run_file(dataset, run_id, "gate", "rework.json")


def release(dataset: str, version: str = "") -> str:
    base = f"releases/{_check(dataset, 'dataset')}"
    return f"{base}/{_check(version, 'version')}" if version else base


def release_file(dataset: str, version: str, name: str) -> str:
    """A file of a release (``name`` may hold ``/``: ``data/train-00000.parquet``)."""
    return f"{release(dataset, version)}/{name}"


def release_manifest(dataset: str, version: str) -> str:
    """A release's manifest: written last but ``LATEST``, it commits the release (``publish.integrity``)."""
    return release_file(dataset, version, "manifest.json")


def release_staging(dataset: str, name: str = "") -> str:
    """Where a publisher writes a release's parts before moving them under the version (``name``: one attempt)."""
    base = f"{release(dataset)}/.staging"
    return f"{base}/{name}" if name else base


def release_reservation(dataset: str, version: str) -> str:
    """A publisher's claim on a version (``publish.reservation``)."""
    return f"{release(dataset)}/.reservations/{version}.json"


def latest(dataset: str) -> str:
    """The pointer file, written last: the release it names is complete."""
    return f"releases/{_check(dataset, 'dataset')}/LATEST"


def state(dataset: str, *parts: str) -> str:
    """Cross-run state of a dataset (collected-item index, label-project ids, last export cursor)."""
    return "/".join(["state", _check(dataset, "dataset"), *parts])


def collected(dataset: str, run_id: str | None = None) -> str:
    """The collected-item index of a dataset, or one run's share of it (``collect.dedupe``)."""
    base = state(dataset, "collected")
    return f"{base}/{safe_run_id(run_id)}" if run_id else base


CATALOG_INDEX = "catalog/index.json"
