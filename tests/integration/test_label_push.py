"""label_push against the real Label Studio server and S3 endpoint: idempotent imports; media served, originals not."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from pipelines.label import LabelStudioClient, LabelStudioSettings, push, required_annotations
from pipelines.label.client import iter_task_rows
from pipelines.label.config import label_config
from pipelines.label.manifests import part_keys
from pipelines.label.media import MediaScopeError
from pipelines.label.tasks import project_title
from pipelines.spec.models import DatasetSpec
from pipelines.stack import StackInfo
from pipelines.storage import ObjectStore, S3Settings, open_store
from pipelines.storage.schemas import QUARANTINE_SCHEMA
from sim.data import write_demo_run
from sim.specs import demo_spec
from tests.integration.conftest import MADE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls")]


def _uri(store: ObjectStore, key: str) -> str:
    return f"s3://{store.bucket}/{store.prefix}/{key}"


def _spec(kind: str, **annotation: Any) -> DatasetSpec:
    spec = demo_spec(kind, spec_id=f"it-push-{uuid.uuid4().hex[:10]}", annotation=annotation or None)
    MADE.append(spec)
    return spec


def _tasks(ls: LabelStudioSettings, project_id: int) -> list[dict[str, Any]]:
    return list(iter_task_rows(ls, project_id, include=("id", "meta", "overlap", "total_predictions")))


def _get(ls: LabelStudioSettings, path: str, **kw: Any) -> httpx.Response:
    url = path if path.startswith("http") else f"{ls.url}{path}"
    return httpx.get(url, headers={"Authorization": f"Token {ls.token}"}, timeout=60, **kw)


def test_push_twice_creates_no_duplicates(tmp_path: Path, ls: LabelStudioSettings) -> None:
    spec = _spec("bbox", overlap=2, overlap_share=0.4)
    store = open_store(str(tmp_path))
    ids = write_demo_run(spec=spec, store=store, run_id="r1", items=25, shards=2)

    first = push(spec=spec, store=store, run_id="r1", ls=ls)
    assert (first.tasks_total, first.tasks_created, first.tasks_existing, first.quarantined) == (25, 25, 0, 0)
    assert first.predictions == 25  # every synthetic image has objects the contour detector finds
    second = push(spec=spec, store=store, run_id="r1", ls=ls)
    assert (second.project_id, second.tasks_created, second.tasks_existing) == (first.project_id, 0, 25)

    tasks = _tasks(ls, first.project_id)
    items = Counter(t["meta"]["item_id"] for t in tasks)
    assert sorted(items) == sorted(ids) and set(items.values()) == {1}
    # Label Studio's own per-task overlap follows the spec's overlap sample (its label stream enforces it)
    overlap = {t["meta"]["item_id"]: t["overlap"] for t in tasks}
    assert overlap == {i: required_annotations(spec, i) for i in ids}
    assert 2 in overlap.values() and 1 in overlap.values()
    assert {t["total_predictions"] for t in tasks} == {1}
    saved = store.read_json(first.push_key)
    assert (
        saved["tasks_created"] == 0
        and saved["tasks_existing"] == 25
        and saved["project_id"] == first.project_id
    )


class _Killed(BaseException):
    """Stands for the worker being killed mid-push (not an Exception: nothing may catch it)."""


def test_a_push_killed_half_way_completes_on_rerun_without_duplicates(
    tmp_path: Path, ls: LabelStudioSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec("classification", overlap=2, overlap_share=0.5)
    store = open_store(str(tmp_path))
    ids = write_demo_run(spec=spec, store=store, run_id="r1", items=30)
    real = LabelStudioClient.import_tasks

    def import_half_then_die(self: LabelStudioClient, project_id: int, tasks: Any) -> list[int]:
        real(self, project_id, tasks[:12])  # the first request went through ...
        raise _Killed  # ... and the worker died before the rest (and before the overlap updates)

    monkeypatch.setattr(LabelStudioClient, "import_tasks", import_half_then_die)
    with pytest.raises(_Killed):
        push(spec=spec, store=store, run_id="r1", ls=ls)
    monkeypatch.undo()

    again = push(spec=spec, store=store, run_id="r1", ls=ls)
    assert (again.tasks_total, again.tasks_created, again.tasks_existing) == (30, 18, 12)
    tasks = _tasks(ls, again.project_id)
    assert sorted(t["meta"]["item_id"] for t in tasks) == sorted(ids)
    # the overlap updates the killed push never made were repaired
    assert {t["meta"]["item_id"]: t["overlap"] for t in tasks} == {
        i: required_annotations(spec, i) for i in ids
    }


def test_a_second_run_adds_only_its_new_items(tmp_path: Path, ls: LabelStudioSettings) -> None:
    spec = _spec("classification")
    store = open_store(str(tmp_path))
    write_demo_run(spec=spec, store=store, run_id="r1", items=10)
    write_demo_run(spec=spec, store=store, run_id="r2", items=10, start=5)  # items 5..14: 5 shared
    a = push(spec=spec, store=store, run_id="r1", ls=ls)
    b = push(spec=spec, store=store, run_id="r2", ls=ls)
    assert b.project_id == a.project_id
    assert (b.tasks_total, b.tasks_created, b.tasks_existing) == (10, 5, 5)
    assert len(_tasks(ls, a.project_id)) == 15


def test_media_that_is_not_deidentified_is_quarantined_not_shown(
    tmp_path: Path, ls: LabelStudioSettings
) -> None:
    spec = _spec("bbox")
    store = open_store(str(tmp_path))
    write_demo_run(spec=spec, store=store, run_id="r1", items=6)
    (key,) = part_keys(store, spec.id, "r1")
    table = store.read_table(key)
    media = table.column("media_key").to_pylist()
    media[0] = f"restricted/{spec.id}/original.png"
    media[1] = None
    store.write_table(key, table.set_column(table.schema.get_field_index("media_key"), "media_key", [media]))

    res = push(spec=spec, store=store, run_id="r1", ls=ls)
    assert (res.tasks_total, res.quarantined) == (4, 2)
    q = store.read_table(f"runs/{spec.id}/r1/label_push/quarantine-00000.parquet")
    assert q.schema.equals(QUARANTINE_SCHEMA)
    assert sorted(q.column("reason").to_pylist()) == ["label.media_missing", "label.media_not_deidentified"]
    shown = {t["meta"]["item_id"] for t in _tasks(ls, res.project_id)}
    assert shown.isdisjoint(q.column("item_id").to_pylist())


def test_local_media_is_served_by_label_studio(tmp_path: Path, ls: LabelStudioSettings) -> None:
    spec = _spec("bbox")
    store = open_store(str(tmp_path))
    write_demo_run(spec=spec, store=store, run_id="r1", items=2)
    res = push(spec=spec, store=store, run_id="r1", ls=ls)
    client = LabelStudioClient(ls)
    for ref in client.task_refs(res.project_id):
        task = client.sdk.tasks.get(id=ref.task_id)
        url = str(task.data["image"])
        assert url.startswith("/data/local-files/?d=")
        served = _get(ls, url)
        assert served.status_code == 200 and served.headers["content-type"] == "image/png"
        media_key = next(
            r
            for r in store.read_table(part_keys(store, spec.id, "r1")[0]).to_pylist()
            if r["item_id"] == ref.item_id
        )["media_key"]
        assert served.content == store.read_bytes(media_key)
        assert httpx.get(f"{ls.url}{url}", timeout=30).status_code == 401  # never without a login


def test_local_label_studio_serves_the_datasets_media_folder_only(tmp_path: Path, ls: LabelStudioSettings) -> None:
    spec = _spec("bbox")
    store = open_store(str(tmp_path))
    write_demo_run(spec=spec, store=store, run_id="r1", items=1)
    original = f"restricted/{spec.id}/original-with-a-face.png"
    store.write_bytes(original, b"un-masked original")
    res = push(spec=spec, store=store, run_id="r1", ls=ls)
    client = LabelStudioClient(ls)
    (ref,) = client.task_refs(res.project_id)
    media_url = str(client.sdk.tasks.get(id=ref.task_id).data["image"])
    assert _get(ls, media_url).status_code == 200
    # the same URL shape naming the original (the storage root is the media folder's grandparent): not served
    url = "/data/local-files/?d=" + quote(str(store.local_path(original)).lstrip("/"), safe="/")
    (bad,) = client.import_tasks(res.project_id, [{"data": {"image": url, "item_id": "x"}}])
    denied = _get(ls, str(client.sdk.tasks.get(id=bad).data["image"]))
    assert denied.status_code == 404 and b"un-masked" not in denied.content
    storages = client.sdk.import_storage.local.list(project=res.project_id)
    assert [s.path for s in storages] == [str(store.local_path(f"media/{spec.id}"))]


def _s3_store(stack: StackInfo) -> ObjectStore:
    s3 = S3Settings(
        endpoint_url=stack.s3_endpoint,
        access_key=stack.s3_access_key,
        secret_key=stack.s3_secret_key,
        region=stack.s3_region,
    )
    return open_store(f"s3://{stack.s3_bucket}/it-label/{uuid.uuid4().hex[:8]}", s3=s3)


def _resolve(ls: LabelStudioSettings, task_id: int, uri: str) -> httpx.Response:
    """Ask Label Studio's proxy for any URI through a task, as any user who can open the task can."""
    fileuri = base64.urlsafe_b64encode(uri.encode()).decode()
    return _get(ls, f"/tasks/{task_id}/resolve/?fileuri={fileuri}", follow_redirects=True)


def test_s3_media_reach_annotators_as_presigned_urls_and_restricted_objects_do_not(
    stack: StackInfo, ls: LabelStudioSettings
) -> None:
    store = _s3_store(stack)
    spec = _spec("transcription")
    write_demo_run(spec=spec, store=store, run_id="r1", items=2)
    original = f"restricted/{spec.id}/original-with-a-face.wav"
    store.write_bytes(original, b"un-masked original")
    client = LabelStudioClient(ls)
    # What an older push did: a project storage holding the pipeline's bucket-wide key.
    project_id = client.ensure_project(title=project_title(spec), label_config=label_config(spec))
    client.ensure_s3_storage(project_id, bucket=store.bucket, prefix=store.prefix, s3=store.s3_settings)

    res = push(spec=spec, store=store, run_id="r1", ls=ls)
    assert (res.project_id, res.tasks_created) == (project_id, 2)
    assert client.sdk.import_storage.s3.list(project=project_id) == []  # Label Studio holds no S3 key now
    rows = {
        r["item_id"]: r["media_key"] for r in store.read_table(part_keys(store, spec.id, "r1")[0]).to_pylist()
    }
    refs = list(client.task_refs(res.project_id))
    for ref in refs:
        url = str(client.sdk.tasks.get(id=ref.task_id).data["audio"])
        # a presigned GET of this task's own media object, straight from the object store, no login
        assert url.startswith(f"{stack.s3_endpoint}/{store.bucket}/{store.prefix}/{rows[ref.item_id]}?")
        assert "X-Amz-Signature" in url
        assert httpx.get(url, timeout=30).content == store.read_bytes(rows[ref.item_id])

    # A task whose data names a restricted/ original, and the proxy asked for it directly: nothing comes back.
    (bad,) = client.import_tasks(project_id, [{"data": {"audio": _uri(store, original), "item_id": "x"}}])
    shown = str(client.sdk.tasks.get(id=bad).data["audio"])
    assert shown == _uri(store, original)  # not turned into a resolver URL: no storage can resolve it
    for task_id in (bad, refs[0].task_id):
        denied = _resolve(ls, task_id, _uri(store, original))
        assert denied.status_code == 404 and b"un-masked" not in denied.content
    # ... and the proxy resolves no s3:// URI at all, media included: annotators get media only as presigned URLs
    assert _resolve(ls, refs[0].task_id, _uri(store, rows[refs[0].item_id])).status_code == 404


def test_a_dedicated_media_key_is_what_label_studio_signs_with(stack: StackInfo, ls: LabelStudioSettings) -> None:
    store = _s3_store(stack)
    spec = _spec("transcription")
    write_demo_run(spec=spec, store=store, run_id="r1", items=1)
    client = LabelStudioClient(ls)
    project_id = client.ensure_project(title=project_title(spec), label_config=label_config(spec))
    client.ensure_s3_storage(project_id, bucket=store.bucket, prefix=store.prefix, s3=store.s3_settings)
    # The local S3 endpoint accepts any key; MinIO (docker-compose.yml) limits this one to media/* read.
    media_key = S3Settings(endpoint_url=stack.s3_endpoint, access_key="LABELSTUDIOMEDIA", secret_key="ls-media-secret",
                           region=stack.s3_region)
    res = push(spec=spec, store=store, run_id="r1", ls=dataclasses.replace(ls, media_s3=media_key))
    push(spec=spec, store=store, run_id="r1", ls=dataclasses.replace(ls, media_s3=media_key))
    # one storage, narrowed to the dataset's media; its key (which Label Studio never shows) is checked below
    storages = client.sdk.import_storage.s3.list(project=project_id)
    assert [s.prefix for s in storages] == [f"{store.prefix}/media/{spec.id}"]
    (ref,) = client.task_refs(res.project_id)
    resolved = str(client.sdk.tasks.get(id=ref.task_id).data["audio"])
    redirect = _get(ls, resolved)
    assert redirect.status_code in (302, 303)
    assert "X-Amz-Credential=LABELSTUDIOMEDIA" in redirect.headers["location"]
    assert stack.s3_access_key not in redirect.headers["location"]
    with pytest.raises(MediaScopeError, match=r"label\.media_key_is_pipeline_key"):
        push(spec=spec, store=store, run_id="r1", ls=dataclasses.replace(ls, media_s3=store.s3_settings))
