"""DICOM de-identification to PS3.15 Annex E (Basic Application Level Confidentiality Profile + options).

Every attribute of the profile's table (``dicom_profile``) is removed, emptied, replaced, cleaned or kept as its
action says, in nested sequences too; private attributes go unless the spec safe-lists them; overlays and curves
(groups 50xx/60xx, which can draw text over the image) go.

UIDs: every UI value that the standard does not itself define (SOP class, transfer syntax, coding scheme UIDs
stay) becomes ``2.25.<HMAC-SHA256(secret, uid) as a 128-bit integer>``, the secret being one random key per
dataset kept under ``restricted/``. The same original UID therefore maps to the same new UID in every run, on
every worker, with no map to store, look up or lock; without the key the mapping cannot be reversed or
recomputed. Dates, under the Retain Longitudinal Temporal Information with Modified Dates option, move by a
whole number of days derived the same way from the PatientID: one patient's studies keep their intervals.

Burned-in text: the pixels of every file (or, with ``burned_in_scan: flagged``, of files flagged
BurnedInAnnotation = YES) are searched for lines of bright thin strokes; text found, or the flag set, is
quarantined ``pii.burned_in`` or, when the spec says ``mask``, blacked out in every frame and searched for again.
The written file is read back and checked before it is returned (``leftovers``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian

from pipelines.collect import dicom
from pipelines.collect import reasons as R
from pipelines.collect.deid import dicom_profile as P
from pipelines.collect.reasons import Reject
from pipelines.spec.models import DicomOptions

MAX_SHIFT_DAYS = 3650  # dates move back by 365..MAX_SHIFT_DAYS days
_DUMMY = {
    "PN": "ANONYMOUS", "LO": "ANONYMIZED", "SH": "ANONYMIZED", "LT": "ANONYMIZED", "ST": "ANONYMIZED",
    "UT": "ANONYMIZED", "CS": "ANONYMIZED", "AE": "ANONYMOUS", "DA": "19000101", "TM": "000000", "DT": "19000101",
    "IS": "0", "DS": "0", "AS": "000Y", "UC": "ANONYMIZED",
}
_REMOVED = "[REMOVED]"
_BINARY = ("OB", "OW", "OD", "OF", "OL", "OV", "UN")
UIDS = "(instance UIDs)"  # key of ``_originals`` for every non-standard UID value
# Identifying values searched for in every string of the output (what a clean or a vendor text could repeat).
# Institution and device names are left out: a vendor name in an institution field would flag every Manufacturer.
_IDENTIFIERS = ("PatientName", "PatientID", "OtherPatientIDs", "OtherPatientNames", "PatientBirthName",
                "PatientMotherBirthName", "AccessionNumber", "ReferringPhysicianName", "PerformingPhysicianName",
                "OperatorsName", "NameOfPhysiciansReadingStudy")
_META_IDENTIFYING = ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
                     "ReceivingApplicationEntityTitle", "SourcePresentationAddress", "SendingPresentationAddress",
                     "ReceivingPresentationAddress", "PrivateInformation", "PrivateInformationCreatorUID")


@dataclass(frozen=True)
class TextRegion:
    """Burned-in text found and blacked out, in the DICOM pixel grid."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class DicomDeid:
    """A de-identified DICOM file and what was done to it."""

    data: bytes  # the de-identified DICOM file (Part 10, with preamble and meta header)
    display: bytes  # PNG of the first frame as annotators see it (same pixel grid)
    frames: int
    audit: dict[str, Any]
    facts: dict[str, Any]  # technical attributes for the release columns
    regions: list[TextRegion] = field(default_factory=list)
    frame_displays: list[bytes] = field(default_factory=list)  # the display PNG of every frame, in frame order


def new_uid(secret: bytes, uid: str) -> str:
    """The replacement of ``uid``: ``2.25.`` and a 128-bit integer (PS3.5 B.2) keyed by the dataset's secret."""
    digest = bytearray(hmac.new(secret, b"uid:" + uid.encode(), hashlib.sha256).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x80  # UUID version 8 (custom), RFC 9562
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC variant
    return f"2.25.{int.from_bytes(digest, 'big')}"


def date_shift_days(secret: bytes, patient_id: str) -> int:
    """Days every date of one patient moves by (negative: into the past), the same in every run."""
    digest = hmac.new(secret, b"date-shift:" + patient_id.encode(), hashlib.sha256).digest()
    return -(365 + int.from_bytes(digest[:4], "big") % (MAX_SHIFT_DAYS - 364))


def _is_standard_uid(value: str) -> bool:
    # pydicom names the UIDs the standard defines (SOP classes, transfer syntaxes, coding schemes ...).
    return UID(value).name != value


class _Profile:
    def __init__(self, *, opts: DicomOptions, secret: bytes, shift: int, clean: Callable[[str], str],
                 identifiers: list[str]) -> None:
        self.actions = P.actions(list(opts.profile_options))
        self.dates = "retain_long_modified_dates" in opts.profile_options
        self.safe = {int(t.replace(",", ""), 16) for t in opts.safe_private_tags}
        self.secret, self.shift, self.clean_text = secret, shift, clean
        self.pattern = identifier_pattern(identifiers)
        self.counts: dict[str, int] = {}

    def _count(self, action: str) -> None:
        self.counts[action] = self.counts.get(action, 0) + 1

    def apply(self, ds: Dataset) -> None:
        kept_blocks = {(t >> 16, (t & 0xFFFF) >> 8) for t in self.safe}
        for elem in list(ds):
            tag = elem.tag
            if tag.is_private:
                creator = tag.element <= 0x00FF and (tag.group, tag.element) in kept_blocks
                if int(tag) not in self.safe and not creator:
                    del ds[tag]
                    self._count("private")
                elif elem.VR == "SQ":
                    for item in elem.value:
                        self.apply(item)
                continue
            if 0x5000 <= tag.group <= 0x50FF or 0x6000 <= tag.group <= 0x60FF:  # curves and overlays
                del ds[tag]
                self._count("overlay")
                continue
            action = self.actions.get(int(tag))
            if action is None:
                self._default(ds, elem)
            else:
                self._act(ds, elem, action)

    def _default(self, ds: Dataset, elem: DataElement) -> None:
        if elem.VR == "UI":
            self._replace_uids(elem)
        elif elem.VR == "SQ":
            for item in elem.value:
                self.apply(item)

    def _act(self, ds: Dataset, elem: DataElement, action: str) -> None:
        self._count(action)
        if action == "X":
            del ds[elem.tag]
        elif action == "Z":
            elem.value = Sequence([]) if elem.VR == "SQ" else None
        elif action == "D":
            if elem.VR == "UI":  # a dummy UID: a new one (Annotation Group UID is D, not U)
                self._replace_uids(elem)
            elif elem.VR in _BINARY:
                elem.value = b"\x00\x00"
            else:
                elem.value = Sequence([]) if elem.VR == "SQ" else _DUMMY.get(str(elem.VR), "ANONYMIZED")
        elif action == "U":
            if elem.VR == "SQ":
                for item in elem.value:
                    self.apply(item)
            else:
                self._replace_uids(elem)
        elif action == "C":
            self._clean(ds, elem)
        elif elem.VR == "SQ":  # K: a kept sequence may still hold identifying attributes
            for item in elem.value:
                self.apply(item)

    def _replace_uids(self, elem: DataElement) -> None:
        if elem.value in (None, ""):
            return
        values = elem.value if isinstance(elem.value, pydicom.multival.MultiValue) else [elem.value]
        new = [v if _is_standard_uid(str(v)) else new_uid(self.secret, str(v)) for v in values]
        elem.value = new if len(new) > 1 else new[0]

    def _clean(self, ds: Dataset, elem: DataElement) -> None:
        vr = str(elem.VR)
        if elem.VR == "SQ":
            for item in elem.value:
                self.apply(item)
        elif vr in ("DA", "DT"):
            if not self.dates:  # cleaned for another option (none does): remove rather than guess
                del ds[elem.tag]
                return
            shifted = _shift(elem.value, vr, self.shift)
            if shifted is None:
                del ds[elem.tag]
            else:
                elem.value = shifted
        elif vr == "TM":
            pass  # whole-day shifts leave the time of day as it was
        elif isinstance(elem.value, str):
            elem.value = self._clean_string(elem.value)
        elif isinstance(elem.value, pydicom.multival.MultiValue) and all(isinstance(v, str) for v in elem.value):
            elem.value = [self._clean_string(v) for v in elem.value]

    def _clean_string(self, text: str) -> str:
        out = self.clean_text(text)
        return self.pattern.sub(_REMOVED, out) if self.pattern is not None else out


def _shift(value: Any, vr: str, days: int) -> str | None:
    """A DA/DT value (single, multiple or a DA range) moved by ``days``; None when it does not parse."""
    values = value if isinstance(value, pydicom.multival.MultiValue) else [value]
    out: list[str] = []
    for v in values:
        s = str(v or "")
        parts = s.split("-") if vr == "DA" else [s]
        moved: list[str] = []
        for p in parts:
            if not p:
                moved.append(p)
                continue
            try:
                day = dt.datetime.strptime(p[:8], "%Y%m%d").date()
            except ValueError:
                return None
            moved.append((day + dt.timedelta(days=days)).strftime("%Y%m%d") + p[8:])
        out.append("-".join(moved))
    return "\\".join(out)


def _identifier_tokens(ds: Dataset) -> list[str]:
    tokens: set[str] = set()
    for kw in _IDENTIFIERS:
        value = ds.get(kw)
        if value is None:
            continue
        values = value if isinstance(value, pydicom.multival.MultiValue) else [value]
        for v in values:
            s = str(v).strip()
            tokens.add(s.replace("^", " ").strip())
            if ds[kw].VR == "PN":  # a name also leaks as its family or given name alone
                tokens.update(p.strip() for p in re.split(r"[\^=]+", s))
    # Short tokens ("M", "Y", "01") would match everywhere and identify no one.
    return sorted((t for t in tokens if len(t) >= 3), key=len, reverse=True)


def identifier_pattern(identifiers: list[str]) -> re.Pattern[str] | None:
    """The identifiers as whole words (a family name "LEE" must not match "SLEEVE"), any case; Hangul may
    follow (a name with its particle, "김민준님")."""
    if not identifiers:
        return None
    alternatives = "|".join(re.escape(t) for t in identifiers)
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE)


def _originals(ds: Dataset, actions: dict[int, str]) -> dict[str, set[str]]:
    """keyword -> the original non-empty values of the attributes that must not survive (anywhere in the tree)."""
    found: dict[str, set[str]] = {}

    def walk(d: Dataset) -> None:
        for elem in d:
            if elem.VR == "SQ":
                for item in elem.value:
                    walk(item)
                continue
            if elem.tag.is_private or elem.value in (None, "", b""):
                continue
            if elem.VR == "UI":
                if not _is_standard_uid(str(elem.value)):
                    found.setdefault(UIDS, set()).add(str(elem.value))
            elif actions.get(int(elem.tag)) in ("X", "Z", "D", "U"):
                found.setdefault(elem.keyword or str(elem.tag), set()).add(str(elem.value))

    walk(ds)
    return found


def leftovers(data: bytes, *, originals: dict[str, set[str]], identifiers: list[str], safe: set[int]) -> list[str]:
    """What the output still carries that the profile removes: original values, private tags, identifiers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data))
    problems: list[str] = []
    all_uids = originals.get(UIDS, set())
    pattern = identifier_pattern(identifiers)

    def walk(d: Dataset, where: str) -> None:
        for elem in d:
            name = elem.keyword or str(elem.tag)
            if elem.tag.is_private and int(elem.tag) not in safe and elem.tag.element > 0x00FF:
                problems.append(f"private {elem.tag} at {where or 'top'}")
            if elem.VR == "SQ":
                for i, item in enumerate(elem.value):
                    walk(item, f"{where}{name}[{i}].")
                continue
            if elem.value in (None, "", b"") or elem.VR in ("OB", "OW", "OF", "OD", "OL", "UN"):
                continue
            text = str(elem.value)
            if text in originals.get(name, set()) or (elem.VR == "UI" and text in all_uids):
                problems.append(f"{where}{name} keeps its original value")
            elif elem.VR in ("PN", "LO", "SH", "LT", "ST", "UT", "UC", "CS", "AE") and pattern is not None and (
                    pattern.search(text)):
                problems.append(f"{where}{name} repeats a patient/study identifier")

    walk(ds, "")
    if ds.get("PatientIdentityRemoved") != "YES":
        problems.append("PatientIdentityRemoved is not YES")
    return problems


def find_text_regions(display: NDArray[np.uint8]) -> list[TextRegion]:
    """Lines of bright, thin strokes (burned-in annotation) in an 8-bit display image.

    A white top-hat keeps what is brighter than its surroundings and thinner than the kernel (letters, not
    anatomy); a horizontal closing joins letters into words and lines; components the shape of a text line stay.
    """
    gray = display if display.ndim == 2 else cv2.cvtColor(display, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    k = max(9, round(min(h, w) / 40) | 1)
    tophat = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    strokes = ((tophat >= 80) & (gray >= 180)).astype(np.uint8)
    joined = cv2.morphologyEx(strokes, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, 3)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    regions: list[TextRegion] = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        fill = area / max(bw * bh, 1)
        # a line of at least three letters; taller than 1/20 of the image is anatomy, not annotation
        if 6 <= bh <= max(24, h // 20) and bw >= max(16, 2 * bh) and fill >= 0.15:
            regions.append(TextRegion(x, y, bw, bh))
    return regions


def _mask_frames(arr: NDArray[Any], regions: list[TextRegion], margin: int) -> NDArray[Any]:
    out = arr.copy()
    h, w = arr.shape[1:3]
    floor = out.min()  # the darkest stored value: black in MONOCHROME2 (and in RGB)
    for r in regions:
        x0, y0 = max(0, r.x - margin), max(0, r.y - margin)
        x1, y1 = min(w, r.x + r.w + margin), min(h, r.y + r.h + margin)
        out[:, y0:y1, x0:x1] = floor
    return out


def _set_pixels(ds: Dataset, arr: NDArray[Any]) -> None:
    """Store decoded (and masked) frames uncompressed: pydicom decoded YBR to RGB, so the file now says RGB."""
    frames = arr if int(ds.get("NumberOfFrames") or 1) > 1 else arr[0]
    same = np.ascontiguousarray(frames, dtype=frames.dtype.newbyteorder("<"))
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if int(ds.get("SamplesPerPixel") or 1) > 1:
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
    ds.PixelData = same.tobytes()
    ds["PixelData"].VR = "OB" if ds.BitsAllocated <= 8 else "OW"
    ds["PixelData"].is_undefined_length = False


def _method_sequence(codes: list[tuple[str, str]]) -> Sequence:
    items = []
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        items.append(item)
    return Sequence(items)


def release_facts(ds: Dataset) -> dict[str, Any]:
    """Technical attributes a medical-AI developer filters by (none of them identifies a patient)."""

    def num(kw: str) -> float | None:
        v = ds.get(kw)
        try:
            return float(v) if v not in (None, "") else None
        except (TypeError, ValueError):
            return None

    spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    return {
        "modality": str(ds.get("Modality") or "") or None,
        "body_part": str(ds.get("BodyPartExamined") or "") or None,
        "view": str(ds.get("ViewPosition") or "") or None,
        "laterality": str(ds.get("ImageLaterality") or ds.get("Laterality") or "") or None,
        "pixel_spacing_mm": [float(v) for v in spacing] if spacing else None,
        "slice_thickness_mm": num("SliceThickness"),
        "manufacturer": str(ds.get("Manufacturer") or "") or None,
        "model": str(ds.get("ManufacturerModelName") or "") or None,
        "kvp": num("KVP"),
        "rows": int(ds.get("Rows") or 0),
        "columns": int(ds.get("Columns") or 0),
        "frames": int(ds.get("NumberOfFrames") or 1),
        "photometric": str(ds.get("PhotometricInterpretation") or ""),
        "bits_stored": int(ds.get("BitsStored") or 0),
        "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
    }


def deid_dicom(
    data: bytes,
    *,
    opts: DicomOptions,
    secret: bytes,
    clean_text: Callable[[str], str] = lambda s: s,
    method: str = "datadam",
) -> DicomDeid:
    """De-identify one DICOM file to the Basic Profile with the spec's options.

    Args:
        data: the DICOM file as collected (with or without preamble/meta header).
        opts: the spec's ``modality.dicom`` block.
        secret: the dataset's key (``restricted/<ds>/deid/dicom.key``); UIDs and date shifts derive from it.
        clean_text: what cleans a free-text value (the project's text rules); patient identifiers found in
            the file are removed from cleaned values besides.
        method: the de-identifier's name and version, written to DeidentificationMethod.

    Raises:
        Reject: ``pii.burned_in`` (burned-in text, quarantined as the spec says or not found to mask),
            ``pii.unmasked`` (the re-check of the written file still finds an identifying value),
            ``media.undecodable``.
    """
    ds = dicom.read(data)
    arr = dicom.pixels(ds)
    flagged = str(ds.get("BurnedInAnnotation") or "").upper() == "YES"
    regions: list[TextRegion] = []
    window = opts.window_values()
    if flagged and opts.burned_in == "quarantine":
        raise Reject(R.PII_BURNED_IN, "BurnedInAnnotation = YES and the spec quarantines burned-in text")
    if flagged or opts.burned_in_scan == "all":
        for frame in arr:
            regions += find_text_regions(dicom.render(ds, frame, window=window))
        if flagged and not regions:
            raise Reject(R.PII_BURNED_IN, "BurnedInAnnotation = YES but no text was found in the pixels to mask")
        if regions and opts.burned_in == "quarantine":
            raise Reject(R.PII_BURNED_IN, f"{len(regions)} line(s) of text found in the pixels of a file not flagged "
                         "BurnedInAnnotation = YES, and the spec quarantines burned-in text")
    burned_in = bool(regions)
    if regions:
        arr = _mask_frames(arr, regions, margin=max(2, min(arr.shape[1:3]) // 100))
        left = [r for frame in arr for r in find_text_regions(dicom.render(ds, frame, window=window))]
        if left:
            raise Reject(R.PII_UNMASKED, f"{len(left)} text region(s) still found in the pixels after masking")

    identifiers = _identifier_tokens(ds)
    profile = _Profile(opts=opts, secret=secret, shift=date_shift_days(secret, str(ds.get("PatientID") or "")),
                       clean=clean_text, identifiers=identifiers)
    originals = _originals(ds, profile.actions)
    profile.apply(ds)
    meta = ds.file_meta
    for kw in _META_IDENTIFYING:
        if kw in meta:
            del meta[kw]
    for elem in list(meta):
        if elem.tag.is_private:
            del meta[elem.tag]
    if regions:
        _set_pixels(ds, arr)
        ds.BurnedInAnnotation = "NO"
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientIdentityRemoved = "YES"
    options = list(opts.profile_options)
    codes = [P.PROFILE_CODE, *(P.OPTION_CODES[o] for o in options)]
    if regions:
        codes.append(P.CLEAN_PIXEL_DATA_CODE)
    if opts.safe_private_tags:
        codes.append(P.SAFE_PRIVATE_CODE)
    ds.DeidentificationMethod = ["PS3.15 E.1 Basic Profile", *(c[1][:64] for c in codes[1:]), method[:64]]
    ds.DeidentificationMethodCodeSequence = _method_sequence(codes)
    ds.LongitudinalTemporalInformationModified = "MODIFIED" if profile.dates else "REMOVED"
    ds.preamble = b"\x00" * 128
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(buf, enforce_file_format=True)
    out = buf.getvalue()
    problems = leftovers(out, originals=originals, identifiers=identifiers, safe=profile.safe)
    if problems:
        raise Reject(R.PII_UNMASKED, f"DICOM: {len(problems)} attribute(s) not de-identified: {problems[:5]}")
    frame_displays = [dicom.display_png(ds, frame, opts=opts) for frame in arr]
    audit = {
        "profile": P.PROFILE_REVISION,
        "options": options,
        "codes": [c[0] for c in codes],
        "actions": dict(sorted(profile.counts.items())),
        "uids": "2.25 + HMAC-SHA256(dataset key, uid)",
        "dates": "shifted per patient" if profile.dates else "removed or emptied",
        "burned_in": {"flagged": flagged, "scan": opts.burned_in_scan, "action": "mask" if burned_in else None,
                      "regions": [[r.x, r.y, r.w, r.h] for r in regions]},
        "frames": int(arr.shape[0]),
    }
    return DicomDeid(data=out, display=frame_displays[0], frames=int(arr.shape[0]), audit=audit,
                     facts=release_facts(ds), regions=regions, frame_displays=frame_displays)
