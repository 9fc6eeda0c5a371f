"""DagBag parse time of dags/ (150 generated DAGs) against one file of 150 trivial 5-task DAGs, same run.

Run: .venv/bin/python bench/bench_dag_parse.py   (uses a throwaway AIRFLOW_HOME; each parse in a fresh process,
so imports are paid the same way the dag-processor pays them)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TRIVIAL = textwrap.dedent("""
    import pendulum
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.empty import EmptyOperator
    for i in range(150):
        with DAG(dag_id=f"trivial_{i:03d}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
                 tags=["bench"]) as d:
            a, b, c, e, f = (EmptyOperator(task_id=t) for t in "abcef")
            a >> b >> c >> e >> f
        globals()[d.dag_id] = d
""")

PARSE = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag
    t1 = time.perf_counter()
    db = DagBag(dag_folder=sys.argv[1])
    t2 = time.perf_counter()
    assert not db.import_errors, db.import_errors
    print(json.dumps({"import_s": t1 - t0, "parse_s": t2 - t1, "dags": len(db.dag_ids),
                      "tasks": sum(len(d.tasks) for d in db.dags.values())}))
""")


def _parse(folder: Path, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", PARSE, str(folder)], env=env, capture_output=True, text=True,
                         check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(repeat: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial"
        trivial.mkdir()
        (trivial / "trivial.py").write_text(TRIVIAL)
        env = {**os.environ, "AIRFLOW_HOME": tmp, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        ours = min((_parse(ROOT / "dags", env) for _ in range(repeat)), key=lambda r: r["parse_s"])
        base = min((_parse(trivial, env) for _ in range(repeat)), key=lambda r: r["parse_s"])
    print(f"baseline  150 trivial 5-task DAGs:  {base['parse_s']:.3f} s  ({int(base['tasks'])} tasks)")
    print(f"datadam   dags/ ({int(ours['dags'])} DAGs):         {ours['parse_s']:.3f} s  ({int(ours['tasks'])} tasks,"
          f" catalog load included)")
    print(f"ratio     {ours['parse_s'] / base['parse_s']:.2f}x the trivial file  (airflow import, not counted:"
          f" {ours['import_s']:.2f} s)")


if __name__ == "__main__":
    main()
