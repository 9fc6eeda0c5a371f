"""Shapes moving across a still gradient (a fixed camera): the image generator's classes, set in motion.

Each object keeps to its own horizontal lane and bounces between the frame's edges, so objects never overlap and
every box is known exactly. Ground truth by annotation type:

- ``bbox``: ``{"tracks": [{"track", "label", "boxes": [{"frame", "t", "x", "y", "w", "h"}]}]}``, boxes on the
  keyframes (frames sampled at ``modality.annotation_fps``, see ``pipelines.collect.video.keyframe_indices``);
- ``polygon``: ``{"keyframes": [{"frame", "t", "polygons": [{"label", "points": [{"x", "y"}]}]}]}``, one entry per
  keyframe, in the order de-identification lists the keyframe images (``meta.frames``);
- ``keypoints``: ``{"keyframes": [{"frame", "t", "poses": [{"label", "box", "keypoints"}]}]}``: articulated
  figures (the image generator's skeleton layouts) walking along their lanes, drawn as bones with a dot on each
  joint; one entry per keyframe, in ``meta.frames`` order;
- ``temporal_events``: ``{"events": [{"label", "start", "end"}]}`` in seconds: each event is an object of its
  class that is on screen from ``start`` to ``end`` (and only then);
- ``classification`` / ``multi_label``: ``{"label"}`` / ``{"labels"}``, the classes of the objects shown;
- other types: None (media only, as for images).

Frames are drawn and encoded one at a time; the clip runs at the spec's minimum frame rate (rounded up to a whole
number) for its minimum duration plus up to half a second, at its minimum size (rounded up to even numbers,
which the MPEG-4 encoder needs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from pipelines.collect.sources.synthetic._common import choice, item_rng
from pipelines.collect.sources.synthetic.image import PALETTE, background, class_style, vertices
from pipelines.collect.sources.synthetic.meta import planned_label, sample_label, sample_labels
from pipelines.collect.video import DETERMINISTIC, FOURCC, keyframe_indices, scratch_dir, write_clip
from pipelines.spec.models import (
    BBox,
    Classification,
    DatasetSpec,
    Keypoints,
    MultiLabel,
    Polygon,
    TemporalEvents,
    VideoModality,
)

WRITERS = tuple(FOURCC)  # the containers OpenCV's encoders write
MAX_OBJECTS = 6
MIN_SIDE = 16  # the smallest frame the MPEG-4 encoder writes


def writable_formats(mod: VideoModality) -> list[str]:
    """The spec's containers this generator can write; byte-reproducible ones only, when the spec allows one."""
    ok: list[str] = [f for f in mod.formats if f in WRITERS]
    return [f for f in ok if f in DETERMINISTIC] or ok


def clip_fps(mod: VideoModality) -> float:
    """The frame rate synthetic clips are written at: the spec's minimum, rounded up to a whole number."""
    return float(max(1, math.ceil(mod.min_fps - 1e-6)))


@dataclass(frozen=True)
class _Mover:
    """One object: its class, look, lane and motion, and the frames it is on screen (inclusive)."""

    label: str
    shape: str
    colour: tuple[int, int, int]  # BGR
    size: int
    cy: int
    x0: float
    vx: float  # pixels per frame
    angle: float
    first: int
    last: int

    def points(self, frame: int, width: int, height: int) -> list[tuple[int, int]]:
        travel = max(1, width - self.size - 2)
        pos = (self.x0 + self.vx * frame) % (2 * travel)
        pos = 2 * travel - pos if pos > travel else pos  # bounce off the edges
        cx = round(self.size / 2 + 1 + pos)
        pts = vertices(self.shape, cx, self.cy, self.size, self.angle)
        return [(min(max(x, 0), width - 1), min(max(y, 0), height - 1)) for x, y in pts]


def make_video(
    spec: DatasetSpec,
    mod: VideoModality,
    *,
    seed: int,
    index: int,
    scale: float = 1.0,
    duration_s: float | None = None,
) -> tuple[bytes, str, dict[str, Any] | None]:
    """(encoded clip, extension, truth) of item ``index``; ``scale`` < 1 or a short ``duration_s`` make defects."""
    rng = item_rng(seed, index, "video")
    fmt = choice(rng, writable_formats(mod))
    width, height = _even(mod.min_width * scale), _even(mod.min_height * scale)
    fps = clip_fps(mod)
    if duration_s is None:
        frames = math.ceil(mod.min_duration_s * fps - 1e-6) + int(rng.integers(0, int(fps // 2) + 1))
        frames = min(frames, max(1, math.floor(mod.max_duration_s * fps + 1e-6)))
    else:
        frames = max(1, math.ceil(duration_s * fps - 1e-6))
    a = spec.annotation
    movers = [] if isinstance(a, Keypoints) else _movers(spec, rng, width, height, frames, fps, seed=seed, index=index)
    walkers = _walkers(a, rng, width, height, frames) if isinstance(a, Keypoints) else []
    bg = np.ascontiguousarray(np.asarray(background(rng, width, height, gray=False))[..., ::-1])
    with scratch_dir() as tmp:
        path = tmp / f"clip.{fmt}"
        with write_clip(path, ext=fmt, fps=fps, width=width, height=height) as write:
            for f in range(frames):
                frame = bg.copy()
                for m in movers:
                    if m.first <= f <= m.last:
                        cv2.fillPoly(frame, [np.array(m.points(f, width, height), dtype=np.int32)], m.colour)
                for wk in walkers:
                    wk.draw(frame, f, width)
                write(frame)
        data = path.read_bytes()
    if walkers:
        keyframes = keyframe_indices(frames, fps, mod.annotation_fps)
        return data, fmt, {"keyframes": [{"frame": f, "t": round(f / fps, 4),
                                          "poses": [wk.pose(f, width) for wk in walkers]} for f in keyframes]}
    return data, fmt, _truth(spec, mod, movers, width, height, frames, fps)


def _even(value: float) -> int:
    v = max(MIN_SIDE, math.ceil(value - 1e-6))
    return v + v % 2


def _labels(spec: DatasetSpec, rng: np.random.Generator, *, seed: int, index: int) -> list[str]:
    a = spec.annotation
    if not spec.labels:
        return []
    if isinstance(a, Classification):
        return [planned_label(spec, seed=seed, index=index)] * int(rng.integers(1, 4))
    if isinstance(a, MultiLabel):
        return sample_labels(spec, a, rng)
    if isinstance(a, TemporalEvents):
        return [sample_label(spec, rng) for _ in range(int(rng.integers(1, 4)))]
    limit = min(MAX_OBJECTS, getattr(a, "max_objects", MAX_OBJECTS))
    return [sample_label(spec, rng) for _ in range(int(rng.integers(1, limit + 1)))]


def _movers(
    spec: DatasetSpec,
    rng: np.random.Generator,
    width: int,
    height: int,
    frames: int,
    fps: float,
    *,
    seed: int,
    index: int,
) -> list[_Mover]:
    labels = _labels(spec, rng, seed=seed, index=index)
    side = min(width, height)
    lo = max(getattr(spec.annotation, "min_box_px", 4) * 2, int(side * 0.08))
    lanes = min(len(labels), height // (lo + 4))
    if lanes == 0:
        return []
    lane_h = height // lanes
    hi = max(lo + 1, min(int(side * 0.3), lane_h - 3))
    a = spec.annotation
    event_frames = max(1, math.ceil(a.min_event_s * fps - 1e-6)) if isinstance(a, TemporalEvents) else frames
    out: list[_Mover] = []
    for k, label in enumerate(labels[:lanes]):
        shape, colour = class_style(spec.labels, label)
        size = int(rng.integers(lo, hi))
        speed = float(rng.uniform(0.5, 2.0)) * width / max(frames, 1) * (1 if rng.random() < 0.5 else -1)
        length = frames
        if isinstance(a, TemporalEvents):
            length = int(rng.integers(min(event_frames, frames), frames + 1))
        first = int(rng.integers(0, frames - length + 1))
        r, g, b = PALETTE[colour]
        out.append(
            _Mover(
                label=label,
                shape=shape,
                colour=(b, g, r),
                size=size,
                cy=k * lane_h + lane_h // 2,
                x0=float(rng.uniform(0, max(1, width - size - 2))),
                vx=speed,
                angle=float(rng.uniform(0, 2 * math.pi)),
                first=first,
                last=first + length - 1,
            )
        )
    return out


def _truth(
    spec: DatasetSpec,
    mod: VideoModality,
    movers: list[_Mover],
    width: int,
    height: int,
    frames: int,
    fps: float,
) -> dict[str, Any] | None:
    a = spec.annotation
    keyframes = keyframe_indices(frames, fps, mod.annotation_fps)
    if isinstance(a, BBox):
        tracks = []
        for k, m in enumerate(movers):
            boxes = []
            for f in keyframes:
                if m.first <= f <= m.last:
                    pts = m.points(f, width, height)
                    x0, y0 = min(p[0] for p in pts), min(p[1] for p in pts)
                    x1, y1 = max(p[0] for p in pts), max(p[1] for p in pts)
                    boxes.append({"frame": f, "t": round(f / fps, 4), "x": x0, "y": y0, "w": x1 - x0 + 1,
                                  "h": y1 - y0 + 1})
            tracks.append({"track": k, "label": m.label, "boxes": boxes})
        return {"tracks": tracks}
    if isinstance(a, Polygon):
        return {
            "keyframes": [
                {
                    "frame": f,
                    "t": round(f / fps, 4),
                    "polygons": [
                        {"label": m.label, "points": [{"x": x, "y": y} for x, y in m.points(f, width, height)]}
                        for m in movers
                        if m.first <= f <= m.last
                    ],
                }
                for f in keyframes
            ]
        }
    if isinstance(a, TemporalEvents):
        events = [{"label": m.label, "start": round(m.first / fps, 4), "end": round((m.last + 1) / fps, 4)}
                  for m in movers]
        return {"events": sorted(events, key=lambda e: (e["start"], e["end"], e["label"]))}
    if isinstance(a, Classification):
        return {"label": movers[0].label} if movers else None
    if isinstance(a, MultiLabel):
        return {"labels": sorted({m.label for m in movers})}
    return None


@dataclass(frozen=True)
class _Walker:
    """An articulated figure sliding along its lane (bouncing off the edges), its pose fixed."""

    label: str
    colour: tuple[int, int, int]  # BGR
    joints: dict[str, tuple[float, float]]  # pixels, relative to the box's top-left corner
    skeleton: list[tuple[str, str]]
    bw: float
    bh: float
    y0: float
    x0: float
    vx: float

    def left(self, frame: int, width: int) -> float:
        travel = max(1.0, width - self.bw - 2)
        pos = (self.x0 + self.vx * frame) % (2 * travel)
        return 1.0 + (2 * travel - pos if pos > travel else pos)

    def draw(self, canvas: np.ndarray[Any, Any], frame: int, width: int) -> None:
        x0 = self.left(frame, width)
        pts = {n: (round(x0 + x), round(self.y0 + y)) for n, (x, y) in self.joints.items()}
        thick = max(2, round(0.04 * min(self.bw, self.bh)))
        for u, v in self.skeleton:
            cv2.line(canvas, pts[u], pts[v], self.colour, thick)
        r = max(2, round(0.025 * min(self.bw, self.bh)))
        for p in pts.values():
            cv2.circle(canvas, p, r, (255, 255, 255), -1)

    def pose(self, frame: int, width: int) -> dict[str, Any]:
        x0 = self.left(frame, width)
        return {"label": self.label,
                "box": {"x": round(x0, 1), "y": round(self.y0, 1), "w": round(self.bw, 1), "h": round(self.bh, 1)},
                "keypoints": [{"name": n, "x": round(x0 + x, 1), "y": round(self.y0 + y, 1), "visible": 2}
                              for n, (x, y) in self.joints.items()]}


def _walkers(a: Keypoints, rng: np.random.Generator, width: int, height: int, frames: int) -> list[_Walker]:
    """One to three figures, each in its own horizontal lane, moving a frame-width or two over the clip."""
    from pipelines.collect.sources.synthetic.figures import _layout

    count = int(rng.integers(1, 4))
    lane_h = height / count
    out = []
    for k in range(count):
        label = a.labels[int(rng.integers(len(a.labels)))]
        unit = _layout(a, rng)
        xs, ys = [p[0] for p in unit.values()], [p[1] for p in unit.values()]
        extent = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
        size = min(float(rng.uniform(0.6, 0.85)) * lane_h, 0.4 * width)
        margin = 0.06 * size
        scale = size / extent
        joints = {n: (margin + (x - min(xs)) * scale, margin + (y - min(ys)) * scale) for n, (x, y) in unit.items()}
        bw, bh = (max(xs) - min(xs)) * scale + 2 * margin, (max(ys) - min(ys)) * scale + 2 * margin
        _, colour = class_style(list(a.labels), label)
        r, g, b = PALETTE[colour]
        out.append(_Walker(label=label, colour=(b, g, r), joints={n: joints[n] for n in a.keypoints},
                           skeleton=[(u, v) for u, v in a.skeleton], bw=bw, bh=bh,
                           y0=k * lane_h + (lane_h - bh) / 2, x0=float(rng.uniform(0, max(1.0, width - bw - 2))),
                           vx=float(rng.uniform(0.3, 1.0)) * width / max(frames, 1) * rng.choice((-1, 1))))
    return out
