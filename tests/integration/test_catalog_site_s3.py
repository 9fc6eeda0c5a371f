"""catalog/index.json on the stack's S3 endpoint: conditional writes (If-Match / If-None-Match) keep every
concurrent publisher's entry; the site is written next to it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipelines.publish import publish, read_catalog, sync_dataset
from pipelines.storage import ObjectStore, layout
from pipelines.validate import gate, validate
from tests.unit.validate import factories as f

pytestmark = pytest.mark.integration


def test_the_endpoint_rejects_a_write_based_on_a_stale_etag(s3_store: ObjectStore, s3_client: Any) -> None:
    key = f"{s3_store.prefix}/catalog/probe.json"
    s3_client.put_object(Bucket=s3_store.bucket, Key=key, Body=b"1", IfNoneMatch="*")
    etag = s3_client.head_object(Bucket=s3_store.bucket, Key=key)["ETag"]
    s3_client.put_object(Bucket=s3_store.bucket, Key=key, Body=b"2", IfMatch=etag)
    with pytest.raises(ClientError) as stale:
        s3_client.put_object(Bucket=s3_store.bucket, Key=key, Body=b"3", IfMatch=etag)
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    with pytest.raises(ClientError):
        s3_client.put_object(Bucket=s3_store.bucket, Key=key, Body=b"4", IfNoneMatch="*")
    assert s3_client.get_object(Bucket=s3_store.bucket, Key=key)["Body"].read() == b"2"


def test_concurrent_catalog_updates_on_s3_lose_no_entry(s3_store: ObjectStore) -> None:
    store = s3_store
    spec = f.text_spec()
    f.text_run(spec).write(store)
    assert validate(spec=spec, store=store, run_id="run-1", data_docs=False).success
    assert gate(spec=spec, store=store, run_id="run-1").status == "approved"
    publish(spec=spec, store=store, run_id="run-1")
    for key in ("catalog/index.html", f"catalog/datasets/{spec.id}.html"):  # served as pages from the bucket
        head = store.boto.head_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}")
        assert head["ContentType"] == "text/html; charset=utf-8"

    names = [f"clone-{i:02d}" for i in range(16)]
    for name in names:  # the same release under other ids (server-side copies)
        for obj in store.list(layout.release(spec.id)):
            store.fs.copy_file(store.path(obj.key), store.path(name.join(obj.key.split(spec.id, 1))))
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(mine: list[str]) -> None:
        try:
            barrier.wait()
            for name in mine:
                sync_dataset(store, name)
        except BaseException as exc:  # surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(names[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    index = read_catalog(store)
    assert set(index["datasets"]) == {spec.id, *names}
    assert index["revision"] == 1 + len(names)
