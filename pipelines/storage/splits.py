"""Split planning, shared by validate (the leakage check) and publish (the release): one plan, one place.

- Without ``stratify_by``: a group's split depends only on the hash of its key, thresholded by the ratios.
  A group therefore keeps its split across releases as data is added (no test item leaks into a later train).
- With ``stratify_by``: each group is put in one stratum (the stratum most of its items have); within a
  stratum the groups are ranked by hash and cut at the ratios by item count ("hash-rank"), so every stratum
  is split near the planned ratios even when it is small.

A group is the value of ``spec.splits.group_by`` (a plot, a speaker ...), else the item itself, so no group
is ever in two splits. Records whose group value is null are their own group.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.annotations import REGISTRY
from pipelines.spec import DatasetSpec

SPLITS: tuple[str, ...] = ("train", "validation", "test")
_HASH_CHUNK = 65_536  # keys per hashlib round: bounds the Python bytes objects alive at once
_COMPACT_ROWS = 1 << 20  # (group, stratum) rows buffered before they are merged into counts

Codes = npt.NDArray[np.int8]
"""Split of each row or group, as an index into ``SplitPlan.plan``."""


def hash_unit(dataset: str, key: str) -> float:
    """A uniform number in [0, 1) from the dataset id and a group key (stable across machines and runs)."""
    digest = hashlib.sha256(f"{dataset}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def hash_units(dataset: str, keys: pa.Array) -> npt.NDArray[np.float64]:
    """``hash_unit`` of each key of a string array without nulls, bit for bit.

    SHA-256 has no vectorised form here, so hashlib runs once per key, but on bytes Arrow already joined
    with the prefix; the 64-bit prefix of each digest and its scaling to [0, 1) are numpy (uint64 -> float64
    rounds to nearest like Python's int / float). (DuckDB's vectorised ``sha256`` was measured: it costs more CPU
    than this loop, 62 ms against 45 ms for 100k keys.)
    """
    prefix = pa.scalar(f"{dataset}\x1f".encode(), pa.binary())
    sha = hashlib.sha256
    out = np.empty(len(keys), dtype=np.float64)
    for start in range(0, len(keys), _HASH_CHUNK):
        chunk = keys.slice(start, _HASH_CHUNK).cast(pa.binary())
        data = pc.binary_join_element_wise(prefix, chunk, b"").to_pylist()
        digests = b"".join([sha(d).digest() for d in data])
        top = np.frombuffer(digests, dtype=">u8")[::4]  # first 8 of each digest's 32 bytes, big-endian
        out[start:start + len(chunk)] = top.astype(np.float64) / 2.0**64
    return out


def ratios(spec: DatasetSpec) -> dict[str, float]:
    """The spec's split ratios, zero-ratio splits left out."""
    s = spec.splits
    pairs = (("train", s.train), ("validation", s.validation), ("test", s.test))
    return {name: r for name, r in pairs if r > 0}


def _cut(position: float, plan: dict[str, float]) -> str:
    """The split a position in [0, 1) falls into when [0, 1) is cut at the cumulative ratios."""
    acc = 0.0
    names = list(plan)
    for name in names:
        acc += plan[name]
        if position < acc:
            return name
    return names[-1]


def cut_codes(positions: npt.NDArray[np.float64], plan: dict[str, float]) -> Codes:
    """``_cut`` of each position, as an index into ``plan``."""
    bounds, acc = [], 0.0
    for r in plan.values():  # the same float additions as _cut, so the same bounds
        acc += r
        bounds.append(acc)
    # the first bound above the position; past the last bound, the last split
    idx = np.searchsorted(np.asarray(bounds), positions, side="right")
    codes: Codes = np.minimum(idx, len(plan) - 1).astype(np.int8)
    return codes


@dataclass
class SplitPlan:
    """Group -> split: ``assigned`` holds the hash-rank result when stratified, else hash thresholds.

    ``rank`` fills a group -> split-index lookup instead of ``assigned``: the ranked groups as an Arrow array and
    their split codes, which ``codes`` looks keys up in with Arrow's ``index_in`` when there are enough keys to pay
    for its hash table of the groups (no Python object per key), else in a dict built once.
    """

    dataset: str
    plan: dict[str, float]
    group_by: str | None
    stratify_by: str | None
    assigned: dict[str, str] = field(default_factory=dict)
    _groups: pa.Array | None = field(default=None, init=False, repr=False)  # ranked groups ...
    _group_codes: Codes = field(default_factory=lambda: np.zeros(0, dtype=np.int8), init=False, repr=False)
    _lookup: dict[str, int] | None = field(default=None, init=False, repr=False)  # the same, for small batches

    @property
    def method(self) -> str:
        return "hash-rank-within-stratum" if self.stratify_by else "hash-threshold"

    def split_of(self, group: str) -> str:
        if self.stratify_by:
            if self.assigned:
                return self.assigned[group]
            return list(self.plan)[int(self.codes(pa.array([group], pa.string()))[0])]
        return _cut(hash_unit(self.dataset, group), self.plan)

    def rank(self, counts: GroupCounts) -> None:
        """Hash-rank the counted groups (see ``rank_groups``) for ``split_of`` and ``codes``."""
        self._groups, self._group_codes = rank_table(self.dataset, counts.table(), self.plan)
        self._lookup = None

    def codes(self, groups: pa.Array) -> Codes:
        """``split_of`` each key of a group key array, as indices into ``plan``; each distinct key once.

        Raises:
            KeyError: a stratified plan was asked about a group it did not rank.
        """
        # item ids are (nearly) all distinct: encoding them would only add a hash table per batch
        enc = None if self.group_by is None else groups.dictionary_encode()
        keys = groups if enc is None else enc.dictionary
        if self.stratify_by:
            if self._groups is None:  # ``assigned`` given directly: the ranked form of it
                index = {name: i for i, name in enumerate(self.plan)}
                self._groups = pa.array(list(self.assigned), pa.string())
                self._group_codes = np.array([index[s] for s in self.assigned.values()], dtype=np.int8)
            per_key: Codes
            if len(keys) * 4 >= len(self._groups):  # a hash table of the ranked groups pays for itself
                at = pc.index_in(keys.cast(pa.string()), value_set=self._groups)
                if at.null_count:
                    raise KeyError(keys.filter(pc.is_null(at))[0].as_py())
                per_key = self._group_codes[at.to_numpy()]
            else:  # few keys against many groups (a streamed batch): one dict, built once
                if self._lookup is None:
                    self._lookup = dict(zip(self._groups.to_pylist(), self._group_codes.tolist(), strict=True))
                per_key = np.fromiter(map(self._lookup.__getitem__, keys.to_pylist()), dtype=np.int8,
                                      count=len(keys))
        else:
            per_key = cut_codes(hash_units(self.dataset, keys), self.plan)
        if enc is None:
            return per_key
        out: Codes = per_key[enc.indices.to_numpy()]
        return out


class GroupCounts:
    """Items per (group, stratum), counted batch by batch; a null stratum counts as ``""``.

    Holds one row per distinct pair plus a bounded buffer of the latest batches' pairs.
    """

    def __init__(self) -> None:
        self._merged: pa.Table | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def add(self, groups: pa.Array, strata: pa.Array, counts: pa.Array | None = None) -> None:
        """Count one item per row (or ``counts`` items) of the group ``groups[i]`` in stratum ``strata[i]``."""
        n = counts if counts is not None else pa.array(np.ones(len(groups), dtype=np.int64))
        self._pending.append(pa.table({"g": groups, "s": strata.fill_null(""), "n": n.cast(pa.int64())}))
        self._pending_rows += len(groups)
        merged = 0 if self._merged is None else self._merged.num_rows
        if self._pending_rows >= max(_COMPACT_ROWS, merged):  # amortised: merged rows double at most per merge
            self._compact()

    def _compact(self) -> None:
        parts = self._pending if self._merged is None else [self._merged, *self._pending]
        if not parts:
            return
        summed = pa.concat_tables(parts).group_by(["g", "s"]).aggregate([("n", "sum")])
        self._merged = pa.table({"g": summed["g"], "s": summed["s"], "n": summed["n_sum"]})
        self._pending, self._pending_rows = [], 0

    def table(self) -> pa.Table:
        """Rows of (group ``g``, stratum ``s``, item count ``n``); a pair may repeat (``rank_table`` sums)."""
        parts = self._pending if self._merged is None else [self._merged, *self._pending]
        if not parts:
            return pa.table({"g": pa.array([], pa.string()), "s": pa.array([], pa.string()),
                             "n": pa.array([], pa.int64())})
        return pa.concat_tables(parts)


def _runs(sorted_keys: pa.Array) -> npt.NDArray[np.intp]:
    """Start index of each run of equal values in a sorted array."""
    return np.flatnonzero(_starts(sorted_keys))


def _starts(sorted_keys: pa.Array) -> npt.NDArray[np.bool_]:
    """Whether each value of a sorted array differs from the one before it (the first always does)."""
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=bool)
    change = pc.not_equal(sorted_keys.slice(1), sorted_keys.slice(0, len(sorted_keys) - 1))
    return np.concatenate([[True], change.to_numpy(zero_copy_only=False)])


def rank_table(dataset: str, counts: pa.Table, plan: dict[str, float]) -> tuple[pa.Array, Codes]:
    """``rank_groups`` over a table of (group ``g``, stratum ``s``, items ``n``): the groups and their splits.

    A (group, stratum) pair may have several rows; they are summed.

    Arrow's string order is byte order, which for UTF-8 is Python's code point order, so ties resolve as in
    the per-group loop this replaces.
    """
    if counts.num_rows == 0:
        return pa.array([], pa.string()), np.zeros(0, dtype=np.int8)
    # Items per (group, stratum): runs of equal pairs once sorted (a sort the next step needs anyway).
    pairs = counts.take(pc.sort_indices(counts, sort_keys=[("g", "ascending"), ("s", "ascending")]))
    g, s = pairs["g"].combine_chunks(), pairs["s"].combine_chunks()
    g_new = _starts(g)
    first = np.flatnonzero(g_new | _starts(s))
    g, s, g_new = g.take(pa.array(first)), s.take(pa.array(first)), g_new[first]
    items = np.add.reduceat(pairs["n"].to_numpy(), first)
    # A group's stratum: most items, ties to the smallest stratum (the first in its run); total: all its items.
    gid = np.cumsum(g_new) - 1
    starts = np.flatnonzero(g_new)
    best = np.flatnonzero(items == np.maximum.reduceat(items, starts)[gid])
    chosen = best[np.concatenate([[True], gid[best][1:] != gid[best][:-1]])]
    groups, stratum = g.take(pa.array(chosen)), s.take(pa.array(chosen))
    total = np.add.reduceat(items, starts)
    # Within a stratum, groups in hash order (ties: by key) fill the splits; each goes where its midpoint falls.
    units = hash_units(dataset, groups)
    order = pc.sort_indices(pa.table({"s": stratum, "u": units, "g": groups}),
                            sort_keys=[("s", "ascending"), ("u", "ascending"), ("g", "ascending")]).to_numpy()
    n = total[order]
    bounds = _runs(stratum.take(pa.array(order)))
    run = np.repeat(np.arange(len(bounds)), np.diff(np.append(bounds, len(n))))
    before = np.cumsum(n) - n  # items of earlier groups, all strata
    seen = before - before[bounds][run]
    size = np.add.reduceat(n, bounds)[run]
    positions = (seen.astype(np.float64) + n / 2.0) / size.astype(np.float64)  # as Python: int -> float first
    codes = np.empty(len(n), dtype=np.int8)
    codes[order] = cut_codes(positions, plan)
    return groups, codes


def rank_groups(dataset: str, members: Mapping[tuple[str, str | None], int],
                plan: dict[str, float]) -> dict[str, str]:
    """Hash-rank assignment: ``members`` counts items per (group, stratum); returns group -> split.

    Each group joins the stratum most of its items are in (ties: the smallest value, so the result does not
    depend on row order). Within a stratum, groups in hash order fill the splits by item count; a group goes
    where the midpoint of its items falls, which keeps small strata near the ratios.
    """
    counts = GroupCounts()
    keys = list(members)
    counts.add(pa.array([g for g, _ in keys], pa.string()), pa.array([s for _, s in keys], pa.string()),
               pa.array(list(members.values()), pa.int64()))
    groups, codes = rank_table(dataset, counts.table(), plan)
    names = list(plan)
    return dict(zip(groups.to_pylist(), [names[c] for c in codes.tolist()], strict=True))


def _text(arr: pa.Array) -> pa.Array:
    """``str(v)`` of each value as a string array, nulls kept; ``str`` runs once per distinct value."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_string(t):
        return arr
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arr.cast(pa.string())
    try:
        enc = arr.dictionary_encode()
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):  # nested values: str of each row
        return pa.array([None if v is None else str(v) for v in arr.to_pylist()], pa.string())
    words = pa.array([str(v) for v in enc.dictionary.to_pylist()], pa.string())
    return words.take(enc.indices)


def _most_frequent(values: pa.Array, parents: npt.NDArray[np.int64], n: int) -> pa.Array:
    """Per parent row, its most frequent non-null value (ties: the smallest); null when it has none."""
    keep = pc.is_valid(values).to_numpy(zero_copy_only=False)
    if not keep.all():
        values, parents = values.filter(pa.array(keep)), parents[keep]
    if len(values) == 0:
        return pa.nulls(n, pa.string())
    enc = values.dictionary_encode()
    words = enc.dictionary
    # number the distinct values in string order (Arrow's byte order is Python's code point order for UTF-8)
    order = pc.sort_indices(words).to_numpy()
    rank = np.empty(len(words), dtype=np.int64)
    rank[order] = np.arange(len(words))
    # one sorted key per (parent, value): runs of equal keys count a value's occurrences in a parent
    pairs, counts = np.unique(parents * len(words) + rank[enc.indices.to_numpy()], return_counts=True)
    parent = pairs // len(words)
    starts = np.flatnonzero(np.concatenate([[True], parent[1:] != parent[:-1]]))
    top = np.repeat(np.maximum.reduceat(counts, starts), np.diff(np.append(starts, len(pairs))))
    # each parent's first value with the top count: its runs are in string order, so the smallest such
    best = np.flatnonzero(counts == top)
    first = best[np.concatenate([[True], parent[best][1:] != parent[best][:-1]])]
    pick = np.full(n, -1, dtype=np.int64)
    pick[parent[first]] = order[pairs[first] % len(words)]
    return words.take(pa.array(pick, mask=pick < 0))


def _class_column(spec: DatasetSpec) -> str:
    column = REGISTRY[spec.annotation.type].class_column
    if column is None:  # free text: the spec model allows stratify_by: label only where the spec has labels
        raise ValueError(f"annotation type {spec.annotation.type!r} has no label column to stratify by")
    return column


def label_strata(spec: DatasetSpec, batch: pa.RecordBatch) -> pa.Array:
    """The stratum value of each record when stratifying by ``label``: the label, or for list-valued
    annotations the most frequent label of the item (ties: the smallest); a string array."""
    col = batch.column(_class_column(spec))
    if not pa.types.is_list(col.type):  # one label per item (classification, dialogue intent)
        return _text(col)
    values = pc.list_flatten(col)
    if pa.types.is_struct(values.type):  # boxes, shapes, spans, events: their labels
        values = pc.struct_field(values, "label")
    # parents from the lengths, aligned with list_flatten (which skips null lists whatever their offsets)
    lengths = pc.fill_null(pc.list_value_length(col), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    parents = np.repeat(np.arange(len(col), dtype=np.int64), lengths)
    return _most_frequent(_text(values), parents, len(col))


def group_key_array(spec: DatasetSpec, batch: pa.RecordBatch) -> pa.Array:
    """The group key of each record: ``group_by``'s value, else (or when null) the item id; a string array."""
    ids = _text(batch.column("item_id"))
    if ids.null_count:
        ids = ids.fill_null("None")  # as str(None) did
    col = spec.splits.group_by
    if col is None:
        return ids
    values = pc.binary_join_element_wise(f"{col}=", _text(batch.column(col)), "")
    if not values.null_count:
        return values
    # A null group value must not pool unrelated records into one group: the item stands alone.
    return pc.coalesce(values, pc.binary_join_element_wise("item_id=", ids, ""))


def group_keys(spec: DatasetSpec, batch: pa.RecordBatch) -> list[str]:
    """``group_key_array`` as a list."""
    out: list[str] = group_key_array(spec, batch).to_pylist()
    return out


def strata_array(spec: DatasetSpec, batch: pa.RecordBatch) -> pa.Array:
    """The stratum of each record as a string array (null: none)."""
    col = spec.splits.stratify_by
    if col is None:
        return pa.nulls(batch.num_rows, pa.string())
    if col == "label":
        return label_strata(spec, batch)
    return _text(batch.column(col))


def strata(spec: DatasetSpec, batch: pa.RecordBatch) -> list[str | None]:
    """``strata_array`` as a list."""
    out: list[str | None] = strata_array(spec, batch).to_pylist()
    return out


def split_columns(spec: DatasetSpec) -> list[str]:
    """Record columns the split plan reads (pass 1 reads only these)."""
    cols = ["item_id"]
    s = spec.splits
    if s.group_by:
        cols.append(s.group_by)
    if s.stratify_by == "label":
        cols.append(_class_column(spec))
    elif s.stratify_by:
        cols.append(s.stratify_by)
    return list(dict.fromkeys(cols))


def new_plan(spec: DatasetSpec) -> SplitPlan:
    return SplitPlan(dataset=spec.id, plan=ratios(spec), group_by=spec.splits.group_by,
                     stratify_by=spec.splits.stratify_by)

