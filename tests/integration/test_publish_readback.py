"""A release on the stack's S3 endpoint, downloaded and read back with the tools developers use: pyarrow,
pandas, DuckDB and Hugging Face ``datasets`` (offline); images and audio decode.

Hugging Face ``datasets`` 4+ decodes ``Audio`` through torchcodec (and torch), which this project does not
install: the audio test checks that ``datasets`` types the column as ``Audio`` from the release's schema
metadata, then reads it undecoded and decodes the bytes with the standard library's ``wave``.
"""

from __future__ import annotations

import hashlib
import io
import os
import wave
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipelines.publish import download, open_dataset, publish
from pipelines.storage import ObjectStore
from pipelines.validate import gate, validate
from tests.unit.validate import factories as f

pytestmark = pytest.mark.integration

# Offline: loading local Parquet must not touch the Hub (read by `datasets` at import, so set before it).
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"


def _release(store: ObjectStore, run: f.Run, tmp: Path) -> tuple[dict[str, Any], Path]:
    run.write(store)
    assert validate(spec=run.spec, store=store, run_id=run.run_id, data_docs=False).success
    assert gate(spec=run.spec, store=store, run_id=run.run_id).status == "approved"
    res = publish(spec=run.spec, store=store, run_id=run.run_id, row_group_rows=16)
    got = download(dataset=run.spec.id, store=store, to=tmp)
    return store.read_json(res.manifest_key), got.directory


def _files(local: Path, manifest: dict[str, Any], split: str) -> list[str]:
    return [str(local / e["key"]) for e in manifest["files"] if e["split"] == split]


def test_an_image_release_reads_in_pyarrow_pandas_duckdb_and_hugging_face(
        s3_store: ObjectStore, tmp_path: Path) -> None:
    import duckdb
    import pandas as pd
    from datasets import Image, load_dataset

    spec = f.bbox_spec()
    run = f.bbox_run(s3_store, spec, n=48, plots=16)
    manifest, local = _release(s3_store, run, tmp_path / "dl")
    src = {r["item_id"]: r for r in run.rows}
    rows = {s: manifest["rows"][s] for s in ("train", "validation", "test")}

    # pyarrow, straight from S3 through open_dataset, and from the local copy
    t = open_dataset(spec.id, storage=s3_store).to_table(columns=["item_id", "split"])
    assert Counter(t.column("split").to_pylist()) == +Counter(rows)
    assert pq.read_table(_files(local, manifest, "train")).num_rows == rows["train"]

    # pandas
    df = pd.read_parquet(local / "data" / "train")
    assert len(df) == rows["train"] and set(df["item_id"]) <= set(src)
    assert all(df["crop"].map(lambda c: c in ("고추", "배추")))

    # DuckDB: SQL over the downloaded files, and over the S3 release as an Arrow dataset
    con = duckdb.connect()
    per_split = dict(con.execute(
        f"select regexp_extract(filename, 'data/([a-z]+)/', 1) as split, count(*) "
        f"from read_parquet('{local}/data/*/*.parquet', filename=true) group by 1").fetchall())
    assert per_split == {k: v for k, v in rows.items() if v}
    boxes = con.execute(f"select sum(len(objects)) from read_parquet('{local}/data/*/*.parquet')").fetchall()
    assert boxes == [(2 * len(run.rows),)]
    arrow_ds = open_dataset(spec.id, split="train", storage=s3_store)
    con.register("train_ds", arrow_ds)
    assert con.execute("select count(*) from train_ds").fetchall() == [(rows["train"],)]

    # Hugging Face datasets, offline: Parquet files per split; the image column is an Image feature
    hf = load_dataset("parquet", data_files={s: _files(local, manifest, s) for s, n in rows.items() if n},
                      cache_dir=str(tmp_path / "hf-cache"))
    assert {s: hf[s].num_rows for s in hf} == {s: n for s, n in rows.items() if n}
    assert isinstance(hf["train"].features["image"], Image)
    for ex in hf["train"]:
        want = src[ex["item_id"]]["media"]
        assert ex["image"].size == (want["width"], want["height"])  # decoded to a PIL image
        assert ex["image"].mode == "RGB"
    # ... and the downloaded directory alone: the card's YAML configs tell `datasets` where each split is
    by_card = load_dataset(str(local), cache_dir=str(tmp_path / "hf-cache-2"))
    assert {s: by_card[s].num_rows for s in by_card} == {s: n for s, n in rows.items() if n}


def test_an_audio_release_decodes(s3_store: ObjectStore, tmp_path: Path) -> None:
    import duckdb
    import pandas as pd
    from datasets import Audio, load_dataset

    spec = f.audio_spec()
    run = f.audio_run(s3_store, spec, n=24)
    _, local = _release(s3_store, run, tmp_path / "dl")
    src = {r["item_id"]: r for r in run.rows}
    files = [str(p) for p in sorted((local / "data").rglob("*.parquet"))]

    hf = load_dataset("parquet", data_files={"train": files}, cache_dir=str(tmp_path / "hf-cache"))["train"]
    assert isinstance(hf.features["audio"], Audio)  # typed from the release's schema metadata
    raw = hf.cast_column("audio", Audio(decode=False))
    assert raw.num_rows == 24
    for ex in raw:
        data = ex["audio"]["bytes"]
        assert hashlib.sha256(data).hexdigest() == src[ex["item_id"]]["media"]["sha256"]
        with wave.open(io.BytesIO(data)) as w:
            assert w.getframerate() == 16000 and w.getnchannels() == 1
            assert abs(w.getnframes() / 16000 - src[ex["item_id"]]["media"]["duration_s"]) < 1e-3

    df = pd.read_parquet(files)
    assert sorted(df["item_id"]) == sorted(src) and df["segments"].map(len).sum() == 48
    got = duckdb.connect().execute(f"select count(distinct speaker_id) from read_parquet({files!r})").fetchall()
    assert got == [(6,)]
