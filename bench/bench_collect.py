"""Collect + de-identify throughput on 100k text records and 2k images, against reading the same inputs raw.

Each phase runs in its own process so that its peak RSS is its own. Inputs are generated first (not timed):
Korean complaints with planted personal data (tests/unit/collect/pii_corpus.py), 2% exact and 2% near
copies; photographs cut from scikit-image's samples (some with a face), with copies and resized copies.

Run: .venv/bin/python bench/bench_collect.py [--texts 100000] [--images 2000]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _summary import ratio  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------------------------- inputs


def make_texts(path: Path, n: int) -> None:
    from tests.unit.collect.pii_corpus import pii_free, planted

    rng = random.Random(5)
    docs = [d.text for d in planted(n_per_kind=min(n // 8 + 1, 2500), seed=11)]
    free = pii_free(min(2 * n, 40_000), seed=13)
    bodies: list[str] = []
    for i in range(n):
        if i % 50 == 49:
            body = bodies[rng.randrange(len(bodies))]  # an exact copy
        elif i % 50 == 24:
            body = bodies[rng.randrange(len(bodies))].replace(" ", "  ") + " !"  # a near copy
        else:
            body = f"{rng.choice(free)} {rng.choice(docs)} {rng.choice(free)}"
        bodies.append(body)
    lines = [json.dumps({"id": f"c{i:06d}", "text": b}, ensure_ascii=False) for i, b in enumerate(bodies)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_images(folder: Path, n: int) -> None:
    import numpy as np
    from PIL import Image
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    sources = [np.asarray(Image.fromarray(getattr(data, name)()).convert("RGB").resize((512, 384)))
               for name in ("astronaut", "coffee", "chelsea", "rocket", "coins", "camera", "immunohistochemistry")]
    written: list[bytes] = []
    for i in range(n):
        if i % 50 == 49:
            data_ = written[int(rng.integers(len(written)))]  # exact copy
        elif i % 50 == 24:
            prev = Image.open(io.BytesIO(written[int(rng.integers(len(written)))]))
            buf = io.BytesIO()
            prev.resize((prev.width * 3 // 4, prev.height * 3 // 4)).save(buf, format="JPEG", quality=85)
            data_ = buf.getvalue()  # resized copy
        else:
            src = sources[i % len(sources)]
            y, x = int(rng.integers(0, 384 - 240)), int(rng.integers(0, 512 - 320))
            crop = src[y : y + 240, x : x + 320].astype(np.int16)
            crop = np.clip(crop + rng.integers(-25, 26, size=3) + rng.normal(0, 4, crop.shape), 0, 255)
            buf = io.BytesIO()
            Image.fromarray(crop.astype(np.uint8)).save(buf, format="JPEG", quality=90)
            data_ = buf.getvalue()
        written.append(data_)
        (folder / f"{i:05d}.jpg").write_bytes(data_)


# ----------------------------------------------------------------------------------------------- phases


def _spec(kind: str, inputs: Path) -> Any:
    from pipelines.spec import parse_spec
    from tests.unit.collect.specs import IMAGE, TEXT

    if kind == "text":
        return parse_spec({**TEXT, "modality": {**TEXT["modality"], "min_chars": 1},
                           "source": {"kind": "records", "path": str(inputs), "format": "jsonl", "id_column": "id"}})
    return parse_spec({**IMAGE, "modality": {**IMAGE["modality"], "min_width": 160, "min_height": 120},
                       "source": {"kind": "local", "root": str(inputs)}})


def phase_raw(kind: str, inputs: Path) -> dict[str, Any]:
    """The baseline: read every input (and decode it: JSON lines, JPEG pixels), nothing else."""
    from PIL import Image

    t0 = time.perf_counter()
    n = 0
    if kind == "text":
        with inputs.open(encoding="utf-8") as f:
            for line in f:
                n += bool(json.loads(line)["text"])
    else:
        for p in sorted(inputs.iterdir()):
            with Image.open(io.BytesIO(p.read_bytes())) as im:
                im.load()
            n += 1
    return {"items": n, "seconds": time.perf_counter() - t0, "peak_rss_mb": _rss_mb()}


def phase_libraries(inputs: Path) -> dict[str, Any]:
    """What the libraries cost alone, one process: each text's MinHash signature (numpy + datasketch) and one
    search by the spec's PII rule set (regexes + Kiwi), no storage, no re-check, no audit."""
    from pipelines.collect.dedupe import text_minhash
    from pipelines.pii import TextDeidentifier, spec_dictionaries

    spec = _spec("text", inputs)
    rules = TextDeidentifier(targets=spec.deidentify.targets, dictionaries=spec_dictionaries(spec))
    texts = [json.loads(line)["text"] for line in inputs.read_text(encoding="utf-8").splitlines()]
    text_minhash(texts[0]), rules.find(texts[0])  # imports and the analyser's model load are not timed
    c0 = time.process_time()
    for t in texts:
        text_minhash(t)
    c1 = time.process_time()
    for t in texts:
        rules.find(t)
    c2 = time.process_time()
    return {"items": len(texts), "minhash_cpu_s": c1 - c0, "rules_cpu_s": c2 - c1, "cpu_s": c2 - c0}


def _collect(kind: str, inputs: Path, storage: Path, shard: dict[str, int]) -> Any:
    from pipelines.collect import collect_shard
    from pipelines.storage import open_store

    return collect_shard(spec=_spec(kind, inputs), store=open_store(str(storage)), run_id="bench", shard=shard)


def _deidentify(kind: str, inputs: Path, storage: Path, shard: int) -> Any:
    from pipelines.collect import deidentify_shard
    from pipelines.storage import open_store

    return deidentify_shard(spec=_spec(kind, inputs), store=open_store(str(storage)), run_id="bench", shard=shard)


def phase_pipeline(kind: str, inputs: Path, storage: Path, workers: int) -> dict[str, Any]:
    """plan, then collect and de-identify the shards on ``workers`` processes (as mapped DAG tasks run)."""
    from concurrent.futures import ProcessPoolExecutor

    from pipelines.collect import plan_shards
    from pipelines.storage import open_store

    spec = _spec(kind, inputs)
    store = open_store(str(storage))
    t0 = time.perf_counter()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    shards = plan_shards(spec=spec, store=store, run_id="bench")
    t_plan = time.perf_counter()
    reasons: Counter[str] = Counter()
    masked: Counter[str] = Counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        collected = list(pool.map(_collect, *zip(*[(kind, inputs, storage, s) for s in shards], strict=True)))
        t_collect = time.perf_counter()
        deid = list(pool.map(_deidentify, *zip(*[(kind, inputs, storage, s["shard"]) for s in shards], strict=True)))
    t_end = time.perf_counter()
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool has exited: its processes' CPU time
    items_in = sum(c.items_in for c in collected)
    passed = sum(d.items_out for d in deid)
    for r in (*collected, *deid):
        reasons.update(r.reasons)
    for d in deid:
        masked.update(d.masked)
    assert items_in == passed + sum(reasons.values()), "counts do not reconcile"
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"items": items_in, "passed": passed, "reasons": dict(reasons), "masked": dict(masked),
            "shards": len(shards), "plan_s": t_plan - t0, "collect_s": t_collect - t_plan,
            "deidentify_s": t_end - t_collect, "seconds": t_end - t0, "peak_rss_mb": max(_rss_mb(), children),
            "worker_cpu_s": (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)}


def phase_false_positives() -> dict[str, Any]:
    from pipelines.collect.deid import TextDeidentifier, load_dictionary, resolve_dictionary
    from tests.unit.collect.pii_corpus import KINDS, pii_free, planted

    d = {k: load_dictionary(resolve_dictionary(f"dictionaries/{k}-ko.txt")) for k in ("names", "addresses")}
    deid = TextDeidentifier(targets=KINDS, dictionaries=d)
    texts = pii_free(20_000, seed=21)
    found = Counter(f.kind for t in texts for f in deid.find(t))
    with_any = sum(1 for t in texts if deid.find(t))
    docs = planted(100, seed=23)
    hit = sum(1 for doc in docs for kind, a, b in doc.spans
              if any(f.kind == kind and f.start <= a and f.end >= b for f in deid.find(doc.text)))
    return {"pii_free_sentences": len(texts), "sentences_with_a_finding": with_any, "findings_by_kind": dict(found),
            "planted": len(docs), "recalled_whole_and_typed": hit}


def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=100_000)
    ap.add_argument("--images", type=int, default=2_000)
    ap.add_argument("--phase", choices=["raw", "pipeline", "fp", "libs"])
    ap.add_argument("--kind", choices=["text", "image"])
    ap.add_argument("--inputs", type=Path)
    ap.add_argument("--storage", type=Path)
    ap.add_argument("--workers", type=int, default=2, help="processes running shards (the DAG's mapped tasks)")
    a = ap.parse_args()
    if a.phase == "raw":
        print(json.dumps(phase_raw(a.kind, a.inputs)))
        return
    if a.phase == "pipeline":
        print(json.dumps(phase_pipeline(a.kind, a.inputs, a.storage, a.workers)))
        return
    if a.phase == "libs":
        print(json.dumps(phase_libraries(a.inputs)))
        return
    if a.phase == "fp":
        print(json.dumps(phase_false_positives()))
        return

    with tempfile.TemporaryDirectory(prefix="bench-collect-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        make_texts(work / "texts.jsonl", a.texts)
        make_images(work / "images", a.images)
        print(f"inputs generated in {time.perf_counter() - t0:.1f}s: {a.texts} text records "
              f"({(work / 'texts.jsonl').stat().st_size / 1e6:.1f} MB), {a.images} JPEGs 320x240")
        for kind, inputs in (("text", work / "texts.jsonl"), ("image", work / "images")):
            raw = _child(["--phase", "raw", "--kind", kind, "--inputs", str(inputs)])
            run = _child(["--phase", "pipeline", "--kind", kind, "--inputs", str(inputs),
                          "--storage", str(work / f"store-{kind}"), "--workers", str(a.workers)])
            print(f"\n{kind}: {run['items']} items in {run['shards']} shards; {run['passed']} passed; "
                  f"quarantined {run['reasons']}; masked {run['masked']}")
            print(f"  raw read+decode : {raw['seconds']:8.2f}s  {raw['items'] / raw['seconds']:10.0f} items/s"
                  f"  peak RSS {raw['peak_rss_mb']:.0f} MB")
            print(f"  collect+deid    : {run['seconds']:8.2f}s  {run['items'] / run['seconds']:10.0f} items/s"
                  f"  peak RSS {run['peak_rss_mb']:.0f} MB per process  ({a.workers} workers; plan "
                  f"{run['plan_s']:.1f}s, collect {run['collect_s']:.1f}s, deidentify {run['deidentify_s']:.1f}s)")
            print(f"  ratio           : {run['seconds'] / raw['seconds']:.1f}x the raw read (wall clock), "
                  f"{run['seconds'] * a.workers / raw['seconds']:.1f}x in CPU-time terms")
            if run["items"]:
                ratio(f"{kind} collect+deid / raw read+decode (wall clock)", run["seconds"] / raw["seconds"],
                      detail=f"{run['items'] / run['seconds']:,.0f} items/s on {a.workers} workers")
            if kind == "text" and run["items"]:
                libs = _child(["--phase", "libs", "--inputs", str(inputs)])
                per_process = run["items"] / run["worker_cpu_s"]  # items per CPU-second: one process's rate
                floor = libs["items"] / libs["cpu_s"]
                print(f"  libraries alone : MinHash {libs['items'] / libs['minhash_cpu_s']:10.0f} items/s, PII rule "
                      f"set one pass {libs['items'] / libs['rules_cpu_s']:10.0f} items/s, both "
                      f"{floor:10.0f} items/s (CPU time, one process)")
                print(f"  per process     : {per_process:10.0f} items/s (items / the workers' CPU seconds, imports "
                      f"and model load included); goal >= 10,000")
                ratio("text collect+deid, per process / MinHash + PII rules alone", floor / per_process,
                      detail=f"{per_process:,.0f} items/s per process (goal >= 10,000); libraries alone {floor:,.0f}")
        fp = _child(["--phase", "fp"])
        print(f"\ntext PII rules: {fp['recalled_whole_and_typed']}/{fp['planted']} planted instances recalled whole "
              f"and typed; false positives on PII-free Korean text: {fp['sentences_with_a_finding']} of "
              f"{fp['pii_free_sentences']} sentences "
              f"({fp['sentences_with_a_finding'] / fp['pii_free_sentences']:.2%}), by kind {fp['findings_by_kind']}")


if __name__ == "__main__":
    main()
