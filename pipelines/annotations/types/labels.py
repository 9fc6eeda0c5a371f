"""Choice types: ``classification``, ``multi_label`` and ``dialogue_intent`` (one intent per dialogue).

Label Studio: ``Choices name="label"`` (single), ``Choices name="labels"`` (multiple), ``Choices name="intent"``
plus optional ``Labels name="slot"`` spans. QC: exact match (Krippendorff's alpha / Fleiss' kappa over the
dataset, consensus by strict majority); multi-label: Jaccard per pair, consensus = the labels a majority chose.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pipelines.annotations.base import InvalidLabel, MediaFacts, check_label, normalise_text, regions
from pipelines.annotations.code import family
from pipelines.annotations.lsconfig import _el, _options
from pipelines.annotations.lsresults import choices
from pipelines.annotations.measures import Consensus, _choices, _regions
from pipelines.annotations.types.text import _spans
from pipelines.spec.models import Classification, DatasetSpec, DialogueIntent, MultiLabel

# "화자: 발화" / "A: utterance" at the start of a dialogue line.
_TURN = re.compile(r"^\s*([^:：\s][^:：]{0,30})[:：]\s*(.+)$")


# ------------------------------------------------------------------------------------ Label Studio config


def _classification(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Classification)
    c = _el(view, "Choices", name="label", toName=to, choice="single-radio", showInline="true",
            required="true")
    _options(c, "Choice", a.labels)


def _multi_label(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, MultiLabel)
    attrs = {"name": "labels", "toName": to, "choice": "multiple", "showInline": "true"}
    if a.min_labels > 0:
        attrs["required"] = "true"
    _options(_el(view, "Choices", **attrs), "Choice", a.labels)


def _dialogue_intent(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, DialogueIntent)
    _options(_el(view, "Choices", name="intent", toName=to, choice="single-radio", showInline="true",
                 required="true"), "Choice", a.intents)
    if a.slots and to == "text":
        _options(_el(view, "Labels", name="slot", toName=to), "Label", a.slots)


# -------------------------------------------------------------------------------------------------- QC


def extract(t: str, result: Sequence[Mapping[str, Any]]) -> Any:
    """The chosen label (None unless exactly one); multi-label: the set of chosen labels."""
    if t in ("classification", "dialogue_intent"):
        got = _choices(result, "label" if t == "classification" else "intent")
        return got[0] if len(got) == 1 else None
    if t == "multi_label":
        return frozenset(_choices(result, "labels"))
    raise ValueError(f"no QC extractor for annotation type {t!r}")


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a & b| / |a | b|; two empty sets agree."""
    return len(a & b) / len(a | b) if a | b else 1.0


def agreement(t: str, a: Any, b: Any) -> float:
    """Equal labels agree; multi-label sets by Jaccard."""
    if t in ("classification", "dialogue_intent"):
        return float(a == b)
    if t == "multi_label":
        return jaccard(a, b)
    raise ValueError(f"no agreement measure for annotation type {t!r}")


def consensus(t: str, values: Sequence[Any], agree: float, tracks: bool) -> Consensus:
    """Strict majority (a tie is no consensus); multi-label: the labels a majority chose."""
    n = len(values)
    if t in ("classification", "dialogue_intent"):
        (top, k), *_rest = Counter(values).most_common()
        if k > n / 2:
            return Consensus(top, "majority", agree, source=values.index(top))
        return Consensus(None, "no_majority", agree)  # a tie is not silently resolved
    if t == "multi_label":
        counts = Counter(lab for v in values for lab in v)
        return Consensus(frozenset(lab for lab, k in counts.items() if k > n / 2), "majority", agree)
    raise ValueError(f"no consensus for annotation type {t!r}")


def consensus_result(
    t: str, results: Sequence[Sequence[Mapping[str, Any]]], c: Consensus
) -> list[dict[str, Any]] | None:
    """Multi-label: one choices region of the majority's labels (in the order annotators chose them)."""
    if c.source is not None:
        return [dict(r) for r in results[c.source]]
    if t == "multi_label":
        first = next((r for res in results for r in _regions(res, "choices", "labels")), None)
        order = [str(ch) for res in results for r in _regions(res, "choices", "labels")
                 for ch in (r.get("value") or {}).get("choices", [])]
        chosen = [lab for lab in dict.fromkeys(order) if lab in c.value]
        region = {k: v for k, v in (first or {"from_name": "labels", "type": "choices"}).items() if k != "id"}
        return [{**region, "value": {"choices": chosen}}] if chosen else []
    raise ValueError(f"no consensus result for annotation type {t!r} (method {c.method})")


# ------------------------------------------------------------------------------------------ converters


def _convert_classification(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    choices = [c for r in regions(result, "choices", "label") for c in r.get("value", {}).get("choices", [])]
    if not choices:
        raise InvalidLabel("label.empty", "no choice selected")
    if len(choices) > 1:
        raise InvalidLabel("label.too_many", f"{len(choices)} choices for a single-label item")
    return {"label": check_label(spec, choices[0])}


def _convert_multi_label(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    a = spec.annotation
    assert isinstance(a, MultiLabel)
    picked = [c for r in regions(result, "choices", "labels") for c in r.get("value", {}).get("choices", [])]
    labels = list(dict.fromkeys(check_label(spec, str(c)) for c in picked))
    if not labels and a.min_labels > 0:
        raise InvalidLabel("label.empty", "no label selected")
    # The spec's order, so two annotators who picked the same labels produce the same value.
    return {"labels": [lab for lab in spec.labels if lab in labels]}


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


# ----------------------------------------------------------------------------------- reference results


def from_truth(t: str, truth: Mapping[str, Any], *, to_name: str, **_media: Any) -> list[dict[str, Any]] | None:
    """``{"label"}`` / ``{"labels"}`` as the choices a perfect annotator makes."""
    if t in ("classification", "dialogue_intent") and truth.get("label") is not None:
        return [choices([str(truth["label"])], to_name=to_name,
                        from_name="label" if t == "classification" else "intent")]
    if t == "multi_label" and isinstance(truth.get("labels"), list):
        return [choices([str(v) for v in truth["labels"]], to_name=to_name, from_name="labels")]
    return None


CLASSIFICATION = family("classification", build=_classification, convert=_convert_classification, extract=extract,
                        agreement=agreement, consensus=consensus, from_truth=from_truth)
MULTI_LABEL = family("multi_label", build=_multi_label, convert=_convert_multi_label, extract=extract,
                     agreement=agreement, consensus=consensus, consensus_result=consensus_result,
                     from_truth=from_truth)
DIALOGUE_INTENT = family("dialogue_intent", build=_dialogue_intent, convert=dialogue_intent, extract=extract,
                         agreement=agreement, consensus=consensus, from_truth=from_truth)
