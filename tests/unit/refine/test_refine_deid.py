"""Everything annotators type passes the text rules in refine: real refine runs on Parquet in tmp_path."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from pipelines.label import write_qc
from pipelines.refine import refine
from pipelines.storage import ObjectStore, artifacts, layout, open_store
from pipelines.storage.schemas import ANNOTATION_SCHEMA, ITEM_SCHEMA, dumps
from pipelines.wav import decode_wav, encode_wav
from tests.unit.refine.test_converters import RUN, _ann, _span, _ta, _text_item
from tests.unit.validate import families as F

pytestmark = pytest.mark.unit
DIGITS = set("0123456789")


def _audio_item(store: ObjectStore, i: int) -> dict[str, Any]:
    """An 8 s clip of noise (as loud everywhere as speech would be) stored as de-identified media."""
    rng = np.random.default_rng(i)
    data = encode_wav(rng.uniform(-0.5, 0.5, 8 * 16000), sample_rate=16000)
    sha = hashlib.sha256(data).hexdigest()
    key = layout.media("x", sha, "wav")
    store.write_bytes(key, data)
    return {**_text_item(i, ""), "item_id": f"a{i}", "text": None, "media_key": key,
            "media_sha256": sha, "media_ext": "wav", "duration_s": 8.0, "sample_rate": 16000,
            "channels": 1, "meta": dumps({"speaker_id": f"s{i}", "age_group": "성인"})}


def _run(tmp_path: Path, type_: str, items: list[dict[str, Any]], anns: list[dict[str, Any]], **over: Any) -> Any:
    spec = F.family(type_, **over).spec
    store = open_store(str(tmp_path / "store"))
    store.write_table(f"{layout.run(spec.id, RUN, 'deidentify')}/part-00000.parquet",
                      pa.Table.from_pylist(items, schema=ITEM_SCHEMA))
    artifacts.LABEL_ANNOTATIONS.write(store, spec.id, RUN, pa.Table.from_pylist(anns, schema=ANNOTATION_SCHEMA))
    write_qc(spec=spec, store=store, run_id=RUN, rows=anns)  # label_pull's QC: the consensus refine releases
    res = refine(spec=spec, store=store, run_id=RUN)
    recs = {r["item_id"]: r for r in store.read_table(res.records_key).to_pylist()}
    return res, recs, store.read_json(f"{layout.run(spec.id, RUN, 'refine')}/summary.json")


def _segment(start: float, end: float, text: str) -> dict[str, Any]:
    return {"from_name": "segment_text", "to_name": "audio", "type": "textarea",
            "value": {"start": start, "end": end, "text": [text]}}


def test_a_transcript_with_a_spoken_phone_number_is_released_masked_and_that_stretch_muted(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    item = _audio_item(store, 0)
    segs = [_segment(1.0, 3.5, "네 탁윤슬 님 번호는 공일공 일이삼사 오육칠팔이요"),
            _segment(4.0, 6.0, "감사합니다 좋은 하루 되세요")]
    res, recs, summary = _run(tmp_path, "transcription", [item], [_ann("a0", "w", segs, 1)])
    rec = recs["a0"]
    assert rec["segments"][0]["text"] == "네 [이름] 님 번호는 [전화번호]이요"
    assert rec["segments"][1]["text"] == "감사합니다 좋은 하루 되세요"
    assert "[전화번호]" in rec["transcript"] and "탁윤슬" not in rec["transcript"] and "공일공" not in rec["transcript"]
    # each piece of personal data counts once per field it was typed in (transcript and its segment)
    assert res.masked == summary["masked"] == {"audio_segments": 1, "names": 2, "phone": 2}
    # the audio the release points at is silent where the number was spoken, untouched elsewhere
    assert rec["media"]["key"] != item["media_key"]
    released = store.read_bytes(rec["media"]["key"])
    assert hashlib.sha256(released).hexdigest() == rec["media"]["sha256"]
    samples, rate = decode_wav(released)
    original, _ = decode_wav(store.read_bytes(item["media_key"]))
    assert np.abs(samples[int(0.95 * rate):int(3.55 * rate)]).max() == 0
    assert np.array_equal(samples[int(4.0 * rate):], original[int(4.0 * rate):])
    assert np.abs(samples[: int(0.9 * rate)]).max() > 0.1


def test_spoken_personal_data_that_no_segment_locates_is_quarantined_not_released(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    whole = {"from_name": "transcript", "to_name": "audio", "type": "textarea",
             "value": {"text": ["제 번호는 공일공 일이삼사 오육칠팔입니다"]}}
    res, recs, _ = _run(tmp_path, "transcription", [_audio_item(store, 0), _audio_item(store, 1)],
                        [_ann("a0", "w", [whole], 1), _ann("a1", "w", [_segment(0.5, 2.0, "안녕하세요")], 2)])
    assert list(recs) == ["a1"] and res.reasons == {"pii.unmasked": 1}
    assert (res.items_in, res.records, res.quarantined) == (2, 1, 1)


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
