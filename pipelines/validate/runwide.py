"""Run-wide facts that no single batch can see: duplicate ids and contents, and the planned split of every record.

One pass over a few small columns (id, content, split columns) before the batches stream through GX. It keeps a
few numbers per record (64-bit hashes of the id and of the content, a group number, a split code: 22 bytes),
never the records, plus one entry per distinct group (publish's group table when the spec stratifies); finding
duplicates sorts one copy of a hash column. Hashes are pandas' 64-bit SipHash: a collision in a run of 10^7
records has a probability of about 3e-6, and would only flag two records for an inspector to look at.

Splits are planned exactly as publish plans them, by the shared planner (``pipelines.storage.splits``):
the leakage check asks "would publishing this run put the same content in two splits?".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.spec import DatasetSpec
from pipelines.validate.checks import content_kind

U64 = npt.NDArray[np.uint64]
NO_SPLIT = -1


def hash_strings(values: pa.Array) -> tuple[U64, npt.NDArray[np.bool_]]:
    """64-bit hashes of a string column and a mask of the non-null entries."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    valid = np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), dtype=bool)
    filled = pc.fill_null(values, "").to_numpy(zero_copy_only=False)
    hashes: U64 = pd.util.hash_array(np.asarray(filled, dtype=object), categorize=False)
    return hashes, valid


def content_of(batch: pa.RecordBatch, spec: DatasetSpec) -> pa.Array | None:
    """The column that identifies a record's content: the media sha256, else the (normalised) text."""
    kind = content_kind(spec)
    if kind == "media":
        return pc.struct_field(batch.column(batch.schema.get_field_index("media")), "sha256")
    if kind == "text":
        return batch.column(batch.schema.get_field_index("text"))
    return None


@dataclass
class RunIndex:
    """What the streamed checks read per record; arrays are in record order.

    Attributes:
        id_hash: Hash of each record's item_id.
        content_hash: Hash of each record's content (meaningless where ``content_valid`` is False).
        content_valid: The record has content to compare.
        split_code: Index into ``split_names`` of each record's planned split.
        split_names: The planned splits (publish's order).
        dup_ids: Sorted id hashes seen more than once.
        dup_content: Sorted content hashes seen more than once.
        leaks: Content hash -> the planned splits it occurs in, for content in more than one split.
        split_counts: Records per planned split.
        split_method: Publish's split method for this spec.
    """

    id_hash: U64
    content_hash: U64
    content_valid: npt.NDArray[np.bool_]
    split_code: npt.NDArray[np.int8]
    split_names: list[str]
    dup_ids: U64 = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    dup_content: U64 = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    leaks: dict[int, str] = field(default_factory=dict)
    split_counts: dict[str, int] = field(default_factory=dict)
    split_method: str = ""

    def window(self, start: int, stop: int) -> RunWindow:
        return RunWindow(self, start, stop)


@dataclass(frozen=True)
class RunWindow:
    """The run-wide facts of one batch of records (rows ``start:stop`` of the run)."""

    index: RunIndex
    start: int
    stop: int

    def dup_id_mask(self) -> npt.NDArray[np.bool_]:
        return np.isin(self.index.id_hash[self.start:self.stop], self.index.dup_ids)

    def dup_content_mask(self) -> npt.NDArray[np.bool_]:
        valid = self.index.content_valid[self.start:self.stop]
        return valid & np.isin(self.index.content_hash[self.start:self.stop], self.index.dup_content)

    def leak_labels(self) -> list[str | None]:
        if not self.index.leaks:
            return [None] * (self.stop - self.start)
        valid = self.index.content_valid[self.start:self.stop]
        hashes = self.index.content_hash[self.start:self.stop]
        return [self.index.leaks.get(int(h)) if ok else None for h, ok in zip(hashes, valid, strict=True)]

    def splits(self) -> list[str | None]:
        names = self.index.split_names
        return [names[c] if c >= 0 else None for c in self.index.split_code[self.start:self.stop]]


def _duplicates(hashes: U64) -> U64:
    """The values seen more than once (one sorted copy of the hashes, then only the few repeated ones)."""
    if hashes.size < 2:
        return np.zeros(0, dtype=np.uint64)
    s = np.sort(hashes)
    repeated = s[1:][s[1:] == s[:-1]]
    del s
    dups: U64 = np.unique(repeated)
    return dups


def build_run_index(pf: pq.ParquetFile, spec: DatasetSpec, *, batch_rows: int) -> RunIndex:
    """Hash ids and contents and plan the splits of every record of the run, one pass over small columns."""
    from pipelines.storage.splits import group_keys, new_plan, rank_groups, split_columns, strata

    plan = new_plan(spec)
    names = list(plan.plan)
    columns = list(dict.fromkeys(["item_id", *split_columns(spec)]))
    kind = content_kind(spec)
    if kind is not None:
        columns.append("media" if kind == "media" else "text")
    n = int(pf.metadata.num_rows)
    # Filled in place: no list of per-batch parts concatenated at the end (which would hold everything twice).
    index = RunIndex(id_hash=np.zeros(n, dtype=np.uint64), content_hash=np.zeros(n, dtype=np.uint64),
                     content_valid=np.zeros(n, dtype=bool), split_code=np.full(n, NO_SPLIT, dtype=np.int8),
                     split_names=names, split_method=plan.method)
    members: Counter[tuple[str, str | None]] = Counter()
    # Groups are numbered as first seen; a record keeps its group's number (4 bytes), never the key itself.
    group_ids: dict[str, int] = {}
    group_code: list[int] = []  # hash-threshold plans: the split of each numbered group
    per_item = spec.splits.group_by is None and not plan.stratify_by
    gids = np.zeros(0 if per_item else n, dtype=np.int32)
    at = 0
    for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
        end = at + batch.num_rows
        index.id_hash[at:end] = hash_strings(batch.column(batch.schema.get_field_index("item_id")))[0]
        content = content_of(batch, spec)
        if content is not None:
            index.content_hash[at:end], index.content_valid[at:end] = hash_strings(content)
        groups = group_keys(spec, batch)
        if per_item:
            # Every record is its own group: its split depends on its id only; nothing to remember.
            index.split_code[at:end] = [names.index(plan.split_of(g)) for g in groups]
        else:
            if plan.stratify_by:
                members.update(zip(groups, strata(spec, batch), strict=True))
            for k, g in enumerate(groups, start=at):
                gid = group_ids.get(g)
                if gid is None:
                    gid = group_ids[g] = len(group_ids)
                    if not plan.stratify_by:
                        group_code.append(names.index(plan.split_of(g)))
                gids[k] = gid
        at = end
    if plan.stratify_by:
        plan.assigned = rank_groups(spec.id, members, plan.plan)
        group_code = [names.index(plan.assigned[g]) for g in group_ids]  # dicts keep first-seen order
    if not per_item and n:
        index.split_code[:] = np.asarray(group_code, dtype=np.int8)[gids]
    del gids, members, group_ids
    index.dup_ids = _duplicates(index.id_hash)
    every = bool(index.content_valid.all())
    hashes = index.content_hash if every else index.content_hash[index.content_valid]
    index.dup_content = _duplicates(hashes)
    if index.dup_content.size:
        # Only content seen twice can sit in two splits: look at those records only.
        shared = np.isin(index.content_hash, index.dup_content) & index.content_valid
        index.leaks = _leaks(index.content_hash[shared], index.split_code[shared], names)
    counts = np.bincount(index.split_code[index.split_code >= 0].astype(np.int64), minlength=len(names))
    index.split_counts = {n: int(c) for n, c in zip(names, counts, strict=True)}
    return index


def _leaks(hashes: U64, codes: npt.NDArray[np.int8], names: list[str]) -> dict[int, str]:
    """Content hashes planned into more than one split, with the splits (``test|train``)."""
    if hashes.size == 0:
        return {}
    order = np.argsort(hashes, kind="stable")
    h, c = hashes[order], codes[order].astype(np.int16)
    starts = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
    lo = np.minimum.reduceat(c, starts)
    hi = np.maximum.reduceat(c, starts)
    out: dict[int, str] = {}
    for s, a, b in zip(starts, lo, hi, strict=True):
        if a != b:
            end = s + 1
            while end < h.size and h[end] == h[s]:
                end += 1
            out[int(h[s])] = "|".join(sorted({names[int(x)] for x in c[s:end]}))
    return out


def describe(index: RunIndex) -> dict[str, Any]:
    """The split plan's summary for quality.json."""
    return {"method": index.split_method, "records": index.split_counts,
            "duplicate_ids": int(index.dup_ids.size), "duplicate_contents": int(index.dup_content.size),
            "leaking_contents": len(index.leaks)}
