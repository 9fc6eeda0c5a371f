"""validate -> gate -> publish -> open_dataset on a real S3 endpoint (the local stack's)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from pipelines.publish import open_dataset, publish
from pipelines.stack import StackInfo
from pipelines.storage import ObjectStore
from pipelines.validate import gate, validate
from tests.unit.validate import factories as f

pytestmark = pytest.mark.integration


def test_an_image_dataset_is_validated_and_released_on_s3(
    s3_store: ObjectStore, stack: StackInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = s3_store
    spec = f.bbox_spec()
    run_id = "manual__2026-11-23T00:00:00+00:00"  # an Airflow run id: ':' and '+' become '_' in keys
    run = f.bbox_run(store, spec, run_id=run_id, n=60, plots=20)
    run.write(store)

    res = validate(spec=spec, store=store, run_id=run_id)
    assert res.success, res.checks_failed
    assert store.exists(res.docs_key) and store.exists(res.report_key)
    assert "구문 정확성" in store.read_text(res.report_key)
    assert gate(spec=spec, store=store, run_id=run_id).status == "approved"

    rel = publish(spec=spec, store=store, run_id=run_id)
    assert (rel.version, rel.created, rel.rows) == ("1.0", True, 60)

    manifest = store.read_json(rel.manifest_key)
    for entry in manifest["files"]:  # the moved objects are exactly what the manifest describes
        raw = store.read_bytes(f"{rel.prefix}/{entry['key']}")
        assert (len(raw), hashlib.sha256(raw).hexdigest()) == (entry["size"], entry["sha256"])
    assert store.read_pointer("releases/crop-disease-test/LATEST") == "1.0"
    assert store.list("releases/crop-disease-test/.staging") == []

    again = publish(spec=spec, store=store, run_id=run_id)
    assert not again.created and again.version == "1.0"

    table = open_dataset(spec.id, storage=store).to_table()
    assert table.num_rows == 60
    assert sorted(table.column("item_id").to_pylist()) == sorted(r["item_id"] for r in run.rows)
    sha_of = {r["item_id"]: r["media"]["sha256"] for r in run.rows}
    for row in table.select(["item_id", "image"]).to_pylist():
        assert hashlib.sha256(row["image"]["bytes"]).hexdigest() == sha_of[row["item_id"]]

    # a developer with only the storage URI and the standard AWS variables
    for key, value in stack.s3_env().items():
        monkeypatch.setenv(key, value)
    df = open_dataset(spec.id, split="train", storage=store.root).to_table().to_pandas()
    assert len(df) == manifest["rows"]["train"] and set(df["split"]) == {"train"}


def test_large_parts_go_up_and_move_as_multipart_transfers(s3_store: ObjectStore, s3_client: Any) -> None:
    import io
    import math
    import os

    from PIL import Image

    from pipelines.publish import Transfer
    from pipelines.storage import layout

    store = s3_store
    spec = f.bbox_spec()
    run = f.bbox_run(store, spec, n=16, plots=1)  # one plot: every item in the same split, one big part
    for i, row in enumerate(run.rows):  # noise does not compress: ~0.8 MB per image
        buf = io.BytesIO()
        Image.frombytes("RGB", (512, 512), os.urandom(512 * 512 * 3)).save(buf, format="PNG")
        data = buf.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        key = layout.media(spec.id, sha, "png")
        store.write_bytes(key, data)
        row["media"] = {"key": key, "sha256": sha, "ext": "png", "width": 512, "height": 512}
        row["item_id"] = f"noise-{i:03d}"
    run.write(store)
    assert validate(spec=spec, store=store, run_id="run-1", data_docs=False).success
    assert gate(spec=spec, store=store, run_id="run-1").status == "approved"

    chunk = 5 * 1024 * 1024  # S3's minimum part size
    rel = publish(spec=spec, store=store, run_id="run-1", transfer=Transfer(chunk_bytes=chunk, concurrency=4))

    manifest = store.read_json(rel.manifest_key)
    big = max(manifest["files"], key=lambda e: e["size"])
    assert big["size"] > 2 * chunk
    head = s3_client.head_object(Bucket=store.bucket, Key=f"{store.prefix}/{rel.prefix}/{big['key']}")
    # An S3 multipart ETag is "<md5 of part md5s>-<number of parts>": uploaded and copied in 5 MB parts.
    assert head["ETag"].strip('"').endswith(f"-{math.ceil(big['size'] / chunk)}"), head["ETag"]
    raw = store.read_bytes(f"{rel.prefix}/{big['key']}")
    assert hashlib.sha256(raw).hexdigest() == big["sha256"]
    assert store.list(f"{layout.release(spec.id)}/.staging") == []
