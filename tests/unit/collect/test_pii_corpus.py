"""Recall on a Korean PII corpus (>= 50 instances of every kind) and false positives on PII-free Korean text."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pipelines.collect import collect_shard, deidentify_shard, plan_shards
from pipelines.collect.deid import TextDeidentifier, load_dictionary, resolve_dictionary
from pipelines.spec import parse_spec
from pipelines.storage import open_store
from tests.unit.collect.pii_corpus import KINDS, pii_free, planted
from tests.unit.collect.specs import TEXT

pytestmark = pytest.mark.unit
PER_KIND = 60
DICTS = {
    "names": load_dictionary(resolve_dictionary("dictionaries/names-ko.txt")),
    "addresses": load_dictionary(resolve_dictionary("dictionaries/addresses-ko.txt")),
}
DEID = TextDeidentifier(targets=KINDS, dictionaries=DICTS)


def test_every_planted_piece_of_personal_data_is_found_whole_and_typed() -> None:
    docs = planted(PER_KIND)
    per_kind = Counter(kind for d in docs for kind, _, _ in d.spans)
    assert per_kind == dict.fromkeys(KINDS, PER_KIND)
    missed: list[str] = []
    for doc in docs:
        findings = DEID.find(doc.text)
        for kind, a, b in doc.spans:
            over = [f for f in findings if f.start < b and f.end > a]
            covered = {i for f in over for i in range(max(a, f.start), min(b, f.end))}
            if len(covered) < b - a or not any(f.kind == kind for f in over):
                missed.append(f"{kind}: {doc.text[a:b]!r} in {doc.text!r} -> {[(f.kind, f.rule) for f in over]}")
    assert missed == [], f"recall {1 - len(missed) / len(docs):.3f}:\n" + "\n".join(missed)


def test_post_2020_registration_numbers_without_a_valid_check_digit_are_in_the_corpus() -> None:
    from pipelines.pii.text import rrn_check_ok

    numbers = ["".join(c for c in d.text[a:b].translate(str.maketrans("０１２３４５６７８９", "0123456789"))
                       if c.isdigit())
               for d in planted(PER_KIND) for kind, a, b in d.spans if kind in ("rrn", "foreigner_rn")]
    invalid = [n for n in numbers if not rrn_check_ok(n)]
    assert len(invalid) >= 40  # about half: the rules must not need the check digit


def test_false_positives_on_pii_free_korean_text_stay_rare() -> None:
    texts = pii_free(3000)
    found = [(f.kind, t[f.start : f.end]) for t in texts for f in DEID.find(t)]
    rate = len({t for t in texts if DEID.find(t)}) / len(texts)
    print(f"false positives: {len(found)} findings in {len(texts)} PII-free sentences ({rate:.2%}): {found[:5]}")
    assert rate <= 0.005, found[:20]


def test_the_stage_masks_the_whole_corpus_and_nothing_planted_survives(tmp_path: Path) -> None:
    docs = planted(PER_KIND, seed=99)
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"d{i}", "text": d.text}, ensure_ascii=False)
                              for i, d in enumerate(docs)), "utf-8")
    spec = parse_spec({**TEXT, "modality": {**TEXT["modality"], "min_chars": 1},
                       "source": {"kind": "records", "path": str(path), "format": "jsonl", "id_column": "id"}})
    store = open_store(str(tmp_path / "store"))
    out: dict[str, str] = {}
    for shard in plan_shards(spec=spec, store=store, run_id="r1"):
        collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
        res = deidentify_shard(spec=spec, store=store, run_id="r1", shard=shard["shard"])
        out |= {r["source_uri"].rsplit("#", 1)[1]: r["text"] for r in store.read_table(res.manifest_key).to_pylist()}
    checked = 0
    for i, d in enumerate(docs):
        if f"d{i}" not in out:  # a document that repeats another one is quarantined as a duplicate instead
            continue
        for _, a, b in d.spans:
            assert d.text[a:b] not in out[f"d{i}"]
            checked += 1
    assert checked >= 0.9 * len(docs)
