"""Filled shapes on a muted gradient: each class is one (shape, colour) pair; boxes are known exactly."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from pipelines.collect.sources.synthetic import figures
from pipelines.collect.sources.synthetic._common import choice, item_rng
from pipelines.collect.sources.synthetic.dicom import make_dicom
from pipelines.collect.sources.synthetic.meta import sample_label, sample_labels
from pipelines.spec.models import (
    BBox,
    Classification,
    DatasetSpec,
    ImageModality,
    MultiLabel,
    Polygon,
    Segmentation,
)

SHAPES = ("rectangle", "ellipse", "triangle", "diamond", "hexagon", "star")
# Saturated colours, far from the muted backgrounds; index 0..9.
PALETTE = (
    (220, 30, 30),
    (30, 90, 220),
    (20, 170, 60),
    (240, 200, 0),
    (150, 40, 200),
    (255, 120, 0),
    (0, 190, 200),
    (230, 40, 150),
    (110, 60, 20),
    (10, 10, 10),
)
GRAY_LEVELS = (15, 245, 45, 215, 75, 185, 0, 255, 30, 230)
# PIL format name and file extension of each spec format we can write.
WRITERS = {
    "jpeg": ("JPEG", "jpg"),
    "png": ("PNG", "png"),
    "webp": ("WEBP", "webp"),
    "tiff": ("TIFF", "tiff"),
    "bmp": ("BMP", "bmp"),
}
MAX_OBJECTS = 6


def class_style(spec_labels: list[str], label: str) -> tuple[str, int]:
    """(shape, palette index) of a class; distinct for up to 60 classes (6 shapes x 10 colours)."""
    k = spec_labels.index(label)
    s, p = len(SHAPES), len(PALETTE)
    # (s + 1) and p are coprime, so k -> (k % s, (k + k // s) % p) is one-to-one for k < s * p.
    return SHAPES[k % s], (k + k // s) % p


def writable_formats(mod: ImageModality) -> list[str]:
    return [f for f in mod.formats if f in WRITERS or f == "dicom"]


def make_image(
    spec: DatasetSpec, mod: ImageModality, *, seed: int, index: int, scale: float = 1.0
) -> tuple[bytes, str, dict[str, Any] | None]:
    """(encoded bytes, extension, truth) of item ``index``; ``scale`` < 1 renders an undersized image."""
    rng = item_rng(seed, index, "image")
    fmt = choice(rng, writable_formats(mod))
    width, height = max(1, int(mod.min_width * scale)), max(1, int(mod.min_height * scale))
    gray = mod.color == "grayscale"
    canvas = background(rng, width, height, gray=gray)
    draw = ImageDraw.Draw(canvas)
    placed: list[tuple[int, int, int, int]] = []
    objects: list[dict[str, Any]] = []
    polygons: list[dict[str, Any]] = []
    # keypoint figures and polylines are drawn (and their truth written) by their own module
    drawn = figures.draw(spec, canvas, rng, gray=gray, palette=PALETTE, gray_levels=GRAY_LEVELS,
                         colour_of=lambda label: class_style(spec.labels, label)[1])
    for label in [] if drawn is not None else _object_labels(spec, rng):
        shape, colour = class_style(spec.labels, label)
        pts = _place(rng, shape, width, height, placed, min_px=getattr(spec.annotation, "min_box_px", 4))
        if pts is None:
            continue
        fill: int | tuple[int, int, int] = GRAY_LEVELS[colour] if gray else PALETTE[colour]
        draw.polygon(pts, fill=fill)
        x0, y0 = min(p[0] for p in pts), min(p[1] for p in pts)
        x1, y1 = max(p[0] for p in pts), max(p[1] for p in pts)
        placed.append((x0, y0, x1, y1))
        objects.append({"label": label, "x": x0, "y": y0, "w": x1 - x0 + 1, "h": y1 - y0 + 1})
        polygons.append({"label": label, "points": [{"x": x, "y": y} for x, y in pts]})
    if fmt == "dicom":  # the same picture and truth, in the DICOM pixel grid
        data = make_dicom(canvas, opts=mod.dicom_options(), seed=seed, index=index)
        return data, "dcm", drawn if drawn is not None else _truth(spec, objects, polygons)
    buf = io.BytesIO()
    pil_format, ext = WRITERS[fmt]
    save_kw: dict[str, Any] = {"quality": 92} if pil_format in ("JPEG", "WEBP") else {}
    canvas.save(buf, format=pil_format, **save_kw)
    return buf.getvalue(), ext, drawn if drawn is not None else _truth(spec, objects, polygons)


def _truth(
    spec: DatasetSpec, objects: list[dict[str, Any]], polygons: list[dict[str, Any]]
) -> dict[str, Any] | None:
    a = spec.annotation
    if isinstance(a, BBox):
        return {"objects": objects}
    if isinstance(a, Polygon):  # outlined with as many points as the spec asks an annotator to click
        return {"polygons": [{**p, "points": densified(p["points"], a.min_points)} for p in polygons]}
    if isinstance(a, Segmentation):  # a segmentation's masks are these filled polygons
        return {"polygons": polygons}
    if isinstance(a, Classification):
        return {"label": objects[0]["label"]} if objects else None
    if isinstance(a, MultiLabel):
        return {"labels": sorted({o["label"] for o in objects})}
    return None  # other annotation types: media only, no ground truth yet


def densified(points: list[dict[str, int]], at_least: int) -> list[dict[str, int]]:
    """The same outline with at least ``at_least`` distinct points: the longest edge is split at its middle
    until there are enough (a triangle drawn for a spec whose polygons need 4 points is outlined with 4, as an
    annotator would click it)."""
    out = list(points)
    while len(out) < at_least:
        n = len(out)
        k = max(range(n), key=lambda j: (out[j]["x"] - out[(j + 1) % n]["x"]) ** 2
                + (out[j]["y"] - out[(j + 1) % n]["y"]) ** 2)
        a, b = out[k], out[(k + 1) % n]
        if abs(a["x"] - b["x"]) < 2 and abs(a["y"] - b["y"]) < 2:  # no edge long enough for a distinct middle
            break
        out.insert(k + 1, {"x": round((a["x"] + b["x"]) / 2), "y": round((a["y"] + b["y"]) / 2)})
    return out


def _object_labels(spec: DatasetSpec, rng: np.random.Generator) -> list[str]:
    a = spec.annotation
    if not spec.labels:
        return []
    if isinstance(a, Classification):
        label = sample_label(spec, rng)
        return [label] * int(rng.integers(1, 4))
    if isinstance(a, MultiLabel):
        return sample_labels(spec, a, rng)
    limit = min(MAX_OBJECTS, getattr(a, "max_objects", MAX_OBJECTS))
    return [sample_label(spec, rng) for _ in range(int(rng.integers(1, limit + 1)))]


def background(rng: np.random.Generator, width: int, height: int, *, gray: bool) -> Image.Image:
    """A two-colour linear gradient at a random angle (also the still scene of synthetic clips)."""
    # Muted (low-saturation, mid-brightness) colours so every palette colour stands out.
    c0 = rng.integers(90, 170, size=3).astype(np.float32)
    c1 = np.clip(c0 + rng.integers(-40, 41, size=3), 70, 190).astype(np.float32)
    angle = float(rng.uniform(0, 2 * math.pi))
    # a linear ramp along `angle`, built from one row and one column (no full-size coordinate grids)
    xs = np.arange(width, dtype=np.float32) * (math.cos(angle) / max(width, 1))
    ys = np.arange(height, dtype=np.float32) * (math.sin(angle) / max(height, 1))
    t = ys[:, None] + xs[None, :]
    t -= t.min()
    t /= max(float(t.max()), 1e-6)
    if gray:
        g0, g1 = float(c0.mean()), float(c1.mean())
        return Image.fromarray((g0 + (g1 - g0) * t).astype(np.uint8), mode="L")
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    for c in range(3):
        rgb[..., c] = (c0[c] + (c1[c] - c0[c]) * t).astype(np.uint8)
    return Image.fromarray(rgb, mode="RGB")


def _place(
    rng: np.random.Generator,
    shape: str,
    width: int,
    height: int,
    placed: list[tuple[int, int, int, int]],
    *,
    min_px: int,
) -> list[tuple[int, int]] | None:
    """Vertices of a shape that fits inside the image without touching the shapes already placed."""
    side = min(width, height)
    lo = max(min_px * 2, int(side * 0.08))
    hi = max(lo + 1, int(side * 0.3))
    if hi > side - 2:
        return None
    for _ in range(30):
        size = int(rng.integers(lo, hi))
        cx = int(rng.integers(size // 2 + 1, width - size // 2 - 1))
        cy = int(rng.integers(size // 2 + 1, height - size // 2 - 1))
        pts = vertices(shape, cx, cy, size, float(rng.uniform(0, 2 * math.pi)))
        pts = [(min(max(x, 0), width - 1), min(max(y, 0), height - 1)) for x, y in pts]
        box = (min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts))
        if all(
            box[2] + 2 < b[0] or b[2] + 2 < box[0] or box[3] + 2 < b[1] or b[3] + 2 < box[1] for b in placed
        ):
            return pts
    return None


def vertices(shape: str, cx: int, cy: int, size: int, angle: float) -> list[tuple[int, int]]:
    """The polygon of a class shape of ``size`` pixels centred on (cx, cy)."""
    r = size / 2
    if shape == "rectangle":  # axis-aligned, so its box is the shape
        h = r * 0.7
        return [
            (round(cx - r), round(cy - h)),
            (round(cx + r), round(cy - h)),
            (round(cx + r), round(cy + h)),
            (round(cx - r), round(cy + h)),
        ]
    if shape == "star":
        return [
            (
                round(cx + (r if k % 2 == 0 else r * 0.45) * math.cos(angle + k * math.pi / 5)),
                round(cy + (r if k % 2 == 0 else r * 0.45) * math.sin(angle + k * math.pi / 5)),
            )
            for k in range(10)
        ]
    n = {"ellipse": 28, "triangle": 3, "diamond": 4, "hexagon": 6}[shape]
    ry = r * 0.65 if shape == "ellipse" else r
    if shape == "diamond":  # upright and narrow, so it never looks like the rectangle class
        return [
            (cx, round(cy - r)),
            (round(cx + 0.7 * r), cy),
            (cx, round(cy + r)),
            (round(cx - 0.7 * r), cy),
        ]
    return [
        (
            round(cx + r * math.cos(angle + 2 * math.pi * k / n)),
            round(cy + ry * math.sin(angle + 2 * math.pi * k / n)),
        )
        for k in range(n)
    ]
