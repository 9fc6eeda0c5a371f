"""Speech-like recordings with a known transcript: espeak-ng (Korean voice) if installed, else formant tones.

The fallback voices every Hangul syllable as a harmonic tone shaped by the formants of its vowel, with a noise
burst for an initial consonant and pauses at spaces and punctuation: not speech, but audio with the timing and
spectrum of speech, time-aligned to its transcript sentence by sentence.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipelines.collect.sources.synthetic._common import choice, item_rng
from pipelines.collect.sources.synthetic._pii import pii_sentence
from pipelines.collect.sources.synthetic.meta import planned_label
from pipelines.spec.models import (
    SPEAKER_PREFIX,
    TEXT_PII,
    AudioModality,
    Classification,
    DatasetSpec,
    DialogueIntent,
    Transcription,
)
from pipelines.wav import decode_wav, encode_wav

PII_SHARE = 0.25
_SENTENCES = (
    "오늘은 날씨가 참 좋네요.",
    "어제 시장에 가서 채소를 샀어요.",
    "우리 마을에는 오래된 느티나무가 있습니다.",
    "아침마다 산책을 하면 기분이 좋아져요.",
    "저녁에는 가족들과 함께 밥을 먹었습니다.",
    "요즘은 버스가 자주 다니지 않아서 불편해요.",
    "주말에 손주들이 놀러 온다고 했어요.",
    "옛날에는 이 길이 전부 논밭이었지요.",
    "비가 많이 와서 밭일을 못 했습니다.",
    "이번 명절에는 고향에 내려갈 거예요.",
    "감기에 걸려서 병원에 다녀왔습니다.",
    "도서관에서 책을 두 권 빌렸어요.",
    "바다에 가서 물고기를 잡았습니다.",
    "회의는 세 시에 시작합니다.",
    "전화로 예약을 변경하고 싶어요.",
    "이 근처에 약국이 있나요.",
)
# (spelling)/(pronunciation) pairs for the "dual" transcription style of AI Hub speech sets.
_DUAL = (
    ("괜찮아요", "갠차나요"),
    ("같이", "가치"),
    ("먹었어요", "머거써요"),
    ("좋아요", "조아요"),
    ("없어요", "업써요"),
    ("했수다", "해쑤다"),
)
# (F1, F2) of the vowel of each medial jamo (ㅏ ㅐ ㅑ ㅒ ㅓ ㅔ ㅕ ㅖ ㅗ ㅘ ㅙ ㅚ ㅛ ㅜ ㅝ ㅞ ㅟ ㅠ ㅡ ㅢ ㅣ).
_A, _E, _EO, _O, _U, _EU, _I = (
    (800, 1300),
    (550, 1900),
    (600, 1000),
    (420, 820),
    (340, 900),
    (350, 1400),
    (280, 2300),
)
_VOWELS = (_A, _E, _A, _E, _EO, _E, _EO, _E, _O, _A, _E, _E, _O, _U, _EO, _E, _I, _U, _EU, _I, _I)
_DIGITS = "영일이삼사오육칠팔구"
_PAUSES = {" ": 0.07, ",": 0.15, ".": 0.25, "?": 0.25, "!": 0.25}


def speech_engine() -> str:
    """``espeak-ng`` when it is on PATH, else ``tones``; recorded in each item's collector."""
    return "espeak-ng" if shutil.which("espeak-ng") else "tones"


def make_audio(
    spec: DatasetSpec,
    mod: AudioModality,
    *,
    seed: int,
    index: int,
    engine: str,
    dictionaries: dict[str, tuple[str, ...]],
    sample_rate: int | None = None,
    duration_s: float | None = None,
) -> tuple[bytes, dict[str, Any] | None]:
    """(WAV bytes, truth) of item ``index``. ``sample_rate`` / ``duration_s`` override the spec (defects)."""
    rng = item_rng(seed, index, "audio")
    sr = sample_rate or int(mod.sample_rates[0])
    a = spec.annotation
    label = planned_label(spec, seed=seed, index=index) if isinstance(a, Classification | DialogueIntent) else None
    sentences = _sentences(spec, rng, seed=seed, index=index, label=label, dictionaries=dictionaries)
    lo, hi = mod.min_duration_s, mod.max_duration_s
    target = duration_s if duration_s is not None else float(rng.uniform(lo, min(hi, lo + 8.0)))
    voice = {"f0": float(rng.uniform(95, 230)), "rate": float(rng.uniform(0.85, 1.15))}
    who, voices = _turn_taking(a, item_rng(seed, index, "speakers"), len(sentences), voice)
    rendered = [(written, _speak(spoken, sr, voices[who[i]], rng, engine))
                for i, (written, spoken) in enumerate(sentences)]
    limit = duration_s if duration_s is not None else hi
    lead = float(rng.uniform(0.1, 0.3))
    while len(rendered) > 1 and lead + sum(len(w) / sr + 0.3 for _, w in rendered) > limit:
        rendered.pop()
    speech = sum(len(w) for _, w in rendered) / sr + 0.3 * (len(rendered) - 1)
    if lead + speech > limit:  # one long sentence: speak it faster
        factor = (lead + speech) / max(limit - lead - 0.05, 0.05)
        voice["rate"] *= factor
        rendered = [(rendered[0][0], _speak(sentences[0][1], sr, voice, rng, engine))]
    pieces: list[NDArray[np.float32]] = [np.zeros(int(lead * sr), dtype=np.float32)]
    segments: list[dict[str, Any]] = []
    cursor = len(pieces[0])
    for i, (written, wavef) in enumerate(rendered):
        if i:
            gap = np.zeros(int(0.3 * sr), dtype=np.float32)
            pieces.append(gap)
            cursor += len(gap)
        segments.append(
            {"start": round(cursor / sr, 3), "end": round((cursor + len(wavef)) / sr, 3), "text": written}
        )
        if isinstance(a, Transcription) and a.speaker_labels:
            segments[-1]["speaker"] = f"{SPEAKER_PREFIX}{who[i] + 1}"
        pieces.append(wavef)
        cursor += len(wavef)
    total = max(target, cursor / sr + 0.1)
    total = min(total, limit) if duration_s is None else duration_s
    pieces.append(np.zeros(max(0, int(total * sr) - cursor), dtype=np.float32))
    signal = np.concatenate(pieces)[: int(total * sr)]
    for seg in segments:  # a sentence sped up to fit may still overrun by a few milliseconds
        seg["end"] = min(seg["end"], round(len(signal) / sr, 3))
    signal = signal + rng.normal(0, 0.002, size=len(signal)).astype(
        np.float32
    )  # room noise, never digital silence
    data = encode_wav(signal, sample_rate=sr, channels=mod.channels, bit_depth=mod.bit_depth)
    return data, _truth(spec, label, segments, rng)


def _turn_taking(
    a: Any, rng: np.random.Generator, n: int, voice: dict[str, float]
) -> tuple[list[int], list[dict[str, float]]]:
    """Who says each sentence, and the voices: one voice unless the spec labels speakers; then two or three
    (up to ``max_speakers``) taking turns, numbered by first appearance like the labels (화자1 speaks first)."""
    if not (isinstance(a, Transcription) and a.speaker_labels):
        return [0] * n, [voice]
    k = 1 if a.max_speakers == 1 else int(rng.integers(2, min(a.max_speakers, 3) + 1))
    voices = [voice] + [{"f0": float(rng.uniform(95, 230)), "rate": float(rng.uniform(0.85, 1.15))}
                        for _ in range(k - 1)]
    who = [0]
    for _ in range(n - 1):
        who.append((who[-1] + 1) % k if rng.random() < 0.75 else who[-1])
    return who, voices


def _truth(
    spec: DatasetSpec, label: str | None, segments: list[dict[str, Any]], rng: np.random.Generator
) -> dict[str, Any] | None:
    a = spec.annotation
    if isinstance(a, Transcription):
        dialect = choice(rng, a.dialect_tags) if a.dialect_tags else None
        for seg in segments:
            if dialect:
                seg["dialect"] = dialect
        return {"transcript": " ".join(s["text"] for s in segments), "segments": segments}
    if label is not None:
        return {"label": label}
    return None


def _sentences(
    spec: DatasetSpec,
    rng: np.random.Generator,
    *,
    seed: int,
    index: int,
    label: str | None,
    dictionaries: dict[str, tuple[str, ...]],
) -> list[tuple[str, str]]:
    """(written, spoken) sentences: the transcript form and what the voice says (differ for dual forms)."""
    out: list[tuple[str, str]] = []
    if label is not None:
        out.append((f"{label}.", f"{label}."))
    for _ in range(int(rng.integers(1, 4))):
        s = choice(rng, _SENTENCES)
        out.append((s, s))
    a = spec.annotation
    if isinstance(a, Transcription) and a.style == "dual" and rng.random() < 0.6:
        spelling, sound = choice(rng, _DUAL)
        out.append((f"네 ({spelling})/({sound}).", f"네 {sound}."))
    kinds = sorted(TEXT_PII & set(spec.deidentify.targets))
    pii_rng = item_rng(seed, index, "pii")
    if kinds and pii_rng.random() < PII_SHARE:
        s = pii_sentence(choice(pii_rng, kinds), pii_rng, dictionaries)
        out.insert(int(pii_rng.integers(len(out) + 1)), (s, s))
    return out


def _speak(
    text: str, sr: int, voice: dict[str, float], rng: np.random.Generator, engine: str
) -> NDArray[np.float32]:
    if engine == "espeak-ng":
        return _espeak(text, sr, rate=voice["rate"])
    return _tones(text, sr, voice, rng)


def _espeak(text: str, sr: int, *, rate: float) -> NDArray[np.float32]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.wav"
        subprocess.run(
            [exe, "-v", "ko", "-s", str(round(150 * rate)), "-w", str(out), text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        samples, src_rate = decode_wav(out.read_bytes())
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    if src_rate != sr:  # linear resampling is enough for test speech
        n = round(len(mono) * sr / src_rate)
        mono = np.interp(np.arange(n) * src_rate / sr, np.arange(len(mono)), mono).astype(np.float32)
    return mono.astype(np.float32)


def _tones(text: str, sr: int, voice: dict[str, float], rng: np.random.Generator) -> NDArray[np.float32]:
    units = [ch for ch in text if not ch.isspace() or ch == " "]
    n_voiced = max(1, sum(1 for ch in units if ch not in _PAUSES))
    out: list[NDArray[np.float32]] = []
    k = 0
    for ch in units:
        if ch in _PAUSES:
            out.append(np.zeros(int(_PAUSES[ch] * sr / voice["rate"]), dtype=np.float32))
            continue
        # declining pitch over the sentence, as in a Korean declarative
        f0 = voice["f0"] * (1.1 - 0.25 * k / n_voiced)
        out.append(_syllable(ch, sr, f0, voice["rate"], rng))
        k += 1
    return np.concatenate(out) if out else np.zeros(int(0.2 * sr), dtype=np.float32)


def _syllable(ch: str, sr: int, f0: float, rate: float, rng: np.random.Generator) -> NDArray[np.float32]:
    if ch.isdigit():
        ch = _DIGITS[int(ch)]
    code = ord(ch) - 0xAC00
    if 0 <= code < 11172:
        onset, vowel, coda = code // 588, (code % 588) // 28, code % 28
        formants = _VOWELS[vowel]
        dur = (0.15 + (0.04 if coda else 0.0)) / rate
        burst = onset != 11  # 11 is ㅇ: no initial consonant
    else:  # Latin letters and symbols in e-mail addresses and numbers: short, neutral vowel
        formants, dur, burst = _E, 0.09 / rate, ch.isalpha()
    n = int(dur * sr)
    t = np.arange(n, dtype=np.float32) / sr
    nyquist = sr / 2 - 200
    wave_: NDArray[np.float32] = np.zeros(n, dtype=np.float32)
    harmonics = max(1, int(min(4000.0, nyquist) // f0))
    for h in range(1, harmonics + 1):
        f = h * f0
        gain = sum(
            1.0 / (1.0 + ((f - fc) / bw) ** 2)
            for fc, bw in ((formants[0], 90.0), (formants[1], 120.0), (2600.0, 200.0))
        )
        wave_ += (gain / h) * np.sin(2 * math.pi * f * t).astype(np.float32)
    env = np.ones(n, dtype=np.float32)
    attack, release = min(n // 4, int(0.015 * sr)), min(n // 3, int(0.03 * sr))
    if attack:
        env[:attack] = np.linspace(0, 1, attack, dtype=np.float32)
    if release:
        env[-release:] = np.linspace(1, 0, release, dtype=np.float32)
    wave_ *= env
    peak = float(np.abs(wave_).max()) or 1.0
    wave_ = (wave_ * np.float32(0.45 / peak)).astype(np.float32)
    if burst:
        b = int(0.025 * sr)
        noise = rng.normal(0, 0.12, size=b).astype(np.float32) * np.linspace(1, 0.2, b, dtype=np.float32)
        return np.concatenate([noise, wave_])
    return wave_
