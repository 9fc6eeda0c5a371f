"""Time ranges: ``temporal_events`` on audio/video and ``timeseries_labels`` on signals. Records carry seconds.

QC: segment F1 (ranges matched at IoU >= 0.5); consensus = the best-agreeing annotation. Label Studio controls
and converters:

- Audio: ``Labels name="label"`` regions carry ``start``/``end`` in seconds.
- Video: ``TimelineLabels name="label"`` regions carry frame ranges (1-based, inclusive) at the player's frame
  rate; the generated config does not set ``frameRate``, so Label Studio's default of 24 fps applies.
- Time series: ``TimeSeriesLabels name="label"`` regions carry ``start``/``end`` on the x axis; without a time
  column that is the row index, which becomes seconds through the spec's ``sampling_hz``. ``instant`` regions
  are points (start == end).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from pipelines.annotations.base import EDGE_TOLERANCE_S, InvalidLabel, MediaFacts, one_label, regions
from pipelines.annotations.code import family
from pipelines.annotations.lsconfig import _el, _options
from pipelines.annotations.lsresults import series_range, time_range
from pipelines.annotations.measures import (
    Consensus,
    Segment,
    _label_of,
    _regions,
    best_agreeing,
    matched_f1,
    segment_iou,
)
from pipelines.spec.models import DatasetSpec, TemporalEvents, TimeseriesLabels, TimeseriesModality

LS_VIDEO_FPS = 24.0


# ------------------------------------------------------------------------------------ Label Studio config


def _temporal_events(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, TemporalEvents)
    tag = "TimelineLabels" if to == "video" else "Labels"  # Audio regions are plain Labels
    _options(_el(view, tag, name="label", toName=to), "Label", a.labels)


def _timeseries_labels(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, TimeseriesLabels)
    _options(_el(view, "TimeSeriesLabels", name="label", toName=to), "Label", a.labels)


# -------------------------------------------------------------------------------------------------- QC


def extract(t: str, result: Sequence[Mapping[str, Any]]) -> Any:
    """The labelled ranges: seconds (audio), frame ranges (video timeline), x-axis positions (time series)."""
    if t == "temporal_events":
        segs = [Segment(_label_of(r["value"], "labels"), float(r["value"]["start"]), float(r["value"]["end"]))
                for r in _regions(result, "labels", "label")]
        for r in _regions(result, "timelinelabels", "label"):
            lab = _label_of(r["value"], "timelinelabels")
            segs += [Segment(lab, float(g["start"]), float(g["end"])) for g in r["value"].get("ranges") or []]
        return segs
    if t == "timeseries_labels":
        return [Segment(_label_of(r["value"], "timeserieslabels"), float(r["value"]["start"]),
                        float(r["value"]["end"])) for r in _regions(result, "timeserieslabels", "label")]
    raise ValueError(f"no QC extractor for annotation type {t!r}")


def agreement(t: str, a: Any, b: Any) -> float:
    """Segment F1: ranges of one label matched one-to-one at IoU >= 0.5."""
    if t in ("temporal_events", "timeseries_labels"):
        return matched_f1(a, b, segment_iou)
    raise ValueError(f"no agreement measure for annotation type {t!r}")


def consensus(t: str, values: Sequence[Any], agree: float, tracks: bool) -> Consensus:
    """The best-agreeing annotation (the medoid)."""
    return best_agreeing(partial(agreement, t), values, agree)


# ------------------------------------------------------------------------------------------ converters


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


# ----------------------------------------------------------------------------------- reference results


def from_truth(t: str, truth: Mapping[str, Any], *, to_name: str, rate_hz: float | None = None,
               **_media: Any) -> list[dict[str, Any]] | None:
    """``{"events": [{label, start, end}]}`` in seconds (a time series also needs ``rate_hz``)."""
    if t == "temporal_events" and isinstance(truth.get("events"), list) and to_name in ("video", "audio"):
        return [time_range(label=str(e["label"]), start=float(e["start"]), end=float(e["end"]), to_name=to_name)
                for e in truth["events"]]
    if t == "timeseries_labels" and isinstance(truth.get("events"), list) and rate_hz:
        return [series_range(label=str(e["label"]), start_s=float(e["start"]), end_s=float(e["end"]),
                             rate_hz=rate_hz, to_name=to_name) for e in truth["events"]]
    return None


TEMPORAL_EVENTS = family("temporal_events", build=_temporal_events, convert=temporal_events, extract=extract,
                         agreement=agreement, consensus=consensus, from_truth=from_truth)
TIMESERIES_LABELS = family("timeseries_labels", build=_timeseries_labels, convert=timeseries_labels,
                           extract=extract, agreement=agreement, consensus=consensus, from_truth=from_truth)
