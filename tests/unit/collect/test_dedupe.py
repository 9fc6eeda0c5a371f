"""Near-duplicates: perceptual hashes for images, MinHash for text, across shards and runs, never silent."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image, ImageEnhance
from skimage import data as skimage_data

from pipelines.collect import collect_shard, deidentify_shard, plan_shards
from pipelines.collect import reasons as R
from pipelines.collect.dedupe import (
    STATE_SCHEMA,
    DedupeIndex,
    image_phash,
    jaccard,
    other_runs_matches,
    phash_distance,
    text_minhash,
)
from pipelines.collect.sources import make_item_id
from pipelines.spec import parse_spec
from pipelines.storage import layout, open_store
from pipelines.storage.store import ObjectStore
from tests.unit.collect.specs import IMAGE, TEXT, make

pytestmark = pytest.mark.unit

COMPLAINT = "서울 마포구 망원동 골목에 불법 주차된 차량 때문에 아침마다 아이들 통학길이 막힙니다. 단속을 부탁드립니다."
OTHER = "공원 화장실이 며칠째 청소되지 않아 냄새가 심하고 휴지도 없습니다. 관리 상태를 확인해 주세요."


def _encode(im: Image.Image, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def test_copies_of_a_photograph_hash_close_and_other_photographs_far() -> None:
    astronaut = Image.fromarray(skimage_data.astronaut())
    h = image_phash(astronaut)
    copies = [
        _open(_encode(astronaut, "JPEG")),
        astronaut.resize((256, 256)),
        ImageEnhance.Brightness(astronaut).enhance(1.1),
        astronaut.convert("L"),
    ]
    assert all(phash_distance(h, image_phash(c)) <= 4 for c in copies)
    for other in ("coffee", "chelsea", "rocket", "camera"):
        assert phash_distance(h, image_phash(Image.fromarray(getattr(skimage_data, other)()))) > 40


def test_reworded_spacing_and_punctuation_are_near_duplicates_other_texts_are_not() -> None:
    a = text_minhash(COMPLAINT)
    assert jaccard(a, text_minhash(COMPLAINT.replace(" ", "  ").replace(".", "!!"))) == 1.0
    assert jaccard(a, text_minhash(COMPLAINT.replace("부탁드립니다", "부탁합니다"))) >= 0.8
    assert jaccard(a, text_minhash(COMPLAINT + " 감사합니다.")) >= 0.8
    # swapping a phrase of a short complaint makes another complaint (templates differ like this too)
    assert jaccard(a, text_minhash(COMPLAINT.replace("아침마다", "매일 아침"))) < 0.8
    assert jaccard(a, text_minhash(OTHER)) < 0.1
    index = DedupeIndex()
    index.add("kept", sha="s1", minhash=a)
    dup = index.find("new", sha="s2", minhash=text_minhash(COMPLAINT + " "))
    assert dup is not None and (dup.reason, dup.kept_id) == (R.DEDUPE_NEAR, "kept")
    assert index.find("kept", sha="s1", minhash=a) is None  # the same item seen again is not its own duplicate
    assert index.find("other", sha="s3", minhash=text_minhash(OTHER)) is None


def _records(tmp_path: Path, texts: list[str], name: str = "texts.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps({"id": f"t{i}", "text": t}, ensure_ascii=False)
                              for i, t in enumerate(texts)), "utf-8")
    return path


def _text_spec(path: Path) -> Any:
    return parse_spec({**TEXT, "source": {"kind": "records", "path": str(path), "format": "jsonl",
                                          "id_column": "id"}})


def test_near_duplicate_text_in_a_shard_is_quarantined_naming_the_kept_item(tmp_path: Path) -> None:
    path = _records(tmp_path, [COMPLAINT, OTHER, COMPLAINT.replace(" ", "") + "!!", OTHER])
    spec = _text_spec(path)
    store = open_store(str(tmp_path / "store"))
    [shard] = plan_shards(spec=spec, store=store, run_id="r1")
    res = collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
    assert res.reasons == {R.DEDUPE_NEAR: 1, R.DEDUPE_EXACT: 1}
    q = {r["source_uri"].rsplit("#", 1)[1]: r for r in store.read_table(res.quarantine_key).to_pylist()}
    uri = path.absolute().as_uri()
    assert f"near-duplicate of item {make_item_id(spec.id, uri + '#t0')}" in q["t2"]["detail"]
    assert f"same content as item {make_item_id(spec.id, uri + '#t1')}" in q["t3"]["detail"]
    state = store.read_table(layout.collected_part(spec.id, "r1", 0)).to_pylist()
    assert [s["outcome"] for s in state] == [None, None, R.DEDUPE_NEAR, R.DEDUPE_EXACT]


def test_duplicates_across_shards_are_caught_by_deidentify_in_run_order(tmp_path: Path) -> None:
    path = _records(tmp_path, [COMPLAINT, OTHER, COMPLAINT + " 감사합니다.", OTHER + "!"])
    spec = _text_spec(path)
    store = open_store(str(tmp_path / "store"))
    plan_shards(spec=spec, store=store, run_id="r1")
    shards = [{"shard": 0, "start": 0, "count": 2}, {"shard": 1, "start": 2, "count": 2}]
    for s in reversed(shards):  # shards finish in any order
        assert collect_shard(spec=spec, store=store, run_id="r1", shard=s).quarantined == 0
    d1 = deidentify_shard(spec=spec, store=store, run_id="r1", shard=1)
    d0 = deidentify_shard(spec=spec, store=store, run_id="r1", shard=0)
    assert (d0.items_out, d0.quarantined) == (2, 0)
    assert (d1.items_out, d1.quarantined, d1.reasons) == (0, 2, {R.DEDUPE_NEAR: 2})
    for q in store.read_table(d1.quarantine_key).to_pylist():
        assert q["stage"] == "deidentify" and "lower shard" in q["detail"]
    dropped = store.read_table(layout.collected_dropped(spec.id, "r1", 1)).column("item_id").to_pylist()
    assert sorted(dropped) == sorted(q["item_id"] for q in store.read_table(d1.quarantine_key).to_pylist())


def test_an_item_near_a_kept_item_of_an_earlier_run_is_quarantined(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    root = tmp_path / "photos"
    root.mkdir()
    astronaut = Image.fromarray(skimage_data.astronaut())
    (root / "a.jpg").write_bytes(_encode(astronaut))
    spec = parse_spec({**IMAGE, "source": {"kind": "local", "root": str(root)},
                       "modality": {**IMAGE["modality"], "min_width": 200, "min_height": 200}})
    [s] = plan_shards(spec=spec, store=store, run_id="r1")
    assert collect_shard(spec=spec, store=store, run_id="r1", shard=s).items_out == 1
    (root / "b.png").write_bytes(_encode(astronaut.resize((300, 300)), "PNG"))  # delivered again, smaller
    (root / "c.jpg").write_bytes(_encode(Image.fromarray(skimage_data.coffee())))
    [s] = plan_shards(spec=spec, store=store, run_id="r2")
    res = collect_shard(spec=spec, store=store, run_id="r2", shard=s)
    assert (res.items_in, res.items_out, res.reasons) == (2, 1, {R.DEDUPE_NEAR: 1})
    [q] = store.read_table(res.quarantine_key).to_pylist()
    assert q["source_uri"].endswith("b.png")
    assert make_item_id(spec.id, (root / "a.jpg").as_uri()) in q["detail"]


def _all_reasons(spec: Any, store: ObjectStore, run: str) -> dict[str, int]:
    reasons: dict[str, int] = {}
    for s in plan_shards(spec=spec, store=store, run_id=run):
        for k, v in collect_shard(spec=spec, store=store, run_id=run, shard=s).reasons.items():
            reasons[k] = reasons.get(k, 0) + v
    return reasons


@pytest.mark.parametrize(("base", "items"), [(TEXT, 400), (IMAGE, 120)], ids=["text", "image"])
def test_distinct_synthetic_items_are_not_taken_for_near_duplicates(base: dict, items: int, tmp_path: Path) -> None:
    """Template texts and shapes on gradients look alike; they must still pass (and re-runs too)."""
    store = open_store(str(tmp_path))
    spec = make(base, source={"items": items})
    assert _all_reasons(spec, store, "r1") == {}
    assert _all_reasons(spec, store, "r2") == {}  # the same synthetic items again: the same ids, no duplicates


def test_signatures_are_stored_for_later_runs(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(IMAGE, source={"items": 6})
    [s] = plan_shards(spec=spec, store=store, run_id="r1")
    collect_shard(spec=spec, store=store, run_id="r1", shard=s)
    state = store.read_table(layout.collected_part(spec.id, "r1", 0)).to_pylist()
    assert len(state) == 6 and all(len(r["phash"]) == 32 and r["content_sha256"] for r in state)
    assert np.all([r["minhash"] is None for r in state])


def _history(store: ObjectStore, dataset: str, texts: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Write other runs' collect state for ``texts`` (run -> texts, one shard each); return the kept rows."""
    kept = []
    for run, run_texts in texts.items():
        rows = [{"item_id": f"{run}-{i}", "source_uri": f"mem://{run}/{i}", "run_id": run, "shard": 0,
                 "position": i, "outcome": None, "content_sha256": hashlib.sha256(t.encode()).hexdigest(),
                 "phash": None, "minhash": text_minhash(t),
                 "fingerprint": None} for i, t in enumerate(run_texts)]
        store.write_table(layout.collected_part(dataset, run, 0), pa.Table.from_pylist(rows, schema=STATE_SCHEMA))
        kept += rows
    return kept


def test_cross_run_lookup_finds_what_a_full_index_finds_and_keeps_only_rows_sharing_a_bucket(tmp_path: Path) -> None:
    """Memory follows the shard: of a 3-run history only rows that share a hash or band with a candidate are held."""
    store = open_store(str(tmp_path))
    rng = np.random.default_rng(7)
    words = ["민원", "주차", "단속", "공원", "청소", "소음", "도로", "가로등", "버스", "정류장", "쓰레기", "안전"]

    def sentence() -> str:
        return " ".join(rng.choice(words, size=14)) + f" {int(rng.integers(10**6))}번"

    history = {run: [sentence() for _ in range(300)] for run in ("r0", "r1", "r2")}
    kept = _history(store, "ds", history)
    # Candidates: reworded copies of some history items, exact copies, and new texts.
    picks = [history["r1"][5], history["r0"][77], history["r2"][299]]
    texts = [picks[0].replace(" ", "  ") + "!", picks[1] + " 감사합니다", picks[2]] + [sentence() for _ in range(40)]
    sigs = [{"sha": None, "phash": None, "minhash": text_minhash(t)} for t in texts]
    candidates = pa.table({"content_sha256": pa.array([None] * len(texts), pa.string()),
                           "phash": pa.array([None] * len(texts), pa.binary()),
                           "minhash": pa.array([s["minhash"] for s in sigs], pa.binary())})
    bounded = other_runs_matches(store, "ds", run_id="new", candidates=candidates)
    full = DedupeIndex()
    for row in sorted(kept, key=lambda r: (r["run_id"], r["position"])):
        full.add(row["item_id"], sha=row["content_sha256"], phash=row["phash"], minhash=row["minhash"])
    found = [bounded.find(f"c{i}", **s) for i, s in enumerate(sigs)]
    assert found == [full.find(f"c{i}", **s) for i, s in enumerate(sigs)]
    assert [d.kept_id if d else None for d in found[:3]] == ["r1-5", "r0-77", "r2-299"]
    assert all(d is None for d in found[3:])
    assert 3 <= len(bounded) < 0.1 * len(kept)
