"""One line per ratio a benchmark measured, and the table `make bench` prints from them at the end.

A benchmark calls ``ratio(...)``; it prints a tagged JSON line among its own output. ``make bench`` keeps every
benchmark's output and runs ``python bench/_summary.py LOG`` to print the table of every ratio.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TAG = "bench-ratio "


def ratio(what: str, value: float, *, goal: float | None = None, detail: str = "") -> None:
    """Print one measured ratio (ours / the same-run baseline; lower is better) for the summary table."""
    print(TAG + json.dumps({"what": what, "ratio": round(value, 3), "goal": goal, "detail": detail},
                           ensure_ascii=False), flush=True)


def table(log: str) -> str:
    rows = [json.loads(line[len(TAG):]) for line in log.splitlines() if line.startswith(TAG)]
    if not rows:
        return "no ratios were reported"
    width = max(len(r["what"]) for r in rows)
    out = [f"{'what':<{width}}  {'ratio':>7}  {'goal':>7}  met  detail", "-" * (width + 40)]
    for r in rows:
        goal = r["goal"]
        met = "" if goal is None else ("yes" if r["ratio"] <= goal else "no")
        goal_s = "" if goal is None else f"<={goal:g}x"
        out.append(f"{r['what']:<{width}}  {r['ratio']:>6.2f}x  {goal_s:>7}  {met:<3}  {r['detail']}")
    return "\n".join(out)


if __name__ == "__main__":
    print(table(Path(sys.argv[1]).read_text(encoding="utf-8")))
