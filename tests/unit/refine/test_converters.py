"""Every annotation type's converter: Label Studio results (as the generated configs produce them) to canonical
values in pixels / seconds / character offsets; invalid annotations raise InvalidLabel with a reason code; the
records they produce fit ``record_schema``; consensus picks what most annotators agree on."""

from __future__ import annotations

import copy
import json
import unicodedata
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from label_studio_sdk.converter.brush import mask2rle  # Label Studio's own encoder: what the brush tool submits

from pipelines.annotations.base import MediaFacts, OffsetMap, normalise_text
from pipelines.annotations.types.segmentation import decode_ls_rle, mask_to_rle, rle_to_mask
from pipelines.label import write_qc
from pipelines.refine import CONVERTERS, InvalidLabel, refine
from pipelines.spec.models import ANNOTATION_TYPES, DatasetSpec
from pipelines.storage import artifacts, layout, open_store
from pipelines.storage.records import LABEL_FIELDS
from pipelines.storage.schemas import ANNOTATION_SCHEMA, ITEM_SCHEMA, dumps, now
from tests.unit.validate import families as F

pytestmark = pytest.mark.unit

IMG = MediaFacts(width=200, height=100, duration_s=None, text=None)


def _spec(type_: str, **over: Any) -> DatasetSpec:
    return F.family(type_, **over).spec


def _convert(type_: str, result: list[dict[str, Any]], media: MediaFacts = IMG, **over: Any) -> dict[str, Any]:
    return CONVERTERS[type_](_spec(type_, **over), result, media)


def _reason(type_: str, result: list[dict[str, Any]], media: MediaFacts = IMG, **over: Any) -> str:
    with pytest.raises(InvalidLabel) as exc:
        _convert(type_, result, media, **over)
    return exc.value.reason


def _fits_schema(type_: str, value: dict[str, Any]) -> None:
    """The converter's output is exactly the type's label columns and Arrow accepts it."""
    fields = LABEL_FIELDS[type_]
    assert set(value) == {f.name for f in fields}
    pa.Table.from_pylist([value], schema=pa.schema(fields))


def test_every_annotation_type_has_a_converter_and_nothing_else_does() -> None:
    assert set(CONVERTERS) == set(ANNOTATION_TYPES)


# -------------------------------------------------------------------------------------------- choices


def test_multi_label_in_spec_order_unknown_and_empty_quarantined() -> None:
    r = [{"from_name": "labels", "to_name": "text", "type": "choices", "value": {"choices": ["라", "가"]}}]
    out = _convert("multi_label", r)
    assert out == {"labels": ["가", "라"]}
    _fits_schema("multi_label", out)
    bad = copy.deepcopy(r)
    bad[0]["value"]["choices"] = ["마"]
    assert _reason("multi_label", bad) == "label.unknown_class"
    assert _reason("multi_label", []) == "label.empty"


def test_dialogue_intent_turns_from_the_text_and_slots_checked() -> None:
    text = "상담원: 무엇을 도와드릴까요?\n고객:  예약을   바꾸고 싶어요\n\n"
    media = MediaFacts(None, None, None, text)
    r = [{"from_name": "intent", "to_name": "text", "type": "choices", "value": {"choices": ["예약"]}}]
    out = _convert("dialogue_intent", r, media)
    assert out == {"intent": "예약", "turns": [
        {"speaker": "상담원", "text": "무엇을 도와드릴까요?", "intent": None},
        {"speaker": "고객", "text": "예약을 바꾸고 싶어요", "intent": None}]}
    _fits_schema("dialogue_intent", out)
    assert _reason("dialogue_intent", [{**r[0], "value": {"choices": ["잡담"]}}], media) == "label.unknown_class"
    assert _reason("dialogue_intent", [{**r[0], "value": {"choices": ["예약", "취소"]}}], media) == "label.too_many"


# ------------------------------------------------------------------------------------------- geometry


def _poly(label: str, points: list[list[float]], w: int = 200, h: int = 100) -> dict[str, Any]:
    return {"from_name": "label", "to_name": "image", "type": "polygonlabels", "original_width": w,
            "original_height": h, "value": {"points": points, "polygonlabels": [label]}}


def test_polygon_percent_to_pixels_and_its_defects() -> None:
    out = _convert("polygon", [_poly("가", [[10, 10], [50, 10], [50, 50.5]])])
    assert out == {"polygons": [{"label": "가", "points": [{"x": 20.0, "y": 10.0}, {"x": 100.0, "y": 10.0},
                                                            {"x": 100.0, "y": 50.5}]}]}
    _fits_schema("polygon", out)
    assert _reason("polygon", [_poly("가", [[10, 10], [50, 10], [110, 50]])]) == "label.geometry_outside"
    assert _reason("polygon", [_poly("가", [[10, 10], [50, 10], [10, 10]])]) == "label.too_few_points"
    assert _reason("polygon", [_poly("마", [[10, 10], [50, 10], [50, 50]])]) == "label.unknown_class"
    assert _reason("polygon", [_poly("가", [[10, 10], [50, 10], [50, 50]], w=400)]) == "label.size_mismatch"
    # rounding at the edge (100.4 %) is clamped, not quarantined
    edge = _convert("polygon", [_poly("가", [[0, 0], [100.4, 0], [100, 100]])])
    assert edge["polygons"][0]["points"][1] == {"x": 200.0, "y": 0.0}


def _vector(label: str, vertices: list[tuple[float, float]], closed: bool = False) -> dict[str, Any]:
    return {"from_name": "label", "to_name": "image", "type": "vectorlabels", "original_width": 200,
            "original_height": 100, "value": {"vertices": [{"id": f"p{i}", "x": x, "y": y}
                                                           for i, (x, y) in enumerate(vertices)],
                                              "closed": closed, "vectorlabels": [label]}}


def test_polyline_from_vector_vertices() -> None:
    out = _convert("polyline", [_vector("나", [(0, 50), (25, 50), (50, 60)])])
    assert out["polylines"][0]["points"] == [{"x": 0.0, "y": 50.0}, {"x": 50.0, "y": 50.0},
                                             {"x": 100.0, "y": 60.0}]
    _fits_schema("polyline", out)
    assert _reason("polyline", [_vector("나", [(0, 50)])]) == "label.too_few_points"
    assert _reason("polyline", [_vector("나", [(0, 50), (10, 10)], closed=True)]) == "label.closed_polyline"


def _box(label: str, x: float, y: float, w: float, h: float) -> dict[str, Any]:
    return {"id": f"b{x}{y}", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
            "original_width": 200, "original_height": 100,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}}


def _kp(name: str, x: float, y: float, rid: str = "") -> dict[str, Any]:
    return {"id": rid or f"k{name}{x}", "from_name": "keypoint", "to_name": "image", "type": "keypointlabels",
            "original_width": 200, "original_height": 100, "value": {"x": x, "y": y, "width": 0.5,
                                                                     "keypointlabels": [name]}}


def test_keypoints_grouped_by_object_with_visibility() -> None:
    result = [_box("가", 0, 0, 40, 80), _box("나", 50, 0, 40, 80),
              _kp("코", 10, 10), _kp("왼눈", 20, 20, rid="occl"), _kp("코", 60, 10),
              {"id": "occl", "from_name": "visibility", "to_name": "image", "type": "choices",
               "value": {"choices": ["가림"]}}]
    out = _convert("keypoints", result)
    _fits_schema("keypoints", out)
    first, second = out["poses"]
    assert first["label"] == "가" and second["label"] == "나"
    assert first["keypoints"] == [{"name": "코", "x": 20.0, "y": 10.0, "visible": 2},
                                  {"name": "왼눈", "x": 40.0, "y": 20.0, "visible": 1},
                                  {"name": "오른눈", "x": None, "y": None, "visible": 0}]
    assert [k["visible"] for k in second["keypoints"]] == [2, 0, 0]
    assert _reason("keypoints", [_box("가", 0, 0, 40, 80), _kp("코", 95, 95)]) == "label.keypoint_orphan"
    assert _reason("keypoints", [_box("가", 0, 0, 40, 80), _kp("코", 10, 10), _kp("코", 12, 12)]) == \
        "label.keypoint_duplicate"
    assert _reason("keypoints", [_box("가", 0, 0, 40, 80), _kp("귀", 10, 10)]) == "label.unknown_class"


def test_brush_rle_from_label_studio_becomes_a_plain_run_length_mask() -> None:
    mask = np.zeros((100, 200), dtype=np.uint8)
    mask[10:30, 20:60] = 255
    mask[50:60, 150:199] = 255
    rle = mask2rle(mask)
    assert np.array_equal(decode_ls_rle(rle)[3::4].reshape(100, 200) > 0, mask > 0)
    region = {"from_name": "label", "to_name": "image", "type": "brushlabels", "original_width": 200,
              "original_height": 100, "value": {"format": "rle", "rle": rle, "brushlabels": ["다"]}}
    out = _convert("segmentation", [region])
    _fits_schema("segmentation", out)
    (m,) = out["masks"]
    assert (m["label"], m["width"], m["height"]) == ("다", 200, 100)
    assert sum(m["rle"]) == 200 * 100 and sum(m["rle"][1::2]) == 20 * 40 + 10 * 49
    assert np.array_equal(rle_to_mask(m["rle"], 200, 100), mask > 0)
    small = {**region, "original_width": 100, "original_height": 50}
    assert _reason("segmentation", [small], MediaFacts(100, 50, None, None)) == "label.size_mismatch"
    empty = {**region, "value": {"format": "rle", "rle": mask2rle(np.zeros((100, 200), np.uint8)),
                                 "brushlabels": ["다"]}}
    assert _reason("segmentation", [empty]) == "label.empty"
    assert _reason("segmentation", [{**region, "value": {**region["value"], "rle": rle[:8]}}]) == \
        "label.mask_invalid"


def test_mask_run_lengths_round_trip() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        m = rng.random((7, 9)) > 0.6
        assert np.array_equal(rle_to_mask(mask_to_rle(m), 9, 7), m)
    assert mask_to_rle(np.ones((2, 2), bool)) == [0, 4]


# ----------------------------------------------------------------------------------------------- text


def test_offsets_move_onto_the_normalised_text() -> None:
    raw = "  서울\t\t" + unicodedata.normalize("NFD", "한강") + "공원   에서  만나요 "
    m = OffsetMap(raw)
    assert m.text == normalise_text(raw) == "서울 한강공원 에서 만나요"
    for word in ("서울", "공원", "에서", "만나요"):
        s = raw.index(word)
        a, b = m.span(s, s + len(word))
        assert m.text[a:b] == word
    nfd = unicodedata.normalize("NFD", "한강")
    s = raw.index(nfd)
    a, b = m.span(s, s + len(nfd))
    assert m.text[a:b] == "한강"


def _span(label: str, text: str, start: int, end: int, name: str = "label") -> dict[str, Any]:
    return {"from_name": name, "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}}


def test_ner_spans_validated_against_the_text_and_moved_to_the_record_text() -> None:
    raw = "어제  홍길동이 \n서울시청에서 발표했다. 😀 김철수도 왔다."
    media = MediaFacts(None, None, None, raw)
    s1 = raw.index("홍길동")
    s2 = raw.index("서울시청")
    out = _convert("ner", [_span("LC", raw, s2, s2 + 4), _span("PS", raw, s1, s1 + 3)], media)
    _fits_schema("ner", out)
    text = normalise_text(raw)
    assert [(e["label"], text[e["start"]:e["end"]], e["text"]) for e in out["entities"]] == [
        ("PS", "홍길동", "홍길동"), ("LC", "서울시청", "서울시청")]
    # after an astral character browsers count UTF-16 units: one more than Python's code points
    s3 = raw.index("김철수")
    utf16 = {"from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": s3 + 1, "end": s3 + 4, "text": "김철수", "labels": ["PS"]}}
    (ent,) = _convert("ner", [utf16], media)["entities"]
    assert text[ent["start"]:ent["end"]] == "김철수"
    wrong = {**utf16, "value": {**utf16["value"], "text": "박영희"}}
    assert _reason("ner", [wrong], media) == "label.span_mismatch"
    outside = {**utf16, "value": {"start": 5, "end": 900, "labels": ["PS"]}}
    assert _reason("ner", [outside], media) == "label.span_outside"
    blank = raw.index("  ")
    assert _reason("ner", [_span("PS", raw, blank, blank + 2)], media) == "label.empty_span"
    assert _reason("ner", [_span("XX", raw, s1, s1 + 3)], media) == "label.unknown_class"
    overlap = [_span("PS", raw, s1, s1 + 3), _span("OG", raw, s1 + 1, s1 + 4)]
    assert _reason("ner", overlap, media) == "label.span_overlap"
    assert len(_convert("ner", overlap, media, annotation={**F._QC_SHARES, "type": "ner", "labels": F.NER_LABELS,
                                                          "nested": True})["entities"]) == 2
    assert _convert("ner", [], media) == {"entities": []}  # a text without entities is a valid annotation


def _ta(name: str, *texts: str) -> dict[str, Any]:
    return {"from_name": name, "to_name": "text", "type": "textarea", "value": {"text": list(texts)}}


def test_extractive_qa_pairs_questions_with_selected_answers() -> None:
    raw = "세종대왕은 1397년에 태어나 1450년에 세상을 떠났다."
    media = MediaFacts(None, None, None, raw)
    a1, a2 = raw.index("1397년"), raw.index("1450년")
    result = [_ta("question", "언제 태어났나?", "언제 세상을 떠났나?"),
              _span("answer", raw, a2, a2 + 5, "answer_span"), _span("answer", raw, a1, a1 + 5, "answer_span")]
    # submission order pairs answers with questions: the second span answers the first question here
    out = _convert("qa", result, media, annotation={**F._QC_SHARES, "type": "qa", "questions_per_item": 2})
    _fits_schema("qa", out)
    assert out["qa"] == [{"question": "언제 태어났나?", "answer": "1450년", "answer_start": a2},
                         {"question": "언제 세상을 떠났나?", "answer": "1397년", "answer_start": a1}]
    assert _reason("qa", result[:2], media) == "label.qa_unpaired"
    assert _reason("qa", [_ta("question", " "), result[1]], media) == "label.empty"
    assert _reason("qa", result, media) == "label.too_many"  # the family spec allows one question per item


def test_abstractive_and_yes_no_qa() -> None:
    media = MediaFacts(None, None, None, "본문")
    abstractive = {**F._QC_SHARES, "type": "qa", "style": "abstractive"}
    out = _convert("qa", [_ta("question", "무엇?"), _ta("answer", "  답 입니다 ")], media, annotation=abstractive)
    assert out["qa"] == [{"question": "무엇?", "answer": "답 입니다", "answer_start": None}]
    yes_no = {**F._QC_SHARES, "type": "qa", "style": "yes_no"}
    choice = {"from_name": "answer_choice", "to_name": "text", "type": "choices", "value": {"choices": ["아니오"]}}
    assert _convert("qa", [_ta("question", "맞나?"), choice], media, annotation=yes_no)["qa"][0]["answer"] == "아니오"


def test_summaries_and_translations() -> None:
    raw = "첫 문장이다. 둘째 문장이다. 셋째 문장이다."
    media = MediaFacts(None, None, None, raw)
    out = _convert("summarisation", [_ta("summary", "요약  문장")], media)
    assert out == {"summary": "요약 문장"}
    _fits_schema("summarisation", out)
    extractive = {**F._QC_SHARES, "type": "summarisation", "style": "extractive"}
    third, first = "셋째 문장이다.", "첫 문장이다."
    s2, s1 = raw.index(third), raw.index(first)
    spans = [_span("summary", raw, s2, s2 + len(third), "summary_span"),
             _span("summary", raw, s1, s1 + len(first), "summary_span")]
    assert _convert("summarisation", spans, media, annotation=extractive) == {"summary": "첫 문장이다. 셋째 문장이다."}
    assert _reason("summarisation", [], media) == "label.empty"
    out = _convert("translation", [_ta("translation", " The first sentence. ")], media)
    assert out == {"translation": "The first sentence."}
    assert _reason("translation", [_ta("translation", raw)], media) == "label.untranslated"
    assert _reason("translation", [_ta("translation", "  ")], media) == "label.empty"


# ----------------------------------------------------------------------------------------------- time


def test_temporal_events_on_audio_and_video() -> None:
    clip = MediaFacts(None, None, 10.0, None)
    audio = [{"from_name": "label", "to_name": "audio", "type": "labels",
              "value": {"start": 2.5, "end": 4.0, "channel": 0, "labels": ["나"]}}]
    out = _convert("temporal_events", audio, clip)
    assert out == {"events": [{"label": "나", "start": 2.5, "end": 4.0}]}
    _fits_schema("temporal_events", out)
    video = [{"from_name": "label", "to_name": "video", "type": "timelinelabels",
              "value": {"ranges": [{"start": 25, "end": 48}], "timelinelabels": ["가"]}}]
    assert _convert("temporal_events", video, clip) == {"events": [{"label": "가", "start": 1.0, "end": 2.0}]}
    late = [{**audio[0], "value": {**audio[0]["value"], "end": 12.0}}]
    assert _reason("temporal_events", late, clip) == "label.segment_outside"
    empty = [{**audio[0], "value": {**audio[0]["value"], "end": 2.5}}]
    assert _reason("temporal_events", empty, clip) == "label.segment_empty"


def test_timeseries_ranges_from_row_index_to_seconds() -> None:
    media = MediaFacts(None, None, 60.0, None)
    r = [{"from_name": "label", "to_name": "timeseries", "type": "timeserieslabels",
          "value": {"start": 150, "end": 400, "instant": False, "timeserieslabels": ["라"]}},
         {"from_name": "label", "to_name": "timeseries", "type": "timeserieslabels",
          "value": {"start": 500, "end": 500, "instant": True, "timeserieslabels": ["가"]}}]
    out = _convert("timeseries_labels", r, media)  # the family samples at 100 Hz
    assert out == {"events": [{"label": "라", "start": 1.5, "end": 4.0}, {"label": "가", "start": 5.0, "end": 5.0}]}
    _fits_schema("timeseries_labels", out)
    dated = [{**r[0], "value": {**r[0]["value"], "start": "2026-01-01 00:00", "end": "2026-01-01 00:01"}}]
    assert _reason("timeseries_labels", dated, media) == "label.time_format"


# ------------------------------------------------------------------------------- refine end to end


RUN = "manual__2026-11-23T00:00:00+00:00"


def _ann(item: str, who: str, result: list[dict[str, Any]], aid: int) -> dict[str, Any]:
    return {"item_id": item, "task_id": aid, "project_id": 1, "annotation_id": aid, "annotator": who,
            "result": json.dumps(result, ensure_ascii=False), "ground_truth": False, "was_cancelled": False,
            "lead_time_s": 3.0, "created_at": now(), "updated_at": now(), "role": "annotate"}


def _text_item(i: int, text: str) -> dict[str, Any]:
    return {"item_id": f"t{i}", "dataset": "ner-family", "shard": 0, "source_uri": f"synthetic://{i}",
            "media_key": None, "media_sha256": None, "original_sha256": f"{i:064d}", "media_ext": None,
            "text": text, "width": None, "height": None, "duration_s": None, "sample_rate": None, "channels": None,
            "meta": dumps({"source_doc": f"d{i}", "domain": "일상"}), "truth": None, "collected_at": now(),
            "license": "CC-BY-4.0", "collector": "test", "deid": "{}"}


def test_refine_ner_run_writes_records_and_quarantines_with_reasons(tmp_path: Any) -> None:
    spec = _spec("ner")
    store = open_store(str(tmp_path))
    texts = ["홍길동이  서울에 갔다.", "김철수는 부산에 산다.", "이영희가 왔다.", "박민수는 대전에 있다."]
    store.write_table(f"{layout.run(spec.id, RUN, 'deidentify')}/part-00000.parquet",
                      pa.Table.from_pylist([_text_item(i, t) for i, t in enumerate(texts)], schema=ITEM_SCHEMA))
    anns = [
        _ann("t0", "a", [_span("PS", texts[0], 0, 3), _span("LC", texts[0], 6, 8)], 1),
        _ann("t0", "b", [_span("PS", texts[0], 0, 3), _span("LC", texts[0], 6, 8)], 2),
        _ann("t1", "a", [{"from_name": "label", "to_name": "text", "type": "labels",
                          "value": {"start": 0, "end": 3, "text": "박철수", "labels": ["PS"]}}], 3),
        _ann("t2", "a", [_span("XX", texts[2], 0, 3)], 4),
        _ann("t3", "a", [], 5),  # no entity: valid
    ]
    artifacts.LABEL_ANNOTATIONS.write(store, spec.id, RUN, pa.Table.from_pylist(anns, schema=ANNOTATION_SCHEMA))
    write_qc(spec=spec, store=store, run_id=RUN, rows=anns)  # label_pull's QC: the consensus refine releases

    res = refine(spec=spec, store=store, run_id=RUN)

    assert (res.items_in, res.records, res.quarantined) == (4, 2, 2)
    assert res.reasons == {"label.span_mismatch": 1, "label.unknown_class": 1}
    recs = {r["item_id"]: r for r in store.read_table(res.records_key).to_pylist()}
    t0 = recs["t0"]
    assert t0["text"] == "홍길동이 서울에 갔다."
    assert [(e["label"], t0["text"][e["start"]:e["end"]]) for e in t0["entities"]] == [("PS", "홍길동"), ("LC", "서울")]
    assert (t0["qc_consensus"], t0["qc_agreement"], t0["qc_n_annotations"]) == ("majority_spans", 1.0, 2)
    assert recs["t3"]["entities"] == []


def test_results_built_by_the_label_stage_convert_back_to_what_they_encode() -> None:
    """The contract with pipelines.label.results (predictions, gold tasks and the simulator build results there)."""
    from pipelines.label import results

    pts = [(20.0, 10.0), (100.0, 10.0), (100.0, 50.0)]
    region = results.polygon(label="가", points=pts, image_width=200, image_height=100)
    out = _convert("polygon", [region])
    assert [(p["x"], p["y"]) for p in out["polygons"][0]["points"]] == pts
    raw = "홍길동은 서울에 산다."
    span = results.span(label="LC", start=5, end=7, text=raw[5:7])
    (ent,) = _convert("ner", [span], MediaFacts(None, None, None, raw))["entities"]
    assert (ent["label"], ent["start"], ent["end"], ent["text"]) == ("LC", 5, 7, "서울")
    gold = results.from_truth("dialogue_intent", {"label": "문의"}, to_name="text")
    assert gold is not None
    assert _convert("dialogue_intent", gold, MediaFacts(None, None, None, "A: 질문"))["intent"] == "문의"


AUDIO = MediaFacts(width=None, height=None, duration_s=10.0, text=None)


def _turns(*speakers: str | None) -> list[dict[str, Any]]:
    from pipelines.label import results

    segs = [{"start": 2.0 * i, "end": 2.0 * i + 1.5, "text": f"문장 {i}", **({"speaker": s} if s else {})}
            for i, s in enumerate(speakers)]
    return results.transcript(" ".join(s["text"] for s in segs), segments=segs)


def test_speakers_are_written_per_segment_and_numbered_by_first_appearance() -> None:
    over = {"annotation": {"type": "transcription", "segments": True, "speaker_labels": True}}
    # the annotator numbered the voices 화자2, 화자1: the release numbers them by who speaks first
    got = _convert("transcription", _turns("화자2", "화자1", "화자2"), AUDIO, **over)
    assert [s["speaker"] for s in got["segments"]] == ["화자1", "화자2", "화자1"]
    _fits_schema("transcription", got)
    # a per-region speaker found by its time span when the region id differs
    by_span = _turns("화자1", "화자2")
    for r in by_span:
        if r["from_name"] == "speaker":
            r["id"] = "other"
    assert [s["speaker"] for s in _convert("transcription", by_span, AUDIO, **over)["segments"]] == ["화자1", "화자2"]
    # every segment must name its speaker, from the closed set (never a name)
    assert _reason("transcription", _turns("화자1", None), AUDIO, **over) == "label.speaker_missing"
    assert _reason("transcription", _turns("화자1", "김철수"), AUDIO, **over) == "label.unknown_class"
    assert _reason("transcription", _turns("화자1", "화자9"), AUDIO, **over) == "label.unknown_class"
    # a spec without speaker labels ignores them
    plain = {"annotation": {"type": "transcription", "segments": True}}
    assert {s["speaker"] for s in _convert("transcription", _turns("화자1", "화자2"), AUDIO, **plain)["segments"]} \
        == {None}
