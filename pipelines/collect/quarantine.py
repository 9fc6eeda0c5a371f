"""What a run refused, read back across its stages: the quarantine files, counts by stage and reason, originals.

Every stage writes its refused items as ``quarantine-*.parquet`` beside its output (QUARANTINE_SCHEMA: ids,
reason codes, masked source URIs) and their original URIs under ``restricted/``; ``datadam quarantine show``
reads them through these functions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from pipelines.storage import ObjectStore, layout


def quarantine_files(store: ObjectStore, run_id: str, dataset: str | None = None) -> dict[str, list[str]]:
    """dataset -> the quarantine Parquet files of the run, across its stages."""
    safe = layout.safe_run_id(run_id)
    datasets = [dataset] if dataset else sorted(
        {o.key.split("/")[1] for o in store.list("runs") if o.key.count("/") >= 3 and o.key.split("/")[2] == safe})
    out: dict[str, list[str]] = {}
    for ds in datasets:
        keys = [o.key for o in store.list(layout.run(ds, run_id))
                if o.key.rsplit("/", 1)[-1].startswith("quarantine") and o.key.endswith(".parquet")]
        if keys or dataset:
            out[ds] = keys
    return out


def summarise(store: ObjectStore, keys: list[str], *, examples: int, order: Sequence[str] = ()) -> dict[str, Any]:
    """Counts by (stage, reason) and a few examples of each, reading only the columns shown; stages sorted by
    ``order`` (the DAG's task order), stages it does not name last."""
    counts: Counter[tuple[str, str]] = Counter()
    shown: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    cols = ["item_id", "stage", "reason", "detail", "source_uri"]
    for key in keys:
        table = store.read_table(key)
        for row in table.select([c for c in cols if c in table.column_names]).to_pylist():
            k = (str(row.get("stage") or key.split("/")[-2]), str(row["reason"]))
            counts[k] += 1
            if len(shown[k]) < examples:
                shown[k].append(row)
    rank = {s: i for i, s in enumerate(order)}
    rows = sorted(counts.items(), key=lambda kv: (rank.get(kv[0][0], len(rank)), -kv[1], kv[0][1]))
    return {
        "total": sum(counts.values()),
        "by_reason": [{"stage": s, "reason": r, "count": n, "examples": shown[(s, r)]} for (s, r), n in rows],
    }


def original_uris(store: ObjectStore, dataset: str, run_id: str) -> dict[str, str]:
    """item id -> original source URI, from the run's restricted files (the collect manifests and the quarantine
    rows' restricted twins): what a contractor, who may read ``restricted/``, needs to find an original."""
    out: dict[str, str] = {}
    for o in store.list(layout.restricted_run(dataset, run_id)):
        name = o.key.rsplit("/", 1)[-1]
        if name.endswith(".parquet") and name.startswith(("part-", "quarantine-")):
            table = store.read_table(o.key, columns=["item_id", "source_uri"])
            out.update((r["item_id"], r["source_uri"]) for r in table.to_pylist() if r["source_uri"])
    return out


def stage_counts(store: ObjectStore, dataset: str, run_id: str) -> dict[str, dict[str, int]]:
    """items in / out of collect and deidentify from their summaries, when the run has them."""
    out: dict[str, dict[str, int]] = {}
    base = layout.run(dataset, run_id, "collect")
    summaries = [store.read_json(o.key) for o in store.list(base) if o.key.rsplit("/", 1)[-1].startswith("summary-")]
    if summaries:
        out["collect"] = {k: sum(int(s[k]) for s in summaries) for k in ("items_in", "items_out", "quarantined")}
    return out
