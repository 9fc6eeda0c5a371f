"""DICOM intake: the sample files pydicom ships, in several transfer syntaxes, in; facts or a reason code out."""

from __future__ import annotations

import io

import pydicom
import pytest
from pydicom.data import get_testdata_file

from pipelines.collect import reasons as R
from pipelines.collect.intake import check_image
from pipelines.collect.reasons import Reject
from pipelines.spec.models import ImageModality

pytestmark = pytest.mark.unit

MR = ImageModality(formats=["dicom", "png"], min_width=32, min_height=32, color="grayscale",
                   dicom={"modalities": ["MR", "CT"]})
# The same 64x64 MR slice in five transfer syntaxes: every one decodes to the same pixels.
MR_SYNTAXES = {
    "MR_small.dcm": "1.2.840.10008.1.2.1",  # explicit VR little endian
    "MR_small_implicit.dcm": "1.2.840.10008.1.2",
    "MR_small_bigendian.dcm": "1.2.840.10008.1.2.2",
    "MR_small_RLE.dcm": "1.2.840.10008.1.2.5",
    "MR_small_jp2klossless.dcm": "1.2.840.10008.1.2.4.90",
    "MR_small_jpeg_ls_lossless.dcm": "1.2.840.10008.1.2.4.80",
}


def sample(name: str) -> bytes:
    path = get_testdata_file(name)
    assert path is not None, f"{name} is not in the pydicom wheel"
    with open(str(path), "rb") as f:
        return f.read()


def _reason(data: bytes, mod: ImageModality) -> tuple[str, str]:
    with pytest.raises(Reject) as exc:
        check_image(data, mod)
    return exc.value.reason, exc.value.detail


def test_every_transfer_syntax_decodes_to_the_same_pixels() -> None:
    hashes = set()
    for name, syntax in MR_SYNTAXES.items():
        data = sample(name)
        assert pydicom.dcmread(io.BytesIO(data)).file_meta.TransferSyntaxUID == syntax
        acc = check_image(data, MR)
        assert (acc.ext, acc.width, acc.height, acc.frames) == ("dcm", 64, 64, 1), name
        hashes.add(acc.content_sha256)
    assert len(hashes) == 1  # exact dedupe sees one image, whatever the encoding


def test_jpeg_baseline_jpeg_lossless_and_j2k_colour_and_ct_pass() -> None:
    colour = ImageModality(formats=["dicom"], min_width=32, min_height=32, color="any",
                           dicom={"modalities": ["OT", "CT", "US"], "bits_stored": [8, 14, 16],
                                  "photometric": ["RGB", "YBR_FULL", "YBR_RCT", "MONOCHROME2"]})
    for name, size in (("SC_rgb_jpeg_gdcm.dcm", (100, 100)), ("SC_rgb_jpeg_dcmtk.dcm", (100, 100)),
                       ("693_J2KI.dcm", (512, 512)), ("CT_small.dcm", (128, 128)),
                       ("examples_jpeg2k.dcm", (640, 480))):
        acc = check_image(sample(name), colour)
        assert (acc.width, acc.height) == size, name


def test_a_multi_frame_file_is_decoded_whole_and_bounded_by_max_frames() -> None:
    data = sample("examples_ybr_color.dcm")  # 30 frames of ultrasound, JPEG baseline
    us = ImageModality(formats=["dicom"], min_width=32, min_height=32, color="any",
                       dicom={"modalities": ["US"], "photometric": ["YBR_FULL_422"], "max_frames": 30})
    assert check_image(data, us).frames == 30
    one = us.model_copy(update={"dicom": us.dicom_options().model_copy(update={"max_frames": 1})})
    reason, detail = _reason(data, one)
    assert reason == R.DICOM_FRAMES and "30 frames" in detail


def test_a_dataset_without_preamble_and_meta_header_is_read() -> None:
    ds = pydicom.dcmread(io.BytesIO(sample("MR_small.dcm")))
    ds.preamble = None
    del ds.file_meta
    buf = io.BytesIO()
    ds.save_as(buf, implicit_vr=True, little_endian=True, enforce_file_format=False)
    bare = buf.getvalue()
    assert bare[128:132] != b"DICM"
    acc = check_image(bare, MR)
    assert acc.content_sha256 == check_image(sample("MR_small.dcm"), MR).content_sha256


def test_a_file_without_preamble_that_is_not_dicom_is_refused_with_its_reason() -> None:
    reason, detail = _reason(b"PATIENT,HONG GILDONG\n" * 20, MR)
    assert reason == R.MEDIA_UNDECODABLE and "not DICOM" in detail
    # starts like a group 0008 element but is no dataset
    reason, detail = _reason(b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100" + b"\x00" * 64, MR)
    assert reason == R.MEDIA_UNDECODABLE and "not DICOM" in detail


@pytest.mark.parametrize(
    ("mod_update", "name", "reason"),
    [
        ({"modalities": ["CT"]}, "MR_small.dcm", R.DICOM_MODALITY),
        ({"modalities": ["MR"], "min_rows": 128}, "MR_small.dcm", R.MEDIA_TOO_SMALL),
        ({"modalities": ["MR"], "bits_stored": [12]}, "MR_small.dcm", R.DICOM_BITS_STORED),
        ({"modalities": ["MR"], "photometric": ["MONOCHROME1"]}, "MR_small.dcm", R.DICOM_PHOTOMETRIC),
        ({"modalities": ["MR"]}, "MR_truncated.dcm", R.MEDIA_TRUNCATED),
        ({"modalities": ["MR"]}, "rtplan.dcm", R.DICOM_NO_PIXELS),
    ],
)
def test_checks_refuse_with_a_reason(mod_update: dict[str, object], name: str, reason: str) -> None:
    mod = ImageModality(formats=["dicom"], min_width=32, min_height=32, color="grayscale", dicom=mod_update)
    assert _reason(sample(name), mod)[0] == reason


def test_a_spec_without_dicom_in_formats_refuses_dicom() -> None:
    png_only = ImageModality(formats=["png"], min_width=32, min_height=32, color="grayscale")
    assert _reason(sample("MR_small.dcm"), png_only)[0] == R.MEDIA_FORMAT
