"""Publish and download throughput, each against a baseline measured in the same run.

1. publish (gate checks, content hash, deterministic splits, zstd Parquet in reader-sized row groups, staging ->
   move, card, Croissant, manifest, LATEST, catalog and site) of N refined text records on a file:// root,
   against a plain ``pq.write_table`` (zstd) of the same rows to one local file (the goal's baseline), and beside
   it a second baseline that writes what the release holds: its split tables, at its row group size (3 files).
2. ``download`` (parallel, resumable, every file sha256-verified) of an image release on the stack's S3 endpoint,
   against raw boto3 ``download_file`` of the same objects with the same parallelism and no verification.

Run: .venv/bin/python bench/bench_publish.py [--rows 100000] [--repeat 5] [--images 48] [--skip-download]
(the S3 half starts or reuses the local stack: `datadam stack up`; ``--skip-download`` runs the publish half only).
The publish half repeats baseline and publish alternately (each publish into a fresh copy of the approved run's
root, so each is a first release) and reports the median ratio and its range: the machine is shared and noisy.
CPU time (``time.process_time``: this process, Arrow's threads included) is printed beside it; load changes it less.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
from _summary import ratio

from pipelines.publish import download, publish
from pipelines.storage import ObjectStore, S3Settings, layout, open_store
from pipelines.validate import gate, record_decision, validate
from tests.unit.validate import factories as f


def _approve(store: ObjectStore, run: f.Run) -> None:
    run.write(store)
    validate(spec=run.spec, store=store, run_id=run.run_id, data_docs=False)
    if gate(spec=run.spec, store=store, run_id=run.run_id).status != "approved":
        record_decision(store=store, dataset=run.spec.id, run_id=run.run_id, decision="approved", by="bench",
                        note="synthetic benchmark load")
        assert gate(spec=run.spec, store=store, run_id=run.run_id).status == "approved"


def bench_publish(rows: int, repeat: int, tmp: Path) -> None:
    prepared = tmp / "prepared"
    spec = f.text_spec()
    run = f.text_run(spec, n=rows)
    _approve(open_store(str(prepared)), run)
    records = open_store(str(prepared)).read_table(run.key)
    # A second baseline that writes what the release holds: its split tables (read back from an untimed warm-up
    # publish, release schema metadata included), each with pq.write_table at the release's row group size.
    shutil.copytree(prepared, tmp / "warm-up")
    warm = open_store(str(tmp / "warm-up"))
    manifest = warm.read_json(publish(spec=spec, store=warm, run_id=run.run_id).manifest_key)
    splits = {e["split"]: pq.read_table(warm.path(f"{layout.release(spec.id, manifest['version'])}/{e['key']}"))
              for e in manifest["files"]}
    rg_rows = manifest["row_groups"]["max_rows"]
    shutil.rmtree(tmp / "warm-up")

    bases, sames, pubs, cpu_bases, cpu_pubs = [], [], [], [], []
    for i in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        pq.write_table(records, str(tmp / "baseline.parquet"), compression="zstd")
        bases.append(time.perf_counter() - t0)
        cpu_bases.append(time.process_time() - c0)

        t0 = time.perf_counter()
        for name, table in splits.items():
            pq.write_table(table, str(tmp / f"same-{name}.parquet"), compression="zstd", row_group_size=rg_rows)
        sames.append(time.perf_counter() - t0)

        shutil.copytree(prepared, tmp / f"root-{i}")
        store = open_store(str(tmp / f"root-{i}"))
        t0, c0 = time.perf_counter(), time.process_time()
        res = publish(spec=spec, store=store, run_id=run.run_id)
        pubs.append(time.perf_counter() - t0)
        cpu_pubs.append(time.process_time() - c0)
        size = store.read_json(res.manifest_key)["bytes"]["total"]
        files = len(store.list(res.prefix + "/data"))
        shutil.rmtree(tmp / f"root-{i}")
    ratios = sorted(p / b for p, b in zip(pubs, bases, strict=True))
    t_base, t_pub, mid = statistics.median(bases), statistics.median(pubs), statistics.median(ratios)
    print(f"publish: {rows:,} text records, release {size / 1e6:.1f} MB in {files} files; median of {repeat} "
          "alternating runs [range]")
    print(f"  baseline  pq.write_table (zstd, one file): {t_base:7.3f} s  [{min(bases):.3f}-{max(bases):.3f}]")
    t_same = statistics.median(sames)
    print(f"  baseline2 pq.write_table of the release's {len(splits)} split tables ({rg_rows:,}-row groups): "
          f"{t_same:.3f} s  [{min(sames):.3f}-{max(sames):.3f}]")
    print(f"  datadam   publish (whole release):         {t_pub:7.3f} s  [{min(pubs):.3f}-{max(pubs):.3f}]"
          f"   ratio {mid:5.2f}x baseline [{ratios[0]:.2f}-{ratios[-1]:.2f}], "
          f"{statistics.median(p / s for p, s in zip(pubs, sames, strict=True)):.2f}x baseline2")
    c_base, c_pub = statistics.median(cpu_bases), statistics.median(cpu_pubs)
    print(f"  CPU time  baseline {c_base:.3f} s, publish {c_pub:.3f} s: {c_pub / c_base:5.2f}x (medians; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    ratio("publish / plain pq.write_table of the same rows", mid, goal=2.0,
          detail=f"{rows:,} rows: {t_pub:.2f} s vs {t_base:.2f} s, median of {repeat} (ratios "
                 f"{ratios[0]:.2f}-{ratios[-1]:.2f}; CPU {c_pub / c_base:.2f}x)")
    ratio("publish / pq.write_table of the release's own split tables", statistics.median(
        p / s for p, s in zip(pubs, sames, strict=True)), detail=f"{len(splits)} files, {rg_rows:,}-row groups: "
          f"{t_same:.2f} s, {t_same / t_base:.2f}x the plain write")


def _noise_png(seed: int) -> bytes:
    from PIL import Image

    rnd = hashlib.shake_256(seed.to_bytes(8, "big")).digest(384 * 384 * 3)
    buf = io.BytesIO()
    Image.frombytes("RGB", (384, 384), rnd).save(buf, format="PNG")
    return buf.getvalue()


def bench_download(images: int, tmp: Path) -> None:
    from pipelines.stack import up

    stack = up()
    settings = S3Settings(endpoint_url=stack.s3_endpoint, access_key=stack.s3_access_key,
                          secret_key=stack.s3_secret_key, region=stack.s3_region)
    store = ObjectStore(f"s3://{stack.s3_bucket}/bench-publish-{uuid.uuid4().hex[:8]}", s3=settings)
    store.ensure_bucket()
    try:
        spec = f.bbox_spec()
        run = f.bbox_run(store, spec, n=images, plots=max(1, images // 4))
        for i, row in enumerate(run.rows):
            data = _noise_png(i)
            sha = hashlib.sha256(data).hexdigest()
            key = layout.media(spec.id, sha, "png")
            store.write_bytes(key, data)
            row["media"] = {"key": key, "sha256": sha, "ext": "png", "width": 384, "height": 384}
        _approve(store, run)
        res = publish(spec=spec, store=store, run_id=run.run_id, part_bytes=4 * 1024 * 1024)
        manifest = store.read_json(res.manifest_key)
        keys = [f"{res.prefix}/{e['key']}" for e in [*manifest["files"], *manifest["documents"]]]
        total = sum(e["size"] for e in [*manifest["files"], *manifest["documents"]])
        workers = 4

        raw_dir = tmp / "raw"
        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda k: (raw_dir / k).parent.mkdir(parents=True, exist_ok=True)
                          or store.boto.download_file(store.bucket, f"{store.prefix}/{k}", str(raw_dir / k)), keys))
        t_raw = time.perf_counter() - t0

        t0 = time.perf_counter()
        got = download(dataset=spec.id, store=store, to=tmp / "dl", workers=workers)
        t_dl = time.perf_counter() - t0
        assert got.bytes == total and got.transferred == total
        print(f"download: {len(keys)} objects, {total / 1e6:.1f} MB from S3 ({stack.s3_endpoint}), {workers} workers")
        print(f"  baseline  boto3 download_file, no verify: {t_raw:7.3f} s  {total / t_raw / 1e6:8.1f} MB/s")
        print(f"  datadam   download + sha256 verify:       {t_dl:7.3f} s  {total / t_dl / 1e6:8.1f} MB/s"
              f"   ratio {t_dl / t_raw:5.2f}x baseline")
        ratio("download + verify / raw boto3 download", t_dl / t_raw, detail=f"{total / 1e6:.0f} MB")
    finally:
        for prefix in ("media", "runs", "releases", "catalog"):
            store.delete_prefix(prefix)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5, help="alternating baseline/publish runs (median reported)")
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--skip-download", action="store_true", help="publish half only (no S3 stack needed)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        bench_publish(args.rows, args.repeat, tmp)
        if not args.skip_download:
            bench_download(args.images, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
