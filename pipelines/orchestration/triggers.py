"""Deferrable triggers: wait for people (annotators, inspectors) without holding a worker slot.

Triggers run in the triggerer's event loop, so nothing here blocks: Label Studio is polled with httpx's async
client and storage reads go to a thread. A trigger's kwargs are stored in the metadata DB, so they carry
connection ids, never credentials.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from pipelines.orchestration.settings import LS_CONN_ID, S3_CONN_ID, als_settings


class _PollingTrigger(BaseTrigger):
    """What both triggers share: a poll interval, a deadline counted from ``started``, a connection id.

    The constructor's kwargs are the whole state, so ``serialize`` is derived from ``_kwargs``.
    """

    _kwargs: tuple[str, ...] = ()  # the subclass's own constructor kwargs

    def __init__(self, *, poll_interval: float, timeout: float, started: float | None, conn_id: str) -> None:
        super().__init__()
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.started = started if started is not None else time.time()
        self.conn_id = conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        names = (*self._kwargs, "poll_interval", "timeout", "started", "conn_id")
        return (f"{type(self).__module__}.{type(self).__qualname__}", {n: getattr(self, n) for n in names})

    def timed_out(self) -> bool:
        return time.time() - self.started > self.timeout


class LabelProgressTrigger(_PollingTrigger):
    """Fires when every task of a Label Studio project has ``overlap`` submitted annotations, or on timeout.

    ``item_ids`` scopes the count to the tasks of those items (``meta.item_id``): a project accumulates tasks
    across runs, and one run waits for its own. Label Studio being down or restarting is not an error: the
    trigger logs it and keeps polling.
    """

    _kwargs = ("project_id", "overlap", "item_ids")

    def __init__(self, *, project_id: int, overlap: int = 1, poll_interval: float = 30.0,
                 timeout: float = 7 * 24 * 3600.0, started: float | None = None,
                 conn_id: str = LS_CONN_ID, item_ids: list[str] | None = None) -> None:
        super().__init__(poll_interval=poll_interval, timeout=timeout, started=started, conn_id=conn_id)
        self.project_id = project_id
        self.overlap = overlap
        self.item_ids = item_ids

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from pipelines.label import aprogress

        settings = await als_settings(self.conn_id)
        last: dict[str, Any] = {}
        while True:
            try:
                p = await aprogress(ls=settings, project_id=self.project_id, overlap=self.overlap,
                                    item_ids=self.item_ids)
                last = {"total": p.total, "done": p.done, "per_annotator": dict(p.per_annotator)}
                self.log.info("label progress project %s: %s/%s done", self.project_id, p.done, p.total)
                if p.total > 0 and p.done >= p.total:
                    yield TriggerEvent({"status": "done", **last})
                    return
            except Exception as exc:
                self.log.warning("Label Studio not reachable (%s); retrying in %ss", type(exc).__name__,
                                 self.poll_interval)
            if self.timed_out():
                yield TriggerEvent({"status": "timeout", **last})
                return
            await asyncio.sleep(self.poll_interval)


class StorageKeyTrigger(_PollingTrigger):
    """Fires when a key exists in storage (e.g. an inspector's decision file), or on timeout."""

    _kwargs = ("storage", "key")

    def __init__(self, *, storage: str, key: str, poll_interval: float = 30.0, timeout: float = 14 * 24 * 3600.0,
                 started: float | None = None, conn_id: str = S3_CONN_ID) -> None:
        super().__init__(poll_interval=poll_interval, timeout=timeout, started=started, conn_id=conn_id)
        self.storage = storage
        self.key = key

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow.sdk import BaseHook

        from pipelines.orchestration.settings import _s3_from_conn
        from pipelines.storage import S3Settings, open_store

        s3 = None
        if self.storage.startswith("s3://"):
            try:
                s3 = _s3_from_conn(await BaseHook.aget_connection(self.conn_id))
            except Exception:
                s3 = S3Settings.from_env()
        store = await asyncio.to_thread(open_store, self.storage, s3=s3)
        while True:
            if await asyncio.to_thread(store.exists, self.key):
                yield TriggerEvent({"status": "found", "key": self.key})
                return
            if self.timed_out():
                yield TriggerEvent({"status": "timeout", "key": self.key})
                return
            await asyncio.sleep(self.poll_interval)
