"""A release scanned for personal data and pointers into restricted/: refine -> validate -> gate -> publish on
file://, annotators known by e-mail in Label Studio, source URIs that name people."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from pipelines.label import write_qc
from pipelines.pii import TextDeidentifier
from pipelines.pii.pseudonyms import KEY
from pipelines.publish import publish
from pipelines.refine import refine
from pipelines.storage import ObjectStore, artifacts, layout, open_store
from pipelines.storage.schemas import ANNOTATION_SCHEMA, ITEM_SCHEMA, dumps, now
from pipelines.validate import gate, validate
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit
RUN = "run-1"
EMAILS = ["kim.minjun@labeler.example", "Lee.Seoyeon@labeler.example", "park@outsourcing.example"]
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
HEX_OR_PSEUDONYM = re.compile(r"^(?:ann-|src-)?[0-9a-f]{16,64}$")
# A digest or pseudonym inside a longer string (the HTML documents quote sha256s). Its digits may read as a phone
# number between two letters (``…e5f01012345678ab…``), as one in twenty random releases did; at least one hex letter
# is required, so a card or phone number written as plain digits is still scanned.
HEX_RUN = re.compile(r"(?<![0-9A-Za-z])(?:ann-|src-)?(?=[0-9]*[a-f])[0-9a-f]{16,64}(?![0-9A-Za-z])")


def _write_labelled_run(store: ObjectStore, n: int = 60) -> tuple[list[dict[str, Any]], list[str]]:
    spec = f.text_spec()
    rows = f.text_run(spec, n=n).rows
    items, anns, uris = [], [], []
    for i, r in enumerate(rows):
        uri = f"file:///contractor/{EMAILS[i % 3].split('@')[0]}/고객_{i:03d}.jsonl#{i}"
        uris.append(uri)
        items.append({"item_id": r["item_id"], "dataset": spec.id, "shard": 0, "source_uri": uri,
                      "media_key": None, "media_sha256": None,
                      "original_sha256": hashlib.sha256(f"original {i}".encode()).hexdigest(), "media_ext": "jsonl",
                      "text": r["text"], "width": None, "height": None, "duration_s": None, "sample_rate": None,
                      "channels": None, "meta": dumps({"speaker_age": r["speaker_age"], "domain": r["domain"]}),
                      "truth": None, "collected_at": now(), "license": "CC-BY-4.0", "collector": "test",
                      "deid": "{}"})
        result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [r["label"]]}}]
        for k in range(2 if i % 5 == 0 else 1):  # an overlap sample: agreement per annotator
            anns.append({"item_id": r["item_id"], "task_id": i, "project_id": 1, "annotation_id": 10 * i + k,
                         "annotator": EMAILS[(i + k) % 3], "result": json.dumps(result, ensure_ascii=False),
                         "ground_truth": False, "was_cancelled": False, "lead_time_s": 3.0, "created_at": now(),
                         "updated_at": now(), "role": "annotate"})
    store.write_table(f"{layout.run(spec.id, RUN, 'deidentify')}/part-00000.parquet",
                      pa.Table.from_pylist(items, schema=ITEM_SCHEMA))
    artifacts.LABEL_ANNOTATIONS.write(store, spec.id, RUN, pa.Table.from_pylist(anns, schema=ANNOTATION_SCHEMA))
    write_qc(spec=spec, store=store, run_id=RUN, rows=anns)  # label_pull's QC: the consensus refine releases
    return items, uris


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in [*_strings(k), *_strings(v)]]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def test_a_release_holds_no_e_mail_identifier_or_restricted_key(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "root"))
    spec = f.text_spec()
    items, uris = _write_labelled_run(store)
    refined = refine(spec=spec, store=store, run_id=RUN)
    assert refined.records == len(items)
    assert validate(spec=spec, store=store, run_id=RUN, data_docs=False).success
    assert gate(spec=spec, store=store, run_id=RUN).status == "approved"
    res = publish(spec=spec, store=store, run_id=RUN)

    released = [o.key for o in store.list(layout.release(spec.id)) if not o.key.endswith(".parquet.tmp")]
    assert any(k.endswith(".parquet") for k in released) and any("/quality/" in k for k in released)
    strings: list[str] = []
    raw_text = ""
    for key in released:
        if key.endswith(".parquet"):
            rows = store.read_table(key).to_pylist()
            strings += _strings(json.loads(json.dumps(rows, default=str)))
        else:
            text = store.read_text(key)
            raw_text += text
            strings += _strings(json.loads(text)) if key.endswith(".json") else [text]
    everything = "\n".join(strings) + raw_text

    assert EMAIL.findall(everything) == []
    # the card may say that originals stay under restricted/; no key of one may appear
    assert re.findall(r"restricted/[A-Za-z0-9_]\S*", everything) == [] and KEY not in everything
    originals = {i["original_sha256"] for i in items} | set(uris) | {u.split("#")[0] for u in uris}
    assert [s for s in originals if s in everything] == []
    rules = TextDeidentifier(targets=())  # the always-masked identifiers
    scanned = [HEX_RUN.sub(" ", s) for s in strings if not HEX_OR_PSEUDONYM.match(s)]
    found = [(s[:60], [x.kind for x in rules.find(s)]) for s in scanned if rules.find(s)]
    assert found == []
    # what the release says instead: stable pseudonyms, the agreement of each annotator keyed by them
    quality = store.read_json(f"{layout.release(spec.id, res.version)}/quality/quality.json")
    assert quality["agreement_by_annotator"] and all(re.fullmatch(r"ann-[0-9a-f]{16}", k)
                                                     for k in quality["agreement_by_annotator"])
    # and the way back, for a contractor: the maps under restricted/
    restricted = layout.restricted_run(spec.id, RUN, "refine")
    annotators = store.read_table(f"{restricted}/annotators.parquet").to_pylist()
    assert {a["annotator"] for a in annotators} == set(EMAILS)
    provenance = store.read_table(f"{restricted}/provenance.parquet").to_pylist()
    assert {p["source_uri"] for p in provenance} == set(uris)


def test_a_transcription_release_speaks_no_phone_number_and_writes_none(tmp_path: Path) -> None:
    """Done-when of issue 12: the stretch where a phone number is spoken is silent in the released audio."""
    import io
    import wave

    import numpy as np

    from pipelines.publish import open_dataset
    from pipelines.wav import decode_wav

    store = open_store(str(tmp_path / "root"))
    spec = f.audio_spec()
    rows = f.audio_run(store, spec).rows
    spoken = {r["item_id"] for r in rows[::4]}
    items, anns = [], []
    for i, r in enumerate(rows):
        m = r["media"]
        items.append({"item_id": r["item_id"], "dataset": spec.id, "shard": 0, "source_uri": f"synthetic://{i}",
                      "media_key": m["key"], "media_sha256": m["sha256"], "original_sha256": m["sha256"],
                      "media_ext": "wav", "text": None, "width": None, "height": None, "duration_s": m["duration_s"],
                      "sample_rate": 16000, "channels": 1,
                      "meta": dumps({"speaker_id": r["speaker_id"], "region": r["region"]}), "truth": None,
                      "collected_at": now(), "license": "CC-BY-4.0", "collector": "test", "deid": "{}"})
        result: list[dict[str, Any]] = [{"from_name": "dialect", "to_name": "audio", "type": "choices",
                                         "value": {"choices": [r["segments"][0]["dialect"]]}}]
        for k, seg in enumerate(r["segments"]):
            text = "제 번호는 공일공 일이삼사 오육칠팔이요" if k == 1 and r["item_id"] in spoken else seg["text"]
            result.append({"from_name": "segment_text", "to_name": "audio", "type": "textarea",
                           "value": {"start": seg["start"], "end": seg["end"], "text": [text]}})
        anns.append({"item_id": r["item_id"], "task_id": i, "project_id": 1, "annotation_id": i,
                     "annotator": EMAILS[i % 3], "result": json.dumps(result, ensure_ascii=False),
                     "ground_truth": False, "was_cancelled": False, "lead_time_s": 3.0, "created_at": now(),
                     "updated_at": now(), "role": "annotate"})
    store.write_table(f"{layout.run(spec.id, RUN, 'deidentify')}/part-00000.parquet",
                      pa.Table.from_pylist(items, schema=ITEM_SCHEMA))
    artifacts.LABEL_ANNOTATIONS.write(store, spec.id, RUN, pa.Table.from_pylist(anns, schema=ANNOTATION_SCHEMA))
    write_qc(spec=spec, store=store, run_id=RUN, rows=anns)  # label_pull's QC: the consensus refine releases
    refined = refine(spec=spec, store=store, run_id=RUN)
    assert refined.records == len(rows) and refined.masked["audio_segments"] == len(spoken)
    assert validate(spec=spec, store=store, run_id=RUN, data_docs=False).success
    assert gate(spec=spec, store=store, run_id=RUN).status == "approved"
    publish(spec=spec, store=store, run_id=RUN)

    released = open_dataset(spec.id, storage=store).to_table(
        columns=["item_id", "transcript", "segments", "audio"]).to_pylist()
    original = {r["item_id"]: decode_wav(store.read_bytes(r["media"]["key"]))[0] for r in rows}
    assert len(released) == len(rows)
    for r in released:
        with wave.open(io.BytesIO(r["audio"]["bytes"])) as w:
            rate = w.getframerate()
        samples = decode_wav(r["audio"]["bytes"])[0]
        second = r["segments"][1]
        a, b = int(second["start"] * rate), int(second["end"] * rate)
        if r["item_id"] in spoken:
            assert "[전화번호]" in r["transcript"] and "공일공" not in r["transcript"]
            assert second["text"] == "제 번호는 [전화번호]이요"
            assert np.abs(samples[a:b]).max() == 0  # the number is not heard
            assert np.abs(samples[: int((second["start"] - 0.1) * rate)]).max() > 0  # the rest is
        else:
            assert np.array_equal(samples, original[r["item_id"]])
