"""``label_wait``'s question: how far along is the annotation of a project (or of one run's items)?

Counts come from the Data Manager task list (``/api/tasks``) with only ``id, meta, total_annotations,
annotators`` per task, so polling stays cheap. :func:`aprogress` does the same through
``httpx.AsyncClient`` without the SDK or any blocking call, for Airflow's deferrable trigger.

A task is *done* when it has at least ``max(overlap, its own required count, its Label Studio overlap)``
non-cancelled annotations; its own count comes from the task meta written by ``push`` (the spec's overlap sample),
and its Label Studio overlap is the same number until a rework at the gate raises it (``rework.py``): a re-opened
task is not done until the rework's answers are in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from pipelines.label.client import (
    LabelStudioError,
    LabelStudioSettings,
    aauth_headers,
    aiter_task_rows,
    auth_headers,
    iter_task_rows,
)
from pipelines.label.tasks import annotations_needed, submitted_annotations

_INCLUDE = ("id", "meta", "overlap", "total_annotations", "cancelled_annotations", "annotations_ids", "annotators")


@dataclass(frozen=True)
class Progress:
    """Tasks in scope, tasks done, and tasks each annotator has worked on (submitted or skipped).

    ``per_annotator`` is keyed by the annotator's e-mail (``user:<id>`` if unknown).
    """

    total: int
    done: int
    per_annotator: dict[str, int] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        """Tasks still missing annotations."""
        return self.total - self.done

    @property
    def complete(self) -> bool:
        """True when there is work in scope and all of it is done."""
        return self.total > 0 and self.done >= self.total


class _Tally:
    def __init__(self, overlap: int, item_ids: Collection[str] | None) -> None:
        self.overlap = max(1, overlap)
        self.scope = None if item_ids is None else frozenset(item_ids)
        self.total = 0
        self.done = 0
        self.by_user: Counter[int] = Counter()

    def add(self, row: Mapping[str, Any]) -> None:
        meta = row.get("meta")
        if not isinstance(meta, dict):
            meta = {}
        if self.scope is not None and meta.get("item_id") not in self.scope:
            return
        self.total += 1
        need = max(self.overlap, annotations_needed(meta), int(row.get("overlap") or 1))
        if submitted_annotations(row) >= need:
            self.done += 1
        for uid in set(_user_ids(row.get("annotators"))):
            self.by_user[uid] += 1

    def result(self, emails: Mapping[int, str]) -> Progress:
        per = {emails.get(uid, f"user:{uid}"): n for uid, n in sorted(self.by_user.items())}
        return Progress(total=self.total, done=self.done, per_annotator=per)


def _user_ids(value: Any) -> list[int]:
    """``annotators`` is a list of user ids (Postgres) or a comma-joined string (SQLite, some versions)."""
    if not value:
        return []
    if isinstance(value, str):
        return [int(v) for v in value.split(",") if v.strip().isdigit()]
    return [int(v) for v in value if v is not None]


def _emails(payload: Any) -> dict[int, str]:
    users = payload.get("results", []) if isinstance(payload, dict) else payload
    return {int(u["id"]): str(u.get("email") or f"user:{u['id']}") for u in users}


def progress(
    *,
    ls: LabelStudioSettings,
    project_id: int,
    overlap: int = 1,
    item_ids: Collection[str] | None = None,
) -> Progress:
    """Annotation progress of a project, scoped to ``item_ids`` (one run's items) when given.

    Args:
        ls: Label Studio settings.
        project_id: The project ``push`` returned.
        overlap: Minimum non-cancelled annotations for any task to count as done (tasks in the overlap
            sample need more, as recorded in their meta).
        item_ids: Only tasks of these items are counted (a project accumulates tasks across runs).
    """
    tally = _Tally(overlap, item_ids)
    with httpx.Client(timeout=ls.timeout_s) as client:
        for row in iter_task_rows(ls, project_id, include=_INCLUDE, fields="all", client=client):
            tally.add(row)
        resp = client.get(f"{ls.url}/api/users/", headers=auth_headers(ls, client))
    if resp.status_code != 200:
        raise LabelStudioError(f"listing users failed: HTTP {resp.status_code}")
    return tally.result(_emails(resp.json()))


async def aprogress(
    *,
    ls: LabelStudioSettings,
    project_id: int,
    overlap: int = 1,
    item_ids: Collection[str] | None = None,
) -> Progress:
    """Async :func:`progress` (``httpx.AsyncClient``, no SDK, no blocking I/O) for a deferrable trigger."""
    tally = _Tally(overlap, item_ids)
    async with httpx.AsyncClient(timeout=ls.timeout_s) as client:
        async for row in aiter_task_rows(ls, project_id, client, include=_INCLUDE, fields="all"):
            tally.add(row)
        resp = await client.get(f"{ls.url}/api/users/", headers=await aauth_headers(ls, client))
    if resp.status_code != 200:
        raise LabelStudioError(f"listing users failed: HTTP {resp.status_code}")
    return tally.result(_emails(resp.json()))
