"""Cross-run dedupe against a dataset's history: what one collect shard holds, against an index of everything.

A dataset collected over many runs keeps each run's signatures in ``state/<ds>/collected/``. A new shard looks for
duplicates of its items there. ``other_runs_matches`` reads the history one state file at a time and keeps only
the rows sharing a content hash, a pHash chunk or a MinHash band with the shard's items. The baseline, measured in
the same run, is what collect used to do: put every kept row of the history into one in-memory index.

History rows have random MinHash signatures: realistic for distinct texts, whose bands rarely collide. Each phase
runs in its own process, so its peak RSS is its own (Arrow's buffers included, which tracemalloc would not see).

Run: .venv/bin/python bench/bench_dedupe_history.py [--runs 10] [--rows-per-run 20000] [--shard 500]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _summary import ratio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _history(root: str, runs: int, per: int) -> None:
    import numpy as np
    import pyarrow as pa

    from pipelines.collect.dedupe import STATE_SCHEMA
    from pipelines.storage import layout, open_store

    store = open_store(root)
    rng = np.random.default_rng(1)
    for r in range(runs):
        minhash = rng.integers(0, 2**32, size=(per, 128), dtype=np.uint32)
        table = pa.table({
            "item_id": [f"r{r}-{i}" for i in range(per)],
            "source_uri": [f"mem://{r}/{i}" for i in range(per)],
            "run_id": [f"r{r:04d}"] * per,
            "shard": pa.array([0] * per, pa.int32()),
            "position": pa.array(range(per), pa.int64()),
            "outcome": pa.array([None] * per, pa.string()),
            "content_sha256": [hashlib.sha256(f"{r}-{i}".encode()).hexdigest() for i in range(per)],
            "phash": pa.array([None] * per, pa.binary()),
            "minhash": pa.array([m.tobytes() for m in minhash], pa.binary()),
            "fingerprint": pa.array([None] * per, pa.string()),
        }).cast(STATE_SCHEMA)
        store.write_table(layout.collected_part("bench", f"r{r:04d}", 0), table)


def _phase(root: str, mode: str, shard: int) -> dict[str, float]:
    import numpy as np
    import pyarrow as pa

    from pipelines.collect.dedupe import DedupeIndex, other_runs_matches
    from pipelines.storage import layout, open_store

    store = open_store(root)
    rng = np.random.default_rng(2)
    minhash = rng.integers(0, 2**32, size=(shard, 128), dtype=np.uint32)
    candidates = pa.table({"content_sha256": pa.array([None] * shard, pa.string()),
                           "phash": pa.array([None] * shard, pa.binary()),
                           "minhash": pa.array([m.tobytes() for m in minhash], pa.binary())})
    t0 = time.perf_counter()
    if mode == "bounded":
        index = other_runs_matches(store, "bench", run_id="new", candidates=candidates)
    else:
        index = DedupeIndex()
        for key in sorted(o.key for o in store.list(layout.collected("bench"))):
            for row in store.read_table(key).to_pylist():
                index.add(row["item_id"], sha=row["content_sha256"], phash=row["phash"], minhash=row["minhash"])
    for i, m in enumerate(minhash):
        index.find(f"new-{i}", sha=None, minhash=m.tobytes())
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rss_mb": rss, "held": float(len(index))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rows-per-run", type=int, default=20_000)
    ap.add_argument("--shard", type=int, default=500)
    ap.add_argument("--phase", choices=["bounded", "full"], help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(_phase(args.root, args.phase, args.shard)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-dedupe-") as tmp:
        root = str(Path(tmp) / "store")
        _history(root, args.runs, args.rows_per_run)
        out = {}
        for phase in ("bounded", "full"):
            proc = subprocess.run([sys.executable, __file__, "--phase", phase, "--root", root,
                                   "--shard", str(args.shard)], check=True, capture_output=True, text=True)
            out[phase] = json.loads(proc.stdout.strip().splitlines()[-1])
    history = args.runs * args.rows_per_run
    b, f = out["bounded"], out["full"]
    print(f"history {history} rows in {args.runs} runs; a shard of {args.shard} new items looked up")
    print(f"  bounded (other_runs_matches): {b['seconds']:6.2f} s  peak RSS {b['rss_mb']:7.1f} MB  "
          f"rows held {int(b['held'])}")
    print(f"  baseline (whole history in one index): {f['seconds']:6.2f} s  peak RSS {f['rss_mb']:7.1f} MB  "
          f"rows held {int(f['held'])}")
    print(f"  ratio bounded/baseline: time {b['seconds'] / f['seconds']:.3f}x, "
          f"peak RSS {b['rss_mb'] / f['rss_mb']:.3f}x")
    ratio("dedupe history lookup, bounded / whole-history index (time)", b["seconds"] / f["seconds"],
          detail=f"peak RSS {b['rss_mb'] / f['rss_mb']:.2f}x")


if __name__ == "__main__":
    main()
