"""Everything annotators type passes the text rules in refine: real refine runs on Parquet in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from pipelines.refine import refine
from pipelines.storage import layout, open_store
from pipelines.storage.manifest import ANNOTATION_SCHEMA, ITEM_SCHEMA, dumps
from tests.unit.refine.test_converters import RUN, _ann, _span, _ta, _text_item
from tests.unit.validate import families as F

pytestmark = pytest.mark.unit
DIGITS = set("0123456789")


def _audio_item(i: int) -> dict[str, Any]:
    return {**_text_item(i, ""), "item_id": f"a{i}", "text": None, "media_key": f"media/x/{i:064d}.wav",
            "media_sha256": f"{i:064d}", "media_ext": "wav", "duration_s": 8.0, "sample_rate": 16000,
            "channels": 1, "meta": dumps({"speaker_id": f"s{i}", "age_group": "성인"})}


def _run(tmp_path: Path, type_: str, items: list[dict[str, Any]], anns: list[dict[str, Any]], **over: Any) -> Any:
    spec = F.family(type_, **over).spec
    store = open_store(str(tmp_path))
    store.write_table(f"{layout.run(spec.id, RUN, 'deidentify')}/part-00000.parquet",
                      pa.Table.from_pylist(items, schema=ITEM_SCHEMA))
    store.write_table(f"{layout.run(spec.id, RUN, 'label_pull')}/annotations.parquet",
                      pa.Table.from_pylist(anns, schema=ANNOTATION_SCHEMA))
    res = refine(spec=spec, store=store, run_id=RUN)
    recs = {r["item_id"]: r for r in store.read_table(res.records_key).to_pylist()}
    return res, recs, store.read_json(f"{layout.run(spec.id, RUN, 'refine')}/summary.json")


def test_a_transcript_with_a_spoken_phone_number_and_a_name_is_released_masked(tmp_path: Path) -> None:
    seg = {"from_name": "segment_text", "to_name": "audio", "type": "textarea",
           "value": {"start": 1.0, "end": 3.5, "text": ["네 탁윤슬 님 번호는 공일공 일이삼사 오육칠팔이요"]}}
    seg2 = {"from_name": "segment_text", "to_name": "audio", "type": "textarea",
            "value": {"start": 4.0, "end": 6.0, "text": ["감사합니다 좋은 하루 되세요"]}}
    res, recs, summary = _run(tmp_path, "transcription", [_audio_item(0)], [_ann("a0", "w", [seg, seg2], 1)])
    rec = recs["a0"]
    assert rec["segments"][0]["text"] == "네 [이름] 님 번호는 [전화번호]이요"
    assert rec["segments"][1]["text"] == "감사합니다 좋은 하루 되세요"
    assert "[전화번호]" in rec["transcript"] and "탁윤슬" not in rec["transcript"] and "공일공" not in rec["transcript"]
    # each piece of personal data counts once per field it was typed in (transcript and its segment)
    assert res.masked == summary["masked"] == {"names": 2, "phone": 2}


def test_ner_spans_keep_offsets_into_the_masked_text(tmp_path: Path) -> None:
    text = "고객센터 010-2345-6789 로 문의한 홍길동이 서울에 갔다."
    ents = [_span("PS", text, text.index("홍길동"), text.index("홍길동") + 3),
            _span("LC", text, text.index("서울"), text.index("서울") + 2),
            # an annotator selected the number and a bit more: the span widens to the whole placeholder
            _span("OG", text, text.index("2345"), text.index("6789") + 4)]
    res, recs, _ = _run(tmp_path, "ner", [_text_item(0, text)], [_ann("t0", "a", ents, 1)])
    rec = recs["t0"]
    assert rec["text"] == "고객센터 [전화번호] 로 문의한 홍길동이 서울에 갔다."
    assert [(e["label"], e["text"], rec["text"][e["start"]:e["end"]]) for e in rec["entities"]] == [
        ("OG", "[전화번호]", "[전화번호]"), ("PS", "홍길동", "홍길동"), ("LC", "서울", "서울")]
    assert res.masked == {"phone": 1}


def test_qa_summaries_and_translations_are_masked(tmp_path: Path) -> None:
    text = "담당자에게 문의하시면 됩니다. 접수는 평일에만 합니다."
    qa = [_ta("question", "담당자 연락처는?"), _span("answer", text, 0, 3, "answer_span")]
    _, recs, _ = _run(tmp_path / "qa", "qa", [_text_item(0, text)], [_ann("t0", "a", qa, 1)])
    assert recs["t0"]["qa"][0] == {"question": "담당자 연락처는?", "answer": "담당자", "answer_start": 0}

    abstractive = {**F._QC_SHARES, "type": "qa", "style": "abstractive"}
    qa2 = [_ta("question", "누구에게 연락하나?"), _ta("answer", "편경호 씨에게 010-9876-5432로")]
    res, recs, _ = _run(tmp_path / "qa2", "qa", [_text_item(0, text)], [_ann("t0", "a", qa2, 1)],
                        annotation=abstractive)
    assert recs["t0"]["qa"][0]["answer"] == "[이름] 씨에게 [전화번호]로"
    assert res.masked == {"names": 1, "phone": 1}

    summary = [_ta("summary", "고객 모다인 님 여권 M12345678 재발급 문의")]
    _, recs, _ = _run(tmp_path / "sum", "summarisation", [_text_item(0, text)], [_ann("t0", "a", summary, 1)])
    assert recs["t0"]["summary"] == "고객 [이름] 님 여권 [여권번호] 재발급 문의"

    translation = [_ta("translation", "Please call 010-1111-2222 or mail kim@example.com.")]
    _, recs, _ = _run(tmp_path / "tr", "translation", [_text_item(0, text)], [_ann("t0", "a", translation, 1)])
    assert recs["t0"]["translation"] == "Please call [전화번호] or mail [이메일]."


def test_dialogue_turns_and_source_text_are_masked_and_nothing_is_lost(tmp_path: Path) -> None:
    text = "상담원: 무엇을 도와드릴까요?\n고객: 차량 12가 3456 주차 문의요"
    intent = {"from_name": "intent", "to_name": "text", "type": "choices", "value": {"choices": [F.INTENTS[0]]}}
    res, recs, summary = _run(tmp_path, "dialogue_intent", [_text_item(0, text), _text_item(1, "안녕하세요")],
                              [_ann("t0", "a", [intent], 1), _ann("t1", "a", [intent], 2)])
    assert recs["t0"]["turns"][1]["text"] == "차량 [차량번호] 주차 문의요"
    assert not DIGITS & set(recs["t0"]["text"])
    assert (res.items_in, res.records + res.quarantined) == (2, 2)
    assert summary["masked"] == {"plate": 2}  # once in the text, once in its turn
