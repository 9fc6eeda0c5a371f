"""Synthetic DICOM: a rendered grey image written as a real DICOM file with pydicom, personal data in the tags.

Each item draws a transfer syntax (explicit and implicit VR little endian, RLE lossless — pydicom encodes it
natively — and JPEG 2000 lossless through pylibjpeg-openjpeg; no JPEG-LS encoder is installed), a modality the
spec allows, 12 bits stored, sometimes MONOCHROME1, and what a hospital export carries: the patient's name, ID
and birth date, the institution, physicians, accession number, a description naming the patient, a private
block repeating the name. Some items have the patient's name and ID burned into the pixels with
BurnedInAnnotation = YES, and, when the spec allows several frames, some are multi-frame.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import numpy as np
import pydicom
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    RLELossless,
    SecondaryCaptureImageStorage,
)

from pipelines.collect.sources.synthetic._common import choice, item_rng
from pipelines.spec.models import DicomOptions

SYNTAXES: tuple[UID, ...] = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless, JPEG2000Lossless)
BURNED_IN_SHARE = 0.1
MULTI_FRAME_SHARE = 0.25
# SOP classes by modality (the single-frame image storage classes; others are written as secondary capture).
_SOP_CLASS = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",
    "MG": "1.2.840.10008.5.1.4.1.1.1.2",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
    "IO": "1.2.840.10008.5.1.4.1.1.1.3",
    "PX": "1.2.840.10008.5.1.4.1.1.1.1",
}
_NAMES = (("KIM", "MINJUN", "김민준"), ("LEE", "SEOYEON", "이서연"), ("PARK", "JIHUN", "박지훈"),
          ("CHOI", "SUMIN", "최수민"), ("JUNG", "DAEUN", "정다은"), ("HAN", "JIMIN", "한지민"))
_HOSPITALS = ("서울미래병원", "부산중앙의료원", "대구한빛병원", "광주새솔병원")
_MAKERS = (("GE Healthcare", "Revolution"), ("Siemens Healthineers", "SOMATOM"), ("Hologic", "Selenia"),
           ("Fujifilm", "FCR"))
_BODY_PARTS = {"CT": "HEAD", "MR": "BRAIN", "CR": "CHEST", "DX": "CHEST", "MG": "BREAST", "US": "THYROID",
               "IO": "JAW", "PX": "JAW"}


def _uid(rng: np.random.Generator) -> str:
    return f"2.25.{int.from_bytes(rng.bytes(16), 'big')}"


def burned_in_text(rng: np.random.Generator) -> bool:
    return bool(rng.random() < BURNED_IN_SHARE)


def make_dicom(
    gray: Image.Image, *, opts: DicomOptions, seed: int, index: int, patient_index: int | None = None
) -> bytes:
    """A DICOM file of ``gray`` (an 8-bit "L" image) with personal data in its tags and maybe in its pixels.

    Args:
        gray: the rendered image; its size is the DICOM's Columns x Rows.
        opts: the spec's ``modality.dicom`` block (modalities and frame limit are respected).
        seed: the source seed.
        index: the item index (everything drawn depends on seed and index only).
        patient_index: items with the same value belong to one patient and one study (default: index // 4).
    """
    rng = item_rng(seed, index, "dicom")
    patient = patient_index if patient_index is not None else index // 4
    prng = item_rng(seed, patient, "dicom-patient")
    family, given, hangul = choice(prng, _NAMES)
    patient_id = f"P{int(prng.integers(10**6, 10**7)):07d}"
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=int(prng.integers(0, 365 * 60)))
    study_day = dt.date(2019, 1, 1) + dt.timedelta(days=int(prng.integers(0, 365 * 5)))
    study_uid, frame_uid = _uid(prng), _uid(prng)
    modality = choice(rng, list(opts.modalities))
    syntax = choice(rng, SYNTAXES)
    mono1 = modality in ("CR", "DX") and rng.random() < 0.5
    frames = 3 if opts.max_frames >= 3 and rng.random() < MULTI_FRAME_SHARE else 1
    burned = burned_in_text(rng)

    canvas = gray.convert("L")
    if burned:
        canvas = canvas.copy()
        draw = ImageDraw.Draw(canvas)
        size = max(12, canvas.height // 30)
        font = ImageFont.load_default(size=size)
        margin = max(4, canvas.width // 100)
        draw.text((margin, margin), f"{family} {given}  {patient_id}", fill=255, font=font)
        draw.text((margin, margin + int(size * 1.4)), f"DOB {birth:%Y-%m-%d}  {study_day:%Y-%m-%d}", fill=255,
                  font=font)
    pixels12 = np.asarray(canvas, dtype=np.uint16) * 16 + 8  # 8 -> 12 bits stored
    if mono1:
        pixels12 = 4095 - pixels12
    stack: NDArray[np.uint16] = np.stack([np.roll(pixels12, k, axis=1) for k in range(frames)])

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    sop_class = _SOP_CLASS.get(modality, SecondaryCaptureImageStorage)
    if frames > 1:
        sop_class = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word Secondary Capture
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = _uid(rng)
    ds.StudyInstanceUID, ds.FrameOfReferenceUID = study_uid, frame_uid
    ds.SeriesInstanceUID = _uid(item_rng(seed, patient, f"series-{modality}"))
    ds.Modality = modality
    ds.PatientName = f"{family}^{given}={hangul}"
    ds.PatientID = patient_id
    ds.PatientBirthDate = f"{birth:%Y%m%d}"
    ds.PatientSex = choice(prng, ["F", "M"])
    ds.PatientAge = f"{min(99, (study_day - birth).days // 365):03d}Y"
    ds.OtherPatientIDs = f"{birth:%y%m%d}-{int(prng.integers(1, 5))}{int(prng.integers(10**5, 10**6))}"
    ds.StudyDate, ds.SeriesDate, ds.ContentDate = (f"{study_day:%Y%m%d}",) * 3
    ds.StudyTime, ds.ContentTime = "093015", "093120"
    ds.AccessionNumber = f"A{int(prng.integers(10**8, 10**9))}"
    ds.StudyID = f"S{patient % 10000:04d}"
    ds.InstitutionName = choice(prng, _HOSPITALS)
    ds.InstitutionAddress = "서울특별시 종로구 대학로 101"
    ds.ReferringPhysicianName = "PARK^DOCTOR"
    ds.OperatorsName = "LEE^RADTECH"
    ds.StudyDescription = f"{modality} {_BODY_PARTS.get(modality, 'BODY')} for {family} {given}"
    ds.SeriesDescription = "routine"
    maker, model = choice(rng, _MAKERS)
    ds.Manufacturer, ds.ManufacturerModelName = maker, model
    ds.DeviceSerialNumber = f"SN{int(rng.integers(10**5, 10**6))}"
    ds.StationName = "RAD-ROOM-3"
    ds.BodyPartExamined = _BODY_PARTS.get(modality, "BODY")
    ds.ViewPosition = choice(rng, ["AP", "PA", "CC", "MLO"]) if modality in ("CR", "DX", "MG") else ""
    ds.PixelSpacing = [0.1, 0.1] if modality in ("CR", "DX", "MG") else [0.5, 0.5]
    if modality in ("CT", "MR"):
        ds.SliceThickness = 1.25
    if modality in ("CT", "CR", "DX", "MG"):
        ds.KVP = 120 if modality == "CT" else 28 if modality == "MG" else 110
    ds.BurnedInAnnotation = "YES" if burned else "NO"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if mono1 else "MONOCHROME2"
    ds.Rows, ds.Columns = canvas.height, canvas.width
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    intercept = -1024 if modality == "CT" else 0  # CT pixels are stored as HU + 1024
    ds.RescaleIntercept, ds.RescaleSlope = intercept, 1
    ds.WindowCenter, ds.WindowWidth = 2048 + intercept, 4096
    if frames > 1:
        ds.NumberOfFrames = frames
    block = ds.private_block(0x0009, "DATADAM SYNTHETIC", create=True)
    block.add_new(0x01, "LO", f"{family} {given}")
    block.add_new(0x02, "LO", patient_id)
    ds.PixelData = stack.tobytes() if frames > 1 else stack[0].tobytes()

    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.SourceApplicationEntityTitle = "HOSP_PACS"
    if syntax in (RLELossless, JPEG2000Lossless):
        ds.compress(syntax, generate_instance_uid=False)  # the default would draw a random new UID
    elif syntax == ImplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.preamble = b"\x00" * 128
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


def describe(data: bytes) -> dict[str, Any]:
    """A few attributes of a synthetic file (for tests and the demo's log)."""
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return {"syntax": str(ds.file_meta.TransferSyntaxUID), "modality": ds.Modality,
            "burned_in": ds.BurnedInAnnotation == "YES", "frames": int(ds.get("NumberOfFrames") or 1)}
