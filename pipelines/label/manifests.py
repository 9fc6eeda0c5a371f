"""Reading a run's de-identified item manifests (``runs/<ds>/<run>/deidentify/part-*.parquet``) in batches.

The label stage reads what ``deidentify`` wrote; it never imports the collect package. Quarantine files
live next to the parts and have another schema, so only ``part-*.parquet`` is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads

from pipelines.storage import artifacts, layout
from pipelines.storage.store import ObjectStore

DEID_STAGE = artifacts.ITEMS.stage


def part_keys(store: ObjectStore, dataset: str, run_id: str) -> list[str]:
    """The run's de-identified manifest parts (``artifacts.ITEMS``), sorted (empty if none were written)."""
    return artifacts.ITEMS.part_keys(store, dataset, run_id)


def _dataset(store: ObjectStore, keys: Sequence[str]) -> pads.Dataset:
    return pads.dataset([store.path(k) for k in keys], format="parquet", filesystem=store.fs)


def iter_rows(
    store: ObjectStore,
    dataset: str,
    run_id: str,
    *,
    columns: Sequence[str],
    batch_size: int = 1000,
) -> Iterator[list[dict[str, Any]]]:
    """Manifest rows of a run, ``batch_size`` at a time, only ``columns`` read (streams; bounded memory)."""
    keys = part_keys(store, dataset, run_id)
    if not keys:
        return
    for batch in _dataset(store, keys).to_batches(columns=list(columns), batch_size=batch_size):
        if batch.num_rows:
            yield pa.Table.from_batches([batch]).to_pylist()


def run_item_ids(*, store: ObjectStore, dataset: str, run_id: str) -> frozenset[str]:
    """Every item id in a run's de-identified manifests (what scopes progress and pull to one run).

    Blocking I/O: an async caller wraps it in ``asyncio.to_thread``.
    """
    keys = part_keys(store, dataset, run_id)
    if not keys:
        return frozenset()
    col = _dataset(store, keys).to_table(columns=["item_id"]).column("item_id")
    return frozenset(str(v) for v in col.to_pylist() if v is not None)


def run_ids(store: ObjectStore, dataset: str) -> list[str]:
    """Runs of a dataset that have de-identified manifests, sorted."""
    prefix = layout.runs(dataset)
    found = {o.key[len(prefix):].split("/", 1)[0] for o in store.list(prefix)
             if f"/{DEID_STAGE}/part-" in o.key}
    return sorted(found)
