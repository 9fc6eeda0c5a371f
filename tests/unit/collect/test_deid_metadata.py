"""Image metadata never leaves de-identification: EXIF GPS, TIFF tags, PNG text chunks, XMP, comments.

Each file is built with PIL the way cameras, scanners and editors write them, holds no face, and goes through
``deid_image``: the output is read back and must carry none of what went in, whatever the format.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, PngImagePlugin, TiffImagePlugin

from pipelines.collect.deid import deid_image
from pipelines.collect.deid.image import has_personal_metadata

pytestmark = pytest.mark.unit

GPS = {1: "N", 2: (37.0, 33.0, 59.0), 3: "E", 4: (126.0, 58.0, 41.0)}  # Seoul City Hall
SECRETS = (b"Hong Gildong", b"010-1234-5678", b"Gangnam", b"SN-88123")


def _flat(mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(3)  # a textured field: no face, nothing a detector takes for one
    pixels = (rng.random((96, 128, 3)) * 40 + 100).astype(np.uint8)
    im = Image.fromarray(pixels)
    return im.convert(mode) if mode != "RGB" else im


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Samsung"  # Make
    exif[0x013B] = "Hong Gildong"  # Artist
    exif[0x010E] = "010-1234-5678 Gangnam"  # ImageDescription
    exif[0xA431] = "SN-88123"  # BodySerialNumber, in the EXIF IFD on real cameras; here at the top is enough
    exif[0x8825] = GPS
    return exif


def _save(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _clean(out: bytes) -> None:
    assert not has_personal_metadata(out)
    for secret in SECRETS:
        assert secret not in out
    with Image.open(io.BytesIO(out)) as im:
        exif = im.getexif()
        assert 0x8825 not in exif and exif.get_ifd(0x8825) == {}  # GPS never survives
        assert not getattr(im, "text", None) and "xmp" not in im.info and "comment" not in im.info
        tags = getattr(im, "tag_v2", {})
        assert not {270, 271, 315, 34853, 33432} & set(tags)  # ImageDescription, Make, Artist, GPS, Copyright


def test_jpeg_exif_gps_xmp_and_comment_are_stripped() -> None:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>Hong Gildong</dc:creator></x:xmpmeta>'
    data = _save(_flat(), "JPEG", exif=_exif(), comment=b"010-1234-5678", xmp=xmp)
    assert has_personal_metadata(data) and b"Hong Gildong" in data
    out, regions = deid_image(data, targets=["faces", "licence_plates"])
    assert regions == []
    _clean(out)


def test_tiff_artist_description_and_gps_tags_are_stripped() -> None:
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[315] = "Hong Gildong"  # Artist
    info[270] = "010-1234-5678 Gangnam"  # ImageDescription
    info[271] = "SN-88123"  # Make
    data = _save(_flat(), "TIFF", tiffinfo=info, exif=_exif())
    with Image.open(io.BytesIO(data)) as im:
        assert im.tag_v2[315] == "Hong Gildong"
    out, regions = deid_image(data, targets=["faces"])
    assert regions == [] and out[:2] in (b"II", b"MM")  # still a TIFF
    _clean(out)


def test_png_text_chunks_of_every_kind_are_stripped() -> None:
    chunks = PngImagePlugin.PngInfo()
    chunks.add_text("Author", "Hong Gildong")  # tEXt
    chunks.add_text("Description", "010-1234-5678 Gangnam", zip=True)  # zTXt
    chunks.add_itxt("Comment", "SN-88123", lang="ko")  # iTXt
    data = _save(_flat(), "PNG", pnginfo=chunks, exif=_exif())
    assert has_personal_metadata(data)
    out, regions = deid_image(data, targets=["faces"])
    assert regions == []
    _clean(out)
    with Image.open(io.BytesIO(out)) as im, Image.open(io.BytesIO(data)) as before:
        assert np.array_equal(np.asarray(im), np.asarray(before))  # PNG re-encoding is lossless


def test_webp_exif_and_grayscale_jpeg_are_stripped() -> None:
    for data in (_save(_flat(), "WEBP", exif=_exif(), quality=90), _save(_flat("L"), "JPEG", exif=_exif())):
        out, _ = deid_image(data, targets=["faces"])
        _clean(out)


def test_a_jpeg_vendor_segment_pillow_does_not_parse_is_stripped() -> None:
    """An APP12 block (as photo editors and some phones write) holds a name Pillow never puts in ``info``."""
    clean = _save(_flat(), "JPEG", quality=90)
    payload = b"Ducky\0Hong Gildong 010-1234-5678"
    segment = b"\xff\xec" + (len(payload) + 2).to_bytes(2, "big") + payload
    data = clean[:2] + segment + clean[2:]  # right after the start-of-image marker
    assert has_personal_metadata(data) and b"Hong Gildong" in data
    out, _ = deid_image(data, targets=["faces"])
    _clean(out)


def test_a_jpeg_with_nothing_personal_goes_through_unchanged() -> None:
    """JPEG re-encoding costs quality: a clean one (JFIF header, ICC profile) keeps its bytes."""
    data = _save(_flat(), "JPEG", quality=90, icc_profile=b"\0" * 16)
    out, regions = deid_image(data, targets=["faces"])
    assert out is data and regions == []
