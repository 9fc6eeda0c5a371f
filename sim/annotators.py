"""The annotator simulator: simulated people annotating a real Label Studio project through its API.

Each simulated annotator is a real Label Studio user (created through the users API) who submits
annotations built from the ground truth in the run manifests (``truth`` column), with a per-user error rate:
classification picks a wrong label; bbox shifts/resizes a box or swaps its label; a brush mask is painted as
another class, eroded or spilled; a pose has keypoints dropped, clicked on another joint or swapped left for
right; a polyline gets a wrong class, is shifted sideways or traced only in part; transcription edits
characters; an entity span misses a few characters, gets a wrong label or is missed; a QA answer span covers
the whole sentence or a question is left out; a summary is cut short; a translation drops words.
An error rate ``e`` means: a share ``e`` of that user's annotations carries an error.

Each task gets as many annotators as its meta asks for (1, or the spec's overlap on the overlap sample; a gold
task's known answer does not take an annotator's place). One error rate is spread over the team (r/2 .. 3r/2);
a list gives each annotator their own. Simulated reviewers (:func:`review`) judge the review queue against the
truth, with an error rate of their own.
Deterministic for a seed: the same annotators, labels and errors for the same item on every run. Re-running
adds nothing to tasks that already have their annotations. A task an inspector sent back for rework
(:mod:`pipelines.label.rework`: its Label Studio overlap raised above what its meta asks for) is labelled again by
as many annotators as it was planned for (one, or the overlap), made knowing what was wrong: they follow the truth.
They are people who have not worked on it, as Label Studio counts distinct people against a task's overlap: the
team's first, then reserve annotators created for it (an overlap of 2 in a team of 3 leaves one of the team).

    python -m sim.annotators --spec schemas/datasets/x/y.yaml --storage file:///... --project-id 3 --watch

Label Studio comes from ``DATADAM_LS_URL``/``DATADAM_LS_TOKEN``
(or the SDK's ``LABEL_STUDIO_URL``/``LABEL_STUDIO_API_KEY``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import select
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pipelines.label import results
from pipelines.label.client import LabelStudioClient, LabelStudioSettings, iter_task_rows
from pipelines.label.manifests import iter_rows, run_ids, run_item_ids
from pipelines.label.progress import Progress, progress
from pipelines.label.tasks import annotations_needed, project_title, submitted_annotations, target_kind
from pipelines.spec.models import DatasetSpec, Transcription
from pipelines.storage.store import ObjectStore

SUPPORTED = ("classification", "multi_label", "bbox", "polygon", "segmentation", "transcription", "dialogue_intent",
             "temporal_events", "timeseries_labels", "keypoints", "polyline",
             "ner", "qa", "summarisation", "translation")
EMAIL = "sim-annotator-{:02d}@datadam.local"
_HANGUL = "가나다라마바사아자차카타파하어오우으이"


class SimulatorError(RuntimeError):
    """The simulator cannot annotate this project (unsupported type, missing truth ...)."""


@dataclass(frozen=True)
class SimResult:
    """What one simulation pass did."""

    project_id: int
    annotators: dict[str, int]  # e-mail -> Label Studio user id
    tasks_seen: int
    tasks_annotated: int
    annotations_created: int
    errors_injected: int
    tasks_without_truth: int
    per_annotator: dict[str, int] = field(default_factory=dict)  # e-mail -> annotations created


# ------------------------------------------------------------------------------------------- errors


def _wrong_label(rng: random.Random, labels: Sequence[str], right: str) -> str:
    others = [lab for lab in labels if lab != right]
    return rng.choice(others) if others else right


def _edit_chars(rng: random.Random, text: str) -> str:
    """About 5 % of the characters substituted, deleted or inserted (at least one edit)."""
    chars = list(text)
    for _ in range(max(1, round(0.05 * len(chars)))):
        op = rng.choice(("sub", "del", "ins")) if chars else "ins"
        pos = rng.randrange(len(chars)) if chars else 0
        if op == "sub":
            chars[pos] = rng.choice(_HANGUL)
        elif op == "del":
            del chars[pos]
        else:
            chars.insert(pos, rng.choice(_HANGUL))
    return "".join(chars)


def _spoil_mask(rng: random.Random, spec: DatasetSpec, masks: dict[str, Any], label: str) -> dict[str, Any]:
    """A brush mistake: one class painted as another, or a careless brush on every class — masks eroded to slivers
    (or away) or spilled well over their edges. Each drops the mean mask IoU below the 0.75 a reviewer accepts
    on most images."""
    import cv2
    import numpy as np

    out = dict(masks)
    mode = rng.choice(("wrong_class", "eroded", "spilled"))
    if mode == "wrong_class":
        m = out.pop(label)
        other = _wrong_label(rng, spec.labels, label)
        out[other] = out[other] | m if other in out else m
        return out
    op = cv2.erode if mode == "eroded" else cv2.dilate
    for lab, m in out.items():
        ys, xs = np.nonzero(m)
        extent = max(int(xs.max() - xs.min()), int(ys.max() - ys.min()), 4) if len(xs) else 4
        k = max(3, extent // 2) | 1
        out[lab] = op(m.astype(np.uint8), np.ones((k, k), np.uint8)) > 0  # eroded to nothing: a missed object
    return out


_SIDES = (("left", "right"), ("왼쪽", "오른쪽"), ("좌측", "우측"), ("왼", "오른"), ("좌", "우"))
# A careless pose spoils this share of each object's keypoints: OKS then stays below qc.CORRECT_AT (0.75).
_POSE_SPOIL_SHARE = 0.35


def _partner(name: str, names: Sequence[str]) -> str | None:
    """The left/right counterpart of a keypoint name (``left_knee`` <-> ``right_knee``, ``요각 좌`` <-> ``요각 우``)."""
    for a, b in _SIDES:
        for here, there in ((a, b), (b, a)):
            at = name.find(here)
            while at >= 0:
                other = name[:at] + there + name[at + len(here):]
                if other != name and other in names:
                    return other
                at = name.find(here, at + 1)
    return None


def _spoil_poses(rng: random.Random, poses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A careless pass over every object of the image, one kind of slip per image: keypoints dropped, clicked
    on another joint of the figure (misplaced), or left/right partners swapped (a figure read as facing the other
    way). A third or more of each object's keypoints is hit, so a reviewer's OKS check rejects it."""
    mode = rng.choice(("dropped", "misplaced", "swapped"))
    out = []
    for p in poses:
        kps = {str(k["name"]): dict(k) for k in p["keypoints"] if k.get("visible") and k.get("x") is not None}
        b = p["box"]
        far = 0.15 * math.hypot(float(b["w"]), float(b["h"]))  # OKS of a point this far off is ~0.1

        def dist(m: str, n: str, kps: dict[str, dict[str, Any]] = kps) -> float:
            return math.hypot(kps[m]["x"] - kps[n]["x"], kps[m]["y"] - kps[n]["y"])

        names = list(kps)
        rng.shuffle(names)
        if mode == "swapped":  # pairs first; any remaining quota is misplaced
            names.sort(key=lambda n: _partner(n, list(kps)) is None)
        need, spoilt = max(1, math.ceil(_POSE_SPOIL_SHARE * len(kps))), set[str]()
        for n in names:
            if len(spoilt) >= need:
                break
            if n in spoilt:
                continue
            other = _partner(n, list(kps))
            if mode == "swapped" and other and other not in spoilt and dist(n, other) >= far:
                (kps[n]["x"], kps[n]["y"]), (kps[other]["x"], kps[other]["y"]) = \
                    (kps[other]["x"], kps[other]["y"]), (kps[n]["x"], kps[n]["y"])
                spoilt |= {n, other}
            elif mode == "dropped":
                del kps[n]
                spoilt.add(n)
            else:  # clicked on the farthest joint of the same figure (inside its box, so refine accepts it)
                target = max((m for m in kps if m != n), key=lambda m: dist(n, m), default=None)
                if target is None:
                    kps.pop(n)
                else:
                    kps[n]["x"], kps[n]["y"] = kps[target]["x"], kps[target]["y"]
                spoilt.add(n)
        out.append({**p, "keypoints": list(kps.values())})
    return out


def _spoil_lines(rng: random.Random, spec: DatasetSpec, lines: list[dict[str, Any]],
                 size: tuple[int, int]) -> list[dict[str, Any]]:
    """One line of the image gets a wrong class, is shifted sideways (4 % of the image) or is traced only for
    its first 40 %: none of these matches the true line at IoU 0.5, so the item's F1 drops below 1."""
    out = [{"label": ln["label"], "points": [dict(q) for q in ln["points"]]} for ln in lines]
    ln = rng.choice(out)
    mode = rng.choice(("wrong_label", "shifted", "truncated"))
    w, h = size
    pts = [(float(q["x"]), float(q["y"])) for q in ln["points"]]
    if mode == "wrong_label":
        ln["label"] = _wrong_label(rng, spec.labels, str(ln["label"]))
    elif mode == "shifted":  # across the line's direction, in percent of the image (how QC compares lines)
        dx, dy = (pts[-1][0] - pts[0][0]) / w, (pts[-1][1] - pts[0][1]) / h
        norm = math.hypot(dx, dy) or 1.0
        side = rng.choice((-1, 1))
        sx, sy = side * -dy / norm * 0.04 * w, side * dx / norm * 0.04 * h
        if not all(0 <= x + sx <= w - 1 and 0 <= y + sy <= h - 1 for x, y in pts):
            sx, sy = -sx, -sy  # the other side stays in the picture
        ln["points"] = [{"x": min(max(x + sx, 0.0), w - 1.0), "y": min(max(y + sy, 0.0), h - 1.0)} for x, y in pts]
    else:
        import numpy as np

        seg = [math.hypot(x1 - x0, y1 - y0) for (x0, y0), (x1, y1) in itertools.pairwise(pts)]
        at = np.concatenate([[0.0], np.cumsum(seg)])
        keep = np.linspace(0.0, 0.4 * float(at[-1]), max(len(pts), 2))
        xs, ys = np.interp(keep, at, [p[0] for p in pts]), np.interp(keep, at, [p[1] for p in pts])
        ln["points"] = [{"x": float(x), "y": float(y)} for x, y in zip(xs, ys, strict=True)]
    return out


def _shrunk(s: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A span whose start or end misses 1-3 characters of the entity (its text cut to match)."""
    text = str(s["text"])
    k = rng.randint(1, min(3, len(text) - 1))
    if rng.random() < 0.5:
        return {**s, "start": int(s["start"]) + k, "text": text[k:]}
    return {**s, "end": int(s["end"]) - k, "text": text[:-k]}


def _dropped_words(rng: random.Random, text: str) -> str:
    """A translation with a run of about half its words (characters, for unspaced scripts) left out, or cut off."""
    spaced = " " in text
    units = text.split() if spaced else list(text)
    n = max(1, len(units) // 2)
    if rng.random() < 0.5:  # a clause skipped in the middle
        at = rng.randrange(len(units) - n + 1)
        kept = units[:at] + units[at + n:]
    else:  # stopped half way
        kept = units[:len(units) - n]
    return (" " if spaced else "").join(kept) or units[0]


def _text_result(spec: DatasetSpec, truth: dict[str, Any], rng: random.Random, wrong: bool) -> list[dict[str, Any]]:
    """NER, QA, summary and translation results; ``wrong``: span boundaries off by a few characters, a wrong
    label or a missed entity; an answer span over the whole sentence or a question left out; a summary cut
    short; words of the translation dropped."""
    to = target_kind(spec)
    kind = spec.annotation.type
    if kind == "ner":
        spans = [dict(x) for x in truth["spans"]]
        if wrong and spans:
            i = rng.randrange(len(spans))
            modes = ["wrong_label", "missed"] + (["boundary"] if len(str(spans[i]["text"])) > 1 else [])
            mode = rng.choice(modes)
            if mode == "boundary":
                spans[i] = _shrunk(spans[i], rng)
            elif mode == "wrong_label":
                spans[i]["label"] = _wrong_label(rng, spec.labels, str(spans[i]["label"]))
            else:
                del spans[i]
        return results.from_truth("ner", {"spans": spans}, to_name=to) or []
    if kind == "qa":
        pairs = [dict(p) for p in truth["qa"]]
        if wrong and pairs:
            if len(pairs) > 1 and rng.random() < 0.5:
                del pairs[rng.randrange(len(pairs))]  # a question not asked (and so not answered)
            else:  # the whole sentence selected instead of the short answer in it (where the answer is shortest)
                i = max(range(len(pairs)), key=lambda k: len(pairs[k]["evidence"]["text"]) - len(pairs[k]["answer"]))
                ev = pairs[i]["evidence"]
                pairs[i].update(start=ev["start"], end=ev["end"], answer=ev["text"])
        return results.qa_pairs(pairs, to_name=to)
    if kind == "summarisation":
        written = truth.get("summary")
        sentences = [dict(x) for x in truth.get("sentences") or []]
        if wrong:
            if isinstance(written, str):  # cut short at a word boundary: 30-45 % of it kept
                cut = written[:max(1, int(len(written) * rng.uniform(0.3, 0.45)))]
                written = cut.rsplit(" ", 1)[0] if " " in cut else cut
            sentences = sentences[:1]  # one key sentence selected of several
        return results.summary(written=written, sentences=sentences, to_name=to)
    if kind == "translation":
        text = str(truth["translation"])
        return [results.textarea([_dropped_words(rng, text) if wrong else text], from_name="translation",
                                 to_name=to)]
    raise SimulatorError(f"the simulator does not annotate {kind!r} yet (supported: {', '.join(SUPPORTED)})")


def _spoil_tracks(rng: random.Random, spec: DatasetSpec, tracks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A video-tracking mistake on one object: its track missed (when the clip has others), given a wrong class,
    or its boxes shifted by 30-60 % of their size or resized to half / 1.7x from some keyframe on (the
    annotator stopped adjusting the box): IoU on those keyframes drops below 0.5."""
    out = [{**tr, "boxes": [dict(b) for b in tr["boxes"]]} for tr in tracks]
    live = [tr for tr in out if tr["boxes"]]
    if not live:
        return out
    tr = rng.choice(live)
    mode = rng.choice(("missed", "wrong_label", "shifted", "resized") if len(live) > 1 else
                      ("wrong_label", "shifted", "resized"))
    if mode == "missed":
        out.remove(tr)
    elif mode == "wrong_label":
        tr["label"] = _wrong_label(rng, spec.labels, str(tr["label"]))
    else:
        since = rng.randrange(max(1, len(tr["boxes"]) // 2))
        sx, sy = rng.choice((-1, 1)) * rng.uniform(0.3, 0.6), rng.choice((-1, 1)) * rng.uniform(0.3, 0.6)
        factor = rng.choice((0.5, 1.7))
        for b in tr["boxes"][since:]:
            if mode == "shifted":
                b["x"], b["y"] = float(b["x"]) + sx * float(b["w"]), float(b["y"]) + sy * float(b["h"])
            else:
                b["w"], b["h"] = float(b["w"]) * factor, float(b["h"]) * factor
    return out


def _keyframes_result(spec: DatasetSpec, keyframes: list[dict[str, Any]], size: tuple[int, int],
                      rng: random.Random, wrong: bool) -> list[dict[str, Any]]:
    """Geometry drawn on a clip's keyframe images, keyframe by keyframe; a careless annotator (``wrong``) makes
    this type's mistake on every keyframe (the same habit throughout the clip)."""
    out: list[dict[str, Any]] = []
    for i, kf in enumerate(keyframes):
        one = {k: v for k, v in kf.items() if k not in ("frame", "t")}
        if not any(one.values()):
            continue
        out += results.on_keyframe(_result(spec, one, size, rng, wrong), i)
    return out


def _result(spec: DatasetSpec, truth: dict[str, Any], size: tuple[int, int] | None, rng: random.Random,
            wrong: bool) -> list[dict[str, Any]]:
    """The result regions one annotator submits; ``wrong`` injects this type's kind of error."""
    to = target_kind(spec)
    kind = spec.annotation.type
    if kind in ("classification", "dialogue_intent"):
        label = str(truth["label"])
        name = "label" if kind == "classification" else "intent"
        return [results.choices([_wrong_label(rng, spec.labels, label) if wrong else label], to_name=to,
                                from_name=name)]
    if kind == "multi_label":
        labels = set(truth["labels"])
        if wrong:
            labels ^= {rng.choice(spec.labels)}  # add a missing label or drop a present one
        ordered = [lab for lab in spec.labels if lab in labels]
        return [results.choices(ordered, to_name=to, from_name="labels")]
    if isinstance(truth.get("keyframes"), list):
        if size is None:
            raise SimulatorError(f"{kind} keyframes need width and height in the manifest")
        return _keyframes_result(spec, truth["keyframes"], size, rng, wrong)
    if kind == "bbox" and isinstance(truth.get("tracks"), list):
        if size is None:
            raise SimulatorError("video bbox items need width and height in the manifest")
        tracks = _spoil_tracks(rng, spec, truth["tracks"]) if wrong else truth["tracks"]
        return results.video_tracks(tracks, size=size, to_name=to, tag="sim")
    if kind == "bbox":
        if size is None:
            raise SimulatorError("bbox items need width and height in the manifest")
        w, h = size
        objects = [dict(o) for o in truth["objects"]]
        if wrong and objects:
            o = rng.choice(objects)
            if rng.random() < 0.5:
                o["label"] = _wrong_label(rng, spec.labels, str(o["label"]))
            else:  # shift by 30-60 % of the box size: IoU drops well below 0.5
                o["x"] = float(o["x"]) + rng.choice((-1, 1)) * rng.uniform(0.3, 0.6) * float(o["w"])
                o["y"] = float(o["y"]) + rng.choice((-1, 1)) * rng.uniform(0.3, 0.6) * float(o["h"])
        return [results.rectangle(label=str(o["label"]), x=float(o["x"]), y=float(o["y"]), w=float(o["w"]),
                                  h=float(o["h"]), image_width=w, image_height=h, to_name=to,
                                  rid=results.region_id("sim", i, o["x"], o["y"]))
                for i, o in enumerate(objects)]
    if kind == "polygon":
        if size is None:
            raise SimulatorError("polygon items need width and height in the manifest")
        polys = [{"label": p["label"], "points": [dict(q) for q in p["points"]]} for p in truth["polygons"]]
        if wrong and polys:
            p = rng.choice(polys)
            if rng.random() < 0.5:
                p["label"] = _wrong_label(rng, spec.labels, str(p["label"]))
            else:  # shifted by 60 % of its extent: IoU well below 0.5 (towards where the picture has room)
                xs, ys = [q["x"] for q in p["points"]], [q["y"] for q in p["points"]]
                dx, dy = 0.6 * (max(xs) - min(xs)), 0.6 * (max(ys) - min(ys))
                dx = dx if max(xs) + dx <= size[0] - 1 else -dx
                dy = dy if max(ys) + dy <= size[1] - 1 else -dy
                p["points"] = [{"x": min(max(q["x"] + dx, 0.0), size[0] - 1.0),
                                "y": min(max(q["y"] + dy, 0.0), size[1] - 1.0)} for q in p["points"]]
        return results.from_truth("polygon", {"polygons": polys}, to_name=to, size=size) or []
    if kind == "segmentation":
        if size is None:
            raise SimulatorError("segmentation items need width and height in the manifest")
        masks = results.polygon_masks(truth["polygons"], size)
        present = sorted(masks)
        if wrong and present:
            masks = _spoil_mask(rng, spec, masks, rng.choice(present))
        return [results.brush(label=label, mask=m, to_name=to, rid=results.region_id("sim", label))
                for label, m in sorted(masks.items()) if m.any()]
    if kind == "keypoints":
        if size is None:
            raise SimulatorError("keypoint items need width and height in the manifest")
        poses = [dict(p) for p in truth["poses"]]
        if wrong and poses:
            poses = _spoil_poses(rng, poses)
        return results.poses(poses, size=size, to_name=to, tag="sim")
    if kind == "polyline":
        if size is None:
            raise SimulatorError("polyline items need width and height in the manifest")
        lines = list(truth["polylines"])
        if wrong and lines:
            lines = _spoil_lines(rng, spec, lines, size)
        return results.from_truth("polyline", {"polylines": lines}, to_name=to, size=size) or []
    if kind in ("temporal_events", "timeseries_labels"):
        events = [dict(e) for e in truth["events"]]
        if wrong and events:
            e = rng.choice(events)
            start, end = float(e["start"]), float(e["end"])
            mode = rng.choice(("wrong_label", "late_start", "early_end"))
            if mode == "wrong_label":
                e["label"] = _wrong_label(rng, spec.labels, str(e["label"]))
            elif mode == "late_start":  # the onset missed by 60 % of the event (stays inside the clip)
                e["start"] = start + 0.6 * (end - start)
            else:  # cut off early: 40 % of the event kept
                e["end"] = start + 0.4 * (end - start)
        return results.from_truth(kind, {"events": events}, to_name=to, rate_hz=results.sampling_hz(spec)) or []
    if kind == "transcription":
        a = spec.annotation
        assert isinstance(a, Transcription)
        text = str(truth.get("transcript", ""))
        segs = [dict(s) for s in truth.get("segments") or []] if a.segments else []
        if wrong:
            text = _edit_chars(rng, text)
            if segs:
                s = rng.choice(segs)
                s["text"] = _edit_chars(rng, str(s["text"]))
            if a.speaker_labels and len(segs) > 1 and rng.random() < 0.5:  # a turn given to the other voice
                s = rng.choice(segs)
                s["speaker"] = _wrong_label(rng, a.speakers[:max(2, len({g.get("speaker") for g in segs}))],
                                            str(s.get("speaker")))
        return results.transcript(text, segments=segs, to_name=to)
    if kind in ("ner", "qa", "summarisation", "translation"):
        return _text_result(spec, truth, rng, wrong)
    raise SimulatorError(f"the simulator does not annotate {kind!r} yet (supported: {', '.join(SUPPORTED)})")


# ------------------------------------------------------------------------------------------ preflight

def preflight(*, spec: DatasetSpec, store: ObjectStore) -> None:
    """Fail now, with a reason, if the simulated annotators and reviewers could not do their part for ``spec``.

    Builds one item the way the run's source will, and the results an annotator and a reviewer would submit for
    it: an annotation type the simulator does not speak, a source without ground truth, or a modality without a
    synthetic generator is found here instead of after the run has waited out its label timeout.

    Raises:
        SimulatorError: what cannot be simulated, in words a person can act on.
    """
    from pipelines.collect.errors import CollectError
    from pipelines.collect.sources import SyntheticCollector

    kind = spec.annotation.type
    if kind not in SUPPORTED:
        raise SimulatorError(f"{spec.id}: the simulated annotators do not annotate {kind!r} yet "
                             f"(supported: {', '.join(SUPPORTED)})")
    if spec.source.kind != "synthetic":
        raise SimulatorError(f"{spec.id}: simulated annotators need the ground truth a synthetic source writes; "
                             f"this spec's source is {spec.source.kind!r} (run without --simulate and annotate in "
                             "Label Studio)")
    try:
        source = SyntheticCollector(spec=spec, store=store)
    except CollectError as exc:
        raise SimulatorError(str(exc)) from exc
    truth = source.sample_truth(0)
    if not truth:
        raise SimulatorError(f"{spec.id}: the synthetic {spec.modality.kind} source writes no ground truth for "
                             f"{kind!r}, so simulated annotators have nothing to annotate from")
    mod = spec.modality
    # the synthetic source draws at the spec's minimum size; truth coordinates are in that pixel grid
    size = (int(getattr(mod, "min_width", 0)), int(getattr(mod, "min_height", 0))) if mod.kind in ("image", "video") \
        else None
    try:
        annotated = _result(spec, truth, size, random.Random(0), wrong=False)
    except (KeyError, TypeError, ValueError) as exc:
        raise SimulatorError(f"{spec.id}: the synthetic ground truth for {kind!r} lacks what an annotator "
                             f"submits ({type(exc).__name__}: {exc})") from exc
    if not annotated:
        raise SimulatorError(f"{spec.id}: simulated annotators would submit an empty result for {kind!r}")
    if results.from_truth(kind, truth, to_name=target_kind(spec), size=size,
                          rate_hz=results.sampling_hz(spec)) is None:
        raise SimulatorError(f"{spec.id}: simulated reviewers cannot judge {kind!r}: its ground truth has no "
                             "reference result")


# ----------------------------------------------------------------------------------------- the pass


def _truths(store: ObjectStore, spec: DatasetSpec, wanted: set[str], run_id: str | None
            ) -> dict[str, tuple[dict[str, Any], tuple[int, int] | None]]:
    """Truth (and image size) of the wanted items, read from the run manifests in storage."""
    found: dict[str, tuple[dict[str, Any], tuple[int, int] | None]] = {}
    # newest run first: an item keeps its id across runs, and an older run's truth may predate the current code
    for rid in [run_id] if run_id else reversed(run_ids(store, spec.id)):
        for rows in iter_rows(store, spec.id, rid, columns=("item_id", "truth", "width", "height")):
            for r in rows:
                iid = str(r["item_id"])
                if iid in wanted and iid not in found and r.get("truth"):
                    size = (int(r["width"]), int(r["height"])) if r.get("width") and r.get("height") else None
                    found[iid] = (json.loads(r["truth"]), size)
        if len(found) == len(wanted):
            break
    return found


def _rates(error_rate: float | Sequence[float], n: int) -> list[float]:
    """Per-annotator error rates. One rate ``r`` is spread linearly from r/2 to 3r/2 over the annotators
    (mean ``r``), so agreement and scorecards show the spread real teams have."""
    if isinstance(error_rate, int | float):
        r = float(error_rate)
        if n == 1:
            return [r]
        return [min(1.0, r * (0.5 + k / (n - 1))) for k in range(n)]
    rates = [float(r) for r in error_rate]
    if len(rates) != n:
        raise SimulatorError(f"{len(rates)} error rates for {n} annotators")
    return rates


class _UserIds(dict[tuple[str, str], int]):
    """Label Studio user ids by (server URL, e-mail), remembered for the life of a ``python -m sim.annotators``
    process (``remember``; library callers look them up each time). Each pass used to list the server's users
    once per simulated person, five requests per poll; a user is never deleted while a run needs it."""

    remember = False


_USER_IDS = _UserIds()


def _user(client: LabelStudioClient, *, email: str, username: str, first_name: str, last_name: str) -> int:
    key = (client.settings.url, email)
    if _USER_IDS.remember and key in _USER_IDS:
        return _USER_IDS[key]
    uid = client.ensure_user(email=email, username=username, first_name=first_name, last_name=last_name)
    if _USER_IDS.remember:
        _USER_IDS[key] = uid
    return uid


def ensure_annotators(client: LabelStudioClient, n: int) -> dict[str, int]:
    """The ``n`` simulated annotators as Label Studio users (created once): e-mail -> user id."""
    return {EMAIL.format(i): _user(client, email=EMAIL.format(i), username=f"sim-annotator-{i:02d}",
                                   first_name="시뮬레이터", last_name=f"{i:02d}")
            for i in range(1, n + 1)}


def _people(rng: random.Random, team: Sequence[int], done_by: set[int], need: int, *,
            reserve: Sequence[int] = ()) -> list[int]:
    """Who annotates a task: ``need`` of the team who have not worked on it. A task re-opened for rework passes a
    ``reserve`` (more simulated people, in order) that fills what the team cannot: Label Studio counts distinct
    people against a task's overlap, so a rework's answers must come from people new to the task."""
    free = [uid for uid in team if uid not in done_by]
    chosen = rng.sample(free, min(need, len(free)))
    for uid in reserve:
        if len(chosen) >= need:
            break
        if uid not in done_by:
            chosen.append(uid)
    return chosen


def simulate(
    *,
    ls: LabelStudioSettings,
    store: ObjectStore,
    spec: DatasetSpec,
    project_id: int,
    annotators: int = 3,
    error_rate: float | Sequence[float] = 0.1,
    seed: int = 0,
    run_id: str | None = None,
    default_truth: dict[str, Any] | None = None,
) -> SimResult:
    """Annotate every task of the project that still lacks annotations, once.

    Args:
        ls: Label Studio settings (the token's user must be allowed to create users: an owner/admin).
        store: Where the run manifests with ground truth are.
        spec: The dataset spec (annotation type, labels, overlap).
        project_id: The project ``push`` created.
        annotators: How many simulated annotators share the work.
        error_rate: Share of each annotator's annotations that carry an error; one value or one per annotator.
        seed: Same seed, same annotators/labels/errors per item.
        run_id: Read truth from this run only (default: every run of the dataset).
        default_truth: The answer for items without ground truth (a contractor's own data bound with
            ``--source``); without it they are left alone and counted in ``tasks_without_truth``.

    Raises:
        SimulatorError: for unsupported annotation types or bad arguments.
    """
    if spec.annotation.type not in SUPPORTED:
        raise SimulatorError(f"the simulator does not annotate {spec.annotation.type!r} yet "
                             f"(supported: {', '.join(SUPPORTED)})")
    if annotators < spec.annotation.overlap:
        raise SimulatorError(f"{annotators} annotators cannot cover an overlap of {spec.annotation.overlap}")
    rates = _rates(error_rate, annotators)
    client = LabelStudioClient(ls)
    users = ensure_annotators(client, annotators)
    pool = list(users.items())
    rate_of = {uid: rates[k] for k, (_, uid) in enumerate(pool)}
    email_of = {uid: mail for mail, uid in pool}

    todo: list[tuple[int, str, int, set[int]]] = []
    seen = 0
    include = ("id", "meta", "overlap", "total_annotations", "cancelled_annotations", "annotations_ids",
               "annotators")
    reworked: set[int] = set()
    for row in iter_task_rows(ls, project_id, include=include, fields="all"):
        meta = row.get("meta") if isinstance(row.get("meta"), dict) else None
        if not meta or not meta.get("item_id"):
            continue
        seen += 1
        needed = annotations_needed(meta)
        if int(row.get("overlap") or 0) > needed:  # re-opened for rework: one annotation more than it needs
            needed = int(row["overlap"])
            reworked.add(int(row["id"]))
        need = needed - submitted_annotations(row)
        if need > 0:
            ann = row.get("annotators") or []
            done_by = {int(u) for u in (ann.split(",") if isinstance(ann, str) else ann) if str(u).strip()}
            todo.append((int(row["id"]), str(meta["item_id"]), need, done_by))

    # A rework asks for as many new people as the item was planned for; when the team has too few who have not
    # worked on it (an overlap of 2 in a team of 3), reserve annotators, created on demand, make up the rest.
    short = max((need - sum(uid not in done for _, uid in pool) for tid, _, need, done in todo if tid in reworked),
                default=0)
    reserve: list[int] = []
    if short > 0:
        enlisted = ensure_annotators(client, annotators + short)
        reserve = [uid for mail, uid in enlisted.items() if mail not in users]
        email_of.update({uid: mail for mail, uid in enlisted.items()})
    truths = _truths(store, spec, {iid for _, iid, _, _ in todo}, run_id)
    if default_truth is not None:
        truths = {iid: truths.get(iid, (default_truth, None)) for _, iid, _, _ in todo}
    created = errors = missing = annotated = 0
    per: Counter[str] = Counter()
    for task_id, item_id, need, done_by in todo:
        if item_id not in truths:
            missing += 1
            continue
        truth, size = truths[item_id]
        rng = random.Random(f"{seed}:{spec.id}:{item_id}")
        chosen = _people(rng, [uid for _, uid in pool], done_by, need,
                         reserve=reserve if task_id in reworked else ())
        for uid in chosen:
            # A reworked item is corrected: the inspector's note says what was wrong with it.
            wrong = rng.random() < rate_of.get(uid, 0.0) and task_id not in reworked
            result = _result(spec, truth, size, rng, wrong)
            client.create_annotation(task_id, result=result, completed_by=uid,
                                     lead_time_s=round(rng.uniform(5.0, 60.0), 1))
            created += 1
            errors += int(wrong)
            per[email_of[uid]] += 1
        annotated += int(bool(chosen))
    return SimResult(project_id=project_id, annotators=users, tasks_seen=seen, tasks_annotated=annotated,
                     annotations_created=created, errors_injected=errors, tasks_without_truth=missing,
                     per_annotator=dict(sorted(per.items())))


def watch(
    *,
    ls: LabelStudioSettings,
    store: ObjectStore,
    spec: DatasetSpec,
    project_id: int,
    annotators: int = 3,
    error_rate: float | Sequence[float] = 0.1,
    seed: int = 0,
    run_id: str | None = None,
    timeout_s: float = 600.0,
    poll_s: float = 2.0,
    pause: Callable[[float], bool] | None = None,
) -> tuple[SimResult, Progress]:
    """Keep annotating as tasks arrive until every task (of ``run_id``, if given) is done, or the timeout.

    With ``run_id``, "every task" means one task per item of the run's manifests, so a watch started
    before ``push`` finishes waits for the rest of the tasks to appear. ``pause(poll_s)`` waits between passes
    (default: sleeps); when it returns True the watch ends early (``--serve``: the run this watch is for ended).
    """
    scope = run_item_ids(store=store, dataset=spec.id, run_id=run_id) if run_id else None
    deadline = time.monotonic() + timeout_s
    total = Counter[str]()
    created = errors = 0
    last: SimResult | None = None
    while True:
        last = simulate(ls=ls, store=store, spec=spec, project_id=project_id, annotators=annotators,
                        error_rate=error_rate, seed=seed, run_id=run_id)
        created += last.annotations_created
        errors += last.errors_injected
        total.update(last.per_annotator)
        p = progress(ls=ls, project_id=project_id, item_ids=scope)
        expected = len(scope) if scope is not None else p.total
        if p.complete and p.total >= expected:
            break
        if time.monotonic() > deadline:
            break
        if (pause or _sleep)(poll_s):
            break
    summary = SimResult(**{**asdict(last), "annotations_created": created, "errors_injected": errors,
                           "per_annotator": dict(sorted(total.items()))})
    return summary, p


# ------------------------------------------------------------------------------------------- reviewers

REVIEWER_EMAIL = "sim-reviewer-{:02d}@datadam.local"
_REASON_OF_TYPE = {"bbox": "geometry", "polygon": "geometry", "segmentation": "geometry", "transcription": "text",
                   "temporal_events": "geometry", "timeseries_labels": "geometry", "keypoints": "geometry",
                   "polyline": "geometry", "ner": "geometry", "qa": "text", "summarisation": "text",
                   "translation": "text"}


@dataclass(frozen=True)
class ReviewSimResult:
    """What one reviewing pass did."""

    project_id: int | None
    reviewed: int
    accepted: int
    reviewer_errors: int  # verdicts that contradict the truth (a reviewer is fallible too)
    without_truth: int


def review(
    *,
    ls: LabelStudioSettings,
    store: ObjectStore,
    spec: DatasetSpec,
    reviewers: int = 2,
    error_rate: float = 0.05,
    seed: int = 0,
    run_id: str | None = None,
) -> ReviewSimResult:
    """Review every unreviewed task of the dataset's review project once: accept an annotation that matches
    the truth (by the QC measure of its type), reject it with a reason otherwise; with probability
    ``error_rate`` the reviewer gets it wrong."""
    from pipelines.label import qc
    from pipelines.label.review import review_title, verdict_result

    client = LabelStudioClient(ls)
    pid = client.find_project(review_title(spec))
    if pid is None:
        return ReviewSimResult(None, 0, 0, 0, 0)
    users = [_user(client, email=REVIEWER_EMAIL.format(i), username=f"sim-reviewer-{i:02d}",
                   first_name="검수자", last_name=f"{i:02d}") for i in range(1, reviewers + 1)]
    todo = [r for r in iter_task_rows(ls, pid, include=("id", "meta", "total_annotations"))
            if isinstance(r.get("meta"), dict) and not int(r.get("total_annotations") or 0)]
    truths = _truths(store, spec, {str(r["meta"]["item_id"]) for r in todo}, run_id)
    to = target_kind(spec)
    t = spec.annotation.type
    reviewed = accepted = errors = missing = 0
    for row in todo:
        item_id = str(row["meta"]["item_id"])
        truth = truths.get(item_id)
        reference = (results.from_truth(t, truth[0], to_name=to, size=truth[1], rate_hz=results.sampling_hz(spec))
                     if truth else None)
        if reference is None:
            missing += 1
            continue
        task = client.sdk.tasks.get(id=str(row["id"]))
        preds: list[Any] = list(task.predictions or [])
        submitted: list[dict[str, Any]] = list(getattr(preds[0], "result", None) or []) if preds else []
        correct = qc.agreement(t, qc.extract(t, submitted), qc.extract(t, reference)) >= qc.CORRECT_AT[t]
        rng = random.Random(f"review:{seed}:{spec.id}:{row['meta']['annotation_id']}")
        slip = rng.random() < error_rate
        verdict = correct != slip
        reason = [] if verdict else [_REASON_OF_TYPE.get(t, "wrong_label")]
        client.create_annotation(int(row["id"]), result=verdict_result(verdict, reason, to_name=to),
                                 completed_by=rng.choice(users), lead_time_s=round(rng.uniform(3.0, 20.0), 1))
        reviewed += 1
        accepted += int(verdict)
        errors += int(slip)
    return ReviewSimResult(pid, reviewed, accepted, errors, missing)


# ------------------------------------------------------------------------------------------------ CLI


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sim.annotators", description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--spec", help="path of a spec YAML file")
    src.add_argument("--spec-id", "--dataset", help="id of a spec in the catalog")
    src.add_argument("--serve", action="store_true",
                     help="simulate for the runs requested on stdin, one after another (see serve())")
    ap.add_argument("--storage", help="storage root URI (file://... or s3://...); required but with --serve")
    ap.add_argument("--project-id", type=int, default=None,
                    help="default: wait for the dataset's project (datadam:<id>:<version>) to appear")
    ap.add_argument("--follow", action="store_true",
                    help="with --watch: keep annotating new tasks until the timeout or until stopped")
    ap.add_argument("--run-id", default=None)
    ap.add_argument("--annotators", type=int, default=3)
    ap.add_argument("--error-rate", type=float, nargs="+", default=[0.1],
                    help="one rate for everyone, or one per annotator")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--watch", action="store_true", help="keep going until every task is done")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--poll", type=float, default=2.0)
    ap.add_argument("--review", action="store_true",
                    help="also act as reviewers on the dataset's review project (<title>:review)")
    ap.add_argument("--reviewer-error-rate", type=float, default=0.05)
    return ap


class _Lines:
    """Lines from a file descriptor (the ``--serve`` process's stdin), read without Python's buffering so that a
    wait for the next line can be bounded (``select``)."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buf, self.eof = fd, b"", False

    def _fill(self, timeout_s: float | None) -> None:
        if self.eof or not select.select([self.fd], [], [], timeout_s)[0]:
            return
        chunk = os.read(self.fd, 65536)
        self.buf += chunk
        self.eof = not chunk

    def ready(self, timeout_s: float = 0.0) -> bool:
        """Whether a line (or the end of input) is waiting, after waiting for one up to ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.buf and not self.eof:
            left = deadline - time.monotonic()
            had = len(self.buf)
            self._fill(max(left, 0.0))
            if left <= 0 and len(self.buf) == had and not self.eof:
                return False
        return True

    def get(self) -> str | None:
        """The next line (blocking); None at the end of input."""
        while b"\n" not in self.buf and not self.eof:
            self._fill(None)
        if b"\n" not in self.buf:
            return None
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


def serve(lines: _Lines) -> int:
    """Simulate for one run after another in this process, so that its start-up (the imports: several seconds
    on a loaded 2-core machine, on the critical path of every fast run) is paid once per sweep.

    Each line is a JSON request ``{"argv": [...], "log": path}`` (``argv``: this module's options for one run);
    while it is served, file descriptors 1 and 2 point at ``log``. The request ends when the next line arrives:
    ``{}`` (the run ended: wait for the next request), another request, or the end of input (exit). An error
    ends the process, as it ends a one-run simulator: its caller sees it die and names the log's tail."""
    _USER_IDS.remember = True
    line = lines.get()
    while line is not None:
        req = json.loads(line) if line.strip() else {}
        if req:
            sys.stdout.flush()
            sys.stderr.flush()
            fd = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
            args = _parser().parse_args(req["argv"])
            _run(args, pause=lines.ready)
            sys.stdout.flush()
        line = lines.get()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sim.annotators``: one pass, or ``--watch`` until done, or ``--serve``."""
    from pipelines.lifeline import die_with_parent

    die_with_parent()
    ap = _parser()
    args = ap.parse_args(argv)
    if args.serve:
        return serve(_Lines(sys.stdin.fileno()))
    if not args.storage:
        ap.error("--storage is required")
    _USER_IDS.remember = True
    return _run(args, pause=_sleep)


def _run(args: argparse.Namespace, *, pause: Callable[[float], bool]) -> int:
    """One run's simulation (see :func:`main`); ``pause(s)`` waits between polls and returns True when the run
    is over (``--serve``: the next request arrived)."""
    from pipelines.spec import load_catalog, load_spec
    from pipelines.storage import open_store

    spec = load_spec(args.spec) if args.spec else load_catalog().get(args.spec_id)
    store = open_store(args.storage)
    ls = LabelStudioSettings.from_env()
    rate: float | list[float] = args.error_rate[0] if len(args.error_rate) == 1 else args.error_rate
    deadline = time.monotonic() + args.timeout
    project_id = args.project_id
    while project_id is None:
        # A DAG run creates the project in label_push; the simulator is started alongside and waits for it.
        project_id = LabelStudioClient(ls).find_project(project_title(spec))
        if project_id is None:
            if time.monotonic() > deadline:
                print(f"no project {project_title(spec)!r} appeared within {args.timeout:.0f} s", file=sys.stderr)
                return 1
            if pause(args.poll):
                return 0
    kw: dict[str, Any] = {"ls": ls, "store": store, "spec": spec, "project_id": project_id,
                          "annotators": args.annotators, "error_rate": rate, "seed": args.seed,
                          "run_id": args.run_id}
    if args.watch and args.follow:
        while time.monotonic() < deadline:
            res, prog = watch(**kw, timeout_s=max(deadline - time.monotonic(), 0.0), poll_s=args.poll, pause=pause)
            if pause(0.0):
                return 0
            out: dict[str, Any] = {"simulation": asdict(res), "progress": asdict(prog)}
            if args.review:
                out["review"] = asdict(review(ls=ls, store=store, spec=spec, error_rate=args.reviewer_error_rate,
                                              seed=args.seed, run_id=args.run_id))
            print(json.dumps(out, ensure_ascii=False), flush=True)
            if pause(args.poll):
                return 0
        return 0
    if args.watch:
        res, prog = watch(**kw, timeout_s=args.timeout, poll_s=args.poll, pause=pause)
        print(json.dumps({"simulation": asdict(res), "progress": asdict(prog)}, ensure_ascii=False, indent=2))
        return 0 if prog.complete else 1
    print(json.dumps(asdict(simulate(**kw)), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
