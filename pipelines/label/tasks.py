"""How a dataset item becomes a Label Studio task: project title, object fields, overlap sample, task meta.

Shared by ``push`` (which creates tasks), ``progress`` (which counts them) and the annotator simulator, so
that all three agree on which items need several annotators without talking to each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from pipelines.annotations.lsconfig import FRAMES
from pipelines.spec.models import ANNOTATION_MODALITIES, KEYFRAME_TYPES, DatasetSpec, MultimodalModality
from pipelines.storage.records import dicom_frame_by_frame

# Label Studio refuses project titles longer than this (settings.PROJECT_TITLE_MAX_LEN in 1.23).
PROJECT_TITLE_MAX = 50
TITLE_PREFIX = "datadam"

# The order in which an item's modalities are tried as the annotated object (image before text: a VQA item
# is boxed on the image, its question is context).
OBJECT_KINDS: tuple[str, ...] = ("image", "video", "audio", "text", "timeseries")
MEDIA_KINDS: frozenset[str] = frozenset({"image", "video", "audio", "timeseries"})


def project_title(spec: DatasetSpec) -> str:
    """``datadam:<id>:<version>``, shortened deterministically (a hash) to Label Studio's 50 characters."""
    title = f"{TITLE_PREFIX}:{spec.id}:{spec.version}"
    if len(title) <= PROJECT_TITLE_MAX:
        return title
    digest = hashlib.sha256(title.encode()).hexdigest()[:8]
    keep = PROJECT_TITLE_MAX - len(f"{TITLE_PREFIX}:~{digest}:{spec.version}")
    return f"{TITLE_PREFIX}:{spec.id[:keep]}~{digest}:{spec.version}"


def object_kinds(spec: DatasetSpec) -> list[str]:
    """The object tags a task shows, in display order (every modality the item carries)."""
    kinds = spec.modality_kinds
    return [k for k in OBJECT_KINDS if k in kinds]




def target_kind(spec: DatasetSpec) -> str:
    """The object the spec's annotation controls point at (``toName``).

    Mostly the first modality of the item the annotation type fits. Two exceptions: speech in a video is
    transcribed on an ``audio`` object playing the video's sound track (Label Studio has no per-region text on
    video), and polygons/polylines/keypoints on video go to the keyframe list ``frames``.
    """
    kinds = object_kinds(spec)
    kind_type = spec.annotation.type
    if kind_type == "transcription" and ("audio" in kinds or "video" in kinds):
        return "audio"
    needed = ANNOTATION_MODALITIES[kind_type]
    if dicom_frame_by_frame(spec):
        return FRAMES
    for kind in kinds:
        if kind in needed:
            return FRAMES if kind == "video" and kind_type in KEYFRAME_TYPES else kind
    # A validated spec always has one; keep a clear message for hand-built objects.
    raise ValueError(f"{spec.id}: no modality of {sorted(spec.modality_kinds)} fits {spec.annotation.type!r}")


def media_kind(spec: DatasetSpec) -> str | None:
    """The task-data field carrying the item's media URL (``image``/``audio``/...); None for text only. A multimodal
    item's is its primary component's (``component_kinds`` name the others)."""
    if isinstance(spec.modality, MultimodalModality):
        return spec.modality.primary
    for kind in object_kinds(spec):
        if kind in MEDIA_KINDS:
            return kind
    return None


def component_kinds(spec: DatasetSpec) -> list[str]:
    """A multimodal item's media components besides the primary one (``media_kind``), each in its own task-data
    field named by its kind (``audio`` beside ``video``); text is in ``text``. Empty for other items."""
    m = spec.modality
    if not isinstance(m, MultimodalModality):
        return []
    return [k for k in object_kinds(spec) if k in MEDIA_KINDS and k != m.primary]


def _unit(*parts: str) -> float:
    """A stable pseudo-random number in [0, 1) from strings (same answer on every machine and run)."""
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def required_annotations(spec: DatasetSpec, item_id: str) -> int:
    """Annotators an item needs: ``overlap`` on the spec's overlap sample, otherwise one.

    The sample is drawn from a hash of the item id, so a re-run, the progress counter and the simulator
    all pick the same items without sharing state.
    """
    a = spec.annotation
    if a.overlap >= 2 and a.overlap_share > 0 and _unit("overlap", spec.id, item_id) < a.overlap_share:
        return a.overlap
    return 1


def is_gold_candidate(spec: DatasetSpec, item_id: str) -> bool:
    """Whether an item is drawn for the gold sample (``annotation.gold_share``, by a hash of its id).

    It becomes a gold task only if its source knows the answer (push checks that).
    """
    share = spec.annotation.gold_share
    return share > 0 and _unit("gold", spec.id, item_id) < share


def task_meta(spec: DatasetSpec, item_id: str, *, gold: bool = False) -> dict[str, Any]:
    """Label Studio task ``meta`` (not shown to annotators): the item id, the annotators it needs and whether
    it is a gold task (its ``ground_truth`` annotation holds the known answer).

    Listing ``meta`` is cheap (no task data), which is how push finds the items already in a project.
    """
    meta: dict[str, Any] = {"item_id": item_id, "dataset": spec.id, "overlap": required_annotations(spec, item_id)}
    if gold:
        meta["gold"] = True
    return meta


def annotations_needed(meta: Mapping[str, Any]) -> int:
    """Non-cancelled annotations a task needs to be done: its people, plus the gold answer on a gold task.

    Label Studio's own per-task overlap is set to the same number, so the gold answer never takes an
    annotator's place in its label stream.
    """
    return int(meta.get("overlap") or 1) + (1 if meta.get("gold") else 0)


def submitted_annotations(row: Mapping[str, Any]) -> int:
    """Non-cancelled annotations of a Data Manager task row (``include``: total_annotations, annotations_ids,
    cancelled_annotations).

    Label Studio keeps ``total_annotations`` as a counter updated by Django signals, and deleting a project
    disconnects every signal of the server process while it runs (``temporary_disconnect_all_signals``):
    annotations saved meanwhile never reach the counter, and two overlapping deletes can leave the signals off
    until a restart. The annotation ids are joined at query time, so they are counted too.
    """
    ids = row.get("annotations_ids")
    if isinstance(ids, str):
        n_ids = len([v for v in ids.split(",") if v.strip()])
    else:
        n_ids = len([v for v in ids or [] if v is not None])
    live = n_ids - int(row.get("cancelled_annotations") or 0)
    return max(int(row.get("total_annotations") or 0), live)
