"""Licence plates: what the offline detectors catch, honestly.

No wheel ships a photograph of a Korean plate, so the plate is drawn: a white 520x110 mm panel (4.7:1) with
"12" + a 가-like glyph + "3456" in black, pasted into real photographs at several widths. The negatives are the
photographs of the face test set (tests/data/faces/README.md).
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data

from pipelines.collect.deid import deid_image
from pipelines.collect.deid.plates import find_plates, kr_contrast

pytestmark = pytest.mark.unit

INK = (15, 15, 15)


def _plate(width: int) -> np.ndarray:
    h = round(width / 4.7)
    p = np.full((h, width, 3), 245, np.uint8)
    cv2.rectangle(p, (0, 0), (width - 1, h - 1), (40, 40, 40), 1)
    th = max(1, h // 12)
    scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, int(h * 0.6), th)
    cv2.putText(p, "12", (int(width * 0.05), int(h * 0.8)), cv2.FONT_HERSHEY_SIMPLEX, scale, INK, th)
    gx, gw = int(width * 0.3), int(width * 0.08)  # the strokes of 가: no Hangul font ships in a wheel here
    cv2.line(p, (gx, int(h * 0.2)), (gx + gw // 2, int(h * 0.2)), INK, th)
    cv2.line(p, (gx + gw // 2, int(h * 0.2)), (gx + gw // 3, int(h * 0.8)), INK, th)
    cv2.line(p, (gx + gw, int(h * 0.15)), (gx + gw, int(h * 0.85)), INK, th)
    cv2.line(p, (gx + gw, int(h * 0.5)), (gx + int(gw * 1.3), int(h * 0.5)), INK, th)
    cv2.putText(p, "3456", (int(width * 0.47), int(h * 0.8)), cv2.FONT_HERSHEY_SIMPLEX, scale, INK, th)
    return p


BACKGROUNDS = {
    "motorcycle": skimage_data.stereo_motorcycle()[0],
    "coffee": skimage_data.coffee(),
    "rocket": skimage_data.rocket(),
}


def _with_plate(bg: np.ndarray, width: int) -> tuple[np.ndarray, tuple[int, int]]:
    img = bg.copy()
    p = _plate(width)
    y, x = img.shape[0] // 2, img.shape[1] // 4
    img[y : y + p.shape[0], x : x + p.shape[1]] = p
    return img, (x + width // 2, y + p.shape[0] // 2)


@pytest.mark.parametrize("width", [90, 140, 260])
@pytest.mark.parametrize("name", sorted(BACKGROUNDS))
def test_a_drawn_korean_plate_90_px_or_wider_is_found(name: str, width: int) -> None:
    img, (cx, cy) = _with_plate(BACKGROUNDS[name], width)
    assert any(b.x <= cx <= b.x + b.w and b.y <= cy <= b.y + b.h for b in kr_contrast(img))


def test_a_plate_60_px_wide_is_not_found_by_the_contrast_detector() -> None:
    """The limit, stated: glyphs ~8 px high are below what the row detector groups."""
    img, (cx, cy) = _with_plate(BACKGROUNDS["coffee"], 60)
    assert not any(b.x <= cx <= b.x + b.w and b.y <= cy <= b.y + b.h for b in kr_contrast(img))


def test_the_plate_is_masked_and_gone_from_the_output() -> None:
    img, (cx, cy) = _with_plate(BACKGROUNDS["motorcycle"], 140)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    out, regions = deid_image(buf.getvalue(), targets=["licence_plates"])
    assert any(r.kind == "licence_plates" and r.x <= cx <= r.x + r.w for r in regions)
    after = np.asarray(Image.open(io.BytesIO(out)).convert("RGB"))
    assert after[cy - 5 : cy + 5, cx - 40 : cx + 40].reshape(-1, 3).std(axis=0).max() < 1  # one solid colour
    assert not any(b.x <= cx <= b.x + b.w and b.y <= cy <= b.y + b.h for b in find_plates(after))


def test_false_plates_on_photographs_without_plates_are_few() -> None:
    """Rows of dark characters on a light ground look like plates: the scanned page is where they are found."""
    negatives = {
        "astronaut": skimage_data.astronaut(), "camera": skimage_data.camera(), "coffee": skimage_data.coffee(),
        "chelsea": skimage_data.chelsea(), "rocket": skimage_data.rocket(), "coins": skimage_data.coins(),
        "motorcycle": skimage_data.stereo_motorcycle()[0], "brick": skimage_data.brick(), "text": skimage_data.text(),
        "page": skimage_data.page(),
    }
    found = {name: len(find_plates(img)) for name, img in negatives.items()}
    assert sum(n for name, n in found.items() if name != "page") <= 1
    assert found["page"] <= 5
