"""Time-range converters: temporal events on audio/video, labelled ranges on time series. Records carry seconds.

- Audio: ``Labels name="label"`` regions carry ``start``/``end`` in seconds.
- Video: ``TimelineLabels name="label"`` regions carry frame ranges (1-based, inclusive) at the player's frame
  rate; the generated config does not set ``frameRate``, so Label Studio's default of 24 fps applies.
- Time series: ``TimeSeriesLabels name="label"`` regions carry ``start``/``end`` on the x axis; without a time
  column that is the row index, which becomes seconds through the spec's ``sampling_hz``. ``instant`` regions
  are points (start == end).
"""

from __future__ import annotations

from typing import Any

from pipelines.refine.base import EDGE_TOLERANCE_S, InvalidLabel, MediaFacts, one_label, regions
from pipelines.spec.models import DatasetSpec, TimeseriesModality

LS_VIDEO_FPS = 24.0


def _checked(label: str, start: float, end: float, media: MediaFacts, *, instant: bool = False) -> dict[str, Any]:
    if start < 0 or end < start or (end == start and not instant):
        raise InvalidLabel("label.segment_empty" if end == start else "label.segment_outside",
                           f"{label}: {start:.3f}-{end:.3f} s")
    if media.duration_s and end > media.duration_s + EDGE_TOLERANCE_S:
        raise InvalidLabel("label.segment_outside",
                           f"{label}: ends at {end:.3f} s, the clip is {media.duration_s:.3f} s")
    if media.duration_s:
        end = min(end, media.duration_s)
    return {"label": label, "start": round(start, 4), "end": round(end, 4)}


def temporal_events(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """Labelled time ranges on an audio clip (seconds) or a video (frame ranges at 24 fps)."""
    events = []
    for r in regions(result, "labels", "label"):
        label = one_label(spec, r, "labels")
        v = r.get("value") or {}
        try:
            start, end = float(v["start"]), float(v["end"])
        except (KeyError, TypeError, ValueError):
            raise InvalidLabel("label.segment_unaligned", f"{label}: a region without a time range") from None
        events.append(_checked(label, start, end, media))
    for r in regions(result, "timelinelabels", "label"):
        label = one_label(spec, r, "timelinelabels")
        ranges = (r.get("value") or {}).get("ranges") or []
        if not ranges:
            raise InvalidLabel("label.segment_unaligned", f"{label}: a timeline region without frame ranges")
        for rg in ranges:
            first, last = int(rg["start"]), int(rg["end"])
            events.append(_checked(label, (first - 1) / LS_VIDEO_FPS, last / LS_VIDEO_FPS, media))
    events.sort(key=lambda e: (e["start"], e["end"], e["label"]))
    return {"events": events}


def timeseries_labels(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """Labelled ranges over a signal: x-axis row indices as seconds through the spec's sampling rate."""
    m = spec.modality
    hz = m.sampling_hz if isinstance(m, TimeseriesModality) else 1.0
    events = []
    for r in regions(result, "timeserieslabels", "label"):
        label = one_label(spec, r, "timeserieslabels")
        v = r.get("value") or {}
        try:
            start, end = float(v["start"]) / hz, float(v["end"]) / hz
        except (KeyError, TypeError, ValueError):
            raise InvalidLabel("label.time_format",
                               f"{label}: range {v.get('start')!r}-{v.get('end')!r} is not a row index") from None
        events.append(_checked(label, start, end, media, instant=bool(v.get("instant"))))
    events.sort(key=lambda e: (e["start"], e["end"], e["label"]))
    return {"events": events}
