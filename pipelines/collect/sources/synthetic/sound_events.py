"""Sound-event recordings with known events: each class of the spec has its own sound, placed on a quiet noise bed.

A class's sound is a tone (or, for every third class, a band of noise) at a pitch of its own, amplitude-modulated
at a rate of its own, so the classes sound different and an event is audible exactly from its onset to its offset.
Truth: ``{"events": [{"label", "start", "end"}]}`` in seconds, the ranges the audio really contains; events of one
clip do not overlap (a gap of at least 0.2 s between them), each lasts at least the spec's ``min_event_s``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipelines.collect.sources.synthetic._common import item_rng
from pipelines.collect.sources.synthetic.meta import sample_label
from pipelines.spec.models import AudioModality, DatasetSpec, TemporalEvents
from pipelines.wav import encode_wav

MAX_EVENTS = 4
GAP_S = 0.2


def class_sound(labels: list[str], label: str, n: int, sr: int) -> NDArray[np.float32]:
    """``n`` samples of the sound of ``label`` (its pitch and modulation set by its place in ``labels``)."""
    k = labels.index(label) if label in labels else 0
    t = np.arange(n, dtype=np.float32) / sr
    pitch = 220.0 * 2 ** (k / 3)  # a major third apart
    pitch = min(pitch, sr / 2 - 500)
    if k % 3 == 2:  # a noise band around the pitch: rain, applause, engines ...
        noise = np.random.default_rng(k).normal(0, 1, size=n).astype(np.float32)
        spec = np.fft.rfft(noise)
        f = np.fft.rfftfreq(n, 1 / sr)
        spec[(f < pitch * 0.7) | (f > pitch * 1.6)] = 0
        wave_ = np.fft.irfft(spec, n=n).astype(np.float32)
    else:
        wave_ = (np.sin(2 * math.pi * pitch * t) + 0.4 * np.sin(2 * math.pi * 2 * pitch * t)).astype(np.float32)
    wave_ *= (0.6 + 0.4 * np.sin(2 * math.pi * (2 + k) * t)).astype(np.float32)  # its own tremolo
    ramp = min(n // 4, int(0.01 * sr))
    if ramp:
        wave_[:ramp] *= np.linspace(0, 1, ramp, dtype=np.float32)
        wave_[-ramp:] *= np.linspace(1, 0, ramp, dtype=np.float32)
    peak = float(np.abs(wave_).max()) or 1.0
    return (wave_ * np.float32(0.5 / peak)).astype(np.float32)


def make_events_audio(
    spec: DatasetSpec,
    mod: AudioModality,
    *,
    seed: int,
    index: int,
    sample_rate: int | None = None,
    duration_s: float | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """(WAV bytes, truth) of item ``index`` of a sound-event spec: the spec's minimum duration plus up to 2 s."""
    a = spec.annotation
    assert isinstance(a, TemporalEvents)
    rng = item_rng(seed, index, "sound-events")
    sr = sample_rate or int(mod.sample_rates[0])
    total = duration_s if duration_s is not None else min(mod.max_duration_s,
                                                          mod.min_duration_s + float(rng.uniform(0.0, 2.0)))
    n = int(total * sr)
    signal = rng.normal(0, 0.003, size=n).astype(np.float32)  # a quiet room, never digital silence
    events: list[dict[str, Any]] = []
    count = int(rng.integers(1, MAX_EVENTS + 1))
    slot = total / count  # one event per slot, somewhere inside it
    for i in range(count):
        room = slot - GAP_S
        if room < a.min_event_s:
            break
        length = float(rng.uniform(a.min_event_s, max(a.min_event_s, min(room, 4.0))))
        start = i * slot + float(rng.uniform(0.0, room - length)) + GAP_S / 2
        start, end = round(start, 3), round(start + length, 3)
        label = sample_label(spec, rng)
        s0, s1 = int(start * sr), min(n, int(end * sr))
        signal[s0:s1] += class_sound(list(a.labels), label, s1 - s0, sr)
        events.append({"label": label, "start": start, "end": round(s1 / sr, 3)})
    data = encode_wav(signal, sample_rate=sr, channels=mod.channels, bit_depth=mod.bit_depth)
    return data, {"events": events}
