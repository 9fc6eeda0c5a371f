"""The edge to Label Studio: settings, auth, and a small client around the SDK (``label_studio_sdk`` 2.1.2).

Stage code in this package talks to Label Studio only through :class:`LabelStudioClient` (sync, SDK-based,
plus raw REST paging where the SDK's typed models would be slow) and the async helpers used by
``aprogress`` (``httpx.AsyncClient``, no SDK, no blocking I/O).

Label Studio pitfalls this module works around (see APIS.md section 3):
- large imports time out, so tasks go in bounded batches (count and bytes);
- ``tasks.list`` with full task data is slow on big projects, so listings ask for ``fields=task_only`` and
  an explicit ``include`` (task ``meta`` carries the item id, so data is never listed);
- the synchronous export times out on big projects, so exports go through the snapshot API;
- project titles are capped at 50 characters (see :func:`pipelines.label.tasks.project_title`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from pipelines.label.tasks import annotations_needed
from pipelines.storage.store import S3Settings

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

MB = 1024 * 1024
DEFAULT_BATCH_TASKS = 1000
DEFAULT_BATCH_BYTES = 20 * MB
_PAGE_SIZE = 1000
_EXPORT_POLL_S = 0.5
_STORAGE_TITLE = "datadam media"  # marks the storages push made (and may replace)


class LabelStudioError(RuntimeError):
    """A Label Studio call failed or answered something this package cannot use; the message says which."""


@dataclass(frozen=True)
class LabelStudioSettings:
    """Where Label Studio is and how to authenticate. Built by orchestration (connection) or :meth:`from_env`.

    Attributes:
        url: Base URL, e.g. ``http://127.0.0.1:8080``.
        token: A legacy API token or a personal access token (JWT refresh token).
        timeout_s: Per-request timeout; exports and big imports need more than httpx's default.
        media_s3: Label Studio's own S3 key for ``s3://`` media, which the object store must limit to
            ``media/*`` read (a MinIO policy, an IAM policy). ``None`` (default): Label Studio gets no S3
            credential; each task carries a presigned URL of its own media object instead.
        media_url_ttl_s: Lifetime of those presigned URLs (at most 7 days, SigV4's ceiling).
    """

    url: str
    token: str
    timeout_s: float = 120.0
    media_s3: S3Settings | None = None
    media_url_ttl_s: int = 7 * 24 * 3600

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", self.url.rstrip("/"))
        if not 60 <= self.media_url_ttl_s <= 7 * 24 * 3600:
            raise LabelStudioError(f"media_url_ttl_s={self.media_url_ttl_s}: must be 60 s .. 7 days (SigV4)")

    def __repr__(self) -> str:  # the token must never reach logs or tracebacks
        return f"LabelStudioSettings(url={self.url!r}, token=***, timeout_s={self.timeout_s!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LabelStudioSettings:
        """``DATADAM_LS_URL`` / ``DATADAM_LS_TOKEN`` (falling back to the SDK's ``LABEL_STUDIO_URL`` /
        ``LABEL_STUDIO_API_KEY``, which ``datadam stack`` exports).

        Raises:
            LabelStudioError: if no URL or no token is set.
        """
        e = os.environ if env is None else env
        url = e.get("DATADAM_LS_URL") or e.get("LABEL_STUDIO_URL") or ""
        token = e.get("DATADAM_LS_TOKEN") or e.get("LABEL_STUDIO_API_KEY") or ""
        if not url or not token:
            raise LabelStudioError("Label Studio is not configured: set DATADAM_LS_URL and DATADAM_LS_TOKEN")
        return cls(url=url, token=token)


# ------------------------------------------------------------------------------------------------ auth


def _jwt_type(token: str) -> str | None:
    """``refresh``/``access`` for a JWT, None for a legacy token (which is never three base64 segments)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    kind = payload.get("token_type") if isinstance(payload, dict) else None
    return str(kind) if kind else "access"


def _refresh_request(settings: LabelStudioSettings) -> tuple[str, dict[str, str]]:
    return f"{settings.url}/api/token/refresh/", {"refresh": settings.token}


def _access_from(resp: httpx.Response) -> str:
    if resp.status_code != 200:
        raise LabelStudioError(f"Label Studio refused the personal access token (HTTP {resp.status_code})")
    return str(resp.json()["access"])


def _header_as_is(settings: LabelStudioSettings) -> dict[str, str] | None:
    """The header when the token is sent as it is (a legacy ``Token``, or an access JWT); None for a PAT (a refresh
    JWT), which is exchanged for an access token first."""
    kind = _jwt_type(settings.token)
    if kind is None:
        return {"Authorization": f"Token {settings.token}"}
    if kind != "refresh":
        return {"Authorization": f"Bearer {settings.token}"}
    return None


def auth_headers(settings: LabelStudioSettings, client: httpx.Client | None = None) -> dict[str, str]:
    """The ``Authorization`` header: ``Token`` for legacy tokens, ``Bearer <access>`` for a PAT."""
    as_is = _header_as_is(settings)
    if as_is is not None:
        return as_is
    url, body = _refresh_request(settings)
    if client is None:
        with httpx.Client(timeout=settings.timeout_s) as c:
            access = _access_from(c.post(url, json=body))
    else:
        access = _access_from(client.post(url, json=body))
    return {"Authorization": f"Bearer {access}"}


async def aauth_headers(settings: LabelStudioSettings, client: httpx.AsyncClient) -> dict[str, str]:
    """Async :func:`auth_headers` (the PAT exchange must not block an event loop)."""
    as_is = _header_as_is(settings)
    if as_is is not None:
        return as_is
    url, body = _refresh_request(settings)
    return {"Authorization": f"Bearer {_access_from(await client.post(url, json=body))}"}


# ------------------------------------------------------------------------------------- task listings


def _tasks_params(project_id: int, include: Sequence[str], page: int, fields: str) -> dict[str, Any]:
    return {
        "project": project_id,
        "fields": fields,
        "include": ",".join(include),
        "page": page,
        "page_size": _PAGE_SIZE,
        "resolve_uri": "false",
    }


def _page_tasks(resp: httpx.Response, project_id: int, page: int) -> list[dict[str, Any]] | None:
    """The tasks of one Data Manager page; None past the last page (Label Studio answers 404 there).

    A 404 on the first page means the project does not exist: an error, not an empty project (a waiting
    trigger would otherwise wait forever on a deleted project).
    """
    if resp.status_code == 404 and page > 1:
        return None
    if resp.status_code != 200:
        raise LabelStudioError(f"listing tasks of project {project_id} failed: HTTP {resp.status_code} "
                               f"{resp.text[:300]}")
    tasks = resp.json().get("tasks", [])
    return list(tasks) if tasks else None


def iter_task_rows(
    settings: LabelStudioSettings,
    project_id: int,
    *,
    include: Sequence[str] = ("id", "meta"),
    fields: str = "task_only",
    client: httpx.Client | None = None,
) -> Iterator[dict[str, Any]]:
    """Every task of a project as a small dict with only the ``include`` fields (Data Manager API).

    ``fields="all"`` is needed for the computed columns (``annotators``); ``task_only`` skips them.
    """
    own = client is None
    c = client or httpx.Client(timeout=settings.timeout_s)
    try:
        headers = auth_headers(settings, c)
        page = 1
        while True:
            resp = c.get(f"{settings.url}/api/tasks", params=_tasks_params(project_id, include, page, fields),
                         headers=headers)
            tasks = _page_tasks(resp, project_id, page)
            if tasks is None:
                return
            yield from tasks
            if len(tasks) < _PAGE_SIZE:
                return
            page += 1
    finally:
        if own:
            c.close()


async def aiter_task_rows(
    settings: LabelStudioSettings,
    project_id: int,
    client: httpx.AsyncClient,
    *,
    include: Sequence[str] = ("id", "meta"),
    fields: str = "task_only",
) -> AsyncIterator[dict[str, Any]]:
    """Async :func:`iter_task_rows` over a caller-owned ``httpx.AsyncClient``."""
    headers = await aauth_headers(settings, client)
    page = 1
    while True:
        params = _tasks_params(project_id, include, page, fields)
        resp = await client.get(f"{settings.url}/api/tasks", params=params, headers=headers)
        tasks = _page_tasks(resp, project_id, page)
        if tasks is None:
            return
        for t in tasks:
            yield t
        if len(tasks) < _PAGE_SIZE:
            return
        page += 1


@dataclass(frozen=True)
class TaskRef:
    """A task of ours in a project: its id, the item it shows and the annotators it needs."""

    task_id: int
    item_id: str
    required: int  # from our task meta: annotators (the overlap sample) plus the gold answer on a gold task
    overlap: int  # Label Studio's own per-task overlap (what its label stream enforces)
    gold: bool = False


def _task_ref(row: Mapping[str, Any]) -> TaskRef | None:
    meta = row.get("meta") or {}
    item_id = meta.get("item_id") if isinstance(meta, dict) else None
    if not item_id:
        return None  # not created by push (imported by hand): not ours to count or dedupe
    return TaskRef(task_id=int(row["id"]), item_id=str(item_id), required=annotations_needed(meta),
                   overlap=int(row.get("overlap") or 1), gold=bool(meta.get("gold")))


# ---------------------------------------------------------------------------------------------- client


def _task_bytes(task: Mapping[str, Any]) -> int:
    return len(json.dumps(task, ensure_ascii=False, separators=(",", ":")).encode())


def batches_by_size(
    tasks: Sequence[Mapping[str, Any]], *, max_tasks: int, max_bytes: int
) -> Iterator[list[Mapping[str, Any]]]:
    """Split tasks into import requests of at most ``max_tasks`` tasks and ``max_bytes`` of JSON.

    Raises:
        LabelStudioError: if one task alone exceeds ``max_bytes`` (it could never be imported).
    """
    batch: list[Mapping[str, Any]] = []
    size = 0
    for t in tasks:
        n = _task_bytes(t)
        if n > max_bytes:
            item = (t.get("meta") or {}).get("item_id", "?")
            raise LabelStudioError(f"task for item {item} is {n} bytes, over the {max_bytes}-byte limit")
        if batch and (len(batch) >= max_tasks or size + n > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(t)
        size += n
    if batch:
        yield batch


@dataclass(frozen=True)
class Snapshot:
    """A downloaded export snapshot and when the server took it (its clock: the next incremental cursor)."""

    path: Path
    created_at: datetime | None


class LabelStudioClient:
    """The Label Studio operations the label stage and the simulator need, each idempotent where it can be."""

    def __init__(
        self,
        settings: LabelStudioSettings,
        *,
        max_batch_tasks: int = DEFAULT_BATCH_TASKS,
        max_batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> None:
        self.settings = settings
        self.max_batch_tasks = max_batch_tasks
        self.max_batch_bytes = max_batch_bytes
        self._sdk: LabelStudio | None = None
        self._me: int | None = None

    def __repr__(self) -> str:
        return f"LabelStudioClient({self.settings!r})"

    @property
    def sdk(self) -> LabelStudio:
        """The SDK client, created on first use (its import is heavy)."""
        if self._sdk is None:
            from label_studio_sdk import LabelStudio

            self._sdk = LabelStudio(  # type: ignore[no-untyped-call]
                base_url=self.settings.url, api_key=self.settings.token, timeout=self.settings.timeout_s
            )
        return self._sdk

    # -------------------------------------------------------------------------------------- projects
    def find_project(self, title: str) -> int | None:
        """The id of the project with exactly this title (the oldest, if a race ever made two)."""
        # The server's ``title`` filter is icontains: match exactly here.
        found: list[Any] = list(self.sdk.projects.list(title=title, page_size=100))
        ids = [int(p.id) for p in found if p.title == title and p.id]
        return min(ids) if ids else None

    def ensure_project(self, *, title: str, label_config: str, description: str = "") -> int:
        """Get or create a project by title; update its label config (and description) when they changed.

        Raises:
            LabelStudioError: if Label Studio rejects the config (e.g. it drops labels already used).
        """
        from label_studio_sdk.core.api_error import ApiError

        pid = self.find_project(title)
        try:
            if pid is None:
                return self._create_project(title=title, label_config=label_config, description=description)
            current = self.sdk.projects.get(id=pid)
            changes: dict[str, Any] = {}
            if (current.label_config or "").strip() != label_config.strip():
                changes["label_config"] = label_config
            if description and (current.description or "") != description:
                changes["description"] = description
            if changes:
                self.sdk.projects.update(id=pid, **changes)
            return pid
        except ApiError as exc:
            raise LabelStudioError(f"project {title!r}: HTTP {exc.status_code}: {exc.body}") from exc

    def _create_project(self, *, title: str, label_config: str, description: str) -> int:
        """Create a project, once. The SDK retries a request that failed with a 5xx, but a server answering 500
        may have created the project all the same (Label Studio on SQLite: "database is locked" after the
        insert); a retried create then makes a second project of the same title, and the run and the people
        annotating end up on different ones. So: no automatic retry, and after a failure the title is looked
        up again before the error stands."""
        from label_studio_sdk.core.api_error import ApiError

        try:
            created = self.sdk.projects.create(title=title, label_config=label_config, description=description,
                                               request_options={"max_retries": 0})
        except ApiError as exc:
            if exc.status_code is not None and exc.status_code < 500:
                raise
            pid = self.find_project(title)
            if pid is None:
                raise
            return pid
        if created.id is None:
            raise LabelStudioError(f"Label Studio created project {title!r} without an id")
        # Everyone resolves a title to its oldest project (find_project). If another project of this title
        # appeared meanwhile (a create that failed after its insert, a concurrent run), ours is dropped and the
        # oldest used, so the run and the people working on it never end up on different projects.
        oldest = self.find_project(title)
        if oldest is not None and oldest != int(created.id):
            with suppress(ApiError):
                self.sdk.projects.delete(id=int(created.id))
            return oldest
        return int(created.id)

    def validate_config(self, label_config: str) -> None:
        """Ask the server to validate a label config without creating a project.

        Raises:
            LabelStudioError: with the server's reason when the config is invalid.
        """
        with httpx.Client(timeout=self.settings.timeout_s) as c:
            resp = c.post(f"{self.settings.url}/api/projects/validate/", json={"label_config": label_config},
                          headers=auth_headers(self.settings, c))
        if resp.status_code not in (200, 204):
            raise LabelStudioError(f"label config rejected (HTTP {resp.status_code}): {resp.text[:500]}")

    # ----------------------------------------------------------------------------------------- tasks
    def task_refs(self, project_id: int) -> Iterator[TaskRef]:
        """Our tasks in a project, listed cheaply (ids, meta and overlap only; no task data)."""
        for row in iter_task_rows(self.settings, project_id, include=("id", "meta", "overlap")):
            ref = _task_ref(row)
            if ref is not None:
                yield ref

    def import_tasks(self, project_id: int, tasks: Sequence[Mapping[str, Any]]) -> list[int]:
        """Import tasks (with their predictions) in bounded requests; return the new task ids in order.

        Raises:
            LabelStudioError: if the server answers an error or does not return the created task ids.
        """
        from label_studio_sdk.core.api_error import ApiError

        ids: list[int] = []
        for batch in batches_by_size(tasks, max_tasks=self.max_batch_tasks, max_bytes=self.max_batch_bytes):
            try:
                resp = self.sdk.projects.import_tasks(
                    id=project_id, request=list(batch), return_task_ids=True  # type: ignore[arg-type]
                )
            except ApiError as exc:
                raise LabelStudioError(f"import into project {project_id} failed: HTTP {exc.status_code} "
                                       f"{str(exc.body)[:500]}") from exc
            got = list(getattr(resp, "task_ids", None) or [])
            if len(got) != len(batch):
                # Enterprise imports asynchronously and returns an import id instead; not supported here.
                raise LabelStudioError(f"import into project {project_id} returned {len(got)} task ids for "
                                       f"{len(batch)} tasks")
            sent = sum(len(t.get("predictions") or []) for t in batch)
            stored = getattr(resp, "prediction_count", None)
            if sent and (stored is None or int(stored) < sent):
                self._restore_predictions(project_id, [int(i) for i in got], batch)
            ids.extend(int(i) for i in got)
        return ids

    def _restore_predictions(self, project_id: int, task_ids: Sequence[int],
                             tasks: Sequence[Mapping[str, Any]]) -> None:
        """Create the predictions an import dropped. Label Studio stores a batch's predictions all or none, and
        drops them all without an error when one fails (a result it does not validate, or its SQLite database
        locked under load) while the tasks stay: a review task without the annotation to review, a task without
        its pre-annotation. Each task's predictions are created one by one here; one that fails stands as an
        error.

        Raises:
            LabelStudioError: a prediction Label Studio refuses.
        """
        from label_studio_sdk.core.api_error import ApiError

        have = {int(p.task) for p in self.sdk.predictions.list(project=project_id) if p.task is not None}
        for task_id, task in zip(task_ids, tasks, strict=True):
            if task_id in have:
                continue
            for pred in task.get("predictions") or []:
                try:
                    version = {"model_version": str(pred["model_version"])} if pred.get("model_version") else {}
                    self.sdk.predictions.create(task=task_id, result=list(pred.get("result") or []), **version)
                except ApiError as exc:
                    raise LabelStudioError(f"prediction for task {task_id} of project {project_id} refused: "
                                           f"HTTP {exc.status_code} {str(exc.body)[:500]}") from exc

    def set_task_overlaps(self, overlaps: Sequence[tuple[int, int]], *, workers: int = 4,
                          reopen: bool = False) -> None:
        """Set Label Studio's per-task overlap (``(task_id, overlap)`` pairs), so its label stream hands each
        task to that many annotators. ``reopen`` also marks the tasks not labeled, so the stream hands them
        out again (Label Studio only recomputes ``is_labeled`` when an annotation changes).

        There is no bulk endpoint and one PATCH takes ~0.15 s server-side, so the requests go out on a few
        threads over raw httpx (the SDK adds ~0.3 s per call building its response models).

        Raises:
            LabelStudioError: if any update is refused.
        """
        if not overlaps:
            return
        with httpx.Client(timeout=self.settings.timeout_s) as c:
            headers = auth_headers(self.settings, c)

            def one(pair: tuple[int, int]) -> None:
                task_id, overlap = pair
                body: dict[str, Any] = {"overlap": overlap, **({"is_labeled": False} if reopen else {})}
                resp = c.patch(f"{self.settings.url}/api/tasks/{task_id}/", json=body, headers=headers)
                if resp.status_code != 200:
                    raise LabelStudioError(f"setting overlap of task {task_id} failed: "
                                           f"HTTP {resp.status_code} {resp.text[:300]}")

            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                list(pool.map(one, overlaps))

    def create_annotation(
        self,
        task_id: int,
        *,
        result: list[dict[str, Any]],
        completed_by: int,
        lead_time_s: float | None = None,
        was_cancelled: bool = False,
        ground_truth: bool = False,
    ) -> int:
        """Submit one annotation as user ``completed_by``; return its id."""
        ann = self.sdk.annotations.create(id=task_id, result=result, completed_by=completed_by,
                                          lead_time=lead_time_s, was_cancelled=was_cancelled,
                                          ground_truth=ground_truth)
        if ann.id is None:
            raise LabelStudioError(f"annotation on task {task_id} came back without an id")
        return int(ann.id)

    def has_ground_truth(self, task_id: int) -> bool:
        """Whether a task already has a ground-truth (gold answer) annotation."""
        return any(bool(a.ground_truth) for a in self.sdk.annotations.list(id=task_id))

    def me(self) -> int:
        """The id of the token's user (who writes gold answers), looked up once."""
        if self._me is None:
            who = self.sdk.users.whoami()
            if who.id is None:
                raise LabelStudioError("Label Studio did not say who the token belongs to")
            self._me = int(who.id)
        return self._me

    # -------------------------------------------------------------------------------------- storages
    def ensure_local_storage(self, project_id: int, *, path: str) -> int:
        """A Local Files import storage on ``path`` (absolute directory) for the project, created once.

        Label Studio serves ``/data/local-files/?d=...`` only under the path of such a connection.
        """
        path = os.path.normpath(path)
        for s in self.sdk.import_storage.local.list(project=project_id):
            if s.path and os.path.normpath(s.path) == path and s.id is not None:
                return int(s.id)
        made = self.sdk.import_storage.local.create(project=project_id, path=path, use_blob_urls=False,
                                                    title=_STORAGE_TITLE, regex_filter="")
        if made.id is None:
            raise LabelStudioError(f"local storage for project {project_id} came back without an id")
        return int(made.id)

    def ensure_s3_storage(self, project_id: int, *, bucket: str, prefix: str, s3: S3Settings) -> int:
        """The project's one datadam S3 import storage (presigned URLs) over ``s3://bucket/prefix``, with ``s3``'s key.

        Label Studio never returns a storage's key, so an existing datadam storage is rewritten with this key and
        prefix on every call (a rotated or narrowed key takes effect; one an older push made with a wider key
        does not linger) and any other datadam storage of the project is deleted. No sync is run: push imports
        tasks itself; the connection only lets Label Studio resolve and presign the ``s3://`` URLs in task data.
        """
        params: dict[str, Any] = {
            "bucket": bucket, "prefix": prefix, "presign": True, "use_blob_urls": False,
            "aws_access_key_id": s3.access_key, "aws_secret_access_key": s3.secret_key,
            "aws_session_token": s3.session_token, "region_name": s3.region, "s3endpoint": s3.endpoint_url,
            "title": _STORAGE_TITLE, "recursive_scan": True,
        }
        ours = [int(st.id) for st in self.sdk.import_storage.s3.list(project=project_id)
                if st.id is not None and st.title == _STORAGE_TITLE]
        if ours:
            keep, *extra = sorted(ours)
            self.sdk.import_storage.s3.update(id=keep, project=project_id, **params)
            for sid in extra:
                self.sdk.import_storage.s3.delete(id=sid)
            return keep
        made = self.sdk.import_storage.s3.create(project=project_id, **params)
        if made.id is None:
            raise LabelStudioError(f"S3 storage for project {project_id} came back without an id")
        return int(made.id)

    def drop_s3_storages(self, project_id: int) -> int:
        """Delete the project's datadam-made S3 storages; return how many.

        A storage's key decides what Label Studio can resolve for every task of the project: one an older push
        made with the pipeline's bucket-wide key must not outlive the switch to presigned URLs.
        """
        dropped = 0
        for st in self.sdk.import_storage.s3.list(project=project_id):
            if st.id is not None and st.title == _STORAGE_TITLE:
                self.sdk.import_storage.s3.delete(id=int(st.id))
                dropped += 1
        return dropped

    # --------------------------------------------------------------------------------------- exports
    def export_snapshot(
        self, project_id: int, dest: Path, *, timeout_s: float = 1800.0, updated_after: datetime | None = None
    ) -> Snapshot:
        """Export annotated tasks (JSON) through a snapshot: create, poll, download to ``dest``, delete.

        With ``updated_after``, only tasks changed since then, annotated or not (Label Studio bumps a task's
        ``updated_at`` when one of its annotations is created, updated or deleted; a task whose last annotation was
        deleted comes with none): a Data Manager view filtering on ``updated_at`` scopes the snapshot, and is
        deleted afterwards.

        Annotations carry ``completed_by`` expanded (id and e-mail); predictions and drafts only as ids.

        Raises:
            LabelStudioError: if the snapshot fails or does not finish within ``timeout_s``.
        """
        exports = self.sdk.projects.exports
        # Changes include tasks whose last annotation was deleted: an incremental export takes them too.
        task_filter: dict[str, Any] = {"only_with_annotations": updated_after is None}
        view_id = self._changed_view(project_id, updated_after) if updated_after is not None else None
        if view_id is not None:
            task_filter["view"] = view_id
        try:
            snap = exports.create(
                project_id,
                title=f"datadam-{int(time.time())}",
                task_filter_options=task_filter,  # type: ignore[arg-type]
                serialization_options={  # type: ignore[arg-type]
                    "annotations__completed_by": {"only_id": False},
                    "predictions": {"only_id": True},
                    "drafts": {"only_id": True},
                },
            )
            if snap.id is None:
                raise LabelStudioError(f"export snapshot of project {project_id} came back without an id")
            self._download_snapshot(project_id, snap.id, snap.status, dest, timeout_s)
        finally:
            if view_id is not None:
                with httpx.Client(timeout=self.settings.timeout_s) as c:
                    c.delete(f"{self.settings.url}/api/dm/views/{view_id}/", headers=auth_headers(self.settings, c))
        created = snap.created_at
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return Snapshot(path=dest, created_at=created)

    def _changed_view(self, project_id: int, since: datetime) -> int:
        """A Data Manager view of the tasks updated after ``since`` (its filters scope a snapshot)."""
        value = since.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = {"project": project_id, "data": {"title": f"datadam-changed-{int(time.time())}", "filters": {
            "conjunction": "and",
            "items": [{"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime",
                       "value": value}]}}}
        with httpx.Client(timeout=self.settings.timeout_s) as c:
            resp = c.post(f"{self.settings.url}/api/dm/views/", json=body, headers=auth_headers(self.settings, c))
        if resp.status_code not in (200, 201):
            raise LabelStudioError(f"creating a changed-tasks view in project {project_id} failed: "
                                   f"HTTP {resp.status_code} {resp.text[:300]}")
        return int(resp.json()["id"])

    def _download_snapshot(self, project_id: int, snap_id: int, status: Any, dest: Path, timeout_s: float) -> None:
        exports = self.sdk.projects.exports
        deadline = time.monotonic() + timeout_s
        try:
            while status != "completed":
                if status == "failed":
                    raise LabelStudioError(f"export snapshot {snap_id} of project {project_id} failed")
                if time.monotonic() > deadline:
                    raise LabelStudioError(f"export snapshot {snap_id} of project {project_id} is still "
                                           f"{status!r} after {timeout_s:.0f} s")
                time.sleep(_EXPORT_POLL_S)
                status = exports.get(id=project_id, export_pk=snap_id).status
            dest.parent.mkdir(parents=True, exist_ok=True)
            with dest.open("wb") as fh:
                for chunk in exports.download(id=project_id, export_pk=snap_id, export_type="JSON",
                                              request_options={"chunk_size": MB}):
                    fh.write(chunk)
        finally:
            # Snapshots are files on the Label Studio server; do not let them pile up.
            from label_studio_sdk.core.api_error import ApiError

            with contextlib.suppress(ApiError):
                exports.delete(id=project_id, export_pk=snap_id)

    # ----------------------------------------------------------------------------------------- users
    def users(self) -> dict[int, str]:
        """Users of the organisation: id -> e-mail."""
        return {int(u.id): str(u.email or f"user:{u.id}") for u in self.sdk.users.list() if u.id is not None}

    def ensure_user(self, *, email: str, username: str, first_name: str = "", last_name: str = "") -> int:
        """The id of the user with this e-mail, creating it (in the token owner's organisation) if missing."""
        for uid, mail in self.users().items():
            if mail.lower() == email.lower():
                return uid
        made = self.sdk.users.create(username=username, email=email, first_name=first_name,
                                     last_name=last_name)
        if made.id is None:
            raise LabelStudioError(f"user {email} came back without an id")
        return int(made.id)
