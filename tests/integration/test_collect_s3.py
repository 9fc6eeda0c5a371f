"""collect -> deidentify on a real S3 endpoint (the local stack's): originals, media, manifests as objects."""

from __future__ import annotations

import hashlib
import json

import pytest

from pipelines.collect import collect_shard, deidentify_shard, plan_shards
from pipelines.storage import ObjectStore, layout
from tests.unit.collect.specs import AUDIO, IMAGE, TEXT, make

pytestmark = pytest.mark.integration
RUN = "manual__2026-11-23T00:00:00+00:00"


@pytest.mark.parametrize("base", [IMAGE, TEXT, AUDIO], ids=["image-bbox", "text-classification", "audio-asr"])
def test_three_dataset_types_are_collected_and_deidentified_on_s3(base: dict, s3_store: ObjectStore) -> None:
    store = s3_store
    spec = make(base, source={"items": 20, "defect_rate": 0.2})
    shards = plan_shards(spec=spec, store=store, run_id=RUN)
    collected = [collect_shard(spec=spec, store=store, run_id=RUN, shard=s) for s in shards]
    deid = [deidentify_shard(spec=spec, store=store, run_id=RUN, shard=s["shard"]) for s in shards]
    assert sum(c.items_in for c in collected) == 20
    assert sum(c.items_out for c in collected) == sum(d.items_in for d in deid)
    assert all(d.items_in == d.items_out + d.quarantined for d in deid)
    assert sum(c.quarantined for c in collected) > 0  # the planted defects were caught

    rows = [r for d in deid for r in store.read_table(d.manifest_key).to_pylist()]
    assert rows
    for r in rows:
        audit = json.loads(r["deid"])
        assert audit["recheck"]["passed"]
        if spec.modality.kind == "text":
            assert r["media_key"] is None and r["text"]
            continue
        assert r["media_key"].startswith(f"media/{spec.id}/")
        body = store.boto.get_object(Bucket=store.bucket, Key=store._s3_key(r["media_key"]))["Body"].read()
        assert hashlib.sha256(body).hexdigest() == r["media_sha256"]
        assert store.exists(layout.restricted(spec.id, f"{r['original_sha256']}.{r['media_ext']}"))

    # a retry of every task changes nothing
    again = [collect_shard(spec=spec, store=store, run_id=RUN, shard=s) for s in shards]
    assert again == collected
    before = store.read_table(deid[0].manifest_key)
    assert deidentify_shard(spec=spec, store=store, run_id=RUN, shard=shards[0]["shard"]) == deid[0]
    assert store.read_table(deid[0].manifest_key).equals(before)


def _png(seed: int) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_an_s3_prefix_is_collected_incrementally_with_the_store_settings(s3_store: ObjectStore) -> None:
    """Objects under s3://bucket/<prefix>/ of the stack's S3 endpoint; a second run takes only new objects."""
    from pipelines.collect import reasons as R
    from pipelines.spec import parse_spec

    store = s3_store
    src = f"{store.prefix}-inbox"
    put = store.boto.put_object
    put(Bucket=store.bucket, Key=f"{src}/plot1/a.png", Body=_png(1))
    put(Bucket=store.bucket, Key=f"{src}/plot1/b.png", Body=_png(2))
    put(Bucket=store.bucket, Key=f"{src}/plot2/", Body=b"")  # a folder marker, not an item
    put(Bucket=store.bucket, Key=f"{src}/plot2/broken.png", Body=_png(3)[:500])
    put(Bucket=store.bucket, Key=f"{src}-other/c.png", Body=_png(4))  # same prefix string, another folder
    try:
        spec = parse_spec({**IMAGE, "source": {"kind": "s3", "uri": f"s3://{store.bucket}/{src}"}})
        [shard] = plan_shards(spec=spec, store=store, run_id="r1")
        res = collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
        assert (res.items_in, res.items_out, res.reasons) == (3, 2, {R.MEDIA_TRUNCATED: 1})
        rows = store.read_table(res.manifest_key).to_pylist()
        assert [r["source_uri"] for r in rows] == [f"s3://{store.bucket}/{src}/plot1/a.png",
                                                   f"s3://{store.bucket}/{src}/plot1/b.png"]
        assert all(r["collector"].startswith("datadam-s3/") for r in rows)

        put(Bucket=store.bucket, Key=f"{src}/plot2/d.png", Body=_png(5))
        [shard] = plan_shards(spec=spec, store=store, run_id="r2")
        again = collect_shard(spec=spec, store=store, run_id="r2", shard=shard)
        assert (again.items_in, again.items_out) == (1, 1)
        [row] = store.read_table(again.manifest_key).to_pylist()
        assert row["source_uri"].endswith("/plot2/d.png")
    finally:  # the source objects live beside the store's prefix, so the fixture does not remove them
        for page in store.boto.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=src):
            for obj in page.get("Contents", []):
                store.boto.delete_object(Bucket=store.bucket, Key=obj["Key"])
