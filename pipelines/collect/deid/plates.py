"""Licence plates: a Korean-plate detector from contrast and shape, and OpenCV's plate cascade.

No plate detector with Korean training ships in a PyPI wheel that installs here (the maintained ones are YOLO
models downloaded at run time). So, two offline detectors:

- ``kr_contrast``: a Korean plate is a bright panel (white; yellow or green on older and commercial plates) with
  a row of 7-8 dark glyphs of equal height ("12가 3456", "123가 4567", "서울 12가 3456"), 4.7:1 (new) or 2.2:1
  (old) wide. Vertical-edge density closed horizontally gives candidate panels; a candidate is kept when it has
  that aspect ratio, a bright background and at least ``MIN_GLYPHS`` dark blobs of glyph height side by side.
  It catches plates seen roughly head-on, at least ~60 px wide, upright within ~15 degrees. It also fires on
  other short rows of dark characters on a light panel (signs, printed labels): those get masked too, which
  costs annotators some context and leaks nothing.
- ``haar_plate``: ``haarcascade_russian_plate_number.xml`` from the OpenCV wheel; trained on Russian plates
  (also white, a similar row of glyphs), it finds some Korean long plates and little else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

PLATE_MAX_SIDE = 1600
ASPECT = (1.8, 6.5)  # width / height of a plate panel, old (2.2) to new long plates (4.7) with slack for tilt
MIN_WIDTH = 48  # px at detection size
MIN_GLYPHS = 4
PLATE_CASCADE = "haarcascade_russian_plate_number.xml"


@dataclass(frozen=True)
class PlateBox:
    """A plate found: the box in pixels and the detector's name."""

    x: int
    y: int
    w: int
    h: int
    detector: str


def _gray(pixels: NDArray[Any]) -> NDArray[np.uint8]:
    if pixels.dtype != np.uint8:
        lo, hi = float(pixels.min()), float(pixels.max())
        pixels = ((pixels.astype(np.float64) - lo) * (255.0 / max(hi - lo, 1e-9))).astype(np.uint8)
    if pixels.ndim == 2:
        return np.asarray(pixels, dtype=np.uint8)
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def _rows(gray: NDArray[np.uint8]) -> list[tuple[int, int, int, int]]:
    """Boxes of rows of at least ``MIN_GLYPHS`` dark glyphs of one height on a brighter background."""
    ink = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)
    _n, _labels, stats, _centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    glyphs = [
        (int(x), int(y), int(w), int(h))
        for x, y, w, h, area in stats[1:]
        if 8 <= h <= 200 and 0.9 <= h / max(w, 1) <= 6 and 0.15 * w * h <= area <= 0.9 * w * h
    ]
    glyphs.sort()
    parent = list(range(len(glyphs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (x, y, w, h) in enumerate(glyphs):
        for j in range(i + 1, len(glyphs)):
            x2, y2, _w2, h2 = glyphs[j]
            if x2 - (x + w) > 1.2 * h:  # sorted by x: every later glyph is further away
                break
            same_size = 0.75 <= h2 / h <= 1.33
            same_line = abs((y + h / 2) - (y2 + h2 / 2)) <= 0.25 * h
            if same_size and same_line and x2 >= x + 0.5 * w:
                parent[root(j)] = root(i)
    groups: dict[int, list[tuple[int, int, int, int]]] = {}
    for i, g in enumerate(glyphs):
        groups.setdefault(root(i), []).append(g)
    rows: list[tuple[int, int, int, int]] = []
    for members in groups.values():
        if len(members) < MIN_GLYPHS:
            continue
        x0 = min(m[0] for m in members)
        y0 = min(m[1] for m in members)
        x1 = max(m[0] + m[2] for m in members)
        y1 = max(m[1] + m[3] for m in members)
        rows.append((x0, y0, x1 - x0, y1 - y0))
    return rows


def kr_contrast(pixels: NDArray[Any]) -> list[PlateBox]:
    """Rows of 4+ dark glyphs of one height on a bright panel, grown to the panel of a plate."""
    gray = _gray(pixels)
    h, w = gray.shape
    out: list[PlateBox] = []
    # two sizes: the adaptive threshold's 31 px window sees glyphs ~8-60 px high at each
    for max_side in (PLATE_MAX_SIDE, PLATE_MAX_SIDE // 3):
        scale = min(1.0, max_side / max(h, w))
        small = np.asarray(cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
                           if scale < 1 else gray, dtype=np.uint8)
        sh, sw = small.shape
        for x, y, bw, bh in _rows(small):
            # the panel: glyphs fill ~60-70 % of a plate's height and nearly all of its width
            px0, py0 = max(0, x - round(0.3 * bh)), max(0, y - round(0.35 * bh))
            px1, py1 = min(sw, x + bw + round(0.3 * bh)), min(sh, y + bh + round(0.35 * bh))
            pw, ph = px1 - px0, py1 - py0
            if pw < MIN_WIDTH * scale or not ASPECT[0] <= pw / max(ph, 1) <= ASPECT[1]:
                continue
            panel = small[py0:py1, px0:px1]
            lo, hi = np.percentile(panel, [10, 75])
            if hi < 110 or hi - lo < 50:  # a bright background, dark glyphs
                continue
            out.append(PlateBox(int(px0 / scale), int(py0 / scale), round(pw / scale), round(ph / scale),
                                "kr_contrast"))
        if scale == 1.0:
            break
    return out


@functools.cache
def _plate_cascade() -> cv2.CascadeClassifier:
    path = f"{cv2.data.haarcascades}{PLATE_CASCADE}"  # type: ignore[attr-defined]  # missing from cv2 stubs
    clf = cv2.CascadeClassifier(path)
    if clf.empty():
        raise RuntimeError(f"OpenCV could not load {path}")
    return clf


def haar_plate(pixels: NDArray[Any]) -> list[PlateBox]:
    """Plates found by OpenCV's (Russian) plate cascade."""
    gray = _gray(pixels)
    h, w = gray.shape
    scale = min(1.0, PLATE_MAX_SIDE / max(h, w))
    small = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else gray
    found = _plate_cascade().detectMultiScale(cv2.equalizeHist(small), scaleFactor=1.1, minNeighbors=4,
                                              minSize=(48, 12))
    return [PlateBox(int(x / scale), int(y / scale), round(bw / scale), round(bh / scale), "haar_plate")
            for x, y, bw, bh in (found if len(found) else [])]


PLATE_DETECTORS: dict[str, Callable[[NDArray[Any]], list[PlateBox]]] = {
    "kr_contrast": kr_contrast,
    "haar_plate": haar_plate,
}


def find_plates(pixels: NDArray[Any]) -> list[PlateBox]:
    """Plates found by every detector of ``PLATE_DETECTORS`` (a plate either finds is masked)."""
    return [box for detect in PLATE_DETECTORS.values() for box in detect(pixels)]
