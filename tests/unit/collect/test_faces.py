"""Face recall and false positives on real photographs that ship in wheels (tests/data/faces/README.md).

Every case goes through ``deid_image`` as a PNG (lossless: a pixel that changed was masked). A face counts as
masked when at least half of its hand-drawn box changed; a false positive is a masked region that overlaps no
face. The floors below are what the detectors achieved when they were written (see docs/adr/0011-*); the
report is printed with ``pytest -s``.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from pipelines.collect.deid import deid_image, regions_in
from pipelines.collect.deid import faces as F
from pipelines.collect.deid.image import Region, _padded

pytestmark = pytest.mark.unit

DATA = Path(__file__).parents[2] / "data" / "faces"
TRUTH = json.loads((DATA / "ground_truth.json").read_text())
Box = tuple[int, int, int, int]


def _package_file(rel: str) -> Path:
    package, _, rest = rel.partition("/")
    spec = find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / rest


@cache
def _load(rel: str) -> np.ndarray:
    if rel.endswith(".npy"):
        return np.asarray(np.load(_package_file(rel)) * 255, dtype=np.uint8)
    with Image.open(_package_file(rel)) as im:
        return np.asarray(im.convert("RGB"))


def _grid(
    crops: np.ndarray, size: int, cell: int, canvas: np.ndarray, x0: int, y0: int
) -> tuple[np.ndarray, list[Box]]:
    out, boxes = canvas.copy(), []
    for i, crop in enumerate(crops):
        r, c = divmod(i, 10)
        face = cv2.resize(crop, (size, size), interpolation=cv2.INTER_CUBIC if size > 25 else cv2.INTER_AREA)
        x, y = x0 + c * cell + (cell - size) // 2, y0 + r * cell + (cell - size) // 2
        out[y : y + size, x : x + size] = face[..., None]
        boxes.append((x, y, size, size))
    return out, boxes


def _apply(img: np.ndarray, boxes: list[Box], step: list[Any]) -> tuple[np.ndarray, list[Box]]:
    op, *args = step
    h, w = img.shape[:2]
    if op == "rot90":  # counter-clockwise quarter turns, as np.rot90: (x, y) -> (y, W - 1 - x)
        for _ in range(args[0]):
            img, boxes = np.rot90(img), [(y, w - x - bw, bh, bw) for x, y, bw, bh in boxes]
            h, w = w, h
        return np.ascontiguousarray(img), boxes
    if op == "mirror":
        return np.ascontiguousarray(img[:, ::-1]), [(w - x - bw, y, bw, bh) for x, y, bw, bh in boxes]
    if op == "scale":
        f = args[0]
        img = cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        return img, [(round(x * f), round(y * f), round(bw * f), round(bh * f)) for x, y, bw, bh in boxes]
    if op == "stretch":
        fx, fy = args
        img = cv2.resize(img, (round(w * fx), round(h * fy)), interpolation=cv2.INTER_AREA)
        return img, [(round(x * fx), round(y * fy), round(bw * fx), round(bh * fy)) for x, y, bw, bh in boxes]
    if op == "crop":  # a face cut by the frame counts while at least 30 % of it is in the picture
        x0, y0, x1, y1 = args
        kept = []
        for x, y, bw, bh in boxes:
            cx0, cy0, cx1, cy1 = max(x, x0), max(y, y0), min(x + bw, x1), min(y + bh, y1)
            if (cx1 - cx0) * (cy1 - cy0) >= 0.3 * bw * bh:
                kept.append((cx0 - x0, cy0 - y0, cx1 - cx0, cy1 - cy0))
        return np.ascontiguousarray(img[y0:y1, x0:x1]), kept
    if op == "occlude":
        x0, y0, x1, y1 = args
        img = img.copy()
        img[y0:y1, x0:x1] = 90
        return img, boxes
    if op == "tilt":  # turned about the centre; the face's box becomes the box around its turned inner 80 %
        m = cv2.getRotationMatrix2D((w / 2, h / 2), args[0], 1.0)
        img = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        turned = []
        for x, y, bw, bh in boxes:
            cx, cy = x + bw / 2, y + bh / 2
            pts = np.array([[cx + sx * 0.4 * bw, cy + sy * 0.4 * bh, 1] for sx in (-1, 1) for sy in (-1, 1)])
            p = pts @ m.T
            turned.append((int(p[:, 0].min()), int(p[:, 1].min()), int(np.ptp(p[:, 0])), int(np.ptp(p[:, 1]))))
        return img, turned
    if op == "paste":
        bg_file, cw, ch, px, py = args
        canvas = cv2.resize(_load(bg_file), (cw, ch), interpolation=cv2.INTER_CUBIC)
        canvas[py : py + h, px : px + w] = img if img.ndim == 3 else img[..., None]
        return canvas, [(x + px, y + py, bw, bh) for x, y, bw, bh in boxes]
    raise AssertionError(f"unknown step {op}")


def _case(case: dict[str, Any]) -> tuple[np.ndarray, list[Box]]:
    photo = TRUTH["photos"][case["photo"]]
    if case["photo"].startswith("lfw_"):
        crops = _load(photo["file"])[:100] if case["photo"] == "lfw_faces" else _load(photo["file"])[100:]
        op, size, cell, *where = case["steps"][0]
        if op == "grid":
            img, boxes = _grid(crops, size, cell, np.full((10 * cell, 10 * cell, 3), 128, np.uint8), 0, 0)
        else:
            bg_file, cw, ch, x0, y0 = where
            img, boxes = _grid(crops, size, cell, cv2.resize(_load(bg_file), (cw, ch)), x0, y0)
        return img, boxes if case["photo"] == "lfw_faces" else []
    img, boxes = _load(photo["file"]), [tuple(b) for b in photo["faces"]]
    for step in case["steps"]:
        img, boxes = _apply(img, boxes, step)
    return img, boxes


@dataclass(frozen=True)
class Outcome:
    name: str
    faces: int
    masked: int  # faces at least half masked in the output
    by_primary: int  # of those, masked by CenterFace's regions alone
    false_positives: int  # masked regions that overlap no face
    false_by_recheck: int  # of those, added by the Haar re-check
    left: int  # what the re-check still finds in the output (must be 0)


def _overlap(r: Region, b: Box) -> int:
    ix = min(r.x + r.w, b[0] + b[2]) - max(r.x, b[0])
    iy = min(r.y + r.h, b[1] + b[3]) - max(r.y, b[1])
    return max(0, ix) * max(0, iy)


def _run(name: str, img: np.ndarray, boxes: list[Box]) -> Outcome:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    out, regions = deid_image(buf.getvalue(), targets=["faces"])
    after = np.asarray(Image.open(io.BytesIO(out)).convert("RGB"))
    changed = np.any(after != img, axis=2)
    primary = np.zeros_like(changed)
    for r in regions:
        if r.detector == F.PRIMARY:
            x0, y0, x1, y1 = _padded(r, changed.shape[1], changed.shape[0])
            primary[y0:y1, x0:x1] = True

    def share(mask: np.ndarray, b: Box) -> float:
        return float(mask[b[1] : b[1] + b[3], b[0] : b[0] + b[2]].mean())

    false = [r for r in regions if all(_overlap(r, b) < 0.2 * r.w * r.h for b in boxes)]
    return Outcome(
        name=name,
        faces=len(boxes),
        masked=sum(share(changed, b) >= 0.5 for b in boxes),
        by_primary=sum(share(primary & changed, b) >= 0.5 for b in boxes),
        false_positives=len(false),
        false_by_recheck=sum(r.detector != F.PRIMARY for r in false),
        left=len(regions_in(out, targets=["faces"])),
    )


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    runs = [_run(c["name"], *_case(c)) for c in TRUTH["cases"]]
    runs += [_run(rel, _load(rel), []) for rel in TRUTH["negatives"]]
    print("\ncase | faces | masked | by CenterFace | false positives (by re-check)")
    for o in runs:
        print(f"{o.name} | {o.faces} | {o.masked} | {o.by_primary} | {o.false_positives} ({o.false_by_recheck})")
    return runs


def _recall(runs: list[Outcome], *, primary: bool = False) -> float:
    faces = sum(o.faces for o in runs)
    return sum(o.by_primary if primary else o.masked for o in runs) / faces


def test_nearly_every_face_of_the_set_is_masked(outcomes: list[Outcome]) -> None:
    faces = sum(o.faces for o in outcomes)
    assert faces == 316  # 16 single-face cases, 3 crowds of 100
    assert _recall(outcomes) >= 0.99  # measured: 314 of 316
    assert _recall(outcomes, primary=True) >= 0.99  # CenterFace alone: the same 314


def test_every_single_face_case_is_masked(outcomes: list[Outcome]) -> None:
    """Turned, tilted, mirrored, profile, lowered, 12 and 24 px, half out of frame, half covered: each one masked."""
    missed = [o.name for o in outcomes if o.faces == 1 and o.masked == 0]
    assert missed == []


def test_small_faces_in_a_crowd_are_masked(outcomes: list[Outcome]) -> None:
    crowds = {o.name: o for o in outcomes if o.faces == 100}
    assert crowds["100 faces at 25 px (a crowd)"].masked >= 98
    assert crowds["100 faces at 48 px on a photograph"].masked >= 98
    assert crowds["100 faces at 25 px in a 1080p frame"].masked >= 95  # measured: 98 (85 without the 1.25x pass)


def test_photographs_without_people_stay_almost_untouched(outcomes: list[Outcome]) -> None:
    negatives = [o for o in outcomes if o.faces == 0]
    assert len(negatives) == 12
    assert sum(o.false_positives for o in negatives) <= 5  # measured: 5 (3 by the Haar re-check on coins)
    # what CenterFace finds where there is no face, in every case: measured 6 boxes in 31 images
    assert sum(o.false_positives - o.false_by_recheck for o in outcomes) <= 6


def test_the_recheck_finds_nothing_in_any_output(outcomes: list[Outcome]) -> None:
    assert [o.name for o in outcomes if o.left] == []
