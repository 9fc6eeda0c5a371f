"""What QC's per-type measures share: result-region readers, 1-D segments, optimal matching, text error
rates, the :class:`Consensus` value and the medoid.

Moved from ``pipelines/label/qc.py`` (which re-exports these names); the per-type extract / agreement / consensus
functions live with their type in ``pipelines/annotations/types/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

IOU_MATCH = 0.5  # a box/polygon/segment pair counts as the same object from this IoU on (COCO's AP50)


def _regions(result: Sequence[Mapping[str, Any]], rtype: str, from_name: str | None = None) -> list[dict[str, Any]]:
    return [dict(r) for r in result
            if r.get("type") == rtype and (from_name is None or r.get("from_name") == from_name)]


def _choices(result: Sequence[Mapping[str, Any]], from_name: str) -> list[str]:
    return [str(c) for r in _regions(result, "choices", from_name) for c in (r.get("value") or {}).get("choices", [])]


def _texts(result: Sequence[Mapping[str, Any]], names: Sequence[str]) -> str:
    parts = [str(t) for r in result if r.get("type") == "textarea" and r.get("from_name") in names
             for t in (r.get("value") or {}).get("text") or []]
    return " ".join(" ".join(parts).split())


def _label_of(v: Mapping[str, Any], key: str) -> str:
    labels = v.get(key) or []
    return str(labels[0]) if labels else ""


@dataclass(frozen=True)
class Segment:
    """A labelled range: characters (NER), seconds (audio events), frames or samples (timeline, timeseries)."""

    label: str
    start: float
    end: float


def segment_iou(a: Segment, b: Segment) -> float:
    """IoU of two 1-D ranges."""
    inter = max(0.0, min(a.end, b.end) - max(a.start, b.start))
    union = max(a.end, b.end) - min(a.start, b.start)
    return inter / union if union > 0 else float(a == b)


def matched_pairs(
    a: Sequence[Any], b: Sequence[Any], sim: Callable[[Any, Any], float], threshold: float
) -> list[tuple[int, int, float]]:
    """The optimal one-to-one matching (Hungarian, ``scipy``) of same-label objects with ``sim >= threshold``."""
    from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped,import-not-found,unused-ignore]

    if not a or not b:
        return []
    m = np.zeros((len(a), len(b)))
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            if getattr(x, "label", None) == getattr(y, "label", None):
                s = sim(x, y)
                m[i, j] = s if s >= threshold else 0.0
    rows, cols = linear_sum_assignment(m, maximize=True)
    return [(int(i), int(j), float(m[i, j])) for i, j in zip(rows, cols, strict=True) if m[i, j] > 0]


def matched_f1(a: Sequence[Any], b: Sequence[Any], sim: Callable[[Any, Any], float],
               threshold: float = IOU_MATCH) -> float:
    """F1 of matched objects: 2 * matches / (|a| + |b|); two empty answers agree fully."""
    if not a and not b:
        return 1.0
    return 2 * len(matched_pairs(a, b, sim, threshold)) / (len(a) + len(b))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate (``jiwer``), spaces ignored as Korean ASR reports it; 0 for two empty texts."""
    import jiwer  # type: ignore[import-not-found,unused-ignore]

    ref, hyp = "".join(reference.split()), "".join(hypothesis.split())
    if not ref:
        return 0.0 if not hyp else 1.0
    if not hyp:
        return 1.0
    return float(jiwer.cer(ref, hyp))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate (``jiwer``); 0 for two empty texts."""
    import jiwer  # type: ignore[import-not-found,unused-ignore]

    if not reference.split():
        return 0.0 if not hypothesis.split() else 1.0
    if not hypothesis.split():
        return 1.0
    return float(jiwer.wer(reference, hypothesis))


def text_agreement(a: str, b: str) -> float:
    """1 - CER, symmetric (mean of both directions), clipped to [0, 1]."""
    return max(0.0, 1.0 - (cer(a, b) + cer(b, a)) / 2)


@dataclass(frozen=True)
class Consensus:
    """One item's consensus: the value, how it was reached, and the mean pairwise agreement of the inputs.

    Where it came from (not part of equality): ``source`` is the annotation whose whole answer is the consensus
    (a single answer, the majority's first voter, the medoid); ``members`` lists, per consensus object of a
    clustered type, the (annotation, object) pairs it stands for (boxes: all members, averaged; shapes: the medoid).
    :func:`consensus_result` turns them back into Label Studio regions.
    """

    value: Any
    method: str
    agreement: float | None
    source: int | None = field(default=None, compare=False)
    members: tuple[tuple[tuple[int, int], ...], ...] = field(default=(), compare=False)


def _medoid_by(sim: Callable[[Any, Any], float], values: Sequence[Any]) -> int:
    n = len(values)
    m = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            m[i][j] = m[j][i] = sim(values[i], values[j])
    return max(range(n), key=lambda i: (sum(m[i]), -i))


def medoid(agree: Callable[[Any, Any], float], values: Sequence[Any]) -> int:
    """The index of the value agreeing best with all the others under a type's ``agree`` (ties: the first); an
    empty answer (None) agrees only with another empty one, as QC's ``agreement`` has it."""
    def sim(a: Any, b: Any) -> float:
        if a is None or b is None:
            return 1.0 if a is None and b is None else 0.0
        return agree(a, b)

    return _medoid_by(sim, values)


def best_agreeing(agree: Callable[[Any, Any], float], values: Sequence[Any], agreement: float,
                  method: str = "best_agreeing") -> Consensus:
    """The consensus that is one annotator's whole answer: the :func:`medoid` under ``agree``."""
    m = medoid(agree, values)
    return Consensus(values[m], method, agreement, source=m)
