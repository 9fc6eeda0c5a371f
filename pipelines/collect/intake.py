"""기술 적합성 (technical conformity) on intake: decode every item and check it against the spec's modality.

Each check returns what it learnt about the item (dimensions, duration, decoded text, a hash of the decoded
content for exact dedupe) or raises ``Reject`` with a reason code; nothing here writes anything.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import re
import unicodedata
import warnings
import wave
from dataclasses import dataclass

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from pipelines.collect import dicom
from pipelines.collect import reasons as R
from pipelines.collect.dedupe import image_phash, video_frame_positions
from pipelines.collect.encoding import has_control_characters, strip_bom
from pipelines.collect.orientation import turned_sideways, upright
from pipelines.collect.reasons import Reject
from pipelines.collect.sources.base import RawItem
from pipelines.collect.video import CONTAINERS, Clip, VideoError, bgr_to_rgb, container_of, container_problem, open_clip
from pipelines.spec.models import (
    AudioModality,
    DatasetSpec,
    ImageModality,
    MultimodalModality,
    SingleModality,
    TextModality,
    TimeseriesModality,
    VideoModality,
)
from pipelines.wav import decode_wav, plain_pcm

# Decoding more pixels than this is refused whatever the spec says (decompression bombs).
MAX_PIXELS = 250_000_000
# PIL's format names -> the spec's format names and our file extensions.
IMAGE_FORMATS = {
    "JPEG": ("jpeg", "jpg"),
    "PNG": ("png", "png"),
    "WEBP": ("webp", "webp"),
    "TIFF": ("tiff", "tiff"),
    "BMP": ("bmp", "bmp"),
    "MPO": ("jpeg", "jpg"),
}
_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})
_COLOR_MODES = frozenset({"RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "RGBX"})
# Characters a Korean text is made of; a legacy decoding that yields mostly something else decoded garbage.
_PLAUSIBLE = re.compile(
    r"[\uac00-\ud7a3\u3131-\u318e\u0020-\u007e\s\u00b7\u2018-\u201d\u2026\u3000-\u303f\uff01-\uff5e]"
)


@dataclass(frozen=True)
class Accepted:
    """What intake learnt about an item that passed."""

    ext: str  # normalised extension of the original (from the decoded format, not the file name)
    content_sha256: str  # hash of the decoded content: pixels, video frames, PCM frames or NFC text (exact dedupe)
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    text: str | None = None
    encoding: str | None = None
    phash: bytes | None = None  # perceptual hash of an image, or of sampled frames of a clip (near-duplicate key)
    fps: float | None = None  # frames per second of a clip
    frames: int | None = None  # frames of a multi-frame DICOM
    # A multimodal item's components other than the primary one, in the spec's order: (kind, what intake learnt).
    components: tuple[tuple[str, Accepted], ...] = ()


def check_item(spec: DatasetSpec, raw: RawItem) -> Accepted:
    """Run the checks of the spec's modality on one raw item.

    Raises:
        Reject: the item fails a check; ``reason`` is the code to quarantine it with.
    """
    mod = spec.modality
    if isinstance(mod, MultimodalModality):
        return check_multimodal(raw, mod)
    if not raw.data:
        raise Reject(R.MEDIA_EMPTY, "the item has zero bytes")
    return _check_single(mod, raw.data, raw.ext)


def _check_single(mod: SingleModality, data: bytes, ext: str) -> Accepted:
    if isinstance(mod, ImageModality):
        return check_image(data, mod)
    if isinstance(mod, AudioModality):
        return check_audio(data, mod)
    if isinstance(mod, TextModality):
        return check_text(data, ext, mod)
    if isinstance(mod, TimeseriesModality):
        return check_timeseries(data, ext, mod)
    return check_video(data, mod)


# -------------------------------------------------------------------------------------------- multimodal


def check_multimodal(raw: RawItem, mod: MultimodalModality) -> Accepted:
    """Check every component file of a multimodal item against its component modality (docs/adr/0024).

    The result is the primary component's (``media_*`` columns of the manifest), with the text of a text
    component and the other components in ``components``; its content hash covers every component, so an exact
    duplicate is one whose every component repeats. A component failing its checks rejects the item with the
    component's reason, the detail naming the component.

    Raises:
        Reject: ``multimodal.component_missing`` / ``multimodal.component_extra`` when the files are not one per
            component, or the reason of the first component that fails.
    """
    declared = [c.kind for c in mod.components]
    got = [c.kind for c in raw.components]
    missing = [k for k in declared if k not in got]
    if missing:
        raise Reject(R.MULTIMODAL_MISSING, f"no {', '.join(missing)} file for this item (it has {got or 'none'})")
    extra = sorted({k for k in got if k not in declared or got.count(k) > 1})
    if extra:
        raise Reject(R.MULTIMODAL_EXTRA, f"more than one {', '.join(extra)} file for this item")
    by_kind = {c.kind: c for c in raw.components}
    learnt: dict[str, Accepted] = {}
    for kind in declared:
        comp = by_kind[kind]
        if not comp.data:
            raise Reject(R.MEDIA_EMPTY, f"{kind} component: zero bytes")
        try:
            learnt[kind] = _check_single(mod.component(kind), comp.data, comp.ext)
        except Reject as rej:
            raise Reject(rej.reason, f"{kind} component: {rej.detail}") from None
    primary = mod.primary
    digest = hashlib.sha256(b"multimodal:")
    for kind in declared:
        digest.update(f"{kind}:{learnt[kind].content_sha256}:".encode())
    text = learnt["text"].text if "text" in learnt and primary != "text" else None
    head = learnt[primary]
    others = tuple((k, learnt[k]) for k in declared if k not in (primary, "text"))
    return dataclasses.replace(head, content_sha256=digest.hexdigest(), text=head.text if text is None else text,
                               components=others)


# ------------------------------------------------------------------------------------------------ images


def check_image(data: bytes, mod: ImageModality) -> Accepted:
    """Decode the whole image (a truncated file fails here) and check format, size and colour."""
    if len(data) > mod.max_bytes:
        raise Reject(R.MEDIA_OVERSIZE, f"{len(data)} bytes > max_bytes {mod.max_bytes}")
    if dicom.looks_like_dicom(data):
        return check_dicom(data, mod)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            also = "; not DICOM either (no 'DICM' preamble, no group 0002/0008 dataset)" if (
                "dicom" in mod.formats) else ""
            raise Reject(R.MEDIA_UNDECODABLE, f"not an image PIL can read ({_magic(data)}){also}") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise Reject(R.MEDIA_OVERSIZE, str(exc)) from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise Reject(R.MEDIA_UNDECODABLE, f"{type(exc).__name__}: {exc}") from None
        with im:
            fmt = IMAGE_FORMATS.get(im.format or "")
            if fmt is None:
                raise Reject(R.MEDIA_FORMAT, f"image format {im.format} is not supported")
            if fmt[0] not in mod.formats:
                raise Reject(R.MEDIA_FORMAT, f"{fmt[0]} is not among the spec's formats {mod.formats}")
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise Reject(R.MEDIA_OVERSIZE, f"{width}x{height} pixels exceed the decoder limit")
            try:
                im.load()
                sideways = turned_sideways(im)  # PNG keeps its EXIF after the pixels: read it once they are in
            except (OSError, ValueError, SyntaxError) as exc:
                reason = R.MEDIA_TRUNCATED if "truncat" in str(exc).lower() else R.MEDIA_UNDECODABLE
                raise Reject(reason, f"{type(exc).__name__}: {exc}") from None
            if sideways:  # stored sideways: viewers show it turned, and annotators draw on what they see
                width, height = height, width
            if width < mod.min_width or height < mod.min_height:
                raise Reject(
                    R.MEDIA_TOO_SMALL, f"{width}x{height} < minimum {mod.min_width}x{mod.min_height}"
                )
            if (mod.max_width and width > mod.max_width) or (mod.max_height and height > mod.max_height):
                raise Reject(
                    R.MEDIA_TOO_LARGE, f"{width}x{height} > maximum {mod.max_width}x{mod.max_height}"
                )
            _check_color(im, mod)
            shown = upright(im)  # what de-identification writes: the same content hash and pHash either way
            digest = hashlib.sha256(f"{shown.mode}:{width}x{height}:".encode())
            digest.update(shown.tobytes())
            phash = image_phash(shown)
    return Accepted(ext=fmt[1], content_sha256=digest.hexdigest(), width=width, height=height, phash=phash)


def check_dicom(data: bytes, mod: ImageModality) -> Accepted:
    """Read a DICOM file (with or without its meta header), check it against the spec and decode every frame."""
    _, _, facts = dicom.check(data, mod)
    return Accepted(
        ext=dicom.EXT,
        content_sha256=facts.content_sha256,
        width=facts.columns,
        height=facts.rows,
        phash=facts.phash,
        frames=facts.frames,
    )


def _check_color(im: Image.Image, mod: ImageModality) -> None:
    if mod.color == "any":
        return
    if mod.color == "rgb" and im.mode not in _COLOR_MODES:
        raise Reject(R.IMAGE_COLOR, f"mode {im.mode} is not a colour image; the spec wants rgb")
    if mod.color == "grayscale" and im.mode not in _GRAY_MODES:
        if im.mode in ("RGB", "RGBA"):  # grey pixels saved as RGB are still grey
            arr = np.asarray(im.convert("RGB"))
            if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2]):
                return
        raise Reject(R.IMAGE_COLOR, f"mode {im.mode} holds colour; the spec wants grayscale")


# ------------------------------------------------------------------------------------------------- video

# A clip's frame rate may be this much below the spec's minimum: NTSC's 29.97 fps is "30 fps".
FPS_TOLERANCE = 0.002


def check_video(data: bytes, mod: VideoModality) -> Accepted:
    """Decode every frame (one at a time) and check container, size, frame rate, duration and frame count.

    The container's structure is checked first, so a cut-off file is ``media.truncated`` even when FFmpeg
    cannot open it at all; the declared duration is checked before decoding, so an over-long clip costs nothing.
    """
    if len(data) > mod.max_bytes:
        raise Reject(R.MEDIA_OVERSIZE, f"{len(data)} bytes > max_bytes {mod.max_bytes}")
    fmt = container_of(data)
    if fmt is None:
        kind = _magic(data)
        raise Reject(
            R.MEDIA_UNDECODABLE if kind in ("unknown", "empty") else R.MEDIA_FORMAT,
            f"not a video container ({kind}); intake decodes {', '.join(CONTAINERS)}",
        )
    if fmt not in mod.formats:
        raise Reject(R.MEDIA_FORMAT, f"{fmt} is not among the spec's formats {mod.formats}")
    problem = container_problem(data, fmt)
    if problem is not None:
        raise Reject(*problem)
    try:
        with open_clip(data, ext=fmt) as clip:
            return _decode_video(clip, fmt, mod)
    except VideoError as exc:
        raise Reject(R.MEDIA_UNDECODABLE, f"{fmt}: {exc}") from None
    except cv2.error as exc:
        raise Reject(R.MEDIA_UNDECODABLE, f"{fmt}: OpenCV: {exc}") from None


def _decode_video(clip: Clip, fmt: str, mod: VideoModality) -> Accepted:
    info = clip.info
    fps = info.fps
    if not 0 < fps <= 1000:
        raise Reject(R.VIDEO_FPS, f"the container declares no usable frame rate ({fps:g})")
    if fps < mod.min_fps * (1 - FPS_TOLERANCE):
        raise Reject(R.VIDEO_FPS, f"{fps:g} fps < min_fps {mod.min_fps:g}")
    one = 1 / fps  # a clip may end one frame short of a round duration
    declared = info.declared_frames
    if declared:
        _check_duration(declared / fps, one, mod, "declared ")
    if info.width * info.height > MAX_PIXELS:
        raise Reject(R.MEDIA_OVERSIZE, f"{info.width}x{info.height} pixels per frame exceed the decoder limit")
    limit = math.floor((mod.max_duration_s + one) * fps) + 1  # decoding stops here: too long whatever follows
    # Signature frames at the declared count's fractions; a container that declares none has every frame hashed.
    positions = set(video_frame_positions(declared)) if declared else None
    hashes: dict[int, bytes] = {}
    digest = hashlib.sha256()
    size: tuple[int, int] | None = None
    frames = 0
    last: NDArray[np.uint8] | None = None
    for frame in clip.frames():
        h, w = frame.shape[:2]
        if size is None:
            size = (w, h)
            if w < mod.min_width or h < mod.min_height:
                raise Reject(R.MEDIA_TOO_SMALL, f"{w}x{h} < minimum {mod.min_width}x{mod.min_height}")
            digest.update(f"video:{w}x{h}:".encode())
        elif size != (w, h):
            raise Reject(R.VIDEO_FRAME_COUNT, f"frame {frames} is {w}x{h}, the first frame {size[0]}x{size[1]}")
        digest.update(frame.tobytes())
        if positions is None or frames in positions:
            hashes[frames] = _frame_phash(frame)
        last = frame
        frames += 1
        if frames > limit:
            raise Reject(R.VIDEO_TOO_LONG, f"more than {limit - 1} frames at {fps:g} fps > {mod.max_duration_s} s")
    if size is None or last is None:
        raise Reject(R.MEDIA_UNDECODABLE, f"{fmt}: no frame decodes")
    if declared:
        slack = max(2, declared // 100)  # containers that only declare a duration estimate the count from it
        if frames + slack < declared:  # the container is whole (checked above): the stream itself is damaged
            raise Reject(R.MEDIA_UNDECODABLE, f"only {frames} of {declared} declared frames decode")
        if frames > declared + slack:
            raise Reject(R.VIDEO_FRAME_COUNT, f"{frames} frames decode, the container declares {declared}")
    duration = frames / fps
    _check_duration(duration, one, mod, "")
    if frames - 1 not in hashes:
        hashes[frames - 1] = _frame_phash(last)
    phash = b"".join(hashes.get(p, hashes[frames - 1]) for p in video_frame_positions(declared or frames))
    return Accepted(
        ext=fmt,
        content_sha256=digest.hexdigest(),
        width=size[0],
        height=size[1],
        duration_s=round(duration, 6),
        phash=phash,
        fps=round(fps, 6),
    )


def _frame_phash(frame: NDArray[np.uint8]) -> bytes:
    return image_phash(Image.fromarray(bgr_to_rgb(frame)))


def _check_duration(duration: float, one: float, mod: VideoModality, what: str) -> None:
    if duration + one < mod.min_duration_s:
        raise Reject(R.VIDEO_TOO_SHORT, f"{what}duration {duration:.3f} s < {mod.min_duration_s} s")
    if duration - one > mod.max_duration_s:
        raise Reject(R.VIDEO_TOO_LONG, f"{what}duration {duration:.3f} s > {mod.max_duration_s} s")


# ------------------------------------------------------------------------------------------------- audio


def check_audio(data: bytes, mod: AudioModality) -> Accepted:
    """Decode PCM WAV and check sample rate, channels, bit depth, duration and that it is not silent."""
    if len(data) > mod.max_bytes:
        raise Reject(R.MEDIA_OVERSIZE, f"{len(data)} bytes > max_bytes {mod.max_bytes}")
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        kind = _magic(data)
        raise Reject(
            R.MEDIA_UNDECODABLE if kind in ("unknown", "empty") else R.MEDIA_FORMAT,
            f"not a WAV file ({kind}); intake decodes PCM WAV",
        )
    if "wav" not in mod.formats:
        raise Reject(R.MEDIA_FORMAT, f"wav is not among the spec's formats {mod.formats}")
    try:
        with wave.open(io.BytesIO(plain_pcm(data)), "rb") as w:
            channels, width, rate, frames = (
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
                w.getnframes(),
            )
            raw = w.readframes(frames)
    except (wave.Error, EOFError, OSError) as exc:
        codes = {"3": "32-bit float", "6": "A-law", "7": "mu-law", "65534": "extensible non-PCM"}
        code = str(exc).rsplit(":", 1)[-1].strip() if "unknown format" in str(exc) else ""
        if code in codes:  # a real WAV, in a sample format other than integer PCM
            raise Reject(R.AUDIO_BIT_DEPTH, f"{codes[code]} WAV (format {code}); the spec wants "
                         f"{mod.bit_depth}-bit integer PCM") from None
        raise Reject(R.MEDIA_UNDECODABLE, f"{type(exc).__name__}: {exc}") from None
    expected = frames * channels * width
    if len(raw) < expected:
        raise Reject(R.MEDIA_TRUNCATED, f"{len(raw)} of {expected} bytes of audio data present")
    if rate not in mod.sample_rates:
        raise Reject(R.AUDIO_SAMPLE_RATE, f"{rate} Hz is not among {list(mod.sample_rates)}")
    if channels != mod.channels:
        raise Reject(R.AUDIO_CHANNELS, f"{channels} channels, the spec wants {mod.channels}")
    if width * 8 != mod.bit_depth:
        raise Reject(R.AUDIO_BIT_DEPTH, f"{width * 8}-bit, the spec wants {mod.bit_depth}-bit")
    duration = frames / rate
    if duration < mod.min_duration_s:
        raise Reject(R.AUDIO_TOO_SHORT, f"{duration:.3f} s < {mod.min_duration_s} s")
    if duration > mod.max_duration_s:
        raise Reject(R.AUDIO_TOO_LONG, f"{duration:.3f} s > {mod.max_duration_s} s")
    samples, _ = decode_wav(data)
    if float(np.abs(samples).max(initial=0.0)) < 1e-4:
        raise Reject(R.AUDIO_SILENT, "every sample is (near) zero")
    digest = hashlib.sha256(f"{rate}:{channels}:{width}:".encode())
    digest.update(raw)
    return Accepted(
        ext="wav",
        content_sha256=digest.hexdigest(),
        duration_s=round(duration, 6),
        sample_rate=rate,
        channels=channels,
    )


# -------------------------------------------------------------------------------------------------- text


def _declared_text(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Reject(R.TEXT_ENCODING, f"marked as {encoding} but is not: {exc.reason} at byte {exc.start}") from None
    if has_control_characters(text) or not _plausible(text):
        raise Reject(R.TEXT_ENCODING, f"decodes as {encoding} but is not Korean or Latin text (binary data?)")
    return unicodedata.normalize("NFC", text)


def decode_text(data: bytes, encodings: list[str]) -> tuple[str, str]:
    """(text as NFC, the encoding it was in). UTF-8 first; then CP949 (a superset of EUC-KR) when accepted.

    Raises:
        Reject: ``text.encoding`` when no accepted encoding decodes the bytes into plausible text.
    """
    data, declared = strip_bom(data)
    if declared is not None:
        return _declared_text(data, declared), declared
    tried: list[str] = []
    for enc in _decode_order(encodings):
        tried.append(enc)
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc != "utf-8" and not _plausible(text):  # legacy codecs decode much binary into rare Hanja
            continue
        if has_control_characters(text):
            raise Reject(R.TEXT_ENCODING, f"decodes as {enc} but holds control characters (binary data?)")
        return unicodedata.normalize("NFC", text), enc
    raise Reject(R.TEXT_ENCODING, f"not valid text in any accepted encoding ({', '.join(tried)})")


def _decode_order(encodings: list[str]) -> list[str]:
    order = ["utf-8"] if "utf-8" in encodings else []
    if "cp949" in encodings:
        order.append("cp949")
    elif "euc-kr" in encodings:
        order.append("euc-kr")
    return order


def _plausible(text: str) -> bool:
    if not text:
        return True
    return len(_PLAUSIBLE.findall(text)) / len(text) >= 0.9


def check_text(data: bytes, ext: str, mod: TextModality) -> Accepted:
    """Decode, unwrap the format (txt; json/jsonl/csv with a ``text`` field) and check the length."""
    fmt = ext.lower().lstrip(".") or "txt"
    if fmt not in mod.formats:
        raise Reject(R.MEDIA_FORMAT, f"{fmt} is not among the spec's formats {mod.formats}")
    if len(data) > mod.max_chars * 4 + 65_536:  # even 4-byte UTF-8 could not fit in max_chars: do not decode
        raise Reject(R.TEXT_TOO_LONG, f"{len(data)} bytes for at most {mod.max_chars} characters")
    decoded, encoding = decode_text(data, list(mod.encodings))
    body = _unwrap(decoded, fmt).strip()
    if len(body) < mod.min_chars:
        raise Reject(R.TEXT_TOO_SHORT, f"{len(body)} characters < min_chars {mod.min_chars}")
    if len(body) > mod.max_chars:
        raise Reject(R.TEXT_TOO_LONG, f"{len(body)} characters > max_chars {mod.max_chars}")
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return Accepted(ext=fmt, content_sha256=digest, text=body, encoding=encoding)


def _unwrap(decoded: str, fmt: str) -> str:
    if fmt == "txt":
        return decoded
    try:
        if fmt in ("json", "jsonl"):
            lines = [ln for ln in decoded.splitlines() if ln.strip()] if fmt == "jsonl" else [decoded]
            if len(lines) != 1:
                raise ValueError(f"{len(lines)} records in one item, expected 1")
            record = json.loads(lines[0])
            value = record.get("text") if isinstance(record, dict) else None
        else:
            rows = list(csv.DictReader(io.StringIO(decoded)))
            if len(rows) != 1:
                raise ValueError(f"{len(rows)} rows in one item, expected 1")
            value = rows[0].get("text")
    except (ValueError, csv.Error) as exc:
        raise Reject(R.TEXT_MALFORMED, f"{fmt}: {exc}") from None
    if not isinstance(value, str):
        raise Reject(R.TEXT_MALFORMED, f"{fmt} record has no string field 'text'")
    return unicodedata.normalize("NFC", value)


# ---------------------------------------------------------------------------------------------- timeseries

TIME_COLUMNS = ("t", "time", "timestamp", "time_s")


def check_timeseries(data: bytes, ext: str, mod: TimeseriesModality) -> Accepted:
    """Parse CSV/Parquet, require every channel as a numeric column, check the duration at ``sampling_hz``."""
    fmt = ext.lower().lstrip(".")
    if fmt not in mod.formats:
        raise Reject(R.MEDIA_FORMAT, f"{fmt or 'no extension'} is not among the spec's formats {mod.formats}")
    if fmt not in ("csv", "parquet"):
        raise Reject(R.MEDIA_FORMAT, f"intake reads csv and parquet series, not {fmt}")
    try:
        table = pacsv.read_csv(io.BytesIO(data)) if fmt == "csv" else pq.read_table(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise Reject(R.MEDIA_UNDECODABLE, f"{fmt}: {exc}") from None
    missing = [c for c in mod.channels if c not in table.column_names]
    if missing:
        raise Reject(R.TIMESERIES_CHANNELS, f"channels {missing} are missing")
    for c in mod.channels:
        col = table.column(c)
        if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
            raise Reject(R.TIMESERIES_CHANNELS, f"channel {c} is {col.type}, not numeric")
    duration = table.num_rows / mod.sampling_hz
    one = 1 / mod.sampling_hz  # a series may end one sample short of a round duration
    if duration + one < mod.min_duration_s or duration - one > mod.max_duration_s:
        raise Reject(
            R.TIMESERIES_DURATION, f"{duration:.3f} s outside [{mod.min_duration_s}, {mod.max_duration_s}] s"
        )
    digest = hashlib.sha256()
    for c in mod.channels:
        digest.update(pc.cast(table.column(c), pa.float64()).to_numpy().tobytes())
    return Accepted(
        ext=fmt, content_sha256=digest.hexdigest(), duration_s=round(duration, 6), channels=len(mod.channels)
    )


def _magic(data: bytes) -> str:
    """A name for what the bytes look like, for quarantine details."""
    for sig, name in (
        (b"\xff\xd8\xff", "jpeg"),
        (b"\x89PNG", "png"),
        (b"RIFF", "riff"),
        (b"fLaC", "flac"),
        (b"OggS", "ogg"),
        (b"ID3", "mp3"),
        (b"GIF8", "gif"),
        (b"PK\x03\x04", "zip"),
        (b"%PDF", "pdf"),
    ):
        if data.startswith(sig):
            return name
    return "empty" if not data else "unknown"
