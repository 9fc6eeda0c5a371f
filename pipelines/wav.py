"""PCM WAV in and out with the standard library: what intake, the synthetic voice and audio masking share."""

from __future__ import annotations

import io
import wave
from typing import Any

import numpy as np
from numpy.typing import NDArray


def encode_wav(
    signal: NDArray[np.floating[Any]], *, sample_rate: int, channels: int = 1, bit_depth: int = 16
) -> bytes:
    """PCM WAV bytes of a float signal in [-1, 1]: shape (n,) (copied to every channel) or (n, channels)."""
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 1:
        x = np.repeat(x[:, None], channels, axis=1)
    if x.shape[1] != channels:
        raise ValueError(f"signal has {x.shape[1]} channels, asked for {channels}")
    x = np.clip(x, -1.0, 1.0)
    if bit_depth == 16:
        frames = (x * 32767).astype("<i2").tobytes()
    elif bit_depth == 32:
        frames = (x * 2147483647).astype("<i4").tobytes()
    elif bit_depth == 24:
        ints = (x * 8388607).astype("<i4").reshape(-1)
        frames = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        raise ValueError(f"bit depth {bit_depth} is not supported")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(bit_depth // 8)
        w.setframerate(sample_rate)
        w.writeframes(frames)
    return buf.getvalue()


_PCM_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_PCM after its first 2 bytes


def plain_pcm(data: bytes) -> bytes:
    """The WAV with a WAVE_FORMAT_EXTENSIBLE header on integer PCM re-tagged as plain PCM (format 1).

    Field recorders write 24-bit and multichannel files with the extensible header; Python's ``wave`` (before 3.12)
    refuses it although the samples are ordinary PCM. Anything else is returned unchanged.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return data
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if cid == b"fmt ":
            body = data[pos + 8 : pos + 8 + size]
            tag = int.from_bytes(body[:2], "little")
            if tag == 0xFFFE and len(body) >= 40 and body[26:40] == _PCM_GUID_TAIL and body[24:26] == b"\x01\x00":
                return data[: pos + 8] + b"\x01\x00" + data[pos + 10 :]
            return data
        pos += 8 + size + (size & 1)
    return data


def decode_wav(data: bytes) -> tuple[NDArray[np.float32], int]:
    """(float32 samples in [-1, 1], shape (n,) or (n, channels); sample rate) of PCM WAV bytes."""
    with wave.open(io.BytesIO(plain_pcm(data)), "rb") as w:
        ch, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        raw = w.readframes(n)
    x: NDArray[np.float32]
    if width == 1:  # 8-bit PCM is unsigned
        x = ((np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128) / 128).astype(np.float32)
    elif width == 2:
        x = (np.frombuffer(raw, dtype="<i2") / 32768).astype(np.float32)
    elif width == 3:
        b = np.frombuffer(raw[: len(raw) - len(raw) % 3], dtype=np.uint8).reshape(-1, 3)
        ints = b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8) | (b[:, 2].astype(np.int32) << 16)
        x = (np.where(ints >= 1 << 23, ints - (1 << 24), ints) / 8388608).astype(np.float32)
    elif width == 4:
        x = (np.frombuffer(raw, dtype="<i4") / 2147483648).astype(np.float32)
    else:
        raise ValueError(f"{width * 8}-bit PCM is not supported")
    x = x[: len(x) - len(x) % ch]
    return (x.reshape(-1, ch) if ch > 1 else x), rate


def mute_ranges(data: bytes, ranges: list[tuple[float, float]]) -> bytes:
    """The same WAV with the given (start_s, end_s) ranges replaced by digital silence; all else bit-exact."""
    with wave.open(io.BytesIO(plain_pcm(data)), "rb") as r:
        params = r.getparams()
        frames = bytearray(r.readframes(params.nframes))
    frame_bytes = params.nchannels * params.sampwidth
    silence = b"\x80" if params.sampwidth == 1 else b"\x00"  # 8-bit PCM is unsigned
    for start, end in ranges:
        a = max(0, int(start * params.framerate)) * frame_bytes
        b = min(params.nframes, int(np.ceil(end * params.framerate))) * frame_bytes
        if b > a:
            frames[a:b] = silence * (b - a)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setparams(params)
        w.writeframes(bytes(frames))
    return buf.getvalue()


def peak(data: bytes, start_s: float, end_s: float) -> float:
    """Largest absolute sample in [start_s, end_s) (0 for digital silence)."""
    samples, rate = decode_wav(data)
    seg = samples[int(start_s * rate) : int(np.ceil(end_s * rate))]
    return float(np.abs(seg).max(initial=0.0))
