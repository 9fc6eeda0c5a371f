"""Intake (기술 적합성): real JPEG/PNG/WAV/text bytes in, either what was learnt or a reason code out."""

from __future__ import annotations

import io
import json
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipelines.collect import reasons as R
from pipelines.collect.intake import check_audio, check_image, check_text, check_timeseries, decode_text
from pipelines.collect.reasons import Reject
from pipelines.spec.models import AudioModality, ImageModality, TextModality, TimeseriesModality
from pipelines.wav import encode_wav

pytestmark = pytest.mark.unit

IMG = ImageModality(formats=["jpeg", "png"], min_width=64, min_height=48, max_width=640, max_height=480)
WAV = AudioModality(
    formats=["wav"], sample_rates=[16000], channels=1, bit_depth=16, min_duration_s=0.5, max_duration_s=5.0
)
TXT = TextModality(formats=["txt", "jsonl"], encodings=["utf-8", "cp949"], min_chars=5, max_chars=200)
KOREAN = "도로에 물이 넘쳐서 차량 통행이 어렵습니다. 빠른 조치 부탁드립니다."


def _image(fmt: str = "JPEG", size: tuple[int, int] = (128, 96), mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(0)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    im = Image.fromarray(rng.integers(0, 255, size=shape, dtype=np.uint8), mode=mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def _wav(
    *, rate: int = 16000, seconds: float = 1.0, channels: int = 1, bits: int = 16, silent: bool = False
) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    signal = np.zeros_like(t) if silent else 0.3 * np.sin(2 * np.pi * 220 * t)
    return encode_wav(signal, sample_rate=rate, channels=channels, bit_depth=bits)


def _reason(fn: object, *args: object) -> str:
    with pytest.raises(Reject) as exc:
        fn(*args)  # type: ignore[operator]
    return exc.value.reason


# -------------------------------------------------------------------------------------------------- images


def test_a_good_jpeg_and_png_pass_with_their_size() -> None:
    for fmt, ext in (("JPEG", "jpg"), ("PNG", "png")):
        acc = check_image(_image(fmt), IMG)
        assert (acc.ext, acc.width, acc.height) == (ext, 128, 96)
        assert len(acc.content_sha256) == 64


def test_a_truncated_jpeg_is_quarantined_as_truncated() -> None:
    data = _image("JPEG")
    assert _reason(check_image, data[: len(data) // 2], IMG) == R.MEDIA_TRUNCATED


def test_bytes_that_are_no_image_are_undecodable() -> None:
    assert _reason(check_image, b"definitely not an image" * 10, IMG) == R.MEDIA_UNDECODABLE
    assert _reason(check_image, b"", IMG) == R.MEDIA_UNDECODABLE


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_image("JPEG", size=(32, 96)), R.MEDIA_TOO_SMALL),
        (_image("JPEG", size=(800, 96)), R.MEDIA_TOO_LARGE),
        (_image("BMP"), R.MEDIA_FORMAT),
        (_image("PNG", mode="L"), R.IMAGE_COLOR),
    ],
)
def test_images_outside_the_spec_get_their_reason(data: bytes, reason: str) -> None:
    assert _reason(check_image, data, IMG) == reason


def test_grey_pixels_saved_as_rgb_pass_a_grayscale_spec_and_colour_does_not() -> None:
    gray = ImageModality(formats=["png"], min_width=8, min_height=8, color="grayscale")
    grey = Image.fromarray(np.full((16, 16), 90, dtype=np.uint8), mode="L").convert("RGB")
    buf = io.BytesIO()
    grey.save(buf, format="PNG")
    assert check_image(buf.getvalue(), gray).width == 16
    assert _reason(check_image, _image("PNG", size=(16, 16)), gray) == R.IMAGE_COLOR


def test_more_bytes_than_max_bytes_is_oversize() -> None:
    tiny = ImageModality(formats=["jpeg"], min_width=1, min_height=1, max_bytes=100)
    assert _reason(check_image, _image("JPEG"), tiny) == R.MEDIA_OVERSIZE


def test_the_same_pixels_in_two_files_hash_the_same() -> None:
    png = _image("PNG")
    pixels = Image.open(io.BytesIO(png))
    again = io.BytesIO()
    pixels.save(again, format="PNG", compress_level=1)  # different bytes, same decoded content
    assert again.getvalue() != png
    assert check_image(again.getvalue(), IMG).content_sha256 == check_image(png, IMG).content_sha256


# --------------------------------------------------------------------------------------------------- audio


def test_a_good_wav_passes_with_rate_channels_and_duration() -> None:
    acc = check_audio(_wav(seconds=1.5), WAV)
    assert (acc.ext, acc.sample_rate, acc.channels) == ("wav", 16000, 1)
    assert acc.duration_s == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_wav(rate=44100), R.AUDIO_SAMPLE_RATE),
        (_wav(channels=2), R.AUDIO_CHANNELS),
        (_wav(bits=24), R.AUDIO_BIT_DEPTH),
        (_wav(seconds=0.2), R.AUDIO_TOO_SHORT),
        (_wav(seconds=6.0), R.AUDIO_TOO_LONG),
        (_wav(silent=True), R.AUDIO_SILENT),
        (_wav()[:3000], R.MEDIA_TRUNCATED),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", R.MEDIA_UNDECODABLE),
        (b"fLaC" + b"\x00" * 64, R.MEDIA_FORMAT),
        (b"\x00\x01\x02", R.MEDIA_UNDECODABLE),
    ],
)
def test_audio_outside_the_spec_gets_its_reason(data: bytes, reason: str) -> None:
    assert _reason(check_audio, data, WAV) == reason


def _extensible(plain: bytes, *, subformat: bytes = b"\x01\x00") -> bytes:
    """The same samples behind a WAVE_FORMAT_EXTENSIBLE header, as field recorders write them."""
    fmt_at = plain.index(b"fmt ")
    body = plain[fmt_at + 8 : fmt_at + 24]
    bits = body[14:16]
    ext_body = (b"\xfe\xff" + body[2:16] + (22).to_bytes(2, "little") + bits + (4).to_bytes(4, "little")
                + subformat + bytes.fromhex("000000001000800000aa00389b71"))
    rest = plain[fmt_at + 24 :]
    riff_body = b"WAVE" + b"fmt " + len(ext_body).to_bytes(4, "little") + ext_body + rest
    return b"RIFF" + len(riff_body).to_bytes(4, "little") + riff_body


def test_extensible_pcm_is_read_and_float_wavs_get_a_bit_depth_reason() -> None:
    acc = check_audio(_extensible(_wav(seconds=1.5)), WAV)
    assert (acc.sample_rate, acc.channels) == (16000, 1) and acc.duration_s == pytest.approx(1.5)
    wav24 = AudioModality(formats=["wav"], sample_rates=[16000], channels=1, bit_depth=24, max_duration_s=5.0)
    assert check_audio(_extensible(_wav(bits=24)), wav24).duration_s == pytest.approx(1.0)
    as_float = _extensible(_wav(), subformat=b"\x03\x00")  # IEEE float under the extensible header: not PCM
    assert _reason(check_audio, as_float, WAV) == R.AUDIO_BIT_DEPTH
    plain = _wav()
    fmt_at = plain.index(b"fmt ")
    float_tagged = plain[: fmt_at + 8] + b"\x03\x00" + plain[fmt_at + 10 :]
    assert _reason(check_audio, float_tagged, WAV) == R.AUDIO_BIT_DEPTH


# ---------------------------------------------------------------------------------------------------- text


def test_cp949_text_is_converted_to_utf8_nfc() -> None:
    text, enc = decode_text(KOREAN.encode("cp949"), ["utf-8", "cp949"])
    assert (text, enc) == (KOREAN, "cp949")
    acc = check_text(KOREAN.encode("cp949"), "txt", TXT)
    assert acc.text == KOREAN and acc.encoding == "cp949"


def test_euc_kr_is_read_when_the_spec_accepts_it() -> None:
    text, enc = decode_text(KOREAN.encode("euc-kr"), ["utf-8", "euc-kr"])
    assert text == KOREAN and enc == "euc-kr"


def test_cp949_is_refused_when_the_spec_accepts_only_utf8() -> None:
    utf8_only = TextModality(formats=["txt"], encodings=["utf-8"], min_chars=5)
    assert _reason(check_text, KOREAN.encode("cp949"), "txt", utf8_only) == R.TEXT_ENCODING


def test_invalid_utf8_and_binary_are_encoding_failures() -> None:
    assert _reason(check_text, b"\xff\xfe\xfa\xfb" * 20, "txt", TXT) == R.TEXT_ENCODING
    assert _reason(check_text, b"\xc3\x28 broken utf-8 \xa0\xa1", "txt", TXT) == R.TEXT_ENCODING
    assert _reason(check_text, "정상 텍스트\x00\x01\x02 바이너리".encode(), "txt", TXT) == R.TEXT_ENCODING


def test_utf16_with_a_byte_order_mark_is_converted_and_without_one_is_refused() -> None:
    """Excel's "Unicode text" export and Notepad write UTF-16 with a mark; the spec's legacy list cannot name it."""
    for bom, enc in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        acc = check_text(bom + KOREAN.encode(enc), "txt", TXT)
        assert (acc.text, acc.encoding) == (KOREAN, enc)
    assert _reason(check_text, KOREAN.encode("utf-16-le"), "txt", TXT) == R.TEXT_ENCODING  # NULs: not UTF-8 text


def test_decomposed_hangul_is_normalised_to_nfc_and_a_bom_is_dropped() -> None:
    nfd = unicodedata.normalize("NFD", KOREAN)
    assert nfd != KOREAN
    acc = check_text(b"\xef\xbb\xbf" + nfd.encode("utf-8"), "txt", TXT)
    assert acc.text == KOREAN


def test_jsonl_records_are_unwrapped_and_a_record_without_text_is_malformed() -> None:
    good = json.dumps({"id": 1, "text": KOREAN}, ensure_ascii=False).encode() + b"\n"
    assert check_text(good, "jsonl", TXT).text == KOREAN
    assert _reason(check_text, b'{"id": 1, "body": "x"}\n', "jsonl", TXT) == R.TEXT_MALFORMED
    assert _reason(check_text, b"{not json", "jsonl", TXT) == R.TEXT_MALFORMED


@pytest.mark.parametrize(
    ("data", "ext", "reason"),
    [
        ("네.".encode(), "txt", R.TEXT_TOO_SHORT),
        (("가" * 201).encode(), "txt", R.TEXT_TOO_LONG),
        (KOREAN.encode(), "csv", R.MEDIA_FORMAT),
    ],
)
def test_text_outside_the_spec_gets_its_reason(data: bytes, ext: str, reason: str) -> None:
    assert _reason(check_text, data, ext, TXT) == reason


# ---------------------------------------------------------------------------------------------- timeseries

SERIES = TimeseriesModality(
    formats=["csv", "parquet"], channels=["ax", "ay"], sampling_hz=100, min_duration_s=2, max_duration_s=10
)


def _series(fmt: str = "csv", rows: int = 500, columns: tuple[str, ...] = ("t", "ax", "ay")) -> bytes:
    table = pa.table({c: np.linspace(0, 1, rows) for c in columns})
    buf = io.BytesIO()
    if fmt == "csv":
        pacsv.write_csv(table, buf)
    else:
        pq.write_table(table, buf)
    return buf.getvalue()


def test_a_series_passes_as_csv_and_parquet_with_its_duration() -> None:
    for fmt in ("csv", "parquet"):
        acc = check_timeseries(_series(fmt), fmt, SERIES)
        assert (acc.ext, acc.duration_s, acc.channels) == (fmt, 5.0, 2)
    assert (
        check_timeseries(_series("csv"), "csv", SERIES).content_sha256
        == check_timeseries(_series("parquet"), "parquet", SERIES).content_sha256
    )


@pytest.mark.parametrize(
    ("data", "ext", "reason"),
    [
        (_series(columns=("t", "ax")), "csv", R.TIMESERIES_CHANNELS),
        (b"t,ax,ay\n0,a,b\n1,c,d\n", "csv", R.TIMESERIES_CHANNELS),
        (_series(rows=50), "csv", R.TIMESERIES_DURATION),
        (_series(rows=5000), "csv", R.TIMESERIES_DURATION),
        (b"PAR1 not really parquet", "parquet", R.MEDIA_UNDECODABLE),
        (_series(), "edf", R.MEDIA_FORMAT),
    ],
)
def test_series_outside_the_spec_get_their_reason(data: bytes, ext: str, reason: str) -> None:
    assert _reason(check_timeseries, data, ext, SERIES) == reason
