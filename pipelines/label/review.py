"""The review queue: a second Label Studio project where reviewers accept or reject sampled annotations.

Label Studio Community has no review stage (Enterprise only), so one is built from what it has: a project
``<title>:review`` whose config is the dataset's own config plus a ``verdict`` (accept/reject) and the
``reason`` of a rejection. Each review task shows one sampled annotation as a prediction, so the reviewer
sees exactly what the annotator submitted. Semantic accuracy (의미 정확성) = accepted / reviewed.

The sample is sized by ``quality.sampling``: the formula n = z^2 p (1-p) / e^2 with the finite-population
correction, or the single sampling plan of ISO 2859-1 (KS Q ISO 2859-1) for the lot size, inspection level
and AQL; never less than ``annotation.review_share`` of the population. Which annotations are sampled is
decided by a hash of their ids, so repeated pulls keep the same sample and only add to it.
"""

from __future__ import annotations

import hashlib
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import httpx

from pipelines.label.client import LabelStudioClient, LabelStudioError, auth_headers, iter_task_rows
from pipelines.label.config import label_config
from pipelines.label.qc import Verdict
from pipelines.label.tasks import PROJECT_TITLE_MAX, project_title, target_kind
from pipelines.spec.models import DatasetSpec, Sampling

REVIEW_SUFFIX = ":review"
ACCEPT, REJECT = "accept", "reject"
# Why a reviewer rejects (stored codes; the Korean label is what the reviewer reads).
REASONS: dict[str, str] = {
    "wrong_label": "잘못된 클래스 wrong label",
    "missing": "누락 missing object/text",
    "extra": "불필요한 객체 extra object",
    "geometry": "위치·경계 부정확 imprecise geometry/time",
    "text": "전사·문장 오류 text error",
    "guideline": "작업 지침 위반 guideline violation",
    "other": "기타 other",
}

# ---------------------------------------------------------------------------------------- sample size

# ISO 2859-1 Table 1: sample size code letters by lot size, for general inspection levels I, II, III.
_LOT_LETTERS: tuple[tuple[float, str, str, str], ...] = (
    (8, "A", "A", "B"), (15, "A", "B", "C"), (25, "B", "C", "D"), (50, "C", "D", "E"), (90, "C", "E", "F"),
    (150, "D", "F", "G"), (280, "E", "G", "H"), (500, "F", "H", "J"), (1200, "G", "J", "K"),
    (3200, "H", "K", "L"), (10000, "J", "L", "M"), (35000, "K", "M", "N"), (150000, "L", "N", "P"),
    (500000, "M", "P", "Q"), (math.inf, "N", "Q", "R"),
)  # fmt: skip
# ISO 2859-1 Table 2-A (normal inspection, single sampling): sample size of each code letter ...
LETTERS = "ABCDEFGHJKLMNPQR"
SAMPLE_SIZES = (2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000)
# ... and, per AQL, the code letter whose plan is Ac 0 / Re 1. The table is diagonal: from that letter on, the
# plans run as below (an up arrow after Ac 0, a down arrow before Ac 1, then Ac 1, 2, 3, 5, 7, 10, 14, 21).
_AC0_LETTER: dict[float, str] = {0.065: "L", 0.1: "K", 0.15: "J", 0.25: "H", 0.4: "G", 0.65: "F", 1.0: "E",
                                 1.5: "D", 2.5: "C", 4.0: "B", 6.5: "A"}
_AC_RUN: tuple[int | str, ...] = (0, "up", "down", 1, 2, 3, 5, 7, 10, 14, 21)


@dataclass(frozen=True)
class SamplePlan:
    """How many to review and what a lot may contain: ``acceptance`` rejections are tolerated (ISO plans)."""

    method: str
    population: int
    n: int
    code_letter: str | None = None
    acceptance: int | None = None
    rejection: int | None = None


def formula_sample_size(*, population: int, confidence: float, margin: float, expected_p: float) -> int:
    """n = z^2 p (1-p) / e^2, with the finite-population correction n / (1 + (n - 1) / N), rounded up."""
    if population <= 0:
        return 0
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    n0 = z * z * expected_p * (1 - expected_p) / (margin * margin)
    return min(population, math.ceil(n0 / (1 + (n0 - 1) / population)))


def code_letter(lot_size: int, level: str) -> str:
    """ISO 2859-1 Table 1: the sample size code letter of a lot at general inspection level I, II or III."""
    col = {"I": 1, "II": 2, "III": 3}[level]
    for row in _LOT_LETTERS:
        if lot_size <= row[0]:
            return str(row[col])
    raise AssertionError("unreachable: the last row is unbounded")


def iso2859_plan(*, lot_size: int, aql: float, level: str = "II") -> SamplePlan:
    """The ISO 2859-1 single sampling plan (normal inspection) for a lot: sample size, Ac and Re.

    Arrows are followed as the standard says (to the first plan below or above); when the sample would be
    the whole lot or more, every item is inspected.
    """
    if lot_size <= 0:
        return SamplePlan("aql", lot_size, 0)
    letter = code_letter(lot_size, level)
    idx = LETTERS.index(letter)
    zero = LETTERS.index(_AC0_LETTER[aql])
    pos = idx - zero
    if pos < 0:
        idx = zero  # down arrow: the Ac 0 plan
        pos = 0
    while True:
        step = _AC_RUN[pos] if pos < len(_AC_RUN) else "up"
        if step == "up":
            idx -= 1
            pos -= 1
        elif step == "down":
            idx += 1
            pos += 1
        else:
            break
    ac = int(step)
    n = SAMPLE_SIZES[idx]
    if n >= lot_size:
        return SamplePlan("aql", lot_size, lot_size, LETTERS[idx], ac, ac + 1)
    return SamplePlan("aql", lot_size, n, LETTERS[idx], ac, ac + 1)


def plan_review(sampling: Sampling, *, population: int, review_share: float) -> SamplePlan:
    """The review sample of a run: by ``sampling`` (formula or ISO 2859-1), at least ``review_share`` of the
    population, never more than the population. No review share means no review."""
    if review_share <= 0 or population <= 0:
        return SamplePlan(sampling.method, population, 0)
    if sampling.method == "aql":
        plan = iso2859_plan(lot_size=population, aql=sampling.aql, level=sampling.inspection_level)
    else:
        plan = SamplePlan("formula", population, formula_sample_size(
            population=population, confidence=sampling.confidence, margin=sampling.margin,
            expected_p=sampling.expected_p))
    n = min(population, max(plan.n, math.ceil(review_share * population)))
    return SamplePlan(plan.method, population, n, plan.code_letter, plan.acceptance, plan.rejection)


def _rank(spec: DatasetSpec, annotation_id: int) -> str:
    return hashlib.sha256(f"review:{spec.id}:{annotation_id}".encode()).hexdigest()


def choose(spec: DatasetSpec, annotation_ids: Iterable[int], n: int) -> list[int]:
    """The ``n`` annotations to review: the lowest hash ranks (stable as the population grows)."""
    return sorted(annotation_ids, key=lambda a: _rank(spec, a))[:n]


# ----------------------------------------------------------------------------------------- the project


def review_title(spec: DatasetSpec) -> str:
    """``<project title>:review`` within Label Studio's 50 characters (the base is shortened by a hash)."""
    base = project_title(spec)
    if len(base) + len(REVIEW_SUFFIX) <= PROJECT_TITLE_MAX:
        return base + REVIEW_SUFFIX
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    keep = PROJECT_TITLE_MAX - len(REVIEW_SUFFIX) - len(digest) - 1
    return f"{base[:keep]}~{digest}{REVIEW_SUFFIX}"


def review_config(spec: DatasetSpec) -> str:
    """The dataset's label config plus the reviewer's controls (verdict, reasons, comment)."""
    view = ET.fromstring(label_config(spec))
    to = target_kind(spec)
    ET.SubElement(view, "Header", {"value": "검수 Review: is the annotation above correct?"})
    verdict = ET.SubElement(view, "Choices", {"name": "verdict", "toName": to, "choice": "single-radio",
                                              "showInline": "true", "required": "true"})
    ET.SubElement(verdict, "Choice", {"value": ACCEPT, "hint": "합격"})
    ET.SubElement(verdict, "Choice", {"value": REJECT, "hint": "불합격"})
    reasons = ET.SubElement(view, "Choices", {"name": "reason", "toName": to, "choice": "multiple",
                                              "visibleWhen": "choice-selected", "whenTagName": "verdict",
                                              "whenChoiceValue": REJECT})
    for code, text in REASONS.items():
        ET.SubElement(reasons, "Choice", {"value": code, "hint": text})
    ET.SubElement(view, "TextArea", {"name": "comment", "toName": to, "rows": "2", "maxSubmissions": "1"})
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode")


def verdict_result(accepted: bool, reasons: Sequence[str] = (), *, to_name: str) -> list[dict[str, Any]]:
    """A reviewer's answer as Label Studio result regions."""
    out: list[dict[str, Any]] = [{"from_name": "verdict", "to_name": to_name, "type": "choices",
                                  "value": {"choices": [ACCEPT if accepted else REJECT]}}]
    if not accepted and reasons:
        out.append({"from_name": "reason", "to_name": to_name, "type": "choices",
                    "value": {"choices": list(reasons)}})
    return out


def parse_verdict(task: Mapping[str, Any], annotation: Mapping[str, Any]) -> Verdict | None:
    """A :class:`Verdict` from one exported review-task annotation; None if it has no verdict (cancelled)."""
    meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
    if not meta or "annotation_id" not in meta or annotation.get("was_cancelled"):
        return None
    verdict = [c for r in annotation.get("result") or [] if r.get("from_name") == "verdict"
               for c in (r.get("value") or {}).get("choices", [])]
    if not verdict:
        return None
    reasons = [c for r in annotation.get("result") or [] if r.get("from_name") == "reason"
               for c in (r.get("value") or {}).get("choices", [])]
    who = annotation.get("completed_by")
    reviewer = str(who.get("email") or who.get("id")) if isinstance(who, dict) else f"user:{who}"
    return Verdict(annotation_id=int(meta["annotation_id"]), item_id=str(meta.get("item_id")),
                   accepted=verdict[0] == ACCEPT, reason=",".join(reasons) or None, reviewer=reviewer)


@dataclass(frozen=True)
class ReviewQueue:
    """What :func:`ensure_review_queue` did: the review project and the sample in it."""

    project_id: int
    plan: SamplePlan
    sampled: int
    created: int
    item_ids: tuple[str, ...] = ()  # the sampled annotations' items (what ``review_wait`` waits for)


def ensure_review_queue(
    client: LabelStudioClient,
    spec: DatasetSpec,
    *,
    annotations: Sequence[Mapping[str, Any]],
    plan: SamplePlan,
) -> ReviewQueue:
    """Create the review project (once) and a review task for every sampled annotation not queued yet.

    ``annotations`` are the run's pulled rows (``item_id``, ``task_id``, ``annotation_id``, ``annotator``,
    ``result``); the sample is drawn from them. Idempotent: tasks are keyed by annotation id in their meta.
    """
    import json

    pid = client.ensure_project(title=review_title(spec), label_config=review_config(spec),
                                description=f"검수 review queue of {project_title(spec)} (managed by datadam)")
    by_id = {int(a["annotation_id"]): a for a in annotations}
    sample = choose(spec, by_id, plan.n)
    queued = {int(r["meta"]["annotation_id"]) for r in iter_task_rows(client.settings, pid, include=("id", "meta"))
              if isinstance(r.get("meta"), dict) and "annotation_id" in r["meta"]}
    missing = [by_id[a] for a in sample if a not in queued]
    if missing:
        data = _task_data(client, sorted({int(a["task_id"]) for a in missing}))
        tasks: list[dict[str, Any]] = [{
            "data": {**data[int(a["task_id"])], "annotator": str(a["annotator"]),
                     "annotation_id": int(a["annotation_id"])},
            "meta": {"item_id": a["item_id"], "annotation_id": int(a["annotation_id"]),
                     "task_id": int(a["task_id"]), "annotator": a["annotator"], "review": True},
            "predictions": [{"model_version": f"annotation-{a['annotation_id']}",
                             "result": json.loads(a["result"]) if isinstance(a["result"], str) else a["result"]}],
        } for a in missing]
        client.import_tasks(pid, tasks)
    return ReviewQueue(project_id=pid, plan=plan, sampled=len(sample), created=len(missing),
                       item_ids=tuple(sorted({str(by_id[a]["item_id"]) for a in sample})))


def _task_data(client: LabelStudioClient, task_ids: Sequence[int], *, workers: int = 4) -> dict[int, dict[str, Any]]:
    """The ``data`` of main-project tasks (what the reviewer must see), a few requests at a time."""
    s = client.settings
    with httpx.Client(timeout=s.timeout_s) as c:
        headers = auth_headers(s, c)

        def one(tid: int) -> tuple[int, dict[str, Any]]:
            resp = c.get(f"{s.url}/api/tasks/{tid}/", params={"resolve_uri": "false"}, headers=headers)
            if resp.status_code != 200:
                raise LabelStudioError(f"reading task {tid} failed: HTTP {resp.status_code} {resp.text[:200]}")
            return tid, dict(resp.json()["data"])

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return dict(pool.map(one, task_ids))
