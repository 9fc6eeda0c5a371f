"""An order-independent content hash of record batches, vectorised over Arrow columns.

Refine may write the same items in another order (mapped shards finish in any order), so a release's
identity must not depend on row order or on Parquet encoding. Each row gets a 64-bit hash built column by
column (nested lists and structs recursively, list order and nulls included); the rows' hashes are summed
and xor-ed, giving a multiset fingerprint that a re-ordering cannot change and any value change does.
Scalars are hashed with pandas' ``hash_array`` (SipHash with a fixed key: the same on every machine).
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

_U64 = np.uint64
Hashes = npt.NDArray[np.uint64]
_NULL = _U64(0x9E3779B97F4A7C15)
_MASK = (1 << 64) - 1
_SAMPLE = 512  # leading values of a string column looked at to decide whether to hash its distinct values


def _mix(h: Hashes, salt: int) -> Hashes:
    """splitmix64 of ``h ^ salt``: spreads bits so sums of mixed values do not cancel."""
    with np.errstate(over="ignore"):
        z = (h ^ _U64(salt & _MASK)) + _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        out: Hashes = z ^ (z >> _U64(31))
    return out


def _scalar_hashes(arr: pa.Array) -> Hashes:
    from pandas.util import hash_array  # type: ignore[import-untyped, unused-ignore]

    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_date32(t) or pa.types.is_time32(t):
        arr = pc.cast(arr, pa.int32())  # Arrow casts date32/time32 only to their own 32-bit storage
    elif pa.types.is_timestamp(t) or pa.types.is_date64(t) or pa.types.is_time64(t) or pa.types.is_duration(t):
        arr = pc.cast(arr, pa.int64())
    elif pa.types.is_boolean(t):
        arr = pc.cast(arr, pa.uint8())
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        # hash_array hashes a str as its UTF-8 bytes: handing it the bytes (a zero-copy cast) gives the same
        # hashes without decoding every value into a Python str and encoding it back
        arr = arr.cast(pa.large_binary() if pa.types.is_large_string(t) else pa.binary())
    if arr.null_count:  # placeholder values; the null mask is applied by the caller
        t = arr.type
        fill: object = "" if pa.types.is_string(t) or pa.types.is_large_string(t) else (
            b"" if pa.types.is_binary(t) or pa.types.is_large_binary(t) else 0)
        arr = arr.fill_null(fill)
    t = arr.type
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t)) and len(arr) > _SAMPLE \
            and pc.count_distinct(arr.slice(0, _SAMPLE)).as_py() <= _SAMPLE // 8:
        # few distinct values (labels, enum columns): hash each distinct value once
        enc = arr.dictionary_encode()
        per_row: Hashes = _scalar_hashes(enc.dictionary)[enc.indices.to_numpy()]
        return per_row
    hashed: Hashes = hash_array(arr.to_numpy(zero_copy_only=False), categorize=False)
    return hashed.astype(_U64, copy=False)


def column_hashes(arr: pa.Array) -> Hashes:
    """One uint64 per element of ``arr`` (any Arrow type)."""
    n = len(arr)
    t = arr.type
    h: Hashes
    if n and arr.null_count == n:  # all null (an unused media column): the children would be masked anyway
        return np.full(n, _NULL, dtype=_U64)
    if pa.types.is_struct(t):
        h = np.full(n, _U64(t.num_fields), dtype=_U64)
        with np.errstate(over="ignore"):
            for i in range(t.num_fields):
                h = h + _mix(column_hashes(pc.struct_field(arr, i)), i + 1)
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy().astype(np.int64)
        flat = pc.list_flatten(arr)
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        position = np.arange(len(flat), dtype=np.int64) - starts
        child = _mix(column_hashes(flat), 0) ^ _mix(position.astype(_U64), 1)
        h = np.zeros(n, dtype=_U64)
        if len(flat):  # per-list sums (mod 2**64) of the children, which list_flatten lays out list by list
            nonempty = lengths > 0
            h[nonempty] = np.add.reduceat(_mix(child, 2), (np.cumsum(lengths) - lengths)[nonempty])
        h = _mix(h, 3) ^ _mix(lengths.astype(_U64), 4)
    elif pa.types.is_null(t):
        h = np.zeros(n, dtype=_U64)
    else:
        h = _scalar_hashes(arr)
    if arr.null_count:
        valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
        h = np.where(valid, h, _NULL).astype(_U64, copy=False)
    return h


def row_hashes(batch: pa.RecordBatch) -> Hashes:
    """One uint64 per row; column order is part of the hash (the schema is fixed per spec)."""
    h: Hashes = np.zeros(batch.num_rows, dtype=_U64)
    with np.errstate(over="ignore"):
        for i, col in enumerate(batch.columns):
            h = h + _mix(column_hashes(col), 1000 + i)
    return _mix(h, 7)


class ContentHash:
    """Accumulates row hashes in any order; ``hexdigest`` names the multiset of rows (plus a context)."""

    def __init__(self, context: str) -> None:
        self.context = context
        self.rows = 0
        self._sum = 0
        self._xor = 0
        self._sum2 = 0

    def update(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        h = row_hashes(batch)
        self.rows += batch.num_rows
        # Python ints: exact sums, reduced at the end (numpy would wrap silently per batch, also fine).
        self._sum = (self._sum + int(h.sum(dtype=_U64))) & _MASK
        self._xor ^= int(np.bitwise_xor.reduce(h))
        self._sum2 = (self._sum2 + int(_mix(h, 99).sum(dtype=_U64))) & _MASK

    def hexdigest(self) -> str:
        text = f"{self.context}|{self.rows}|{self._sum:016x}|{self._xor:016x}|{self._sum2:016x}"
        return hashlib.sha256(text.encode()).hexdigest()
