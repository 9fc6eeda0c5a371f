"""Text converters: NER spans, QA pairs, summaries, translations, dialogue intents.

Spans are validated against the text Label Studio showed (the raw de-identified text): the offsets must lie
inside it and, when Label Studio copied the selected text, select exactly that text (browsers count UTF-16
code units, so offsets past an astral character are converted first). Offsets are then moved onto the
normalised record text with :class:`~pipelines.refine.base.OffsetMap` and trimmed of edge whitespace.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from pipelines.refine.base import (
    InvalidLabel,
    MediaFacts,
    OffsetMap,
    check_label,
    normalise_text,
    one_label,
    regions,
    textarea_texts,
    utf16_to_codepoints,
)
from pipelines.spec.models import NER, QA, DatasetSpec, DialogueIntent, Summarisation

# "화자: 발화" / "A: utterance" at the start of a dialogue line.
_TURN = re.compile(r"^\s*([^:：\s][^:：]{0,30})[:：]\s*(.+)$")
_YES_NO = {"예": "예", "네": "예", "yes": "예", "아니오": "아니오", "아니요": "아니오", "no": "아니오"}


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


def turns_of(text: str | None) -> list[dict[str, Any]]:
    """A dialogue's turns from its text, one per non-empty line (``speaker: utterance`` when so written)."""
    out: list[dict[str, Any]] = []
    for raw in (text or "").splitlines():
        line = normalise_text(raw)
        if not line:
            continue
        m = _TURN.match(line)
        speaker, utterance = (normalise_text(m.group(1)), normalise_text(m.group(2))) if m else (None, line)
        out.append({"speaker": speaker, "text": utterance, "intent": None})
    return out


def dialogue_intent(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """``Choices name="intent"`` (one intent per item) and optional ``slot`` spans, checked against the text.

    Slots are validated (known slot name, span inside the text) but the record schema has no slot column yet.
    """
    a = spec.annotation
    assert isinstance(a, DialogueIntent)
    picked = [c for r in regions(result, "choices", "intent") for c in (r.get("value") or {}).get("choices") or []]
    if not picked:
        raise InvalidLabel("label.empty", "no intent selected")
    if len(picked) > 1:
        raise InvalidLabel("label.too_many", f"{len(picked)} intents for one item")
    intent = check_label(spec, str(picked[0]), list(a.intents))
    if a.slots:
        _spans(spec, result, media, "slot", list(a.slots))
    return {"turns": turns_of(media.text), "intent": intent}
