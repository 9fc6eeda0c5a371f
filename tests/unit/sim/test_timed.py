"""Simulated annotators label time ranges on video (frame ranges) and series (row indices); refine reads them
back as the seconds the source planted, and a spoilt range is one a reviewer rejects."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipelines.annotations.base import MediaFacts
from pipelines.annotations.types.timed import temporal_events, timeseries_labels
from pipelines.collect.sources import SyntheticCollector
from pipelines.label import qc, results
from pipelines.label.tasks import target_kind
from pipelines.spec import load_catalog
from pipelines.storage import open_store
from sim.annotators import _result, preflight

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("spec_id", ["abnormal-behaviour-cctv", "air-quality-sensor-series"])
def test_ranges_round_trip_and_mistakes_are_caught(spec_id: str, tmp_path: Path) -> None:
    spec = load_catalog().get(spec_id)
    store = open_store(tmp_path.as_uri())
    preflight(spec=spec, store=store)
    src = SyntheticCollector(spec=spec, store=store)
    t, to, hz = spec.annotation.type, target_kind(spec), results.sampling_hz(spec)
    convert = temporal_events if t == "temporal_events" else timeseries_labels
    tolerance = 1 / results.LS_VIDEO_FPS if to == "video" else 1e-6
    spoilt_accepted = 0
    for i in range(12):
        truth = src.sample_truth(i)
        assert truth is not None
        good = _result(spec, truth, None, random.Random(i), wrong=False)
        seconds = convert(spec, good, MediaFacts(width=None, height=None, duration_s=None, text=None))["events"]
        planted = sorted(truth["events"], key=lambda e: (e["start"], e["end"], e["label"]))
        assert [e["label"] for e in seconds] == [e["label"] for e in planted]
        for got, want in zip(seconds, planted, strict=True):
            assert got["start"] == pytest.approx(want["start"], abs=tolerance)
            assert got["end"] == pytest.approx(want["end"], abs=tolerance)
        ref = qc.extract(t, results.from_truth(t, truth, to_name=to, rate_hz=hz) or [])
        bad = qc.extract(t, _result(spec, truth, None, random.Random(i), wrong=True))
        spoilt_accepted += qc.agreement(t, bad, ref) >= qc.CORRECT_AT[t]
    assert spoilt_accepted == 0
