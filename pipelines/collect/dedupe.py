"""Duplicates: exact (sha256 of the decoded content) and near (perceptual hash of images, MinHash of text).

A duplicate is never dropped silently: it is quarantined as ``dedupe.exact`` / ``dedupe.near`` with the id of
the item it duplicates, and the first item (in run order: shard, then index) is kept.

Where each comparison happens:
- collect, per shard: against the items earlier in the shard and the items other runs kept (the index under
  ``state/<ds>/collected/``, read one state file at a time, holding only the rows that share a content hash,
  a pHash chunk or a MinHash band with the shard's items: memory follows the shard, not the dataset's history);
- deidentify, per shard: against the items lower shards of the same run kept (shards are collected in
  parallel, so only after collect has finished are all of them known).

Thresholds: 256-bit DCT hashes (``imagehash.phash`` with ``hash_size=16``) within ``PHASH_MAX_BITS`` bits are
near-duplicates: re-encoding, resizing, small brightness changes and greyscale copies of a photograph stay
within 4 bits, while different images (even synthetic shapes on the same gradient) stay 6 or more apart.
A video's signature is the hashes of ``VIDEO_PHASH_FRACTIONS`` frames (at fixed fractions of the clip, so a
re-encoded or re-muxed copy samples the same moments) one after another; two clips are near-duplicates when
every pair of corresponding frames is.
Texts are NFKC-folded, lower-cased and stripped of spaces and punctuation, cut into character 5-grams, and
compared by MinHash signatures (datasketch's affine32 scheme, 128 permutations) through LSH bands; an estimated
Jaccard similarity of at least ``TEXT_MIN_JACCARD`` is a near-duplicate. A phrase swapped in a short text is
not one (templates differ like that); re-spacing, punctuation, a greeting added or a word re-inflected is.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from PIL import Image

from pipelines.collect import reasons as R
from pipelines.storage import layout
from pipelines.storage.store import ObjectStore

PHASH_SIZE = 16  # 16x16 = 256-bit hashes
PHASH_BYTES = PHASH_SIZE**2 // 8
PHASH_MAX_BITS = 5
VIDEO_PHASH_FRACTIONS = (0.125, 0.375, 0.625, 0.875)  # the frames of a clip its signature hashes
TEXT_SHINGLE = 5
TEXT_MIN_JACCARD = 0.8
NUM_PERM = 128
MINHASH_SEED = 1
# Pigeonhole: two 256-bit hashes within 7 bits share at least one of their 8 chunks of 4 bytes exactly (for a
# video, every pair of corresponding frame hashes does).
_PHASH_CHUNK_BYTES = 4
TEXT_BANDS = 16  # LSH bands of NUM_PERM / TEXT_BANDS = 8 MinHash values each
_FOLD_TEXT = re.compile(r"[\W_]+")

# One row per item a collect shard saw, in ``state/<ds>/collected/<run>/part-<shard>.parquet``: what later runs
# compare against (near-duplicates) and skip (incremental collection).
STATE_SCHEMA = pa.schema(
    [
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("shard", pa.int32(), nullable=False),
        pa.field("position", pa.int64(), nullable=False),  # order inside the run: shard-major
        pa.field("outcome", pa.string()),  # null: kept; else the quarantine reason code
        pa.field("content_sha256", pa.string()),
        pa.field("phash", pa.binary()),
        pa.field("minhash", pa.binary()),  # NUM_PERM little-endian uint32 (datasketch affine32 scheme)
        pa.field("fingerprint", pa.string()),  # what the source knew before fetching (size, mtime, ETag)
    ]
)
# Items de-identification dropped as duplicates of lower shards: ``.../<run>/dropped-<shard>.parquet``.
DROPPED_SCHEMA = pa.schema([pa.field("item_id", pa.string(), nullable=False), pa.field("reason", pa.string())])


# -------------------------------------------------------------------------------------------- signatures


def image_phash(im: Image.Image) -> bytes:
    """The 256-bit perceptual hash of a decoded image, as 32 bytes."""
    import imagehash  # imported on use: importing the collect package stays cheap (DAG parsing)

    h = imagehash.phash(im if im.mode in ("L", "RGB") else im.convert("RGB"), hash_size=PHASH_SIZE)
    return bytes(np.packbits(np.asarray(h.hash, dtype=bool).reshape(-1)))


def video_frame_positions(frames: int) -> list[int]:
    """The frames (of ``frames``) whose hashes make a clip's signature, one per ``VIDEO_PHASH_FRACTIONS``."""
    return [min(frames - 1, max(0, int(f * frames))) for f in VIDEO_PHASH_FRACTIONS]


def normalise_text(text: str) -> str:
    """What near-duplicate text comparison sees: NFKC, lower case, no spaces or punctuation."""
    return _FOLD_TEXT.sub("", unicodedata.normalize("NFKC", text).lower())


@functools.cache
def _permutations() -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED).permutations


def _identity(value: Any) -> int:
    return int(value)


def text_minhash(text: str) -> bytes:
    """MinHash signature (NUM_PERM x uint32 little-endian) of the text's normalised character 5-grams."""
    norm = normalise_text(text)
    cps = np.frombuffer(norm.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    if len(cps) >= TEXT_SHINGLE:
        windows = np.lib.stride_tricks.sliding_window_view(cps, TEXT_SHINGLE)
        # a polynomial hash of each 5-gram, kept to 32 bits; datasketch's affine32 scheme mixes it further
        powers = np.array([pow(1_000_003, k, 1 << 64) for k in range(TEXT_SHINGLE - 1, -1, -1)], dtype=np.uint64)
        hv = np.unique((windows * powers).sum(axis=1) & np.uint64(0xFFFFFFFF))
    else:
        hv = np.array([int(cps.sum()) & 0xFFFFFFFF], dtype=np.uint64)
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=_identity, permutations=_permutations(),
                scheme="affine32")
    m.update_batch(hv.tolist())
    return np.asarray(m.hashvalues, dtype="<u4").tobytes()


def jaccard(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two ``text_minhash`` signatures."""
    return float(np.mean(np.frombuffer(a, dtype="<u4") == np.frombuffer(b, dtype="<u4")))


def phash_distance(a: bytes, b: bytes) -> int:
    """Bits that differ between two perceptual hashes; for video signatures, the most in any one frame."""
    if len(a) != len(b):
        return 8 * max(len(a), len(b))
    bits = np.unpackbits(np.frombuffer(a, dtype=np.uint8) ^ np.frombuffer(b, dtype=np.uint8))
    if len(a) <= PHASH_BYTES:
        return int(bits.sum())
    return int(bits.reshape(-1, PHASH_BYTES * 8).sum(axis=1).max())


# ------------------------------------------------------------------------------------------------ index


@dataclass(frozen=True)
class Duplicate:
    """The item a candidate duplicates and how."""

    reason: str  # dedupe.exact | dedupe.near
    kept_id: str
    detail: str


class DedupeIndex:
    """Kept items' signatures; ``find`` says whether a new item duplicates one of them.

    Candidates come from buckets: the 32-bit chunks of a perceptual hash (two hashes within 7 bits share one
    exactly) and 16 bands of 8 MinHash values (pairs at Jaccard 0.8 share a band with probability 0.95, at 0.9
    with 0.9997) — the LSH scheme datasketch's ``MinHashLSH`` uses, kept here so that the same buckets can be
    matched in bulk over stored signatures (``_shares_a_key``). Candidates are then verified exactly.
    """

    def __init__(self) -> None:
        self._sha: dict[str, str] = {}
        self._ids: list[str] = []
        self._phash: list[bytes | None] = []
        self._minhash: list[bytes | None] = []
        self._buckets: dict[bytes, list[int]] = defaultdict(list)
        self._known: set[str] = set()

    def __len__(self) -> int:
        return len(self._known)

    def add(self, item_id: str, *, sha: str | None, phash: bytes | None = None, minhash: bytes | None = None) -> None:
        self._known.add(item_id)
        if sha:
            self._sha.setdefault(sha, item_id)
        if phash or minhash:
            n = len(self._ids)
            self._ids.append(item_id)
            self._phash.append(phash)
            self._minhash.append(minhash)
            for key in bucket_keys(phash=phash, minhash=minhash):
                self._buckets[key].append(n)

    def find(
        self, item_id: str, *, sha: str | None, phash: bytes | None = None, minhash: bytes | None = None
    ) -> Duplicate | None:
        """The kept item this one duplicates, if any; an item never duplicates itself (same id, other run)."""
        if sha and self._sha.get(sha, item_id) != item_id:
            kept = self._sha[sha]
            return Duplicate(R.DEDUPE_EXACT, kept, f"same content as item {kept}")
        seen: set[int] = set()
        best_image: tuple[int, str] | None = None
        best_text: tuple[float, str] | None = None
        for key in bucket_keys(phash=phash, minhash=minhash):
            for n in self._buckets.get(key, ()):
                if n in seen or self._ids[n] == item_id:
                    continue
                seen.add(n)
                other_p, other_m = self._phash[n], self._minhash[n]
                if phash and other_p:
                    d = phash_distance(phash, other_p)
                    if d <= PHASH_MAX_BITS and (best_image is None or (d, self._ids[n]) < best_image):
                        best_image = (d, self._ids[n])
                if minhash and other_m:
                    j = jaccard(minhash, other_m)
                    if j >= TEXT_MIN_JACCARD and (best_text is None or (-j, self._ids[n]) < (-best_text[0],
                                                                                             best_text[1])):
                        best_text = (j, self._ids[n])
        if best_image is not None:
            what = (f"perceptual hash {best_image[0]}/{PHASH_SIZE**2} bits apart" if phash is None
                    or len(phash) <= PHASH_BYTES else f"perceptual hashes of {len(phash) // PHASH_BYTES} sampled "
                    f"frames at most {best_image[0]}/{PHASH_SIZE**2} bits apart")
            return Duplicate(R.DEDUPE_NEAR, best_image[1], f"near-duplicate of item {best_image[1]} ({what})")
        if best_text is not None:
            return Duplicate(R.DEDUPE_NEAR, best_text[1],
                             f"near-duplicate of item {best_text[1]} (text similarity {best_text[0]:.2f})")
        return None


def bucket_keys(*, phash: bytes | None = None, minhash: bytes | None = None) -> list[bytes]:
    """The LSH buckets of a signature: tagged perceptual-hash chunks and MinHash bands."""
    keys: list[bytes] = []
    if phash:
        size = _PHASH_CHUNK_BYTES
        keys += [b"p" + bytes([i]) + phash[i * size : (i + 1) * size] for i in range(len(phash) // size)]
    if minhash:
        size = len(minhash) // TEXT_BANDS
        keys += [b"m" + bytes([i]) + minhash[i * size : (i + 1) * size] for i in range(TEXT_BANDS)]
    return keys


def _shares_a_key(table: pa.Table) -> NDArray[np.bool_]:
    """Per row: whether it shares a content hash, a perceptual-hash chunk or a MinHash band with another row.

    Rows that share nothing cannot duplicate anything in the table; this runs in numpy over whole runs, so that
    only the few rows that might be duplicates go through the (Python) index.
    """
    n = table.num_rows
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    sha = table.column("content_sha256").combine_chunks()
    valid = np.asarray(pc.is_valid(sha).to_numpy(zero_copy_only=False))
    if valid.any():
        _, inverse, counts = np.unique(np.asarray(sha.to_pylist(), dtype=object)[valid].astype(str),
                                       return_inverse=True, return_counts=True)
        out[np.flatnonzero(valid)[counts[inverse] > 1]] = True
    for column in ("phash", "minhash"):
        rows, arr = _fixed_width(table.column(column).combine_chunks())
        if len(rows) < 2:
            continue
        parts = arr.shape[1] // _PHASH_CHUNK_BYTES if column == "phash" else TEXT_BANDS
        size = arr.shape[1] // parts
        for p in range(parts):
            chunk = np.ascontiguousarray(arr[:, p * size : (p + 1) * size]).view(np.dtype((np.void, size)))[:, 0]
            _, inverse, counts = np.unique(chunk, return_inverse=True, return_counts=True)
            out[rows[counts[inverse] > 1]] = True
    return out


# ----------------------------------------------------------------------------------------------- state


def _state_files(store: ObjectStore, dataset: str, name_prefix: str) -> list[tuple[str, str]]:
    """(run folder, key) of the state files whose names start with ``name_prefix``."""
    base = layout.collected(dataset)
    out = []
    for obj in store.list(base):
        rel = obj.key[len(base) + 1 :].split("/")
        if len(rel) == 2 and rel[1].startswith(name_prefix) and rel[1].endswith(".parquet"):
            out.append((rel[0], obj.key))
    return out


def _read(store: ObjectStore, keys: list[str], columns: list[str]) -> pa.Table:
    tables = [store.read_table(k, columns=columns) for k in keys]
    return pa.concat_tables(tables) if tables else pa.schema([STATE_SCHEMA.field(c) for c in columns]).empty_table()


def _bucket_ids(col: pa.Array, column: str) -> tuple[NDArray[np.int64], list[NDArray[np.uint64]]]:
    """(rows with a signature, one 64-bit id per LSH bucket part) of a ``phash`` or ``minhash`` column.

    The id of a part is a multiplicative hash of its bytes: equal parts give equal ids, and the rare unequal pair
    that collides only adds a candidate that ``DedupeIndex.find`` then rejects exactly.
    """
    rows, arr = _fixed_width(col)
    if len(rows) == 0:
        return rows, []
    parts = arr.shape[1] // _PHASH_CHUNK_BYTES if column == "phash" else TEXT_BANDS
    size = arr.shape[1] // parts
    words = -(-size // 8)
    ids: list[NDArray[np.uint64]] = []
    for p in range(parts):
        chunk = np.zeros((len(rows), words * 8), dtype=np.uint8)
        chunk[:, :size] = arr[:, p * size : (p + 1) * size]
        h = np.full(len(rows), p + 1, dtype=np.uint64)
        for w in chunk.view("<u8").T:
            h = (h ^ w) * np.uint64(0x9E3779B97F4A7C15)
        ids.append(h)
    return rows, ids


def _shares_with(table: pa.Table, wanted: pa.Table) -> NDArray[np.bool_]:
    """Per row of ``table``: whether it shares a content hash, a pHash chunk or a MinHash band with ``wanted``."""
    out = np.zeros(table.num_rows, dtype=bool)
    if table.num_rows == 0 or wanted.num_rows == 0:
        return out
    shas = pc.drop_null(wanted.column("content_sha256").combine_chunks())
    if len(shas):
        hit = pc.is_in(table.column("content_sha256"), value_set=shas)
        out |= np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)
    for column in ("phash", "minhash"):
        _, want = _bucket_ids(wanted.column(column).combine_chunks(), column)
        rows, have = _bucket_ids(table.column(column).combine_chunks(), column)
        for w, h in zip(want, have, strict=False):
            out[rows[np.isin(h, w)]] = True
    return out


def other_runs_matches(store: ObjectStore, dataset: str, *, run_id: str, candidates: pa.Table) -> DedupeIndex:
    """The items other runs kept that might duplicate one of ``candidates``, as an index.

    ``candidates`` has the columns ``content_sha256``, ``phash`` and ``minhash`` of a shard's items. Other runs'
    state is read one shard file at a time and only rows sharing a content hash, a pHash chunk or a MinHash band
    with a candidate are kept — the only rows ``DedupeIndex.find`` could return — so memory follows the shard,
    not the history of the dataset. The index holds them in run order, as if every kept item had been added.
    """
    me = layout.safe_run_id(run_id)
    keys = [k for run, k in _state_files(store, dataset, "part-") if run != me]
    cols = ["item_id", "outcome", "content_sha256", "phash", "minhash", "position", "run_id"]
    found: list[pa.Table] = []
    for key in keys:
        table = store.read_table(key, columns=cols)
        table = table.filter(pc.is_null(table.column("outcome")))
        found.append(table.filter(pa.array(_shares_with(table, candidates))))
    index = DedupeIndex()
    if not found:
        return index
    matches = pa.concat_tables(found).sort_by([("run_id", "ascending"), ("position", "ascending")])
    if matches.num_rows == 0:
        return index
    ids = matches.column("item_id").combine_chunks()
    dropped: set[str] = set()
    for key in (k for _, k in _state_files(store, dataset, "dropped-")):
        col = store.read_table(key, columns=["item_id"]).column(0)
        dropped.update(str(v) for v in col.filter(pc.is_in(col, value_set=ids)).to_pylist())
    for row in matches.to_pylist():
        if row["item_id"] not in dropped:
            index.add(row["item_id"], sha=row["content_sha256"], phash=row["phash"], minhash=row["minhash"])
    return index


def collected_elsewhere(store: ObjectStore, dataset: str, *, run_id: str) -> set[str]:
    """Item ids other runs already collected (kept or quarantined for their content): incremental runs skip them.

    Items another run could not fetch (``source.unavailable``) are tried again.
    """
    me = layout.safe_run_id(run_id)
    keys = [k for run, k in _state_files(store, dataset, "part-") if run != me]
    if not keys:
        return set()
    table = _read(store, keys, ["item_id", "outcome"])
    outcome = table.column("outcome")
    retry = pc.fill_null(pc.equal(outcome, R.SOURCE_UNAVAILABLE), False)
    return {str(v) for v in table.filter(pc.invert(retry)).column("item_id").to_pylist()}


def _fixed_width(col: pa.Array) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
    """(rows with a value, their bytes as one (rows, width) array) of a binary column whose values share a width.

    Reads Arrow's buffers in place: a run's signatures are never turned into Python objects.
    """
    lengths = pc.fill_null(pc.binary_length(col), 0).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(lengths > 0).astype(np.int64)
    if len(rows) == 0:
        return rows, np.zeros((0, 0), dtype=np.uint8)
    width = int(lengths[rows[0]])
    if not np.all(lengths[rows] == width):
        raise ValueError("signatures of different widths in one column")
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset : col.offset + len(col) + 1]
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return rows, data.reshape(len(rows), width)  # null and empty values take no bytes: the rest are contiguous


def lower_shards_kept(store: ObjectStore, dataset: str, *, run_id: str, below: int) -> DedupeIndex:
    """What shards ``< below`` of this run keep, deciding their cross-shard duplicates in run order.

    Every de-identification shard replays the same greedy pass over the lower shards, so all shards agree on which
    copy is kept without talking to each other. Only rows that share a bucket with another row of shards
    ``<= below`` take part (found in bulk by ``_shares_a_key``): the others can neither be dropped nor match.
    """
    me = layout.safe_run_id(run_id)
    keys = sorted(k for run, k in _state_files(store, dataset, "part-") if run == me
                  and int(k.rsplit("-", 1)[1].split(".")[0]) <= below)
    index = DedupeIndex()
    if not keys:
        return index
    table = _read(store, keys, ["item_id", "outcome", "content_sha256", "phash", "minhash", "position", "shard"])
    table = table.filter(pc.is_null(table.column("outcome")))
    table = table.filter(pa.array(_shares_a_key(table)))
    table = table.filter(pc.less(table.column("shard"), below)).sort_by("position")
    last_shard = -1
    pending: list[dict[str, Any]] = []
    for row in table.to_pylist():
        if row["shard"] != last_shard:  # items of one shard were already deduplicated among themselves
            for p in pending:
                index.add(p["item_id"], sha=p["content_sha256"], phash=p["phash"], minhash=p["minhash"])
            pending, last_shard = [], row["shard"]
        if index.find(row["item_id"], sha=row["content_sha256"], phash=row["phash"], minhash=row["minhash"]) is None:
            pending.append(row)
    for p in pending:
        index.add(p["item_id"], sha=p["content_sha256"], phash=p["phash"], minhash=p["minhash"])
    return index


def signatures(table: pa.Table) -> dict[str, dict[str, Any]]:
    """item id -> {content_sha256, phash, minhash} of a state table."""
    cols = ["item_id", "content_sha256", "phash", "minhash"]
    return {r["item_id"]: r for r in table.select(cols).to_pylist()}

