"""The storage layout of DESIGN.md, in one place. Stages build keys only through these functions.

The run files stages hand each other are entries of the artifact catalogue (``pipelines.storage.artifacts``), which
builds their keys with ``run_file``; a stage calls ``run_file`` itself only for a file it keeps for itself. A test
bans key-building outside ``pipelines/storage`` (tests/unit/test_storage_boundaries.py).
"""

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


def original(dataset: str, sha256: str, ext: str) -> str:
    """A collected original (or a component file of a multimodal item), content-addressed, under ``restricted/``."""
    return restricted(dataset, f"{_check(sha256, 'sha256')}.{_check(ext.lstrip('.'), 'extension')}")


def restricted_run(dataset: str, run_id: str, stage: str = "") -> str:
    """A run's stage output that holds personal data (un-masked manifests): under ``restricted/``, never ``runs/``."""
    base = f"{restricted(dataset, 'runs')}/{safe_run_id(run_id)}"
    return f"{base}/{_check(stage, 'stage')}" if stage else base


def media(dataset: str, sha256: str, ext: str) -> str:
    """De-identified media, content-addressed: what annotators and releases see."""
    return f"media/{_check(dataset, 'dataset')}/{sha256}.{ext.lstrip('.')}"


def runs(dataset: str) -> str:
    """The folder of every run of a dataset (list it to find them)."""
    return f"runs/{_check(dataset, 'dataset')}/"


def run(dataset: str, run_id: str, stage: str = "") -> str:
    base = f"{runs(dataset)}{safe_run_id(run_id)}"
    return f"{base}/{_check(stage, 'stage')}" if stage else base


def run_file(dataset: str, run_id: str, stage: str, name: str) -> str:
    """A file a stage keeps in its run folder (``name`` may hold ``/``: ``data_docs/index.html``)."""
    return f"{run(dataset, run_id, stage)}/{name}"


def restricted_run_file(dataset: str, run_id: str, stage: str, name: str) -> str:
    """A file a stage keeps in its restricted run folder (it may hold personal data)."""
    return f"{restricted_run(dataset, run_id, stage)}/{name}"


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


def label_project(dataset: str, project_id: int, *parts: str) -> str:
    """Cross-run state of one Label Studio project of a dataset (label_pull's export cursor and parts)."""
    return state(dataset, "label", f"project-{project_id}", *parts)


def rework_ledger(dataset: str, project_id: int) -> str:
    """A project's rework ledger, ``{"items": {item_id: {"reopened_at", "run_id", "answers"}}}``: when the gate's
    rework re-opened each item, for which run, and how many new answers replace the old ones. Written by
    ``label.rework``, read by label_pull to leave out the annotations a rework replaced."""
    return label_project(dataset, project_id, "reopened.json")


def collected(dataset: str, run_id: str | None = None) -> str:
    """The collected-item index of a dataset, or one run's share of it (``collect.dedupe``)."""
    base = state(dataset, "collected")
    return f"{base}/{safe_run_id(run_id)}" if run_id else base


def collected_part(dataset: str, run_id: str, shard: int) -> str:
    """The items one collect shard of a run saw (kept and refused), for dedupe and incremental runs."""
    return f"{collected(dataset, run_id)}/part-{shard:05d}.parquet"


def collected_dropped(dataset: str, run_id: str, shard: int) -> str:
    """The items de-identification of one shard dropped as duplicates of a lower shard's."""
    return f"{collected(dataset, run_id)}/dropped-{shard:05d}.parquet"


CATALOG_INDEX = "catalog/index.json"
