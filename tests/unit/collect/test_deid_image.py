"""Faces in a real photograph are found and blurred; the same detector finds nothing afterwards."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data  # a dev dependency: ships a real photograph with a face

from pipelines.collect.deid import deid_image, regions_in

pytestmark = pytest.mark.unit


def _jpeg(pixels: np.ndarray, **save: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=92, **save)
    return buf.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> bytes:
    return _jpeg(skimage_data.astronaut())


def test_the_face_in_a_photograph_is_found(astronaut: bytes) -> None:
    regions = regions_in(astronaut, targets=["faces"])
    assert [r.kind for r in regions] == ["faces"]
    r = regions[0]
    assert 150 < r.x + r.w / 2 < 300 and 50 < r.y + r.h / 2 < 170  # Eileen Collins' face, upper middle


def test_after_blurring_the_detector_finds_no_face(astronaut: bytes) -> None:
    out, regions = deid_image(astronaut, targets=["faces", "licence_plates"])
    assert [r.kind for r in regions] == ["faces"]
    assert regions_in(out, targets=["faces", "licence_plates"]) == []
    before = np.asarray(Image.open(io.BytesIO(astronaut)).convert("L"), dtype=np.float64)
    after = np.asarray(Image.open(io.BytesIO(out)).convert("L"), dtype=np.float64)
    r = regions[0]
    face_before, face_after = (
        before[r.y : r.y + r.h, r.x : r.x + r.w],
        after[r.y : r.y + r.h, r.x : r.x + r.w],
    )
    # detail (local variation) inside the face is gone; the rest of the picture is the same photograph
    assert np.abs(np.diff(face_after, axis=1)).mean() < 0.2 * np.abs(np.diff(face_before, axis=1)).mean()
    assert np.abs(before[400:, :200] - after[400:, :200]).mean() < 3
    assert Image.open(io.BytesIO(out)).format == "JPEG"


def test_an_image_without_faces_or_metadata_is_returned_unchanged() -> None:
    flat = np.zeros((240, 320, 3), dtype=np.uint8)
    flat[:, :, 1] = np.linspace(60, 160, 320, dtype=np.uint8)
    data = _jpeg(flat)
    out, regions = deid_image(data)
    assert out is data and regions == []


def test_exif_is_stripped_even_without_faces() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Samsung"  # Make
    exif[0x8825] = {2: (37.0, 33.0, 0.0), 4: (126.0, 58.0, 0.0)}  # GPS IFD: where the photo was taken
    data = _jpeg(np.full((120, 160, 3), 128, dtype=np.uint8), exif=exif)
    assert "exif" in Image.open(io.BytesIO(data)).info
    out, regions = deid_image(data)
    assert regions == [] and "exif" not in Image.open(io.BytesIO(out)).info


def test_a_phone_photo_stored_sideways_is_masked_as_viewers_see_it() -> None:
    """EXIF Orientation 6: the pixels lie on their side and every viewer turns them; the face must not survive."""
    from pipelines.collect.intake import check_image
    from pipelines.spec.models import ImageModality

    shown = Image.fromarray(skimage_data.astronaut()).crop((0, 0, 512, 400))  # landscape, as the viewer sees it
    stored = shown.transpose(Image.Transpose.ROTATE_90)  # portrait on disk: orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", quality=92, exif=exif.tobytes())
    data = buf.getvalue()
    assert regions_in(_jpeg(np.asarray(stored)), targets=["faces"]) == []  # on the stored pixels: no face

    acc = check_image(data, ImageModality(kind="image", min_width=100, min_height=100, formats=["jpeg"]))
    assert (acc.width, acc.height) == (512, 400)  # the size viewers (and annotators' boxes) see

    out, regions = deid_image(data, targets=["faces"])
    assert [r.kind for r in regions] == ["faces"]
    with Image.open(io.BytesIO(out)) as im:
        assert im.size == (512, 400) and 0x0112 not in im.getexif()  # written upright, the EXIF gone
    assert regions_in(out, targets=["faces"]) == []
