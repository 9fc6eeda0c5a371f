"""What annotators typed passes the text rules before validate and publish (issue 12, "personal data never leaks").

Collect de-identified the source; annotators then type transcripts, translations, summaries, QA questions and
answers, and select NER spans. Transcribers type what they hear, names and numbers included. Every such field
is masked here with the same typed placeholders (``[전화번호]``, ``[이름]`` ...):

- free text an annotator wrote (transcript and its segments, summary, translation, QA question and written
  answer) gets the spec's targets, the always-masked identifiers and ``names``: the spec's target list was
  written for the source, not for whatever an annotator heard;
- text that comes from the source (the record's ``text``, dialogue turns, NER spans, extractive QA answers) gets
  the spec's targets and the always-masked identifiers, like collect gave it.

NER and extractive answers keep their offsets consistent by masking the source text once and moving every span
through the same edits: a span boundary inside a finding widens to the whole placeholder, and the span's
``text`` is cut from the masked text again, so ``text[start:end] == span.text`` still holds.
A field still holding something after masking quarantines the item (``pii.unmasked``), as in collect.

Speech: every transcript segment with a finding is muted in the audio that is released (the record's media then
points at the muted copy); a finding in a transcript that no time-aligned segment locates quarantines the item,
since the audio would still speak it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pipelines.annotations.base import InvalidLabel
from pipelines.pii import TextDeidentifier, spec_dictionaries
from pipelines.pii.text import Finding
from pipelines.spec.models import TEXT_PII, DatasetSpec
from pipelines.storage import ObjectStore, StorageError, layout
from pipelines.wav import mute_ranges, peak

# The characters the rules drop before searching (zero-width, bidi, soft hyphen): refine removes them from the
# record text too, so that offsets computed on the rules' text are offsets in the record.
_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|(?<=\\w)\u200d|\u200d(?=\\w)"
)


@dataclass(frozen=True)
class TypedTextRules:
    """The two rule sets refine applies (see the module docstring)."""

    source: TextDeidentifier
    typed: TextDeidentifier

    @classmethod
    def for_spec(cls, spec: DatasetSpec) -> TypedTextRules:
        targets = set(spec.deidentify.targets) & TEXT_PII
        dictionaries = spec_dictionaries(spec)
        return cls(source=TextDeidentifier(targets=sorted(targets), dictionaries=dictionaries),
                   typed=TextDeidentifier(targets=sorted(targets | {"names"}), dictionaries=dictionaries))


class _Edits:
    """Masking of one source text, with offsets of the text before masking moved onto the masked text."""

    def __init__(self, text: str, rules: TextDeidentifier, where: str) -> None:
        self.removed = [m.start() for m in _INVISIBLE.finditer(text)]
        clean = _INVISIBLE.sub("", text)
        self.masked, self.findings = _masked(clean, rules, where)

    def _clean_pos(self, pos: int) -> int:
        return pos - sum(1 for r in self.removed if r < pos)

    def move(self, start: int, end: int) -> tuple[int, int]:
        """A span ``[start, end)`` of the unmasked text as a span of the masked text (widened over findings)."""
        s, e = self._clean_pos(start), self._clean_pos(end)
        for f in self.findings:
            if f.start < s < f.end:
                s = f.start
            if f.start < e < f.end:
                e = f.end
        return self._shift(s), self._shift(e)

    def _shift(self, pos: int) -> int:
        return pos + sum(len(f.placeholder) - (f.end - f.start) for f in self.findings if f.end <= pos)


def _masked(text: str, rules: TextDeidentifier, where: str) -> tuple[str, list[Finding]]:
    out, findings, left = rules.mask_checked(text)
    if left:
        raise InvalidLabel("pii.unmasked",
                           f"{where}: {len(left)} finding(s) of {sorted({f.kind for f in left})} remain after masking")
    return out, findings


@dataclass(frozen=True)
class Masked:
    """What masking one record found: kinds counted, and for a transcript where in the audio it was spoken."""

    counts: Counter[str]
    spoken: tuple[tuple[float, float], ...] = ()  # (start_s, end_s) of the segments with a finding
    spoken_unlocated: bool = False  # the transcript has a finding that no time-aligned segment locates


def mask_record(record: dict[str, Any], *, spec: DatasetSpec, rules: TypedTextRules) -> Masked:
    """Mask the text fields of one canonical record in place; the kinds masked, counted.

    Raises:
        InvalidLabel: ``pii.unmasked`` when a field still holds personal data after masking.
    """
    counts: Counter[str] = Counter()
    spoken: list[tuple[float, float]] = []
    transcript_found = False

    def masked(value: Any, where: str, ruleset: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        out, found = _masked(value, ruleset, where)
        counts.update(f.kind for f in found)
        return out

    def typed(value: Any, where: str) -> Any:  # free text an annotator wrote
        return masked(value, where, rules.typed)

    def source(value: Any, where: str) -> Any:  # text copied from the source item
        return masked(value, where, rules.source)

    edits: _Edits | None = None
    if isinstance(record.get("text"), str):
        edits = _Edits(record["text"], rules.source, "text")
        record["text"] = edits.masked
        counts.update(f.kind for f in edits.findings)
    kind = spec.annotation.type
    if kind == "transcription":
        before = sum(counts.values())
        record["transcript"] = typed(record.get("transcript"), "transcript")
        transcript_found = sum(counts.values()) > before
        for i, seg in enumerate(record.get("segments") or []):
            before = sum(counts.values())
            seg["text"] = typed(seg.get("text"), f"segments[{i}]")
            if sum(counts.values()) > before:
                spoken.append((float(seg["start"]), float(seg["end"])))
    elif kind == "summarisation":
        record["summary"] = typed(record.get("summary"), "summary")
    elif kind == "translation":
        record["translation"] = typed(record.get("translation"), "translation")
    elif kind == "qa":
        for i, pair in enumerate(record.get("qa") or []):
            pair["question"] = typed(pair.get("question"), f"qa[{i}].question")
            start, answer = pair.get("answer_start"), pair.get("answer")
            if start is not None and isinstance(answer, str) and edits is not None:
                s, e = edits.move(int(start), int(start) + len(answer))
                pair["answer_start"], pair["answer"] = s, edits.masked[s:e]
            else:
                pair["answer"] = typed(answer, f"qa[{i}].answer")
    elif kind == "ner" and edits is not None:
        for ent in record.get("entities") or []:
            s, e = edits.move(int(ent["start"]), int(ent["end"]))
            ent["start"], ent["end"], ent["text"] = s, e, edits.masked[s:e]
    elif kind == "dialogue_intent":
        for i, turn in enumerate(record.get("turns") or []):
            turn["text"] = source(turn.get("text"), f"turns[{i}].text")
            turn["speaker"] = source(turn.get("speaker"), f"turns[{i}].speaker")
    return Masked(counts, tuple(spoken), transcript_found and not spoken)


AUDIO_MARGIN_S = 0.05  # silence a little around a segment with personal data, as collect does


def mute_spoken(record: dict[str, Any], masked: Masked, *, store: ObjectStore, dataset: str) -> int:
    """Silence, in the audio that will be released, every segment whose transcript had personal data.

    The muted audio is written content-addressed under ``media/`` and the record points at it; the audio that
    annotators heard stays as it was (they heard it anyway). Returns the number of segments muted.

    Raises:
        InvalidLabel: ``pii.unmasked`` when personal data was typed but no segment locates it, the audio is not
            PCM WAV, or a muted range is still not silent.
    """
    media = record.get("media")
    if media is None or not media.get("key"):
        return 0
    if masked.spoken_unlocated:
        # a masked transcript over audio that still speaks the number would be a release that leaks
        raise InvalidLabel("pii.unmasked", "audio: personal data is spoken but no time-aligned segment locates it")
    if not masked.spoken:
        return 0
    if media.get("ext") != "wav":
        raise InvalidLabel("pii.unmasked", f"audio: {media.get('ext')} cannot be muted (PCM WAV only)")
    try:
        data = store.read_bytes(media["key"])
    except StorageError as exc:
        raise InvalidLabel("media.missing", f"audio to mute: {exc}") from None
    ranges = [(max(0.0, a - AUDIO_MARGIN_S), b + AUDIO_MARGIN_S) for a, b in masked.spoken]
    try:
        out = mute_ranges(data, ranges)
        loud = [r for r in ranges if peak(out, *r) > 0]
    except (EOFError, ValueError, OSError) as exc:
        raise InvalidLabel("pii.unmasked", f"audio: {type(exc).__name__}: {exc}") from None
    if loud:
        raise InvalidLabel("pii.unmasked", f"audio: {len(loud)} range(s) with personal data are not silent")
    sha = hashlib.sha256(out).hexdigest()
    key = layout.media(dataset, sha, "wav")
    if not store.exists(key):
        store.write_bytes(key, out)
    record["media"] = {**media, "key": key, "sha256": sha}
    return len(ranges)
