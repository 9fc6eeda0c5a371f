"""One sharded dataset with 1 and with 2 Celery workers on the production-like stack; prints the ratio.

The same dataset, items and settings in both runs; only the number of workers (one task slot each)
changes. Each run is triggered through the REST API on its own storage prefix, so nothing collected or
de-identified by the first run is reused by the second. Measured: the sharded phase, from the first
``collect`` start to the last ``deidentify`` end, which is what more workers parallelise. The run is then
stopped (marked failed): what follows is the human annotation wait, and both runs would share one Label
Studio project (one per dataset version), so the second would find the first one's annotations.

Run: .venv/bin/python bench/bench_celery_scale.py [--items 1000] [--dataset ID]
Needs the machine's PostgreSQL and Redis (see docs/deploy.md). Processes the benchmark started are stopped
at the end; a stack that was already running is left running with 2 workers.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _summary import ratio  # noqa: E402

from pipelines.stack import core, production  # noqa: E402
from pipelines.stack.airflow_api import TaskInstance  # noqa: E402
from tests.distributed.runs import SHARDED_DATASET  # noqa: E402

MAPPED = ("collect", "deidentify")


def _phase_seconds(tis: list[TaskInstance]) -> float:
    mapped = [ti for ti in tis if ti.task_id in MAPPED and ti.map_index >= 0]
    starts = [datetime.fromisoformat(ti.start_date) for ti in mapped if ti.start_date]
    ends = [datetime.fromisoformat(ti.end_date) for ti in mapped if ti.end_date]
    return (max(ends) - min(starts)).total_seconds()


def _sharded_phase(
    info: production.ProductionInfo, *, dataset: str, items: int
) -> tuple[float, Counter[str]]:
    """Trigger ``dataset``, wait until every shard is collected and de-identified, stop the run."""
    shards = -(-items // 200)
    with info.api() as api:
        api.unpause(dataset)
        storage = f"s3://{info.stack.s3_bucket}/bench-celery-{len(info.workers)}w-{uuid.uuid4().hex[:8]}"
        run_id = api.trigger(dataset, conf={"items": items, "storage": storage})
        deadline = time.monotonic() + 1800
        while True:
            tis = api.task_instances(dataset, run_id)
            mapped = [ti for ti in tis if ti.task_id in MAPPED and ti.map_index >= 0]
            if any(ti.state == "failed" for ti in tis) or time.monotonic() > deadline:
                raise SystemExit(f"{dataset} run {run_id} failed: {[(ti.key, ti.state) for ti in tis]}")
            if len(mapped) == 2 * shards and all(ti.state == "success" for ti in mapped):
                break
            time.sleep(2)
        api.fail_run(dataset, run_id)
    return _phase_seconds(mapped), Counter(ti.hostname or "?" for ti in mapped)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default=SHARDED_DATASET, help="an image dataset (200 items per shard)")
    ap.add_argument("--items", type=int, default=1000)
    args = ap.parse_args()
    was_running = any(row.pid for row in production.status())
    base_started: tuple[str, ...] = ()
    results = {}
    try:
        for workers in (1, 2):
            info = production.up(workers=workers, concurrency=1)
            base_started = base_started or info.stack.started
            print(f"{args.dataset}: {args.items} items on {workers} worker(s) ...", flush=True)
            results[workers] = _sharded_phase(info, dataset=args.dataset, items=args.items)
    finally:
        if not was_running:
            production.down()
            core.down(services=[s for s in base_started if s != "airflow"])
    for workers, (seconds, hosts) in results.items():
        per_host = dict(sorted(hosts.items()))
        print(f"{workers} worker(s): collect + deidentify {seconds:6.1f} s   mapped tasks by host {per_host}")
    print(f"ratio 1 worker / 2 workers: {results[1][0] / results[2][0]:.2f}x")
    ratio("celery: 2 workers / 1 worker (wall clock)", results[2][0] / results[1][0],
          detail=f"{results[2][0]:.1f} s vs {results[1][0]:.1f} s")


if __name__ == "__main__":
    main()
