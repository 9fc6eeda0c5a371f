"""The synthetic source: reproducible per item, realistic enough to learn from, honest about its defects."""

from __future__ import annotations

import io
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest
from PIL import Image

from pipelines.collect import SOURCES, CollectError, check_item, make_source
from pipelines.collect.reasons import Reject
from pipelines.collect.sources.synthetic import image as synth_image
from pipelines.collect.sources.synthetic.meta import sample_meta
from pipelines.collect.sources.synthetic.text import label_keywords
from pipelines.spec import load_catalog, parse_spec
from pipelines.spec.models import SOURCE_KINDS
from pipelines.storage import open_store
from pipelines.wav import decode_wav
from tests.unit.collect.specs import AUDIO, IMAGE, TEXT, TIMESERIES, make

pytestmark = pytest.mark.unit


def test_the_source_registry_and_the_spec_source_kinds_match_both_ways() -> None:
    assert set(SOURCES) == set(SOURCE_KINDS)
    assert all(cls.kind == kind for kind, cls in SOURCES.items())


def test_a_missing_source_root_fails_the_plan_with_a_clear_message(tmp_path: Path) -> None:
    spec = parse_spec({**IMAGE, "source": {"kind": "local", "root": str(tmp_path / "nowhere")}})
    with pytest.raises(CollectError, match="is not a directory"):
        make_source(spec=spec, store=open_store(str(tmp_path)), run_id="r1").plan_size()


@pytest.mark.parametrize(
    "base", [IMAGE, TEXT, AUDIO, TIMESERIES], ids=["image", "text", "audio", "timeseries"]
)
def test_an_item_depends_only_on_seed_and_index(base: dict, tmp_path: Path) -> None:
    spec = make(base, source={"defect_rate": 0.3})
    a = make_source(spec=spec, store=open_store(str(tmp_path)))
    b = make_source(spec=spec, store=open_store(str(tmp_path / "other")))
    whole = list(a.items(start=0, count=8))
    tail = list(b.items(start=5, count=3))  # another shard layout, another source object
    assert [(i.data, i.truth, i.meta, i.source_uri) for i in whole[5:]] == [
        (i.data, i.truth, i.meta, i.source_uri) for i in tail
    ]
    other_seed = make_source(spec=make(base, source={"seed": 999}), store=open_store(str(tmp_path)))
    assert other_seed.item(0).data != whole[0].data


def test_meta_follows_planned_shares_patterns_and_groups() -> None:
    spec = make(IMAGE, source={"items": 400})
    metas = [sample_meta(spec, seed=7, index=i) for i in range(400)]
    crops = Counter(m["crop"] for m in metas)
    assert abs(crops["고추"] / 400 - 0.7) < 0.08
    plots = Counter(m["field_plot"] for m in metas)
    assert all(re.fullmatch(r"FP[0-9]{5}", p) for p in plots)
    assert 20 <= len(plots) <= 120 and max(plots.values()) >= 4  # groups of several items each
    temps = [m["temperature"] for m in metas if m["temperature"] is not None]
    assert min(temps) >= -5.0 and max(temps) <= 38.0
    dates = {m["captured_at"][:4] for m in metas if m["captured_at"]}
    assert dates <= {"2019", "2020"}  # the two years up to built_year (default 2020)


def test_image_boxes_are_exact_and_each_class_has_its_own_colour(tmp_path: Path) -> None:
    spec = make(IMAGE, modality={"formats": ["png"]})
    src = make_source(spec=spec, store=open_store(str(tmp_path)))
    for i in range(6):
        item = src.item(i)
        im = np.asarray(Image.open(io.BytesIO(item.data)).convert("RGB")).astype(int)
        assert im.shape == (240, 320, 3)
        assert item.truth is not None and item.truth["objects"]
        for obj in item.truth["objects"]:
            _, colour = synth_image.class_style(spec.labels, obj["label"])
            mask = np.all(im == synth_image.PALETTE[colour], axis=-1)
            ys, xs = np.nonzero(mask[obj["y"] : obj["y"] + obj["h"], obj["x"] : obj["x"] + obj["w"]])
            # the filled shape touches all four sides of its box (the box is tight)
            assert ys.min() <= 1 and xs.min() <= 1
            assert ys.max() >= obj["h"] - 2 and xs.max() >= obj["w"] - 2


def test_class_styles_are_distinct_for_many_labels() -> None:
    labels = [f"class-{k}" for k in range(60)]
    assert len({synth_image.class_style(labels, lab) for lab in labels}) == 60


def test_text_classes_can_be_told_apart_by_their_words(tmp_path: Path) -> None:
    spec = make(TEXT, source={"items": 200})
    src = make_source(spec=spec, store=open_store(str(tmp_path)))
    right = 0
    for i in range(200):
        item = src.item(i)
        text = check_item(spec, item).text or ""
        scores = {lab: sum(text.count(w) for w in label_keywords(lab)) for lab in spec.labels}
        right += max(scores, key=lambda lab: scores[lab]) == item.truth["label"]  # type: ignore[index]
    assert right / 200 > 0.9


def test_text_items_come_in_legacy_encodings_and_carry_personal_data(tmp_path: Path) -> None:
    spec = make(TEXT, source={"items": 200})
    src = make_source(spec=spec, store=open_store(str(tmp_path)))
    accepted = [check_item(spec, src.item(i)) for i in range(200)]
    encodings = Counter(a.encoding for a in accepted)
    assert encodings["utf-8"] > 100 and encodings["cp949"] + encodings["euc-kr"] > 20
    with_pii = sum(bool(re.search(r"\d{3,}|@", a.text or "")) for a in accepted)
    assert 0.2 < with_pii / 200 < 0.6


def test_audio_is_a_real_wav_with_aligned_segments(tmp_path: Path) -> None:
    spec = make(AUDIO)
    src = make_source(spec=spec, store=open_store(str(tmp_path)))
    assert src.collector.endswith(("+tones", "+espeak-ng"))
    for i in range(4):
        item = src.item(i)
        acc = check_item(spec, item)
        assert acc.sample_rate == 16000 and acc.channels == 1 and 1.0 <= (acc.duration_s or 0) <= 12.0
        truth = item.truth
        assert truth is not None and truth["transcript"] == " ".join(s["text"] for s in truth["segments"])
        samples, rate = decode_wav(item.data)
        ends = [0.0]
        for seg in truth["segments"]:
            assert ends[-1] <= seg["start"] < seg["end"] <= acc.duration_s
            assert seg["speaker"] in spec.annotation.speakers and seg["dialect"] in ("산북", "산남")
            voiced = samples[int(seg["start"] * rate) : int(seg["end"] * rate)]
            assert np.sqrt(np.mean(voiced**2)) > 0.03  # speech inside segments
            ends.append(seg["end"])
        # speakers take turns, numbered by first appearance (화자1 speaks first)
        heard = list(dict.fromkeys(seg["speaker"] for seg in truth["segments"]))
        assert heard == [f"화자{k}" for k in range(1, len(heard) + 1)]
        lead = samples[: int(truth["segments"][0]["start"] * rate)]
        assert len(lead) == 0 or np.sqrt(np.mean(lead**2)) < 0.01  # only room noise before the first one


FAKE_ESPEAK = """#!{python}
import array, math, sys, wave
args = sys.argv[1:]
assert args[:2] == ["-v", "ko"], args
out, text = args[args.index("-w") + 1], args[-1]
rate, n = 22050, int(22050 * 0.08 * len(text))
with wave.open(out, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(array.array("h", (int(8000 * math.sin(i / 9)) for i in range(n))).tobytes())
"""


def test_espeak_ng_is_used_when_it_is_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in espeak-ng (same command line, 22.05 kHz WAV) checks voice, resampling and timing."""
    exe = tmp_path / "bin" / "espeak-ng"
    exe.parent.mkdir()
    exe.write_text(FAKE_ESPEAK.format(python=sys.executable))
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    spec = make(AUDIO, modality={"max_duration_s": 30.0})
    src = make_source(spec=spec, store=open_store(str(tmp_path)))
    assert src.collector.endswith("+espeak-ng")
    item = src.item(0)
    acc = check_item(spec, item)  # resampled to the spec's 16 kHz, within its duration range
    assert acc.sample_rate == 16000 and 1.0 <= (acc.duration_s or 0) <= 30.0
    samples, rate = decode_wav(item.data)
    for seg in item.truth["segments"]:  # type: ignore[index]
        if "(" in seg["text"]:
            continue  # a dual-transcription segment: the voice says the pronunciation form only
        # the stand-in speaks 80 ms per character: segment lengths follow the text (rate 0.85-1.15 aside)
        assert 0.08 * len(seg["text"]) * 0.8 <= seg["end"] - seg["start"] <= 0.08 * len(seg["text"]) * 1.25
        voiced = samples[int(seg["start"] * rate) : int(seg["end"] * rate)]
        assert np.sqrt(np.mean(voiced**2)) > 0.1


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (IMAGE, {"media.truncated", "media.too_small", "media.undecodable", "duplicate"}),
        (AUDIO, {"audio.sample_rate", "audio.too_short", "media.truncated", "duplicate"}),
        (TEXT, {"text.encoding", "text.too_short", "duplicate"}),
        (TIMESERIES, {"timeseries.channels", "timeseries.duration", "media.undecodable", "duplicate"}),
    ],
    ids=["image", "audio", "text", "timeseries"],
)
def test_each_defect_is_caught_by_intake(base: dict, expected: set[str], tmp_path: Path) -> None:
    spec = make(base, source={"defect_rate": 1.0})
    src = make_source(spec=spec, store=open_store(str(tmp_path)))
    seen: set[str] = set()
    for i in range(1, 40):
        defect = src.defect(i)
        item = src.item(i)
        if defect == "duplicate":
            assert item.data == src._content(i - 1, None)[0]
            seen.add("duplicate")
            continue
        with pytest.raises(Reject) as exc:
            check_item(spec, item)
        seen.add(exc.value.reason)
    assert seen == expected


def test_series_events_are_where_the_signal_says(tmp_path: Path) -> None:
    spec = make(TIMESERIES)
    src = make_source(spec=spec, store=open_store(str(tmp_path)))
    for i in range(4):
        item = src.item(i)
        acc = check_item(spec, item)
        assert 10 <= (acc.duration_s or 0) <= 60 and acc.channels == 4
        table = pacsv.read_csv(io.BytesIO(item.data))
        lead = np.asarray(table.column("lead_i"))
        hz = spec.modality.sampling_hz  # type: ignore[union-attr]
        inside = np.zeros(len(lead), dtype=bool)
        for ev in item.truth["events"]:  # type: ignore[index]
            assert ev["label"] in spec.labels and 0 <= ev["start"] < ev["end"] <= acc.duration_s
            inside[int(ev["start"] * hz) : int(ev["end"] * hz)] = True
        # every class shifts the first channels by at least 1.5: events stand out from the baseline
        assert lead[inside].mean() - lead[~inside].mean() > 1.0


def test_catalog_specs_with_supported_modalities_generate_items_that_pass_intake(tmp_path: Path) -> None:
    """Every synthetic image/audio/text spec of the shipped catalog yields a conforming item."""
    catalog = load_catalog()
    store = open_store(str(tmp_path))
    # the registry covers every source kind the shipped specs use
    assert {catalog.get(i).source.kind for i in catalog} <= set(SOURCES)
    tried = 0
    for spec_id in catalog:
        spec = catalog.get(spec_id)
        if spec.source.kind != "synthetic" or spec.modality.kind not in (
            "image",
            "audio",
            "text",
            "timeseries",
        ):
            continue
        if spec.modality.kind == "image" and spec.modality.min_width * spec.modality.min_height > 5_000_000:
            continue  # 4k+ panoramas: correct, but slow for a unit test
        src = make_source(spec=spec, store=store)
        item = src.item(0)
        acc = check_item(spec, item)
        assert acc.content_sha256, spec_id
        assert set(item.meta) == set(spec.columns), spec_id
        json.dumps(item.truth, ensure_ascii=False)
        tried += 1
    assert tried >= 20
