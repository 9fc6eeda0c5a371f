"""Verification throughput and peak memory: datadam's streamed validation against GX on one whole pandas frame.

Both run in their own process on the same Parquet file of N refined text-classification records, so each one's
peak RSS is its own (``wait4``). The baseline is GX as one would use it without datadam: read the whole file,
build one pandas frame, validate the same row-level expectations once. Ours streams ``batch_rows`` records at a
time and also measures uniqueness, split leakage, shares and the other run-level characteristics, which the
baseline does not. A baseline that exceeds ``--baseline-mem-gb`` of RSS or ``--timeout`` seconds is stopped and
reported as such: on a shared machine a 10M-record frame may not fit.

Ours keeps no per-record state in Python: run-wide facts (duplicates, split ranks, leakage) are DuckDB queries under a
memory limit that spill to disk (docs/adr/0022-run-wide-checks-in-duckdb.md), so its peak RSS should be flat in N; the
last line compares the peaks of the sizes run.

Run: .venv/bin/python bench/bench_validate.py                  # 1M and 10M records
     .venv/bin/python bench/bench_validate.py --rows 200000    # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _summary import ratio  # noqa: E402

from pipelines.spec import DatasetSpec, parse_spec  # noqa: E402
from pipelines.storage import layout, open_store  # noqa: E402
from pipelines.storage.records import record_schema  # noqa: E402

RUN = "bench"
LABELS = ["교통·주차", "환경·위생", "건축·주택", "사회복지", "상하수도", "행정·기타"]
CHANNELS = ["국민신문고", "콜센터", "방문", "모바일 앱"]
CHUNK = 250_000


def bench_spec() -> DatasetSpec:
    return parse_spec({
        "id": "bench-complaints", "name": "민원 분류 벤치마크", "name_en": "Complaint classification benchmark",
        "field": "regional", "group": "reg-heritage-civic", "version": "1.0", "license": "CC-BY-4.0",
        "description": "Generated civil complaints for the validation benchmark; every value is synthetic.",
        "modality": {"kind": "text", "formats": ["jsonl"], "min_chars": 10, "max_chars": 4000},
        "annotation": {"type": "classification", "labels": LABELS, "overlap": 2, "overlap_share": 0.1,
                       "review_share": 0.05},
        "schema": {"thread_id": {"type": "string", "required": True, "pattern": "^T[0-9]{8}$"},
                   "channel": {"type": "enum", "values": CHANNELS, "required": True},
                   "age": {"type": "int", "min": 0, "max": 120}},
        "quality": {"semantic_accuracy": 0.9, "agreement": 0.7},
        "planned_shares": {"label": dict.fromkeys(LABELS, round(1 / 6, 6)) | {"행정·기타": 1 - 5 * round(1 / 6, 6)},
                           "channel": {"국민신문고": 0.4, "콜센터": 0.3, "방문": 0.1, "모바일 앱": 0.2}},
        "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "stratify_by": "label", "group_by": "thread_id"},
        "target_volume": 100_000_000,
    })


def generate(path: Path, rows: int) -> float:
    """Write ``rows`` refined records (about 60 Korean characters of text each) in chunks; returns seconds."""
    spec = bench_spec()
    schema = record_schema(spec)
    t0 = time.perf_counter()
    at = datetime(2026, 11, 1, tzinfo=UTC)
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema, compression="zstd") as w:
        for start in range(0, rows, CHUNK):
            idx = range(start, min(rows, start + CHUNK))
            cols: dict[str, Any] = {
                "item_id": [f"c{i:09d}" for i in idx],
                "text": [f"{i}번 민원입니다. {LABELS[i % 6]} 관련하여 불편 사항을 접수합니다. 처리 부탁드립니다."
                         for i in idx],
                "label": [LABELS[i % 6] for i in idx],
                "thread_id": [f"T{i // 20:08d}" for i in idx],
                "channel": [CHANNELS[(0, 0, 0, 0, 1, 1, 1, 2, 3, 3)[i % 10]] for i in idx],
                "age": [20 + i % 60 for i in idx],
                "qc_annotators": [[f"ann-{i % 7}"] for i in idx],
                "qc_n_annotations": [1 for _ in idx],
                "qc_agreement": [0.85 if i % 10 == 0 else None for i in idx],
                "qc_consensus": ["single" for _ in idx],
                "qc_review": ["accepted" if i % 20 == 0 else None for i in idx],
                "qc_gold": [False for _ in idx],
                "source_uri": [f"synthetic://c/{i}" for i in idx],
                "collected_at": [at for _ in idx],
                "license": ["CC-BY-4.0" for _ in idx],
            }
            w.write_table(pa.table({f.name: pa.array(cols.get(f.name, [None] * len(idx)), f.type) for f in schema},
                                   schema=schema))
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------------------- children


def child_ours(root: str, batch_rows: int | None) -> dict[str, Any]:
    import great_expectations  # noqa: F401  # imported before the clock starts, as in the baseline

    from pipelines.validate import validate

    t0 = time.perf_counter()
    res = validate(spec=bench_spec(), store=open_store(root), run_id=RUN, batch_rows=batch_rows or None,
                   data_docs=False, validity=False)
    return {"seconds": time.perf_counter() - t0, "success": res.success, "failed": res.checks_failed}


def child_whole(root: str) -> dict[str, Any]:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    from pipelines.validate._gx import _expectation
    from pipelines.validate.checks import plan_checks
    from pipelines.validate.frames import item_frame

    spec = bench_spec()
    store = open_store(root)
    t0 = time.perf_counter()
    table = pq.read_table(store.local_path(f"{layout.run(spec.id, RUN, 'refine')}/records.parquet"))
    batch = table.combine_chunks().to_batches(max_chunksize=max(1, table.num_rows))[0]
    frame = item_frame(batch, spec).to_pandas()
    del table, batch
    # The row-level checks of the same plan that run on the item frame, plus GX's own uniqueness check.
    checks = [c for c in plan_checks(spec, items=len(frame)) if c.frame == "items" and c.kind == "row"
              and not c.expectation.startswith("ExpectNo")]
    ctx = gx.get_context(mode="ephemeral")
    suite = gx.ExpectationSuite(name="whole")
    for c in checks:
        suite.add_expectation(_expectation(c))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="item_id"))
    bd = ctx.data_sources.add_pandas(name="w").add_dataframe_asset(name="items") \
        .add_batch_definition_whole_dataframe(name="all")
    res = bd.get_batch(batch_parameters={"dataframe": frame}).validate(suite, result_format="SUMMARY")
    return {"seconds": time.perf_counter() - t0, "success": bool(res.success), "expectations": len(checks) + 1}


def _run_child(kind: str, root: str, *, batch_rows: int, mem_limit: int, timeout: float) -> dict[str, Any]:
    """Run one side in its own process; its peak RSS from wait4; stopped past the memory or time limit."""
    cmd = [sys.executable, __file__, "--child", kind, "--root", root, "--batch-rows", str(batch_rows)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    stopped: list[str] = []

    def watch() -> None:
        t0 = time.monotonic()
        while proc.poll() is None:
            try:
                rss = int(next(line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                               if line.startswith("VmRSS:")).split()[1]) * 1024
            except (OSError, StopIteration):
                return
            if rss > mem_limit or time.monotonic() - t0 > timeout:
                stopped.append(f"RSS {rss / 2**30:.1f} GB > limit" if rss > mem_limit else f"> {timeout:.0f} s")
                proc.kill()
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    peak = usage.ru_maxrss * 1024
    if stopped or proc.returncode != 0:
        why = stopped[0] if stopped else f"exit {proc.returncode}: {err.strip().splitlines()[-1] if err else ''}"
        return {"ok": False, "why": why, "wall": wall, "peak_rss": peak}
    return {"ok": True, "wall": wall, "peak_rss": peak, **json.loads(out.strip().splitlines()[-1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--batch-rows", type=int, default=0, help="records per batch (0: validate sizes them by bytes)")
    ap.add_argument("--baseline-mem-gb", type=float, default=8.0)
    ap.add_argument("--timeout", type=float, default=1200.0)
    ap.add_argument("--child", choices=["ours", "whole"])
    ap.add_argument("--root")
    args = ap.parse_args()
    if args.child:
        result = child_ours(args.root, args.batch_rows) if args.child == "ours" else child_whole(args.root)
        print(json.dumps(result))
        return

    spec = bench_spec()
    gb = 2**30
    print(f"{'records':>11} | {'side':<26} | {'seconds':>8} | {'records/s':>10} | {'peak RSS':>9} | note")
    peaks: dict[int, int] = {}  # ours, per run size: each measured in its own fresh process
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
            root = str(Path(tmp) / "root")
            path = Path(root) / layout.run(spec.id, RUN, "refine") / "records.parquet"
            gen = generate(path, rows)
            size = path.stat().st_size
            ours = _run_child("ours", root, batch_rows=args.batch_rows, mem_limit=int(64 * gb), timeout=args.timeout)
            whole = _run_child("whole", root, batch_rows=args.batch_rows, mem_limit=int(args.baseline_mem_gb * gb),
                               timeout=args.timeout)
        print(f"{rows:>11,} | {'(generate ' + f'{size / 2**20:.0f} MB Parquet)':<26} | {gen:>8.1f} |")
        for name, r in (("datadam streamed", ours), ("GX whole pandas frame", whole)):
            if r["ok"]:
                print(f"{rows:>11,} | {name:<26} | {r['seconds']:>8.1f} | {rows / r['seconds']:>10,.0f} | "
                      f"{r['peak_rss'] / gb:>7.2f} GB | wall {r['wall']:.1f} s incl. imports; success={r['success']}")
            else:
                print(f"{rows:>11,} | {name:<26} | {'—':>8} | {'—':>10} | {r['peak_rss'] / gb:>7.2f} GB | "
                      f"did not finish: {r['why']}")
        if ours["ok"]:
            peaks[rows] = ours["peak_rss"]
        if ours["ok"] and whole["ok"]:
            print(f"{rows:>11,} | ratio ours / baseline      | time x{ours['seconds'] / whole['seconds']:.2f} | "
                  f"peak RSS x{ours['peak_rss'] / whole['peak_rss']:.2f}")
            ratio(f"validate {rows:,} records / GX on the whole frame (time)", ours["seconds"] / whole["seconds"],
                  goal=1.0, detail=f"peak RSS {ours['peak_rss'] / gb:.2f} GB vs {whole['peak_rss'] / gb:.2f} GB")
        elif ours["ok"]:
            print(f"{rows:>11,} | ratio: the whole-frame baseline did not finish at this size; ours did, in "
                  f"{ours['peak_rss'] / gb:.2f} GB")
        sys.stdout.flush()
    if len(peaks) > 1:
        small, large = min(peaks), max(peaks)
        grow = peaks[large] / peaks[small]
        print(f"peak RSS of datadam: {peaks[large] / gb:.2f} GB at {large:,} records / {peaks[small] / gb:.2f} GB at "
              f"{small:,} = x{grow:.2f} for x{large / small:.0f} the records (goal: flat, at most 1 GiB)")
        ratio(f"validate peak RSS, {large:,} / {small:,} records", grow, goal=None,
              detail=f"{peaks[large] / gb:.2f} GB at {large:,}; at most 1 GiB: {max(peaks.values()) <= gb}")


if __name__ == "__main__":
    main()
