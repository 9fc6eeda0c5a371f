"""Synthetic multimodal items: each component drawn by its own modality's generator, on one shared story.

The components of one item agree with each other and with the truth (docs/adr/0024):
- a video and its audio last exactly as long (the audio is ``frames / fps`` seconds: OpenCV writes video without
  sound, so the sound is its own WAV component);
- temporal events are seen and heard: each event of the clip's truth sounds in the audio while it is on screen;
- a classification's class is the planned label of the item in every component (the clip's shapes, the speech,
  the script line);
- the truth is the one of the component the annotation type reads: the audio's transcript (transcription), the
  text's planted answers (QA, NER, summarisation, translation), else the picture's (classification, events ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from pipelines.collect.sources.synthetic import audio, image, sound_events, text, video
from pipelines.collect.sources.synthetic._common import item_rng
from pipelines.collect.sources.synthetic.meta import planned_label
from pipelines.spec.models import (
    NER,
    QA,
    AudioModality,
    Classification,
    DatasetSpec,
    DialogueIntent,
    ImageModality,
    MultimodalModality,
    Summarisation,
    TemporalEvents,
    TextModality,
    Transcription,
    Translation,
    VideoModality,
)
from pipelines.wav import encode_wav

KINDS: tuple[str, ...] = ("video", "image", "audio", "text")
TEXT_TRUTH = (NER, QA, Summarisation, Translation)

Reading = Callable[[TextModality, int], tuple[str, dict[str, Any]]]


def compose(
    spec: DatasetSpec,
    mod: MultimodalModality,
    *,
    seed: int,
    index: int,
    engine: str,
    dictionaries: dict[str, tuple[str, ...]],
    reading: Reading,
    scale: float = 1.0,
) -> tuple[dict[str, tuple[bytes, str]], dict[str, Any] | None]:
    """({component kind: (bytes, extension)} in the spec's order, truth) of item ``index``.

    ``reading`` writes a text with planted answers (the synthetic source's own, so its PII rules apply);
    ``scale`` < 1 draws pictures smaller (a preflight wants only the truth's shape).
    """
    a = spec.annotation
    kinds: list[str] = [c.kind for c in mod.components]
    files: dict[str, tuple[bytes, str]] = {}
    truths: dict[str, dict[str, Any] | None] = {}
    duration: float | None = None
    if "video" in kinds:
        vmod = mod.component("video")
        assert isinstance(vmod, VideoModality)
        fps = video.clip_fps(vmod)
        duration = _duration(mod, seed=seed, index=index)
        # whole milliseconds of whole frames: the audio's sample count and its segments' (ms-rounded) times then
        # end exactly where the clip does, never a rounding past it
        step = round(fps) // math.gcd(round(fps), 1000)
        frames = max(step, math.ceil(duration * fps / step - 1e-6) * step)
        longest = min(c.max_duration_s for c in mod.components if isinstance(c, VideoModality | AudioModality))
        if frames / fps > longest:
            frames = max(1, math.floor(longest * fps / step + 1e-6) * step)
        duration = frames / fps
        data, ext, truths["video"] = video.make_video(spec, vmod, seed=seed, index=index, scale=scale,
                                                      duration_s=duration)
        files["video"] = (data, ext)
    if "image" in kinds:
        imod = mod.component("image")
        assert isinstance(imod, ImageModality)
        data, ext, truths["image"] = image.make_image(spec, imod, seed=seed, index=index, scale=scale)
        files["image"] = (data, ext)
    if "audio" in kinds:
        amod = mod.component("audio")
        assert isinstance(amod, AudioModality)
        if duration is None:
            duration = _duration(mod, seed=seed, index=index)
        if isinstance(a, TemporalEvents):
            events = (truths.get("video") or {}).get("events") or []
            data = _events_audio(spec, amod, events, duration=duration, seed=seed, index=index)
            truths["audio"] = {"events": events}
        else:
            data, truths["audio"] = audio.make_audio(spec, amod, seed=seed, index=index, engine=engine,
                                                     dictionaries=dictionaries, duration_s=duration)
        files["audio"] = (data, "wav")
    if "text" in kinds:
        tmod = mod.component("text")
        assert isinstance(tmod, TextModality)
        if isinstance(a, TEXT_TRUTH):
            body, truths["text"] = reading(tmod, index)
        else:
            labels = [planned_label(spec, seed=seed, index=index)] if isinstance(a, Classification | DialogueIntent) \
                else []
            body, _ = text.compose(spec, tmod, seed=seed, index=index, labels=labels, dictionaries=dictionaries)
            truths["text"] = {"label": labels[0]} if labels else None
        fmt = next(f for f in ("json", "jsonl", "txt", "csv") if f in tmod.formats)
        wrapped = text.wrap(body, fmt=fmt, index=index)
        files["text"] = (wrapped.encode("utf-8") if isinstance(wrapped, str) else wrapped, fmt)
    return {k: files[k] for k in kinds}, truths.get(_truth_kind(spec, kinds))


def _truth_kind(spec: DatasetSpec, kinds: list[str]) -> str:
    """The component whose truth the item carries: the one the annotation type reads."""
    a = spec.annotation
    if isinstance(a, Transcription) and "audio" in kinds:
        return "audio"
    if isinstance(a, TEXT_TRUTH) and "text" in kinds:
        return "text"
    return next(k for k in ("video", "image", "audio", "text") if k in kinds)


def _duration(mod: MultimodalModality, *, seed: int, index: int) -> float:
    """How long the timed components of an item last: the longest minimum of theirs, plus up to half a second
    (never past the shortest maximum)."""
    timed = [c for c in mod.components if isinstance(c, VideoModality | AudioModality)]
    lo = max(c.min_duration_s for c in timed)
    hi = min(c.max_duration_s for c in timed)
    rng = item_rng(seed, index, "multimodal-duration")
    return min(hi, lo + float(rng.uniform(0.05, 0.5)))


def _events_audio(spec: DatasetSpec, mod: AudioModality, events: list[dict[str, Any]], *, duration: float,
                  seed: int, index: int) -> bytes:
    """Programme sound: a quiet bed with each event's own sound while the event is on screen."""
    a = spec.annotation
    assert isinstance(a, TemporalEvents)
    sr = int(mod.sample_rates[0])
    n = round(duration * sr)
    rng = item_rng(seed, index, "multimodal-audio")
    signal = rng.normal(0, 0.003, size=n).astype(np.float32)  # never digital silence
    for e in events:
        s0, s1 = int(float(e["start"]) * sr), min(n, int(float(e["end"]) * sr))
        if s1 > s0:
            signal[s0:s1] += sound_events.class_sound(list(a.labels), str(e["label"]), s1 - s0, sr)
    return encode_wav(signal, sample_rate=sr, channels=mod.channels, bit_depth=mod.bit_depth)
