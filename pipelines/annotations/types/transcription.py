"""``transcription``: a whole-item transcript, optionally time-aligned segments with speakers and dialect tags.

Label Studio: ``TextArea name="transcript"``; with segments, ``Labels name="segment"`` regions that each carry a
``TextArea name="segment_text"`` (perRegion); with speaker labels a perRegion ``Choices name="speaker"``
(화자1..화자N); with dialect tags ``Choices name="dialect"``. QC: 1 - CER; with speaker labels, (1 - CER) x the
share of time-matched segments whose speakers agree (names mapped one-to-one: they are generic); consensus = the
best-agreeing transcript, each of its segments taking the speaker a majority of its annotators gave it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from pipelines.annotations.base import InvalidLabel, MediaFacts, check_label, normalise_text, regions
from pipelines.annotations.code import family
from pipelines.annotations.lsconfig import LabelConfigError, _el, _options
from pipelines.annotations.lsresults import transcript
from pipelines.annotations.measures import (
    IOU_MATCH,
    Consensus,
    _regions,
    _texts,
    matched_pairs,
    medoid,
    segment_iou,
    text_agreement,
)
from pipelines.spec.models import SPEAKER_PREFIX, DatasetSpec, Transcription

# ------------------------------------------------------------------------------------ Label Studio config


def _transcription(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Transcription)
    if to != "audio":
        raise LabelConfigError(f"{spec.id}: transcription of {to} is not supported (audio or video sound only)")
    _el(view, "TextArea", name="transcript", toName=to, rows="4", editable="true", maxSubmissions="1",
        required="true")
    if a.segments:
        _el(view, "Labels", name="segment", toName=to).append(ET.Element("Label", {"value": "speech"}))
        _el(view, "TextArea", name="segment_text", toName=to, perRegion="true", editable="true",
            maxSubmissions="1", rows="2")
    if a.speaker_labels:
        # Who speaks in the selected segment: one generic label per region (화자1 = the first voice heard in this
        # item). A closed list, never free text, so no speaker name can reach a label.
        _el(view, "Header", value="화자 (처음 들린 목소리부터 화자1, 화자2 …)")
        _options(_el(view, "Choices", name="speaker", toName=to, perRegion="true", required="true",
                     choice="single-radio", showInline="true"), "Choice", a.speakers)
    if a.dialect_tags:
        _options(_el(view, "Choices", name="dialect", toName=to, choice="multiple", showInline="true"),
                 "Choice", a.dialect_tags)


# -------------------------------------------------------------------------------------------------- QC


@dataclass(frozen=True)
class Turn:
    """The speaker of one transcript segment (seconds); ``rid`` is its region id (not part of equality)."""

    start: float
    end: float
    speaker: str
    rid: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Spoken:
    """A speaker-labelled transcript: the text and, per segment, who speaks (time order)."""

    text: str
    turns: tuple[Turn, ...]


def _turns(result: Sequence[Mapping[str, Any]]) -> tuple[Turn, ...]:
    """The per-region ``speaker`` choices of a transcription, with their segment's time span."""
    spans = {str(r.get("id")): r.get("value") or {} for r in _regions(result, "labels", "segment")}
    out: list[Turn] = []
    for r in _regions(result, "choices", "speaker"):
        v = r.get("value") or {}
        said = [str(c) for c in v.get("choices") or []]
        span = v if "start" in v and "end" in v else spans.get(str(r.get("id")), {})
        if said and "start" in span and "end" in span:
            out.append(Turn(float(span["start"]), float(span["end"]), said[0],
                            str(r["id"]) if r.get("id") is not None else None))
    return tuple(sorted(out, key=lambda x: (x.start, x.end)))


def extract(t: str, result: Sequence[Mapping[str, Any]]) -> Any:
    """The transcript text (whole-item, else the segments' texts); with speakers, a :class:`Spoken`."""
    if t == "transcription":
        text = _texts(result, ("transcript",)) or _texts(result, ("segment_text",))
        turns = _turns(result)
        return Spoken(text, turns) if turns else text  # speakers only where the config asks for them
    raise ValueError(f"no QC extractor for annotation type {t!r}")


def speaker_map(a: Sequence[Turn], b: Sequence[Turn]) -> tuple[list[tuple[int, int, float]], dict[str, str]]:
    """Segments of two answers matched by time (IoU >= IOU_MATCH), and b's speaker names mapped one-to-one onto
    a's so that the most matched segments agree (Hungarian over the co-occurrence counts).

    Speaker labels are generic (화자1, 화자2 ...): two annotators who number the same voices differently agree.
    """
    from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped,import-not-found,unused-ignore]

    pairs = matched_pairs(a, b, segment_iou, IOU_MATCH)
    if not pairs:
        return pairs, {}
    names_a = sorted({a[i].speaker for i, _, _ in pairs})
    names_b = sorted({b[j].speaker for _, j, _ in pairs})
    counts = np.zeros((len(names_b), len(names_a)))
    for i, j, _ in pairs:
        counts[names_b.index(b[j].speaker), names_a.index(a[i].speaker)] += 1
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return pairs, {names_b[r]: names_a[c] for r, c in zip(rows, cols, strict=True) if counts[r, c] > 0}


def speaker_agreement(a: Sequence[Turn], b: Sequence[Turn]) -> float | None:
    """Share of time-matched segments whose speakers agree (under :func:`speaker_map`); None when there is
    nothing to compare (neither names speakers, or no segment matches), 0 when only one of them names any."""
    if not a and not b:
        return None
    if not a or not b:
        return 0.0
    pairs, mapping = speaker_map(a, b)
    if not pairs:
        return None
    return sum(mapping.get(b[j].speaker) == a[i].speaker for i, j, _ in pairs) / len(pairs)


def spoken_agreement(a: Spoken | str, b: Spoken | str) -> float:
    """Transcripts with speakers: (1 - CER) times the speaker agreement of their matched segments."""
    ta, tb = (x.text if isinstance(x, Spoken) else x for x in (a, b))
    sa, sb = (x.turns if isinstance(x, Spoken) else () for x in (a, b))
    text = text_agreement(ta, tb)
    speakers = speaker_agreement(sa, sb)
    return text if speakers is None else text * speakers


def agreement(t: str, a: Any, b: Any) -> float:
    """1 - CER; with speakers, times the speaker agreement of the matched segments."""
    if t == "transcription" and (isinstance(a, Spoken) or isinstance(b, Spoken)):
        return spoken_agreement(a, b)
    if t in ("transcription",):
        return text_agreement(a, b)
    raise ValueError(f"no agreement measure for annotation type {t!r}")


def consensus(t: str, values: Sequence[Any], agree: float, tracks: bool) -> Consensus:
    """The best-agreeing transcript; with speakers, each segment's speaker by majority."""
    m = medoid(partial(agreement, t), values)
    if t == "transcription" and isinstance(values[m], Spoken):
        return Consensus(_speaker_majority(values, m), "best_agreeing_text_majority_speaker", agree, source=m)
    method = "best_agreeing_text" if t in ("transcription", "qa", "summarisation", "translation") else "best_agreeing"
    return Consensus(values[m], method, agree, source=m)


def _speaker_majority(values: Sequence[Any], m: int) -> Spoken:
    """The best-agreeing transcript ``values[m]`` with each segment's speaker decided by a strict majority of the
    annotators who drew that segment (their names mapped onto m's by :func:`speaker_map`); a tie keeps m's."""
    best: Spoken = values[m]
    votes: list[list[str]] = [[turn.speaker] for turn in best.turns]
    for j, v in enumerate(values):
        if j == m or not isinstance(v, Spoken):
            continue
        pairs, mapping = speaker_map(best.turns, v.turns)
        for i, k, _ in pairs:
            votes[i].append(mapping.get(v.turns[k].speaker, v.turns[k].speaker))
    turns = []
    for turn, said in zip(best.turns, votes, strict=True):
        (top, k), *_rest = Counter(said).most_common()
        speaker = top if k > len(said) / 2 else turn.speaker
        turns.append(Turn(turn.start, turn.end, speaker, turn.rid))
    return Spoken(best.text, tuple(turns))


def consensus_result(
    t: str, results: Sequence[Sequence[Mapping[str, Any]]], c: Consensus
) -> list[dict[str, Any]] | None:
    """The chosen annotation's regions, its speaker choices set to the majority's."""
    if t == "transcription" and isinstance(c.value, Spoken) and c.source is not None:
        said = {turn.rid: turn.speaker for turn in c.value.turns if turn.rid is not None}
        out = [dict(r) for r in results[c.source]]
        for r in out:
            if r.get("type") == "choices" and r.get("from_name") == "speaker" and str(r.get("id")) in said:
                r["value"] = {**r["value"], "choices": [said[str(r["id"])]]}
        return out
    if c.source is not None:
        return [dict(r) for r in results[c.source]]
    raise ValueError(f"no consensus result for annotation type {t!r} (method {c.method})")


# ------------------------------------------------------------------------------------------- converter


def _convert_transcription(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    # Whole-item text: TextArea "transcript"; time-aligned text: per-region TextArea "segment_text", whose value
    # carries the region's start/end (Label Studio copies them from the paired "segment" Labels region).
    whole = [normalise_text(" ".join(r.get("value", {}).get("text") or []))
             for r in regions(result, "textarea", "transcript")]
    dialects = [c for r in regions(result, "choices", "dialect") for c in r.get("value", {}).get("choices", [])]
    a = spec.annotation
    speakers = _speakers_by_region(result) if isinstance(a, Transcription) and a.speaker_labels else None
    segments: list[dict[str, Any]] = []
    for r in regions(result, "textarea", "segment_text"):
        v = r.get("value", {})
        if "start" not in v or "end" not in v:
            raise InvalidLabel("label.segment_unaligned", f"segment text without a time range: {v.get('text')}")
        start, end = float(v["start"]), float(v["end"])
        if start < 0 or end <= start or (media.duration_s and end > media.duration_s + 0.05):
            raise InvalidLabel("label.segment_outside", f"segment {start:.2f}-{end:.2f}s")
        speaker = None
        if speakers is not None:
            assert isinstance(a, Transcription)
            said = speakers.get(str(r.get("id"))) or speakers.get(_span_key(start, end)) or []
            if not said:
                raise InvalidLabel("label.speaker_missing", f"segment {start:.2f}-{end:.2f}s names no speaker")
            if len(said) > 1:
                raise InvalidLabel("label.too_many", f"{len(said)} speakers on segment {start:.2f}-{end:.2f}s")
            speaker = check_label(spec, said[0], allowed=a.speakers)
        segments.append({"start": start, "end": end, "text": normalise_text(" ".join(v.get("text") or [])),
                         "speaker": speaker, "dialect": dialects[0] if dialects else None})
    segments.sort(key=lambda s: s["start"])
    if speakers is not None:
        _number_speakers(segments)
    transcript = " ".join(t for t in whole if t) or " ".join(s["text"] for s in segments)
    transcript = normalise_text(transcript)
    if not transcript:
        raise InvalidLabel("label.empty", "empty transcript")
    return {"transcript": transcript, "segments": segments}


def _span_key(start: float, end: float) -> str:
    return f"{start:.3f}-{end:.3f}"


def _speakers_by_region(result: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The per-region ``speaker`` choices, by region id and by time span (a per-region result shares its region's
    id and copies its start/end)."""
    out: dict[str, list[str]] = {}
    for r in regions(result, "choices", "speaker"):
        v = r.get("value") or {}
        said = [str(c) for c in v.get("choices") or []]
        if r.get("id") is not None:
            out[str(r["id"])] = said
        if "start" in v and "end" in v:
            out.setdefault(_span_key(float(v["start"]), float(v["end"])), said)
    return out


def _number_speakers(segments: list[dict[str, Any]]) -> None:
    """Renumber an item's speakers by first appearance (the first voice heard is 화자1), so that the same
    conversation reads the same whichever numbers its annotator picked; segments are in time order."""
    order: dict[str, str] = {}
    for seg in segments:
        name = order.setdefault(seg["speaker"], f"{SPEAKER_PREFIX}{len(order) + 1}")
        seg["speaker"] = name


# ----------------------------------------------------------------------------------- reference results


def from_truth(t: str, truth: Mapping[str, Any], *, to_name: str, **_media: Any) -> list[dict[str, Any]] | None:
    """``{"transcript", "segments"}`` as the transcript (and segment, speaker) regions."""
    if t == "transcription" and truth.get("transcript") is not None:
        return transcript(str(truth["transcript"]), segments=truth.get("segments") or [], to_name=to_name)
    return None


TRANSCRIPTION = family("transcription", build=_transcription, convert=_convert_transcription, extract=extract,
                       agreement=agreement, consensus=consensus, consensus_result=consensus_result,
                       from_truth=from_truth)
