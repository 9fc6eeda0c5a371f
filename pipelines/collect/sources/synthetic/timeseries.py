"""Multichannel signals with labelled events: each class adds its own shift and frequency to a range."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.collect.sources.synthetic._common import item_rng
from pipelines.collect.sources.synthetic.meta import sample_label
from pipelines.spec.models import Classification, DatasetSpec, TimeseriesLabels, TimeseriesModality

TIME_COLUMN = "t"
WRITERS = ("csv", "parquet")


def writable_formats(mod: TimeseriesModality) -> list[str]:
    return [f for f in mod.formats if f in WRITERS]


def make_series(
    spec: DatasetSpec,
    mod: TimeseriesModality,
    *,
    seed: int,
    index: int,
    duration_s: float | None = None,
    drop_channel: bool = False,
) -> tuple[bytes, str, dict[str, Any] | None]:
    """(file bytes, extension, truth) of item ``index``; the keywords make the defects."""
    rng = item_rng(seed, index, "timeseries")
    fmt = writable_formats(mod)[0]
    lo, hi = mod.min_duration_s, mod.max_duration_s
    duration = duration_s if duration_s is not None else float(rng.uniform(lo, min(hi, lo * 1.25 + 1)))
    n = max(2, round(duration * mod.sampling_hz))
    t = np.arange(n) / mod.sampling_hz
    channels = list(mod.channels)
    base = rng.normal(0, 1, size=len(channels))
    freq = rng.uniform(0.05, 0.25, size=len(channels)) * mod.sampling_hz / 2  # well below Nyquist
    data = np.stack([base[c] + np.sin(2 * np.pi * freq[c] * t) for c in range(len(channels))], axis=1)
    data += rng.normal(0, 0.2, size=data.shape)
    events = _events(spec, rng, n, mod.sampling_hz)
    for ev in events:
        k = spec.labels.index(ev["label"])
        a, b = int(ev["start"] * mod.sampling_hz), int(ev["end"] * mod.sampling_hz)
        pattern = (1.5 + 0.5 * k) + np.sin(2 * np.pi * (0.02 + 0.03 * (k % 7)) * mod.sampling_hz * t[a:b])
        data[a:b, : max(1, len(channels) // 2)] += pattern[:, None]
    columns = {TIME_COLUMN: np.round(t, 6), **{ch: np.round(data[:, i], 4) for i, ch in enumerate(channels)}}
    if drop_channel and len(channels) > 0:
        columns.pop(channels[-1])
    table = pa.table(columns)
    buf = io.BytesIO()
    if fmt == "csv":
        pacsv.write_csv(table, buf)
    else:
        pq.write_table(table, buf)
    truth: dict[str, Any] | None = None
    if isinstance(spec.annotation, TimeseriesLabels):
        truth = {"events": events}
    elif isinstance(spec.annotation, Classification):
        truth = {"label": events[0]["label"]} if events else None
    return buf.getvalue(), fmt, truth


def _events(spec: DatasetSpec, rng: np.random.Generator, n: int, hz: float) -> list[dict[str, Any]]:
    if not spec.labels:
        return []
    total = n / hz
    out: list[dict[str, Any]] = []
    slots = int(rng.integers(1, 4))
    width = total / slots
    for s in range(slots):  # one event per slot: never overlapping
        length = float(rng.uniform(0.3, 0.7)) * width
        start = s * width + float(rng.uniform(0, width - length))
        out.append(
            {"label": sample_label(spec, rng), "start": round(start, 3), "end": round(start + length, 3)}
        )
    return out
