"""Label Studio throughput on the local stack: importing tasks and pulling annotations.

1. Import: ``label_push`` of N de-identified text items (batched requests, idempotency listing, overlap
   updates) against ONE raw import request carrying the same N tasks (the fastest thing Label Studio offers,
   and the one that times out on big projects), both into fresh projects, in the same run.
2. Pull: ``label_pull`` (export snapshot, streamed parse, delta part, run annotations, QC) of M annotated tasks
   against listing the same tasks with their annotations through the SDK (``tasks.list(fields="all")``).

Run: .venv/bin/python bench/bench_label.py [--tasks 100000] [--annotated 20000]
Needs the local stack (``datadam stack up``). Projects it creates are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import uuid
from typing import Any

import httpx
from _summary import ratio

from pipelines.label import LabelStudioClient, LabelStudioSettings, label_config, pull, push
from pipelines.label.client import auth_headers
from pipelines.stack import up
from pipelines.storage import open_store
from sim.data import write_demo_run
from sim.specs import demo_spec


def _raw_import(ls: LabelStudioSettings, pid: int, tasks: list[dict[str, Any]]) -> float:
    body = json.dumps(tasks, ensure_ascii=False).encode()
    t0 = time.perf_counter()
    with httpx.Client(timeout=3600) as c:
        resp = c.post(f"{ls.url}/api/projects/{pid}/import", content=body,
                      headers={**auth_headers(ls, c), "Content-Type": "application/json"})
    dt = time.perf_counter() - t0
    if resp.status_code != 201:
        raise SystemExit(f"raw import failed: HTTP {resp.status_code} {resp.text[:300]}")
    return dt


def _same_tasks(spec: Any, store: Any) -> list[dict[str, Any]]:
    """The very tasks push imports (data, meta, keyword predictions), built by push's own helpers."""
    from pipelines.label.manifests import iter_rows
    from pipelines.label.predict import PredictItem, predict
    from pipelines.label.push import _COLUMNS, _task

    out: list[dict[str, Any]] = []
    for rows in iter_rows(store, spec.id, "r1", columns=_COLUMNS):
        preds = predict(spec=spec, store=store, items=[PredictItem(str(r["item_id"]), r.get("text")) for r in rows])
        for row, pred in zip(rows, preds, strict=True):
            task = _task(spec, row, None, gold=False)
            if pred is not None:
                task["predictions"] = [pred]
            out.append(task)
    return out


def bench_import(ls: LabelStudioSettings, n: int) -> None:
    spec = demo_spec("classification", spec_id=f"bench-push-{uuid.uuid4().hex[:8]}", items=n)
    client = LabelStudioClient(ls)
    with tempfile.TemporaryDirectory(prefix="bench-label-") as tmp:
        store = open_store(tmp)
        t0 = time.perf_counter()
        write_demo_run(spec=spec, store=store, run_id="r1", items=n, shards=4)
        print(f"wrote {n} items in {time.perf_counter() - t0:.1f} s")
        raw_pid = client.ensure_project(title=f"bench-raw-{uuid.uuid4().hex[:8]}", label_config=label_config(spec))
        try:
            t_raw = _raw_import(ls, raw_pid, _same_tasks(spec, store))
            t0 = time.perf_counter()
            res = push(spec=spec, store=store, run_id="r1", ls=ls)
            t_push = time.perf_counter() - t0
            assert res.tasks_created == n, res
            t0 = time.perf_counter()
            again = push(spec=spec, store=store, run_id="r1", ls=ls)
            t_again = time.perf_counter() - t0
            assert again.tasks_created == 0
        finally:
            for pid in (raw_pid, client.find_project(f"datadam:{spec.id}:{spec.version}")):
                if pid is not None:
                    client.sdk.projects.delete(id=pid)
    print(f"import {n} tasks")
    print(f"  baseline  one raw import request:   {t_raw:8.1f} s  {n / t_raw:8.0f} tasks/s (same tasks, predictions)")
    print(f"  datadam   label_push (batched):      {t_push:8.1f} s  {n / t_push:8.0f} tasks/s   "
          f"ratio {t_push / t_raw:5.2f}x the raw request's time")
    ratio("label_push / one raw import request", t_push / t_raw, detail=f"{n} tasks")
    print(f"  datadam   label_push re-run (no-op): {t_again:8.1f} s  (lists {n} tasks, imports nothing)")


def bench_pull(ls: LabelStudioSettings, m: int) -> None:
    spec = demo_spec("classification", spec_id=f"bench-pull-{uuid.uuid4().hex[:8]}", items=m)
    client = LabelStudioClient(ls)
    me = client.me()
    with tempfile.TemporaryDirectory(prefix="bench-label-") as tmp:
        store = open_store(tmp)
        ids = write_demo_run(spec=spec, store=store, run_id="r1", items=m, shards=4)
        pid = client.ensure_project(title=f"datadam:{spec.id}:{spec.version}", label_config=label_config(spec))
        try:
            # annotated tasks go in with their annotations inline: creating 20k annotations one request at a time
            # would take longer than the benchmark itself
            result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["긍정"]}}]
            tasks = [{"data": {"item_id": i, "text": "오늘 날씨가 좋네요"}, "meta": {"item_id": i, "overlap": 1},
                      # imported annotations default to ground truth in Label Studio: these are people's
                      "annotations": [{"result": result, "completed_by": me, "lead_time": 3.0,
                                       "ground_truth": False}]} for i in ids]
            t0 = time.perf_counter()
            client.import_tasks(pid, tasks)
            print(f"imported {m} annotated tasks in {time.perf_counter() - t0:.1f} s")
            time.sleep(6)  # past the pull cursor's overlap, so the second pull shows an incremental no-op
            t0 = time.perf_counter()
            res = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pid)
            t_pull = time.perf_counter() - t0
            if res.annotations != m:
                raise SystemExit(f"label_pull returned {res.annotations} annotations of {m}: {res}")
            t0 = time.perf_counter()
            listed = sum(len(t.annotations or []) for t in client.sdk.tasks.list(project=pid, fields="all",
                                                                                   page_size=100))
            t_sdk = time.perf_counter() - t0
            if listed != m:
                raise SystemExit(f"the SDK listed {listed} annotations of {m}")
            t0 = time.perf_counter()
            again = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pid)
            t_again = time.perf_counter() - t0
        finally:
            client.sdk.projects.delete(id=pid)
    print(f"pull {m} annotated tasks")
    print(f"  baseline  SDK tasks.list(fields=all): {t_sdk:8.1f} s  {m / t_sdk:8.0f} tasks/s")
    print(f"  datadam   label_pull (snapshot+QC):   {t_pull:8.1f} s  {m / t_pull:8.0f} tasks/s   "
          f"ratio {t_pull / t_sdk:5.2f}x the SDK listing's time")
    ratio("label_pull (snapshot + QC) / SDK full listing", t_pull / t_sdk, detail=f"{m} tasks")
    print(f"  datadam   label_pull, nothing changed: {t_again:7.1f} s  (incremental: {again.tasks_exported} tasks "
          f"exported)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--annotated", type=int, default=20_000)
    args = ap.parse_args()
    stack = up()
    ls = LabelStudioSettings(url=stack.ls_url, token=stack.ls_token, timeout_s=3600)
    if args.tasks:
        bench_import(ls, args.tasks)
    if args.annotated:
        bench_pull(ls, args.annotated)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
