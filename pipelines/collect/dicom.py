"""DICOM on intake: read (with or without the preamble and meta header), decode every frame, check, render.

pydicom reads the files; the pylibjpeg plugins decode JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000 and
RLE pixel data (pure wheels, no system library; GDCM's PyPI build would add a 20 MB C++ toolkit for the same
transfer syntaxes). ``render`` makes the 8-bit image annotators see: the spec's window or preset, else the file's
own VOI LUT / window, else the full range of the pixels; MONOCHROME1 is inverted. Its pixel grid is the DICOM's
(Columns x Rows), so coordinates drawn on it are DICOM pixel coordinates.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import struct
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydicom
from numpy.typing import NDArray
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from pipelines.collect import reasons as R
from pipelines.collect.dedupe import image_phash
from pipelines.collect.reasons import Reject
from pipelines.spec.models import DicomOptions, ImageModality
from pipelines.storage import layout
from pipelines.storage.store import ObjectStore

# Decoding more pixels than this (all frames together) is refused whatever the spec says.
MAX_PIXELS = 250_000_000
EXT = "dcm"


@dataclass(frozen=True)
class DicomFacts:
    """What intake learnt about a DICOM item that passed."""

    rows: int
    columns: int
    frames: int
    modality: str
    photometric: str
    bits_stored: int
    transfer_syntax: str
    burned_in: bool  # BurnedInAnnotation = YES
    content_sha256: str  # of the decoded pixels of every frame (exact dedupe across transfer syntaxes)
    phash: bytes  # of the display image of the first frame


def looks_like_dicom(data: bytes) -> bool:
    """Whether the bytes start like DICOM: the ``DICM`` preamble marker, or a bare dataset of group 0002/0008."""
    if data[128:132] == b"DICM":
        return True
    return _bare_group(data) is not None


def _bare_group(data: bytes) -> tuple[bool, bool] | None:
    """(little endian, implicit VR) when the bytes open with a group 0002/0008 element (no preamble), else None."""
    if len(data) < 8:
        return None
    le_group, = struct.unpack("<H", data[:2])
    be_group, = struct.unpack(">H", data[:2])
    vr = data[4:6]
    explicit = vr.isalpha() and vr.isupper()
    if le_group in (0x0002, 0x0008):
        return True, not explicit
    if be_group == 0x0008 and explicit:
        return False, False
    return None


def read(data: bytes) -> Dataset:
    """Parse a DICOM file; one without preamble/meta header is read if it opens with a plausible dataset.

    Raises:
        Reject: ``media.undecodable`` with the reason when the bytes are not DICOM.
    """
    has_preamble = data[128:132] == b"DICM"
    bare = None if has_preamble else _bare_group(data)
    if not has_preamble and bare is None:
        raise Reject(
            R.MEDIA_UNDECODABLE,
            "not DICOM: no 'DICM' preamble marker and the bytes do not open with a group 0002/0008 element",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns on every oddity it recovers from; we check below
            ds = pydicom.dcmread(io.BytesIO(data), force=not has_preamble)
            list(ds.keys())  # a dataset that ends mid-element fails here, not later
    except (InvalidDicomError, EOFError, ValueError, KeyError, struct.error, OSError, TypeError) as exc:
        raise Reject(R.MEDIA_UNDECODABLE, f"DICOM: {type(exc).__name__}: {exc}") from None
    if not has_preamble:
        if not any(el.tag.group == 0x0008 for el in ds) or "SOPClassUID" not in ds:
            raise Reject(R.MEDIA_UNDECODABLE, "not DICOM: read without a meta header, it has no SOP Class UID")
        assert bare is not None
        little, implicit = bare
        meta = ds.file_meta if isinstance(getattr(ds, "file_meta", None), FileMetaDataset) else FileMetaDataset()
        if "TransferSyntaxUID" not in meta:
            # A bare dataset is in one of the three uncompressed syntaxes: the first element told us which.
            meta.TransferSyntaxUID = (
                (ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian) if little else ExplicitVRBigEndian
            )
        ds.file_meta = meta
    elif "TransferSyntaxUID" not in ds.file_meta:
        raise Reject(R.MEDIA_UNDECODABLE, "DICOM meta header without a Transfer Syntax UID")
    return ds


def pixels(ds: Dataset) -> NDArray[Any]:
    """Every frame, decoded: (frames, rows, columns[, samples]).

    Raises:
        Reject: ``media.truncated`` / ``media.undecodable``.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(ds.pixel_array)
    except ValueError as exc:
        reason = R.MEDIA_TRUNCATED if "less than expected" in str(exc) or "truncat" in str(exc) else (
            R.MEDIA_UNDECODABLE)
        raise Reject(reason, f"DICOM pixel data: {exc}") from None
    except (RuntimeError, NotImplementedError, AttributeError, KeyError, TypeError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        syntax = ds.file_meta.TransferSyntaxUID.name
        raise Reject(R.MEDIA_UNDECODABLE, f"DICOM pixel data ({syntax}): {first}") from None
    frames = int(ds.get("NumberOfFrames") or 1)
    samples = int(ds.get("SamplesPerPixel") or 1)
    if frames == 1:
        arr = arr[np.newaxis]
    if arr.ndim != (4 if samples > 1 else 3) or arr.shape[0] != frames:
        raise Reject(R.MEDIA_UNDECODABLE, f"DICOM pixel data decodes to shape {arr.shape}, not {frames} frame(s)")
    return arr


def check(data: bytes, mod: ImageModality) -> tuple[Dataset, NDArray[Any], DicomFacts]:
    """Read, check against the spec's ``dicom`` block and decode every frame.

    Raises:
        Reject: a reason code of ``reasons`` and what was found.
    """
    if "dicom" not in mod.formats:
        raise Reject(R.MEDIA_FORMAT, f"dicom is not among the spec's formats {mod.formats}")
    opts = mod.dicom_options()
    ds = read(data)
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        what = ds.get("Modality") or ds.get("SOPClassUID", "?")
        raise Reject(R.DICOM_NO_PIXELS, f"a DICOM object without pixel data ({what}): nothing to annotate")
    modality = str(ds.get("Modality") or "")
    if modality not in opts.modalities:
        raise Reject(R.DICOM_MODALITY, f"Modality {modality or '(missing)'} is not among {opts.modalities}")
    rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    min_rows, min_cols = opts.min_rows or mod.min_height, opts.min_columns or mod.min_width
    if rows < min_rows or cols < min_cols:
        raise Reject(R.MEDIA_TOO_SMALL, f"{cols}x{rows} (Columns x Rows) < minimum {min_cols}x{min_rows}")
    if (mod.max_width and cols > mod.max_width) or (mod.max_height and rows > mod.max_height):
        raise Reject(R.MEDIA_TOO_LARGE, f"{cols}x{rows} > maximum {mod.max_width}x{mod.max_height}")
    bits = int(ds.get("BitsStored") or 0)
    if bits not in opts.bits_stored:
        raise Reject(R.DICOM_BITS_STORED, f"BitsStored {bits} is not among {opts.bits_stored}")
    photometric = str(ds.get("PhotometricInterpretation") or "")
    if photometric not in opts.photometric:
        raise Reject(R.DICOM_PHOTOMETRIC, f"PhotometricInterpretation {photometric or '(missing)'} is not among "
                     f"{opts.photometric}")
    frames = int(ds.get("NumberOfFrames") or 1)
    if frames > opts.max_frames:
        raise Reject(R.DICOM_FRAMES, f"{frames} frames > max_frames {opts.max_frames}")
    if rows * cols * frames > MAX_PIXELS:
        raise Reject(R.MEDIA_OVERSIZE, f"{frames} frame(s) of {cols}x{rows} exceed the decoder limit")
    arr = pixels(ds)
    same = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))  # big-endian files hash like the others
    digest = hashlib.sha256(f"dicom:{same.dtype.str}:{same.shape}:".encode())
    digest.update(same.tobytes())
    facts = DicomFacts(
        rows=rows,
        columns=cols,
        frames=frames,
        modality=modality,
        photometric=photometric,
        bits_stored=bits,
        transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
        burned_in=str(ds.get("BurnedInAnnotation") or "").upper() == "YES",
        content_sha256=digest.hexdigest(),
        phash=image_phash(Image.fromarray(render(ds, arr[0], window=opts.window_values()))),
    )
    return ds, arr, facts


def render(ds: Dataset, frame: NDArray[Any], *, window: tuple[float, float] | None = None) -> NDArray[np.uint8]:
    """The 8-bit display image of one decoded frame (rows x columns, or rows x columns x 3 for colour).

    Grey images go through the Modality LUT (rescale slope/intercept, to HU for CT), then the given window, else
    the file's VOI LUT / WindowCenter+WindowWidth, else min-max; MONOCHROME1 is inverted so that high values are
    dark, as a radiologist's viewer shows them.
    """
    photometric = str(ds.get("PhotometricInterpretation") or "")
    if photometric == "PALETTE COLOR":
        rgb = np.asarray(apply_color_lut(frame, ds))
        return _to_uint8(rgb.astype(np.float64), float(rgb.min()), float(rgb.max()))
    if frame.ndim == 3:  # RGB (pydicom converts YBR to RGB on decoding)
        top = float(2 ** int(ds.get("BitsStored") or 8) - 1)
        return _to_uint8(frame.astype(np.float64), 0.0, top)
    values = np.asarray(apply_modality_lut(frame, ds), dtype=np.float64)
    if window is not None:
        center, width = window
        lo, hi = center - width / 2, center + width / 2
        out = _to_uint8(values, lo, hi)
    elif "VOILUTSequence" in ds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            voi = np.asarray(apply_voi_lut(values, ds, index=0), dtype=np.float64)
        out = _to_uint8(voi, float(voi.min()), float(voi.max()))
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        center, width = _first(ds.WindowCenter), _first(ds.WindowWidth)
        out = _to_uint8(values, center - width / 2, center + width / 2)
    else:
        out = _to_uint8(values, float(values.min()), float(values.max()))
    if photometric == "MONOCHROME1":
        out = (255 - out).astype(np.uint8)
    return out


def _first(value: Any) -> float:
    return float(value[0] if isinstance(value, pydicom.multival.MultiValue) else value)


def _to_uint8(values: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.uint8]:
    span = max(hi - lo, 1e-9)
    return np.clip(np.round((values - lo) * (255.0 / span)), 0, 255).astype(np.uint8)


def display_png(ds: Dataset, frame: NDArray[Any], *, opts: DicomOptions) -> bytes:
    """The display image of a frame as PNG bytes (what annotators see)."""
    buf = io.BytesIO()
    Image.fromarray(render(ds, frame, window=opts.window_values())).save(buf, format="PNG")
    return buf.getvalue()


def key_path(dataset: str) -> str:
    """Where a dataset's DICOM de-identification key lives (never published, never shown)."""
    return layout.restricted(dataset, "deid", "dicom.key")


def dataset_key(store: ObjectStore, dataset: str) -> bytes:
    """The dataset's key, created (32 random bytes) the first time it is asked for.

    ``plan_shards`` asks first, before any shard runs, so parallel shards read one key. Losing it changes every
    new UID and date shift of later runs; keep ``restricted/`` backed up.
    """
    path = key_path(dataset)
    if not store.exists(path):
        store.write_text(path, secrets.token_hex(32))
    return bytes.fromhex(store.read_text(path).strip())
