"""Simulated annotators mark entities, answer questions, summarise and translate the synthetic texts; refine reads
their results back (through its personal-data rules) as the truth the source planted, and a spoilt result is one
QC and a reviewer reject."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from pipelines.annotations.base import MediaFacts
from pipelines.collect.intake import check_text
from pipelines.collect.sources import SyntheticCollector
from pipelines.label import qc, results
from pipelines.label.tasks import target_kind
from pipelines.pii import TextDeidentifier
from pipelines.refine.convert import CONVERTERS
from pipelines.refine.deid import TypedTextRules, mask_record
from pipelines.spec import load_catalog
from pipelines.spec.models import TEXT_PII, DatasetSpec, TextModality
from pipelines.storage import open_store
from sim.annotators import SimulatorError, _result, preflight

pytestmark = pytest.mark.unit

TEXT_TYPES = ("ner", "qa", "summarisation", "translation")
# One spec per type and per variant: names among the targets (NER, QA), each summary style, each target language.
SPECS = ("medical-consultation-ner", "web-corpus-ner", "health-qa", "book-mrc", "book-summary-text",
         "paper-summary-text", "document-summary-text", "ko-en-colloquial-parallel-corpus", "ko-ja-parallel-corpus",
         "ko-zh-parallel-corpus")
ITEMS = 8


def _shown(spec: DatasetSpec, src: SyntheticCollector, index: int) -> tuple[str, dict[str, Any]]:
    """The text Label Studio shows for an item (intake's unwrapping, then collect's masking) and its truth."""
    item = src.item(index)
    assert item.truth is not None
    mod = spec.modality
    assert isinstance(mod, TextModality)
    body = check_text(item.data, item.ext, mod).text or ""
    rules = TextDeidentifier(targets=sorted(set(spec.deidentify.targets) & TEXT_PII), dictionaries=src.dictionaries)
    return rules.mask(body)[0], item.truth


def _released(spec: DatasetSpec, result: list[dict[str, Any]], shown: str) -> dict[str, Any]:
    """What refine makes of a result: the type's converter, then the rules for annotator-typed text."""
    record = {"text": shown, **CONVERTERS[spec.annotation.type](spec, result, MediaFacts(None, None, None, shown))}
    mask_record(record, spec=spec, rules=TypedTextRules.for_spec(spec))
    return record


def _expected(truth: dict[str, Any], t: str) -> Any:
    if t == "ner":
        return sorted((s["label"], s["start"], s["end"], s["text"]) for s in truth["spans"])
    if t == "qa":
        return [(p["question"], p["answer"], p["start"]) for p in truth["qa"]]
    if t == "summarisation":
        return truth.get("summary") or " ".join(s["text"] for s in truth["sentences"])
    return truth["translation"]


def _got(record: dict[str, Any], t: str) -> Any:
    if t == "ner":
        return sorted((e["label"], e["start"], e["end"], e["text"]) for e in record["entities"])
    if t == "qa":
        return [(p["question"], p["answer"], p["answer_start"]) for p in record["qa"]]
    return record["summary" if t == "summarisation" else "translation"]


@pytest.mark.parametrize("spec_id", SPECS)
def test_truth_round_trips_and_mistakes_are_caught(spec_id: str, tmp_path: Path) -> None:
    spec = load_catalog().get(spec_id)
    store = open_store(tmp_path.as_uri())
    preflight(spec=spec, store=store)
    src = SyntheticCollector(spec=spec, store=store)
    t, to = spec.annotation.type, target_kind(spec)
    checked = spoilt_accepted = 0
    for i in range(ITEMS * 2):
        if src.defect(i) is not None or checked == ITEMS:
            continue
        checked += 1
        shown, truth = _shown(spec, src, i)
        good = _result(spec, truth, None, random.Random(i), wrong=False)
        assert _got(_released(spec, good, shown), t) == _expected(truth, t), f"item {i}"
        ref = qc.extract(t, results.from_truth(t, truth, to_name=to) or [])
        assert qc.agreement(t, qc.extract(t, good), ref) == 1.0
        for k in range(4):  # a spoilt result is still a valid annotation, and QC scores it below "correct"
            bad = _result(spec, truth, None, random.Random(f"{i}:{k}"), wrong=True)
            _released(spec, bad, shown)
            spoilt_accepted += qc.agreement(t, qc.extract(t, bad), ref) >= qc.CORRECT_AT[t]
    assert checked == ITEMS
    assert spoilt_accepted == 0


def test_every_text_spec_passes_preflight(tmp_path: Path) -> None:
    store = open_store(tmp_path.as_uri())
    refused = {}
    for spec in load_catalog().specs.values():
        if spec.annotation.type in TEXT_TYPES:
            try:
                preflight(spec=spec, store=store)
            except SimulatorError as exc:
                refused[spec.id] = str(exc)
    assert refused == {}  # visual-qa (image + question text) included


def test_items_are_deterministic_and_varied(tmp_path: Path) -> None:
    spec = load_catalog().get("ko-en-parallel-corpus")
    src = SyntheticCollector(spec=spec, store=open_store(tmp_path.as_uri()))
    again = SyntheticCollector(spec=spec, store=open_store(tmp_path.as_uri()))
    texts = [src.item(i).data for i in range(12)]
    assert texts == [again.item(i).data for i in range(12)]
    assert len(set(texts)) >= 11  # two random sentence pairs an item: repeats are rare
