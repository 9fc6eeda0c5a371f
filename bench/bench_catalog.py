"""Catalog load time: all 150 specs validated, cold and cached, against parsing the same YAML files raw.

Run: .venv/bin/python bench/bench_catalog.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import yaml
from _summary import ratio

from pipelines.spec import load_catalog, reload_catalog
from pipelines.spec.catalog import CACHE_ENV, spec_files

ROOT = Path(__file__).resolve().parents[1] / "schemas"


def _best(fn: object, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    files = spec_files(ROOT)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def raw() -> None:
        for f in files:
            yaml.load(f.read_text(encoding="utf-8"), Loader=loader)

    def cold() -> None:  # what a process pays with no snapshot: an empty cache directory each time
        with tempfile.TemporaryDirectory() as cache:
            os.environ[CACHE_ENV] = cache
            reload_catalog()
            load_catalog(ROOT)

    def snapshot() -> None:  # what the next process pays: the validated snapshot
        reload_catalog()
        load_catalog(ROOT)

    saved = os.environ.get(CACHE_ENV)
    try:
        t_raw = _best(raw)
        t_cold = _best(cold)
        with tempfile.TemporaryDirectory() as cache:
            os.environ[CACHE_ENV] = cache
            reload_catalog()
            load_catalog(ROOT)  # writes the snapshot
            t_snap = _best(snapshot)
            t_warm = _best(lambda: load_catalog(ROOT), repeat=1000)
    finally:
        os.environ.pop(CACHE_ENV, None)
        if saved is not None:
            os.environ[CACHE_ENV] = saved
        reload_catalog()
    print(f"specs: {len(files)}")
    print(f"baseline  raw YAML parse of the same files:      {t_raw * 1000:8.2f} ms")
    print(f"datadam   load_catalog, parse + validate + write: {t_cold * 1000:8.2f} ms   "
          f"ratio {t_cold / t_raw:5.2f}x raw")
    print(f"datadam   load_catalog, from the snapshot:       {t_snap * 1000:8.2f} ms   ratio {t_snap / t_raw:5.2f}x raw"
          "  (a fresh process, specs unchanged)")
    print(f"datadam   load_catalog (cached in the process):  {t_warm * 1e6:8.2f} us")
    ratio("catalog load, no snapshot (parse + validate) / raw YAML parse", t_cold / t_raw,
          detail=f"{t_cold * 1000:.0f} ms vs {t_raw * 1000:.0f} ms")
    ratio("catalog load from the snapshot / raw YAML parse", t_snap / t_raw,
          detail=f"{t_snap * 1000:.0f} ms vs {t_raw * 1000:.0f} ms")


if __name__ == "__main__":
    main()
