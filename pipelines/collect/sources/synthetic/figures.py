"""Articulated figures (keypoints) and thin lines (polylines) drawn on the synthetic image background.

Keypoints: each object is the spec's own skeleton laid out as a tree (bones of random length and bend), drawn as
thick bones in the class colour with a dot on every joint; its truth is every keypoint's pixel position with
COCO visibility 2 (drawn and visible) and the object's box. Polylines: road markings (autonomous-driving specs:
lines converging on a horizon, dashed where the class says 점선) or cracks (a jagged walk whose stroke width grows
with the class, which names a width band); the truth is each line's vertices in pixels.
Everything depends only on the item's generator, so an item is the same picture and truth on every run.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from pipelines.spec.models import DatasetSpec, Keypoints, Polyline

MAX_FIGURES = 3
_JOINT = ((255, 255, 255), 245)  # joint dots: white (grayscale level) on the coloured bones
# Lane-marking colours named in Korean class labels; other classes use the class palette colour.
_LANE_COLOURS = {"백색": (245, 245, 245), "황색": (250, 190, 0), "청색": (20, 80, 230)}


def draw(spec: DatasetSpec, canvas: Image.Image, rng: np.random.Generator, *, gray: bool,
         palette: tuple[tuple[int, int, int], ...], gray_levels: tuple[int, ...],
         colour_of: Callable[[str], int]) -> dict[str, Any] | None:
    """Draw this spec's figures or lines on ``canvas`` and return their truth; None for other annotation types.

    ``colour_of(label)`` is the palette index of a class (the image source's class style).
    """
    a = spec.annotation
    if isinstance(a, Keypoints):
        return _draw_figures(a, canvas, rng, gray=gray, palette=palette, gray_levels=gray_levels,
                             colour_of=colour_of)
    if isinstance(a, Polyline):
        return _draw_lines(spec, a, canvas, rng, gray=gray, palette=palette, gray_levels=gray_levels,
                           colour_of=colour_of)
    return None


# ------------------------------------------------------------------------------------------ keypoints


def _layout(a: Keypoints, rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """Unit-free joint positions: the skeleton as a tree grown from its best-connected joint.

    Children spread around their parent's direction, so left/right partners (siblings) land apart; joints the
    skeleton does not connect to the main tree hang off its root without a drawn bone.
    """
    adj: dict[str, list[str]] = defaultdict(list)
    for u, v in a.skeleton:
        adj[u].append(v)
        adj[v].append(u)
    order = {n: i for i, n in enumerate(a.keypoints)}
    root = max(a.keypoints, key=lambda n: (len(adj[n]), -order[n]))
    pos: dict[str, tuple[float, float]] = {root: (0.0, 0.0)}
    heading: dict[str, float] = {root: float(rng.uniform(0, 2 * math.pi))}
    pending = [root]
    while len(pos) < len(a.keypoints):
        while pending:
            n = pending.pop(0)
            kids = [k for k in sorted(adj[n], key=order.__getitem__) if k not in pos]
            if not kids:
                continue
            if n == root:
                angles = [heading[n] + 2 * math.pi * i / len(kids) for i in range(len(kids))]
            else:
                spread = min(0.8 * math.pi, 0.7 * (len(kids) - 1))
                angles = [heading[n] - spread / 2 + spread * i / max(len(kids) - 1, 1) if len(kids) > 1
                          else heading[n] for i in range(len(kids))]
            for k, base in zip(kids, angles, strict=True):
                ang = base + float(rng.uniform(-0.25, 0.25))
                length = float(rng.uniform(0.7, 1.3))
                x, y = pos[n]
                pos[k] = (x + length * math.cos(ang), y + length * math.sin(ang))
                heading[k] = ang
                pending.append(k)
        rest = [n for n in a.keypoints if n not in pos]
        if rest:  # another component of the skeleton: hang it off the root
            n = max(rest, key=lambda m: (len(adj[m]), -order[m]))
            ang = float(rng.uniform(0, 2 * math.pi))
            pos[n] = (0.6 * math.cos(ang), 0.6 * math.sin(ang))
            heading[n] = ang
            pending.append(n)
    return pos


def _draw_figures(a: Keypoints, canvas: Image.Image, rng: np.random.Generator, *, gray: bool,
                  palette: tuple[tuple[int, int, int], ...], gray_levels: tuple[int, ...],
                  colour_of: Callable[[str], int]) -> dict[str, Any]:
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    side = min(width, height)
    placed: list[tuple[float, float, float, float]] = []
    poses: list[dict[str, Any]] = []
    for _ in range(int(rng.integers(1, MAX_FIGURES + 1))):
        label = a.labels[int(rng.integers(len(a.labels)))]
        unit = _layout(a, rng)
        xs, ys = [p[0] for p in unit.values()], [p[1] for p in unit.values()]
        extent = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
        size = float(rng.uniform(0.25, 0.45)) * side
        margin = 0.06 * size
        scale = size / extent
        bw, bh = (max(xs) - min(xs)) * scale + 2 * margin, (max(ys) - min(ys)) * scale + 2 * margin
        for _try in range(30):
            x0 = float(rng.uniform(1, max(width - bw - 1, 2)))
            y0 = float(rng.uniform(1, max(height - bh - 1, 2)))
            box = (x0, y0, min(x0 + bw, width - 1.0), min(y0 + bh, height - 1.0))
            if all(box[2] + 4 < b[0] or b[2] + 4 < box[0] or box[3] + 4 < b[1] or b[3] + 4 < box[1]
                   for b in placed):
                break
        else:
            continue
        px = {n: (round(box[0] + margin + (x - min(xs)) * scale, 1), round(box[1] + margin + (y - min(ys)) * scale, 1))
              for n, (x, y) in unit.items()}
        k = colour_of(label)
        bone: int | tuple[int, int, int] = gray_levels[k] if gray else palette[k]
        joint: int | tuple[int, int, int] = _JOINT[1] if gray else _JOINT[0]
        for u, v in a.skeleton:
            draw.line([px[u], px[v]], fill=bone, width=max(3, round(0.03 * size)))
        r = max(2.0, 0.015 * size)
        for x, y in px.values():
            draw.ellipse([x - r, y - r, x + r, y + r], fill=joint, outline=bone)
        placed.append(box)
        poses.append({
            "label": label,
            "box": {"x": round(box[0], 1), "y": round(box[1], 1), "w": round(box[2] - box[0], 1),
                    "h": round(box[3] - box[1], 1)},
            "keypoints": [{"name": n, "x": px[n][0], "y": px[n][1], "visible": 2} for n in a.keypoints],
        })
    return {"poses": poses}


# ------------------------------------------------------------------------------------------ polylines


def _draw_lines(spec: DatasetSpec, a: Polyline, canvas: Image.Image, rng: np.random.Generator, *, gray: bool,
                palette: tuple[tuple[int, int, int], ...], gray_levels: tuple[int, ...],
                colour_of: Callable[[str], int]) -> dict[str, Any]:
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    n_points = max(a.min_points, 4)
    lines: list[dict[str, Any]] = []
    lanes = spec.field == "autonomous-driving"
    count = int(rng.integers(2, 5)) if lanes else int(rng.integers(1, 4))
    if lanes:  # markings converge on a vanishing point; spaced apart at the bottom edge
        vx, vy = float(rng.uniform(0.4, 0.6)) * width, float(rng.uniform(0.4, 0.5)) * height
        slots = np.linspace(0.05, 0.95, count + 1)
        bend = float(rng.uniform(-0.08, 0.08)) * width
        for i in range(count):
            xb = float(rng.uniform(slots[i], slots[i + 1] - 0.05)) * width
            ts = np.linspace(0.0, 0.8, n_points)
            pts = [(round(min(max(xb + (vx - xb) * t + bend * t * t, 0.0), width - 1.0), 1),
                    round((height - 1) + (vy - (height - 1)) * t, 1)) for t in ts]
            lines.append({"label": a.labels[int(rng.integers(len(a.labels)))], "pts": pts})
    else:  # cracks: a jagged walk, kept apart from the others
        side = min(width, height)
        placed: list[tuple[float, float, float, float]] = []
        for _ in range(count):
            for _try in range(30):
                x, y = float(rng.uniform(0.1, 0.9)) * width, float(rng.uniform(0.1, 0.9)) * height
                ang = float(rng.uniform(0, 2 * math.pi))
                pts = [(round(x, 1), round(y, 1))]
                for _step in range(n_points - 1):
                    ang += float(rng.uniform(-0.6, 0.6))
                    step = float(rng.uniform(0.06, 0.12)) * side
                    x = min(max(x + step * math.cos(ang), 0.0), width - 1.0)
                    y = min(max(y + step * math.sin(ang), 0.0), height - 1.0)
                    pts.append((round(x, 1), round(y, 1)))
                box = (min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts),
                       max(p[1] for p in pts))
                if len(set(pts)) == len(pts) and all(
                        box[2] + 0.03 * side < b[0] or b[2] + 0.03 * side < box[0]
                        or box[3] + 0.03 * side < b[1] or b[3] + 0.03 * side < box[1] for b in placed):
                    placed.append(box)
                    lines.append({"label": a.labels[int(rng.integers(len(a.labels)))], "pts": pts})
                    break
    for line in lines:
        label, pts = line["label"], line["pts"]
        k = colour_of(label)
        if lanes:
            rgb = next((c for word, c in _LANE_COLOURS.items() if word in label), palette[k])
            stroke = max(3, round(0.006 * width))
        else:  # cracks are dark; the class is a width band, so a wider class draws a wider stroke
            rgb = (35, 30, 30)
            stroke = max(2, round((1 + a.labels.index(label)) * 0.0015 * width))
        fill: int | tuple[int, int, int] = round(sum(rgb) / 3) if gray else rgb
        if lanes and "점선" in label:
            _dashed(draw, pts, fill=fill, stroke=stroke, dash=0.03 * height)
        else:
            draw.line(pts, fill=fill, width=stroke, joint="curve")
    return {"polylines": [{"label": ln["label"], "points": [{"x": x, "y": y} for x, y in ln["pts"]]}
                          for ln in lines]}


def _dashed(draw: ImageDraw.ImageDraw, pts: list[tuple[float, float]], *, fill: int | tuple[int, int, int],
            stroke: int, dash: float) -> None:
    """Alternate painted and bare stretches of ``dash`` pixels along the line (a 점선 marking)."""
    on, left = True, dash
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        seg = math.hypot(x1 - x0, y1 - y0)
        t = 0.0
        while t < seg:
            step = min(left, seg - t)
            if on:
                a0, a1 = t / seg, (t + step) / seg
                draw.line([(x0 + (x1 - x0) * a0, y0 + (y1 - y0) * a0), (x0 + (x1 - x0) * a1, y0 + (y1 - y0) * a1)],
                          fill=fill, width=stroke)
            t += step
            left -= step
            if left <= 0:
                on, left = not on, dash
