"""Video clips through OpenCV's FFmpeg backend: what intake, the synthetic generator and masking share.

Frames are decoded and encoded one at a time: a 1080p frame is 6 MB, a ten-minute 30 fps clip 100 GB decoded.
OpenCV 4.10 (the oldest the project allows) reads and writes files only, so a clip passes through a temporary
file. Container structure (box and element sizes) is checked here without decoding: a cut-off MP4 has lost the
index OpenCV writes at its end and cannot be opened at all, and intake must tell that apart from garbage.
"""

from __future__ import annotations

import math
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from pipelines.collect import reasons as R

# The spec's container names, as intake recognises them from their first bytes.
CONTAINERS = ("mp4", "mov", "avi", "mkv", "webm")
# The codec each container is written with. The opencv wheel's FFmpeg has no H.264 encoder: masked MP4/MOV clips
# are MPEG-4 Part 2, which browsers do not play; WebM clips are written as VP8, which they do.
FOURCC = {"mp4": "mp4v", "mov": "mp4v", "avi": "XVID", "mkv": "XVID", "webm": "VP80"}
# Containers whose bytes are the same each time the same frames are written (Matroska stores a random UID).
DETERMINISTIC = ("mp4", "mov", "avi")
# QuickTime files from old cameras may start with these boxes instead of ``ftyp``.
_QT_FIRST_BOXES = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
# Metadata in an MP4/MOV ``moov``/``udta``/``meta`` box that places or names the camera, the people or the scene:
# GPS position, device make/model, title, comment, description, author/artist (QuickTime, iTunes and 3GPP
# atoms, Apple ``mdta`` keys) and XMP packets. What writers put there by themselves (``©too``, the encoder) is not
# in the list, so a clip written by OpenCV has none of these.
_PERSONAL_ATOMS = (
    b"\xa9xyz",
    b"loci",
    b"\xa9mak",
    b"\xa9mod",
    b"\xa9nam",
    b"\xa9cmt",
    b"\xa9des",
    b"\xa9inf",
    b"\xa9ART",
    b"\xa9aut",
    b"\xa9wrt",
    b"desc",
    b"ldes",
    b"titl",
    b"dscp",
    b"auth",
    b"perf",
    b"com.apple.quicktime.",
    b"<x:xmpmeta",
    b"\xbe\x7a\xcf\xcb\x97\xa9\x42\xe8\x9c\x71\x99\x94\x91\xe3\xaf\xac",  # the XMP ``uuid`` box
)
# Matroska/WebM: the Segment Info's Title element, and Tags whose names are not the muxer's own.
_MKV_INFO, _MKV_TITLE, _MKV_TAGS, _MKV_CLUSTER = 0x1549A966, 0x7BA9, 0x1254C367, 0x1F43B675
_MKV_WRITER_TAGS = (b"ENCODER", b"DURATION", b"HANDLER_NAME", b"VENDOR_ID", b"CREATION_TIME")
_MKV_TAG_NAME = 0x45A3
# AVI: an INFO list with anything besides the writing software (ISFT).
_AVI_WRITER_INFO = (b"ISFT",)

Frame = NDArray[np.uint8]

# FFmpeg logs every damaged macroblock of a broken stream to stderr (thousands of lines for one bad clip);
# intake reports what is wrong in a reason code instead. Read when OpenCV first opens a clip; a value set by
# whoever runs the process wins.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


class VideoError(ValueError):
    """The bytes are not a clip OpenCV can open, or a clip cannot be written in the asked container."""


class _CutOff(VideoError):
    """A container structure runs past the end of the bytes."""


@dataclass(frozen=True)
class ClipInfo:
    """What the container declares (``declared_frames`` is 0 when it does not say)."""

    width: int
    height: int
    fps: float
    declared_frames: int


class Clip:
    """An opened clip: its declared properties and its frames (BGR, decoded one at a time)."""

    def __init__(self, cap: cv2.VideoCapture) -> None:
        self._cap = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.info = ClipInfo(
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
            fps=fps if math.isfinite(fps) else 0.0,
            declared_frames=int(count) if math.isfinite(count) and 0 < count < 2**31 else 0,
        )

    def frames(self) -> Iterator[Frame]:
        """The frames in order; decoding stops at the first frame FFmpeg cannot decode (or the end)."""
        while True:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                return
            yield np.asarray(frame, dtype=np.uint8)


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A private temporary directory, removed on exit (clips and keyframes pass through it)."""
    path = Path(tempfile.mkdtemp(prefix="datadam-video-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def open_clip(src: bytes | Path, *, ext: str = "bin") -> Iterator[Clip]:
    """Open encoded bytes (through a temporary file) or a file for frame-by-frame decoding.

    Raises:
        VideoError: FFmpeg cannot open it.
    """
    with scratch_dir() as tmp:
        path = src if isinstance(src, Path) else tmp / f"clip.{ext}"
        if not isinstance(src, Path):
            path.write_bytes(src)
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        try:
            if not cap.isOpened():
                raise VideoError("FFmpeg cannot open the clip")
            yield Clip(cap)
        finally:
            cap.release()


@contextmanager
def write_clip(path: Path, *, ext: str, fps: float, width: int, height: int) -> Iterator[Callable[[Frame], None]]:
    """A function that appends BGR frames to a new clip at ``path`` (in ``ext``'s container), closed on exit.

    Raises:
        VideoError: no encoder for the container, or the encoder refuses the size.
    """
    fourcc = FOURCC.get(ext)
    if fourcc is None:
        raise VideoError(f"no encoder for {ext} clips in this OpenCV build (writable: {sorted(FOURCC)})")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), float(fps), (width, height))
    if not writer.isOpened():
        raise VideoError(f"OpenCV cannot write a {width}x{height} {ext} clip at {fps:g} fps")

    def write(frame: Frame) -> None:
        writer.write(frame)

    try:
        yield write
    finally:
        writer.release()


def keyframe_indices(frames: int, fps: float, annotation_fps: float) -> list[int]:
    """Frames sampled at ``annotation_fps`` (the frame nearest each ``k / annotation_fps`` seconds)."""
    if frames <= 0 or fps <= 0:
        return []
    step = fps / annotation_fps
    count = math.floor((frames - 1) / step + 1e-9) + 1
    return list(dict.fromkeys(min(frames - 1, round(k * step)) for k in range(count)))


# ------------------------------------------------------------------------------------------- containers


def container_of(data: bytes) -> str | None:
    """The container the bytes are in (one of ``CONTAINERS``), from their first bytes; None if none."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "mov" if data[8:12] == b"qt  " else "mp4"
    if len(data) >= 8 and data[4:8] in _QT_FIRST_BOXES:
        return "mov"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "avi"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if _ebml_doctype(data) == "webm" else "mkv"
    return None


def container_problem(data: bytes, container: str) -> tuple[str, str] | None:
    """``(reason, detail)`` when the container's own sizes say the file is cut off or broken; else None."""
    if container in ("mp4", "mov"):
        return _bmff_problem(data)
    if container == "avi":
        declared = struct.unpack_from("<I", data, 4)[0] + 8
        if declared > len(data):
            return R.MEDIA_TRUNCATED, f"the RIFF header declares {declared} bytes, {len(data)} present"
        return None
    return _matroska_problem(data)


def has_personal_metadata(data: bytes) -> bool:
    """Whether a clip's container carries metadata beyond what a writer puts there by itself.

    MP4/MOV: GPS position, make/model, title, comment, description, author, XMP (``_PERSONAL_ATOMS``) in any
    top-level ``moov``/``udta``/``meta``/``uuid`` box. Matroska/WebM: a Segment Title, or a tag other than the
    muxer's (encoder, duration ...). AVI: an INFO list entry other than the writing software.
    """
    container = container_of(data)
    if container in ("mp4", "mov"):
        for kind, start, size in _bmff_boxes(data):
            if kind in (b"moov", b"udta", b"meta", b"uuid"):
                box = data[start : start + size]
                if any(atom in box for atom in _PERSONAL_ATOMS):
                    return True
        return False
    if container in ("mkv", "webm"):
        try:
            return _matroska_metadata(data)
        except VideoError:
            return True  # cannot tell: re-encoding drops whatever is there
    if container == "avi":
        return _avi_metadata(data)
    return False


def _ebml_children(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(id, body start, body end) of the EBML elements in ``data[start:end]``; stops at an unknown size."""
    pos = start
    while pos < end:
        eid, id_len = _vint(data, pos, keep_marker=True)
        size, size_len = _vint(data, pos + id_len, keep_marker=False)
        body = pos + id_len + size_len
        if size < 0:
            yield eid, body, end
            return
        yield eid, body, min(body + size, end)
        pos = body + size


def _matroska_metadata(data: bytes) -> bool:
    _, id_len = _vint(data, 0, keep_marker=True)
    size, size_len = _vint(data, id_len, keep_marker=False)
    pos = id_len + size_len + max(size, 0)
    seg_id, seg_id_len = _vint(data, pos, keep_marker=True)
    if seg_id != 0x18538067:
        raise VideoError(f"no Matroska Segment after the EBML header (element {seg_id:#x})")
    seg_size, seg_size_len = _vint(data, pos + seg_id_len, keep_marker=False)
    seg_start = pos + seg_id_len + seg_size_len
    seg_end = len(data) if seg_size < 0 else min(len(data), seg_start + seg_size)
    for eid, body, end in _ebml_children(data, seg_start, seg_end):
        if eid == _MKV_INFO:
            if any(child == _MKV_TITLE for child, _, _ in _ebml_children(data, body, end)):
                return True
        elif eid == _MKV_TAGS:
            names = _mkv_tag_names(data, body, end)
            if any(name not in _MKV_WRITER_TAGS for name in names):
                return True
        elif eid == _MKV_CLUSTER and end == seg_end:  # a cluster of unknown size runs to the end
            break
    return False


def _mkv_tag_names(data: bytes, start: int, end: int) -> list[bytes]:
    """Every TagName in a Tags element (Tags > Tag > SimpleTag > TagName, SimpleTags nest)."""
    names: list[bytes] = []
    for eid, body, stop in _ebml_children(data, start, end):
        if eid == _MKV_TAG_NAME:
            names.append(data[body:stop].rstrip(b"\x00").upper())
        elif eid in (0x7373, 0x67C8):  # Tag, SimpleTag: containers
            names += _mkv_tag_names(data, body, stop)
    return names


def _avi_metadata(data: bytes) -> bool:
    at = data.find(b"INFO", 12)
    while at >= 8:
        if data[at - 8 : at - 4] == b"LIST":
            end = min(len(data), at - 4 + 4 + struct.unpack_from("<I", data, at - 4)[0])
            pos = at + 4
            while pos + 8 <= end:
                cid, csize = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
                if cid not in _AVI_WRITER_INFO:
                    return True
                pos += 8 + csize + (csize & 1)
        at = data.find(b"INFO", at + 4)
    return False


def _bmff_boxes(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of the top-level boxes; a box running past the end is yielded with its full size."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size == 1:
            if offset + 16 > len(data):
                return
            size = struct.unpack_from(">Q", data, offset + 8)[0]
        elif size == 0:  # "to the end of the file"
            size = len(data) - offset
        if size < 8:
            raise VideoError(f"box {kind!r} at byte {offset} declares {size} bytes")
        yield kind, offset, size
        offset += size


def _bmff_problem(data: bytes) -> tuple[str, str] | None:
    seen: set[bytes] = set()
    try:
        for kind, offset, size in _bmff_boxes(data):
            seen.add(kind)
            if offset + size > len(data):
                name, left = kind.decode("latin-1"), len(data) - offset
                return R.MEDIA_TRUNCATED, f"box '{name}' at byte {offset} declares {size} bytes, {left} present"
    except VideoError as exc:
        return R.MEDIA_UNDECODABLE, str(exc)
    if b"moov" not in seen:
        if b"mdat" in seen:
            return R.MEDIA_TRUNCATED, "media data but no 'moov' index: the end of the file is missing"
        return R.MEDIA_UNDECODABLE, "no 'moov' box"
    return None


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at ``pos``: (value, length); an all-ones size is returned as -1."""
    if pos >= len(data):
        raise _CutOff(f"the file ends at byte {len(data)}, inside the EBML structure")
    if data[pos] == 0:
        raise VideoError(f"no EBML number at byte {pos}")
    length = 8 - data[pos].bit_length() + 1
    if pos + length > len(data):
        raise _CutOff(f"the EBML number at byte {pos} runs past the end")
    value = int.from_bytes(data[pos : pos + length], "big")
    if keep_marker:
        return value, length
    value &= (1 << (7 * length)) - 1
    return (-1 if value == (1 << (7 * length)) - 1 else value), length


def _ebml_doctype(data: bytes) -> str:
    try:
        _, id_len = _vint(data, 0, keep_marker=True)
        size, size_len = _vint(data, id_len, keep_marker=False)
        header = data[id_len + size_len : id_len + size_len + max(size, 0)]
        at = header.find(b"\x42\x82")
        if at < 0:
            return ""
        n, n_len = _vint(header, at + 2, keep_marker=False)
        return header[at + 2 + n_len : at + 2 + n_len + n].decode("ascii", "replace")
    except VideoError:
        return ""


def _matroska_problem(data: bytes) -> tuple[str, str] | None:
    try:
        _, id_len = _vint(data, 0, keep_marker=True)
        size, size_len = _vint(data, id_len, keep_marker=False)
        pos = id_len + size_len + max(size, 0)
        seg_id, seg_id_len = _vint(data, pos, keep_marker=True)
        if seg_id != 0x18538067:
            return R.MEDIA_UNDECODABLE, f"no Matroska Segment after the EBML header (element {seg_id:#x})"
        seg_size, seg_size_len = _vint(data, pos + seg_id_len, keep_marker=False)
    except VideoError as exc:
        return (R.MEDIA_TRUNCATED if isinstance(exc, _CutOff) else R.MEDIA_UNDECODABLE), str(exc)
    end = pos + seg_id_len + seg_size_len + seg_size
    if seg_size >= 0 and end > len(data):
        return R.MEDIA_TRUNCATED, f"the Segment declares {end} bytes, {len(data)} present"
    return None


def bgr_to_rgb(frame: Frame) -> NDArray[Any]:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
