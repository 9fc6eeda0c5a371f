"""Text types: ``ner`` (entity spans), ``qa`` (question-answer pairs), ``summarisation``, ``translation``.

Label Studio: ``Labels name="label"`` spans (NER); ``TextArea`` ``question`` / ``answer`` with an
``answer_span`` (extractive) or ``answer_choice`` (yes/no); ``summary`` / ``summary_span``; ``translation``.
QC: NER by span F1 (exact spans; consensus = the spans a majority chose); free text by 1 - CER (consensus = the
best-agreeing text). Converters validate spans against the text Label Studio showed (the raw de-identified
text): the offsets must lie inside it and, when Label Studio copied the selected text, select exactly that text
(browsers count UTF-16 code units, so offsets past an astral character are converted first). Offsets are then
moved onto the normalised record text with :class:`~pipelines.annotations.base.OffsetMap` and trimmed of edge
whitespace.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from pipelines.annotations.base import (
    InvalidLabel,
    MediaFacts,
    OffsetMap,
    normalise_text,
    one_label,
    regions,
    textarea_texts,
    utf16_to_codepoints,
)
from pipelines.annotations.code import family
from pipelines.annotations.lsconfig import _el, _options
from pipelines.annotations.lsresults import qa_pairs, span, summary, textarea
from pipelines.annotations.measures import Consensus, Segment, _label_of, _regions, _texts, medoid, text_agreement
from pipelines.spec.models import NER, QA, DatasetSpec, Summarisation, Translation

_YES_NO = {"예": "예", "네": "예", "yes": "예", "아니오": "아니오", "아니요": "아니오", "no": "아니오"}


# ------------------------------------------------------------------------------------ Label Studio config


def _ner(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, NER)
    _options(_el(view, "Labels", name="label", toName=to), "Label", a.labels)


def _qa(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, QA)
    n = str(a.questions_per_item)
    _el(view, "TextArea", name="question", toName=to, rows="2", maxSubmissions=n, editable="true")
    if a.style == "extractive":
        _el(view, "Labels", name="answer_span", toName=to).append(ET.Element("Label", {"value": "answer"}))
    elif a.style == "yes_no":
        _options(_el(view, "Choices", name="answer_choice", toName=to, choice="single-radio"), "Choice",
                 ["예", "아니오"])
    _el(view, "TextArea", name="answer", toName=to, rows="2", maxSubmissions=n, editable="true")


def _summarisation(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Summarisation)
    if a.style in ("extractive", "both"):
        _el(view, "Labels", name="summary_span", toName=to).append(ET.Element("Label", {"value": "summary"}))
    if a.style in ("abstractive", "both"):
        _el(view, "TextArea", name="summary", toName=to, rows="5", maxSubmissions="1", editable="true",
            required="true")


def _translation(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Translation)
    _el(view, "Header", value=f"{a.source_language} → {a.target_language}")
    _el(view, "TextArea", name="translation", toName=to, rows="4", maxSubmissions="1", editable="true",
        required="true")


# -------------------------------------------------------------------------------------------------- QC


def extract(t: str, result: Sequence[Mapping[str, Any]]) -> Any:
    """Free text: the submitted texts joined (extractive summaries: the selected spans); NER: the set of spans."""
    if t in ("qa", "summarisation", "translation"):
        names = {"qa": ("question", "answer"), "summarisation": ("summary",), "translation": ("translation",)}[t]
        text = _texts(result, names)
        if t == "summarisation" and not text:  # extractive summaries are spans
            text = " ".join(str(r["value"].get("text", "")) for r in _regions(result, "labels", "summary_span"))
        return text
    if t == "ner":
        return frozenset(Segment(_label_of(r["value"], "labels"), float(r["value"]["start"]),
                                 float(r["value"]["end"])) for r in _regions(result, "labels", "label"))
    raise ValueError(f"no QC extractor for annotation type {t!r}")


def span_f1(a: frozenset[Segment], b: frozenset[Segment]) -> float:
    """F1 of exactly matching (start, end, label) spans."""
    if not a and not b:
        return 1.0
    return 2 * len(a & b) / (len(a) + len(b))


def agreement(t: str, a: Any, b: Any) -> float:
    """Free text: 1 - CER (symmetric); NER: span F1."""
    if t in ("qa", "summarisation", "translation"):
        return text_agreement(a, b)
    if t == "ner":
        return span_f1(a, b)
    raise ValueError(f"no agreement measure for annotation type {t!r}")


def consensus(t: str, values: Sequence[Any], agree: float, tracks: bool) -> Consensus:
    """NER: the spans a strict majority chose; free text: the best-agreeing text (the medoid)."""
    n = len(values)
    if t == "ner":
        counts_s = Counter(s for v in values for s in v)
        return Consensus(frozenset(s for s, k in counts_s.items() if k > n / 2), "majority_spans", agree)
    m = medoid(partial(agreement, t), values)
    method = "best_agreeing_text" if t in ("transcription", "qa", "summarisation", "translation") else "best_agreeing"
    return Consensus(values[m], method, agree, source=m)


def consensus_result(
    t: str, results: Sequence[Sequence[Mapping[str, Any]]], c: Consensus
) -> list[dict[str, Any]] | None:
    """NER: the regions of the majority's spans, in text order."""
    if c.source is not None:
        return [dict(r) for r in results[c.source]]
    if t == "ner":
        picked: list[dict[str, Any]] = []
        seen: set[Segment] = set()
        for res in results:
            for r in _regions(res, "labels", "label"):
                for seg in extract("ner", [r]):
                    if seg in c.value and seg not in seen:
                        seen.add(seg)
                        picked.append(dict(r))
        return sorted(picked, key=lambda r: (float(r["value"]["start"]), float(r["value"]["end"])))
    raise ValueError(f"no consensus result for annotation type {t!r} (method {c.method})")


# ------------------------------------------------------------------------------------------ converters


def _offsets(raw: str, value: dict[str, Any]) -> tuple[int, int]:
    """The raw code-point span of a Labels region, checked against the text it claims to select."""
    try:
        start, end = int(value["start"]), int(value["end"])
    except (KeyError, TypeError, ValueError):
        raise InvalidLabel("label.span_unaligned", f"a span without integer offsets: {value}") from None
    if start < 0 or end > len(raw.encode("utf-16-le")) // 2 or end < start:
        raise InvalidLabel("label.span_outside", f"span {start}-{end} outside a text of {len(raw)} characters")
    claimed = value.get("text")
    if claimed is None or raw[start:end] == claimed:
        if end > len(raw):
            raise InvalidLabel("label.span_outside", f"span {start}-{end} outside a text of {len(raw)} characters")
        return start, end
    s16, e16 = utf16_to_codepoints(raw, start), utf16_to_codepoints(raw, end)
    if raw[s16:e16] == claimed:
        return s16, e16
    raise InvalidLabel("label.span_mismatch", f"span {start}-{end} selects {raw[start:end]!r}, not {claimed!r}")


def _spans(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts, from_name: str,
           allowed: list[str] | None, *, in_text_order: bool = True) -> list[dict[str, Any]]:
    rs = regions(result, "labels", from_name)
    if not rs:
        return []
    if media.text is None:
        raise InvalidLabel("media.no_text", "a text span on an item without text")
    omap = OffsetMap(media.text)
    out = []
    for r in rs:
        v = r.get("value") or {}
        label = one_label(spec, r, "labels", allowed) if allowed is not None or spec.labels else "span"
        s, e = omap.span(*_offsets(media.text, v))
        if e <= s:
            raise InvalidLabel("label.empty_span", f"{label}: a span of only whitespace or nothing")
        out.append({"label": label, "start": s, "end": e, "text": omap.text[s:e]})
    if in_text_order:
        out.sort(key=lambda x: (x["start"], x["end"], x["label"]))
    return out


def ner(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """``Labels name="label"`` over the text: entities with character offsets into the record text.

    A text with no entity is a valid annotation. Without ``nested: true`` in the spec, overlapping entities are
    quarantined (``label.span_overlap``); identical duplicates are merged.
    """
    a = spec.annotation
    assert isinstance(a, NER)
    entities = _spans(spec, result, media, "label", None)
    unique: list[dict[str, Any]] = []
    for ent in entities:
        if unique and (ent["start"], ent["end"], ent["label"]) == (unique[-1]["start"], unique[-1]["end"],
                                                                   unique[-1]["label"]):
            continue
        unique.append(ent)
    if not a.nested:
        for prev, cur in itertools.pairwise(unique):
            if cur["start"] < prev["end"]:
                raise InvalidLabel("label.span_overlap",
                                   f"{prev['label']} {prev['start']}-{prev['end']} overlaps "
                                   f"{cur['label']} {cur['start']}-{cur['end']} (the spec does not allow nesting)")
    return {"entities": unique}


def qa(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """Questions (``TextArea name="question"``) paired in order with their answers.

    Extractive: each ``answer_span`` selects the answer in the text (``answer_start`` is its offset in the record
    text). Yes/no: each ``answer_choice`` choice. Otherwise each ``answer`` text. An item with questions and
    answers that do not pair one to one is quarantined (``label.qa_unpaired``).
    """
    a = spec.annotation
    assert isinstance(a, QA)
    questions = [normalise_text(q) for q in textarea_texts(result, "question")]
    if not questions or not all(questions):
        raise InvalidLabel("label.empty", "a QA item without a question" if not questions else "an empty question")
    answers: list[tuple[str | None, int | None]]
    if a.style == "extractive":
        # Submission order, not text order: the n-th span answers the n-th question.
        spans = _spans(spec, result, media, "answer_span", ["answer"], in_text_order=False)
        answers = [(s["text"], s["start"]) for s in spans]
    elif a.style == "yes_no":
        picked = [c for r in regions(result, "choices", "answer_choice")
                  for c in (r.get("value") or {}).get("choices") or []]
        answers = []
        for c in picked:
            if normalise_text(str(c)).lower() not in _YES_NO:
                raise InvalidLabel("label.unknown_class", f"yes/no answer {c!r}")
            answers.append((_YES_NO[normalise_text(str(c)).lower()], None))
    else:
        answers = [(normalise_text(t), None) for t in textarea_texts(result, "answer")]
        if any(not t for t, _ in answers):
            raise InvalidLabel("label.empty", "an empty answer")
    if len(answers) != len(questions):
        raise InvalidLabel("label.qa_unpaired", f"{len(questions)} questions, {len(answers)} answers")
    if len(questions) > a.questions_per_item:
        raise InvalidLabel("label.too_many", f"{len(questions)} questions, the spec allows {a.questions_per_item}")
    return {"qa": [{"question": q, "answer": ans, "answer_start": start}
                   for q, (ans, start) in zip(questions, answers, strict=True)]}


def summarisation(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """``TextArea name="summary"`` (abstractive) and/or ``summary_span`` selections (extractive).

    The record's ``summary`` is the written summary when there is one, else the selected sentences in text
    order. Spans must select text of the document.
    """
    a = spec.annotation
    assert isinstance(a, Summarisation)
    written = normalise_text(" ".join(textarea_texts(result, "summary")))
    spans = _spans(spec, result, media, "summary_span", ["summary"]) if a.style in ("extractive", "both") else []
    if a.style in ("abstractive", "both") and not written:
        raise InvalidLabel("label.empty", "no written summary")
    if a.style == "extractive" and not spans:
        raise InvalidLabel("label.empty", "no sentence selected for the summary")
    return {"summary": written or normalise_text(" ".join(s["text"] for s in spans))}


def translation(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """``TextArea name="translation"``: the target-language text, normalised."""
    text = normalise_text(" ".join(textarea_texts(result, "translation")))
    if not text:
        raise InvalidLabel("label.empty", "empty translation")
    if media.text is not None and text == normalise_text(media.text):
        raise InvalidLabel("label.untranslated", "the translation is the source text copied")
    return {"translation": text}


# ----------------------------------------------------------------------------------- reference results


def from_truth(t: str, truth: Mapping[str, Any], *, to_name: str, text: str | None = None,
               **_media: Any) -> list[dict[str, Any]] | None:
    """``{"spans"}`` (offsets into ``text``, or each span's own ``text``), ``{"qa"}``, ``{"summary"?,
    "sentences"?}``, ``{"translation"}``."""
    if t == "ner" and isinstance(truth.get("spans"), list) and (
            text is not None or all("text" in s for s in truth["spans"])):
        return [span(label=str(s["label"]), start=int(s["start"]), end=int(s["end"]),
                     text=str(s["text"]) if "text" in s else str(text)[int(s["start"]):int(s["end"])],
                     to_name=to_name) for s in truth["spans"]]
    if t == "qa" and isinstance(truth.get("qa"), list) and truth["qa"]:
        return qa_pairs(truth["qa"], to_name=to_name)
    if t == "summarisation" and (isinstance(truth.get("summary"), str) or truth.get("sentences")):
        return summary(written=truth.get("summary"), sentences=truth.get("sentences") or [], to_name=to_name)
    if t == "translation" and isinstance(truth.get("translation"), str):
        return [textarea([truth["translation"]], from_name="translation", to_name=to_name)]
    return None


NER_SPANS = family("ner", build=_ner, convert=ner, extract=extract, agreement=agreement, consensus=consensus,
                   consensus_result=consensus_result, from_truth=from_truth)
QA_PAIRS = family("qa", build=_qa, convert=qa, extract=extract, agreement=agreement, consensus=consensus,
                  from_truth=from_truth)
SUMMARY = family("summarisation", build=_summarisation, convert=summarisation, extract=extract,
                 agreement=agreement, consensus=consensus, from_truth=from_truth)
TRANSLATION = family("translation", build=_translation, convert=translation, extract=extract,
                     agreement=agreement, consensus=consensus, from_truth=from_truth)
