"""DagBag parse time of dags/ (150 generated DAGs) against one file of 150 DAGs of the same shape, same run.

Run: .venv/bin/python bench/bench_dag_parse.py [--repeat 5]   (uses a throwaway AIRFLOW_HOME; each parse in a
fresh process, so imports are paid the same way the dag-processor pays them). To compare with another checkout in
the same run, interleaved: ``--before /work/main`` parses that checkout's dags/ with its own .venv as a third series.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _summary import ratio  # noqa: E402

# The same shape as ours, written plainly: 12 tasks per DAG (9 @task functions, collect and deidentify mapped over
# the plan's output, 3 custom operators with a deferrable-style execute), the same edges; no spec, no catalog.
SAME_SHAPE = textwrap.dedent("""
    from typing import Any

    import pendulum
    from airflow.sdk import DAG, BaseOperator, task

    class Wait(BaseOperator):
        def __init__(self, *, what: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.what = what

        def execute(self, context: Any) -> Any:
            return self.what

    class ReviewWait(Wait):
        pass

    class Gate(Wait):
        pass

    def build(i: int) -> DAG:
        with DAG(dag_id=f"same_shape_{i:03d}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
                 tags=["bench"]) as d:
            @task(task_id="plan")
            def plan(**context: Any) -> list[int]:
                return [i]

            @task(task_id="collect")
            def collect(shard: int, **context: Any) -> int:
                return shard

            @task(task_id="deidentify")
            def deidentify(collected: int, **context: Any) -> int:
                return collected

            @task(task_id="label_push")
            def label_push(x: Any, **context: Any) -> int:
                return i

            @task(task_id="label_pull")
            def label_pull(x: Any, **context: Any) -> int:
                return i

            @task(task_id="review_pull")
            def review_pull(x: Any, **context: Any) -> int:
                return i

            @task(task_id="refine")
            def refine(x: Any, **context: Any) -> int:
                return i

            @task(task_id="validate")
            def validate(x: Any, **context: Any) -> int:
                return i

            @task(task_id="publish")
            def publish(**context: Any) -> int:
                return i

            pushed = label_push(deidentify.expand(collected=collect.expand(shard=plan())))
            pulled = label_pull(pushed)
            pushed >> Wait(task_id="label_wait", what="labels") >> pulled
            reviewed = review_pull(pulled)
            pulled >> ReviewWait(task_id="review_wait", what="reviews") >> reviewed
            validate(refine(reviewed)) >> Gate(task_id="gate", what="decision") >> publish()
        return d

    for i in range(150):
        globals()[f"same_shape_{i:03d}"] = build(i)
""")

PARSE = textwrap.dedent("""
    import gc, json, os, sys, time
    if os.environ.get("BENCH_NO_GC"):
        gc.disable()
    t0 = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag
    t1 = time.perf_counter()
    c1 = time.process_time()
    db = DagBag(dag_folder=sys.argv[1])
    t2 = time.perf_counter()
    c2 = time.process_time()
    assert not db.import_errors, db.import_errors
    print(json.dumps({"import_s": t1 - t0, "parse_s": t2 - t1, "cpu_s": c2 - c1, "dags": len(db.dag_ids),
                      "tasks": sum(len(d.tasks) for d in db.dags.values())}))
""")


def _parse(folder: Path, env: dict[str, str], python: str = sys.executable) -> dict[str, float]:
    # `python -c` puts the working directory first on sys.path: run in the folder's checkout, so that a --before
    # checkout parses with its own `pipelines`, not with the one of the directory the bench was started from.
    out = subprocess.run([python, "-c", PARSE, str(folder)], env=env, capture_output=True, text=True, check=True,
                         cwd=folder.parent)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main(repeat: int = 5, before: Path | None = None, no_gc: bool = False) -> None:
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "same_shape"
        trivial.mkdir()
        (trivial / "same_shape.py").write_text(SAME_SHAPE)
        env = {**os.environ, "AIRFLOW_HOME": tmp, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        if no_gc:  # the one full collection of ~250k objects each parse pays swings 0.1-0.45 s under load
            env["BENCH_NO_GC"] = "1"
        runs: dict[str, list[dict[str, float]]] = {"ours": [], "base": [], "before": []}
        if before is not None:  # its catalog snapshot is written by a first parse, as ours already is
            _parse(before / "dags", env, str(before / ".venv" / "bin" / "python"))
        for _ in range(repeat):  # interleaved, so the machine's load falls on all alike
            runs["ours"].append(_parse(ROOT / "dags", env))
            runs["base"].append(_parse(trivial, env))
            if before is not None:
                runs["before"].append(_parse(before / "dags", env, str(before / ".venv" / "bin" / "python")))
            load.append(os.getloadavg()[0])
    ours = {k: min(r[k] for r in runs["ours"]) for k in runs["ours"][0]}
    base = {k: min(r[k] for r in runs["base"]) for k in runs["base"][0]}
    print(f"load average {min(load):.1f}-{max(load):.1f}; best of {repeat}, each parse in a fresh process"
          + ("; garbage collector off" if no_gc else ""))
    if runs["before"]:
        prev = {k: min(r[k] for r in runs["before"]) for k in runs["before"][0]}
        print(f"before    {before}/dags ({int(prev['dags'])} DAGs): {prev['parse_s']:.3f} s wall, "
              f"{prev['cpu_s']:.3f} s CPU; {prev['parse_s'] / base['parse_s']:.2f}x wall, "
              f"{prev['cpu_s'] / base['cpu_s']:.2f}x CPU the same-shape file; median CPU "
              f"{_median(runs['before'], 'cpu_s') / _median(runs['base'], 'cpu_s'):.2f}x")
    print(f"baseline  150 DAGs of the same shape: {base['parse_s']:.3f} s wall, {base['cpu_s']:.3f} s CPU "
          f"({int(base['tasks'])} tasks)")
    print(f"datadam   dags/ ({int(ours['dags'])} DAGs):         {ours['parse_s']:.3f} s wall, "
          f"{ours['cpu_s']:.3f} s CPU "
          f"({int(ours['tasks'])} tasks, catalog load included)")
    print(f"ratio     {ours['parse_s'] / base['parse_s']:.2f}x wall, {ours['cpu_s'] / base['cpu_s']:.2f}x CPU the "
          f"same-shape file; median CPU {_median(runs['ours'], 'cpu_s') / _median(runs['base'], 'cpu_s'):.2f}x  "
          f"(airflow import, not counted: {ours['import_s']:.2f} s)")
    ratio(f"DAG parse CPU, dags/ / 150 same-shape DAGs (fresh process, best of {repeat})",
          ours["cpu_s"] / base["cpu_s"], goal=1.25, detail=f"{ours['cpu_s']:.2f} s vs {base['cpu_s']:.2f} s CPU; wall "
          f"{ours['parse_s']:.2f} s vs {base['parse_s']:.2f} s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="parses of each folder, interleaved (best one counts)")
    ap.add_argument("--before", type=Path, help="another checkout (with its .venv) whose dags/ to parse alongside")
    ap.add_argument("--no-gc", action="store_true", help="parse with the garbage collector off (all series alike)")
    args = ap.parse_args()
    main(repeat=args.repeat, before=args.before, no_gc=args.no_gc)
