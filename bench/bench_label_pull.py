"""``label_pull`` against Label Studio's own full JSON export of the same project, measured in the same run.

1. Full: the first ``label_pull`` of a project of N annotated tasks (export snapshot, streamed parse, delta part,
   the run's annotations, review queue, QC) against Label Studio's synchronous full JSON export of the same
   project (``GET /api/projects/<id>/export?exportType=JSON``, streamed to a file).
2. Incremental: C of the N tasks get their annotation changed (one PATCH each), then ``label_pull`` again: only
   what changed is exported, against the same full export.

Goals (issue 16): the full pull at least 0.9x the export's speed (time ratio <= 1.11); the incremental pull of
1,000 changed tasks in 20,000 at most 0.1x the full export's time.

Run: .venv/bin/python bench/bench_label_pull.py [--tasks 20000] [--changed 1000]
Needs the local stack (``datadam stack up``; ``DATADAM_HOME`` names it). The project is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _summary import ratio

from pipelines.label import LabelStudioClient, LabelStudioSettings, label_config, pull
from pipelines.label.client import auth_headers
from pipelines.label.pull import CURSOR_OVERLAP
from pipelines.stack import up
from pipelines.storage import open_store
from sim.data import write_demo_run
from sim.specs import demo_spec

CHOICES = ["긍정", "부정"]


def _full_export(ls: LabelStudioSettings, pid: int, dest: Path) -> float:
    """Label Studio's own full JSON export of the project, streamed to ``dest``; its wall time."""
    t0 = time.perf_counter()
    with httpx.Client(timeout=3600) as c, c.stream(
            "GET", f"{ls.url}/api/projects/{pid}/export", params={"exportType": "JSON"},
            headers=auth_headers(ls, c)) as resp:
        if resp.status_code != 200:
            raise SystemExit(f"export failed: HTTP {resp.status_code}")
        with dest.open("wb") as fh:
            for chunk in resp.iter_bytes(1 << 20):
                fh.write(chunk)
    return time.perf_counter() - t0


def _wait_for_annotations(ls: LabelStudioSettings, pid: int, n: int, timeout_s: float = 1800) -> None:
    """Until the project counts ``n`` annotations (Label Studio may finish a big import in the background)."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=120) as c:
        while True:
            got = c.get(f"{ls.url}/api/projects/{pid}/", headers=auth_headers(ls, c)).json()
            if int(got.get("total_annotations_number") or 0) >= n:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"project {pid} holds {got.get('total_annotations_number')} annotations of {n}")
            time.sleep(2)


def _load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=20_000)
    ap.add_argument("--changed", type=int, default=1_000)
    args = ap.parse_args()
    n, changed = args.tasks, min(args.changed, args.tasks)
    stack = up()
    ls = LabelStudioSettings(url=stack.ls_url, token=stack.ls_token, timeout_s=3600)
    spec = demo_spec("classification", spec_id=f"bench-lpull-{uuid.uuid4().hex[:8]}", items=n)
    client = LabelStudioClient(ls)
    me = client.me()
    with tempfile.TemporaryDirectory(prefix="bench-label-pull-") as tmp:
        store = open_store(str(Path(tmp) / "root"))
        ids = write_demo_run(spec=spec, store=store, run_id="r1", items=n, shards=4)
        pid = client.ensure_project(title=f"datadam:{spec.id}:{spec.version}", label_config=label_config(spec))
        try:
            result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [CHOICES[0]]}}]
            tasks = [{"data": {"item_id": i, "text": "오늘 날씨가 좋네요"}, "meta": {"item_id": i, "overlap": 1},
                      # imported annotations default to ground truth in Label Studio: these are people's
                      "annotations": [{"result": result, "completed_by": me, "lead_time": 3.0,
                                       "ground_truth": False}]} for i in ids]
            t0 = time.perf_counter()
            client.import_tasks(pid, tasks)
            _wait_for_annotations(ls, pid, n)
            print(f"imported {n:,} annotated tasks in {time.perf_counter() - t0:.1f} s")
            # a pull re-exports what changed in the CURSOR_OVERLAP before its snapshot: let the import age past it
            time.sleep(CURSOR_OVERLAP.total_seconds() + 1)

            t_export = _full_export(ls, pid, Path(tmp) / "export.json")
            exported = json.loads((Path(tmp) / "export.json").read_bytes())
            if (held := sum(len(t["annotations"]) for t in exported)) != n:
                raise SystemExit(f"the full export holds {held} annotations of {n}")
            load_full = _load()
            t0 = time.perf_counter()
            res = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pid)
            t_pull = time.perf_counter() - t0
            if res.annotations != n:
                raise SystemExit(f"label_pull returned {res.annotations} annotations of {n}: {res}")

            # C tasks change: their annotation gets another choice (a PATCH, as an annotator's edit is)
            to_change = [t["annotations"][0]["id"] for t in exported[:changed]]
            other = [{**result[0], "value": {"choices": [CHOICES[1]]}}]
            t0 = time.perf_counter()
            with httpx.Client(timeout=120) as c, ThreadPoolExecutor(4) as pool:
                headers = auth_headers(ls, c)

                def change(aid: int) -> None:
                    r = c.patch(f"{ls.url}/api/annotations/{aid}/", json={"result": other}, headers=headers)
                    if r.status_code != 200:
                        raise SystemExit(f"changing annotation {aid} failed: HTTP {r.status_code} {r.text[:200]}")

                list(pool.map(change, to_change))
            print(f"changed {changed:,} annotations in {time.perf_counter() - t0:.1f} s")
            load_inc = _load()
            t0 = time.perf_counter()
            inc = pull(spec=spec, store=store, run_id="r1", ls=ls, project_id=pid)
            t_inc = time.perf_counter() - t0
            got = store.read_table(inc.annotations_key)
            now_other = sum(1 for r in got.column("result").to_pylist() if CHOICES[1] in r)
            if not inc.incremental or inc.annotations != n or now_other != changed:
                raise SystemExit(f"the incremental pull is wrong: {inc}, {now_other} changed annotations seen")
        finally:
            client.sdk.projects.delete(id=pid)
    print(f"label_pull of {n:,} annotated tasks (project {pid})")
    print(f"  baseline  Label Studio full JSON export:    {t_export:7.2f} s  {n / t_export:8,.0f} tasks/s")
    print(f"  datadam   label_pull, first (full + QC):    {t_pull:7.2f} s  {n / t_pull:8,.0f} tasks/s   "
          f"ratio {t_pull / t_export:5.2f}x the export's time  [{load_full}]")
    print(f"  datadam   label_pull, {changed:,} changed (incr.): {t_inc:7.2f} s  ({inc.tasks_exported:,} tasks "
          f"exported)   ratio {t_inc / t_export:5.2f}x the export's time  [{load_inc}]")
    ratio("label_pull (snapshot + QC) / Label Studio full JSON export", t_pull / t_export, goal=round(1 / 0.9, 2),
          detail=f"{n:,} tasks: {t_pull:.1f} s vs {t_export:.1f} s [{load_full}]")
    ratio(f"label_pull of {changed:,} changed tasks / full export", t_inc / t_export, goal=0.1,
          detail=f"{changed:,} of {n:,}: {t_inc:.2f} s vs {t_export:.1f} s [{load_inc}]")


if __name__ == "__main__":
    main()
