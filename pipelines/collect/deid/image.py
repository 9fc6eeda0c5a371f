"""Faces and licence plates in images: find them with OpenCV's Haar cascades, blur them beyond recognition.

The cascades ship inside the opencv-python wheel (``cv2.data.haarcascades``): nothing is downloaded at run
time. Masked images are re-encoded without EXIF/XMP/comments (GPS positions and camera serials are personal
data too).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from pipelines.collect.orientation import upright

CASCADES = {
    "faces": "haarcascade_frontalface_default.xml",
    "licence_plates": "haarcascade_russian_plate_number.xml",
}
# detectMultiScale parameters per target: (scaleFactor, minNeighbors, minSize)
_PARAMS: dict[str, tuple[float, int, tuple[int, int]]] = {
    "faces": (1.1, 5, (24, 24)),
    "licence_plates": (1.1, 4, (48, 12)),
}
# Detection runs on a copy whose long side is at most this (Haar cost grows with pixels); regions scale back.
DETECT_MAX_SIDE = 2048
MARGIN = 0.2  # grow each region by this share on every side before masking
_PERSONAL_INFO_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "comment", "Comment", "photoshop", "iptc")
_WRITE = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}, "PNG": {}, "TIFF": {}, "BMP": {}}


@dataclass(frozen=True)
class Region:
    """One masked area, in pixels of the image as stored."""

    kind: str  # faces | licence_plates
    x: int
    y: int
    w: int
    h: int
    detector: str
    action: str = "pixelate+gaussian_blur"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def detector_versions() -> dict[str, Any]:
    """What found the regions, for the audit record."""
    return {
        "opencv": cv2.__version__,
        "cascades": dict(CASCADES),
        "params": {k: list(v) for k, v in _PARAMS.items()},
        "detect_max_side": DETECT_MAX_SIDE,
    }


@functools.cache
def _cascade(kind: str) -> cv2.CascadeClassifier:
    path = f"{cv2.data.haarcascades}{CASCADES[kind]}"  # type: ignore[attr-defined]  # missing from cv2 stubs
    clf = cv2.CascadeClassifier(path)
    if clf.empty():
        raise RuntimeError(f"OpenCV could not load {path}")
    return clf


def _gray(pixels: NDArray[Any]) -> NDArray[Any]:
    if pixels.ndim == 2:
        if pixels.dtype == np.uint8:
            return pixels
        # 16-bit and float scans: stretch to 8 bits for the detector
        lo, hi = float(pixels.min()), float(pixels.max())
        return ((pixels.astype(np.float64) - lo) * (255.0 / max(hi - lo, 1e-9))).astype(np.uint8)
    return cv2.cvtColor(pixels[..., :3], cv2.COLOR_RGB2GRAY)


def find_regions(
    pixels: NDArray[Any], *, targets: Iterable[str], max_side: int = DETECT_MAX_SIDE
) -> list[Region]:
    """Faces / plates in an RGB (h, w, 3) or grayscale (h, w) array, detected on a copy of at most ``max_side``."""
    kinds = [k for k in CASCADES if k in set(targets)]
    if not kinds:
        return []
    gray = _gray(pixels)
    h, w = gray.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    small = (
        cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        if scale < 1
        else gray
    )
    small = cv2.equalizeHist(small)
    out: list[Region] = []
    for kind in kinds:
        factor, neighbours, min_size = _PARAMS[kind]
        found = _cascade(kind).detectMultiScale(
            small, scaleFactor=factor, minNeighbors=neighbours, minSize=min_size
        )
        for x, y, bw, bh in found if len(found) else []:
            out.append(
                Region(
                    kind,
                    int(x / scale),
                    int(y / scale),
                    round(bw / scale),
                    round(bh / scale),
                    detector=CASCADES[kind].removesuffix(".xml"),
                )
            )
    return out


def mask_regions(pixels: NDArray[Any], regions: Iterable[Region]) -> NDArray[Any]:
    """A copy with every region (plus a margin) pixelated and then blurred: neither step alone is enough."""
    out = pixels.copy()
    h, w = out.shape[:2]
    for r in regions:
        mx, my = int(r.w * MARGIN), int(r.h * MARGIN)
        x0, y0 = max(0, r.x - mx), max(0, r.y - my)
        x1, y1 = min(w, r.x + r.w + mx), min(h, r.y + r.h + my)
        if x1 <= x0 or y1 <= y0:
            continue
        patch = out[y0:y1, x0:x1]
        ph, pw = patch.shape[:2]
        blocks = (max(1, pw // 12), max(1, ph // 12))
        coarse = cv2.resize(patch, blocks, interpolation=cv2.INTER_AREA)
        patch = cv2.resize(coarse, (pw, ph), interpolation=cv2.INTER_NEAREST)
        sigma = max(pw, ph) / 8
        out[y0:y1, x0:x1] = cv2.GaussianBlur(patch, (0, 0), sigmaX=sigma, sigmaY=sigma)
    return out


def _pixels(im: Image.Image) -> NDArray[Any]:
    if im.mode in ("L", "I;16", "I"):
        return np.asarray(im)
    return np.asarray(im.convert("RGBA" if "A" in im.mode else "RGB"))


def deid_image(
    data: bytes, *, targets: Iterable[str] = ("faces", "licence_plates")
) -> tuple[bytes, list[Region]]:
    """Blur faces and licence plates in an encoded image.

    Args:
        data: the image file (JPEG, PNG, WebP, TIFF, BMP).
        targets: which of ``faces`` / ``licence_plates`` to look for.

    Returns:
        (image bytes in the same format, regions masked). The bytes are unchanged when nothing was found and
        the file carries no personal metadata (EXIF, XMP, comments); otherwise the image is re-encoded
        without it.

    Raises:
        OSError / ValueError: the bytes are not a decodable image.
    """
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        fmt = im.format or "PNG"
        personal_meta = any(k in im.info for k in _PERSONAL_INFO_KEYS) or bool(getattr(im, "text", None))
        pixels = _pixels(upright(im))  # written upright, without the EXIF that turned it (personal_meta is set)
        icc = im.info.get("icc_profile")
        mode = im.mode
    regions = find_regions(pixels, targets=targets)
    if not regions and not personal_meta:
        return data, []
    masked = mask_regions(pixels, regions) if regions else pixels
    out = Image.fromarray(masked)
    if out.mode != mode and mode in ("L", "RGB", "RGBA"):
        out = out.convert(mode)
    buf = io.BytesIO()
    kw: dict[str, Any] = dict(_WRITE.get(fmt, {}))
    if icc:
        kw["icc_profile"] = icc
    out.save(buf, format=fmt if fmt in _WRITE else "PNG", **kw)
    return buf.getvalue(), regions


def has_personal_metadata(data: bytes) -> bool:
    """Whether an encoded image still carries EXIF/XMP/comments (checked again after masking)."""
    with Image.open(io.BytesIO(data)) as im:
        return any(k in im.info for k in _PERSONAL_INFO_KEYS) or bool(getattr(im, "text", None))


def regions_in(data: bytes, *, targets: Iterable[str]) -> list[Region]:
    """Detections in an encoded image (the re-check after masking)."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        pixels = _pixels(upright(im))
    return find_regions(pixels, targets=targets)
