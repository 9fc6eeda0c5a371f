"""Embed de-identified media bytes into release rows, in the layout Hugging Face ``datasets`` reads.

An image (or audio) column is ``struct<bytes: binary, path: string>``: the Arrow storage of ``datasets``'
``Image`` / ``Audio`` features; the Parquet schema metadata names the feature so ``load_dataset("parquet")``
decodes it. Bytes are read from ``media/<ds>/...`` through the store a few rows at a time and checked
against the sha256 the records carry: a release never holds media other than what was validated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.spec import DatasetSpec
from pipelines.storage import ObjectStore, StorageError

MEDIA_FEATURE = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])
_HF_FEATURE = {"image": "Image", "audio": "Audio"}
CHUNK_BYTES = 64 * 1024 * 1024  # media bytes held at once while embedding


class MediaError(RuntimeError):
    """A media object a record points at is missing or differs from its recorded sha256."""


def embed_column(spec: DatasetSpec) -> str | None:
    """``image`` or ``audio`` when the spec's items are one image / audio file, else None (not embedded)."""
    kinds = spec.modality_kinds
    for kind in ("image", "audio"):
        if kind in kinds and "video" not in kinds:
            return kind
    return None


def reference_column(spec: DatasetSpec) -> str | None:
    """``video`` when items carry video: too large to embed, so rows reference it by URI and sha256."""
    return "video" if "video" in spec.modality_kinds else None


def hf_metadata(column: str) -> bytes:
    """Schema metadata that makes ``datasets`` decode ``column`` as Image/Audio (other columns it infers)."""
    return json.dumps({"info": {"features": {column: {"_type": _HF_FEATURE[column]}}}}).encode()


def _fetch(store: ObjectStore, key: str | None, sha: str | None) -> tuple[bytes | None, str | None]:
    if key is None:
        return None, None
    try:
        data = store.read_bytes(key)
    except StorageError as exc:
        raise MediaError(f"{store.uri(key)}: media object missing") from exc
    if sha and hashlib.sha256(data).hexdigest() != sha:
        raise MediaError(f"{store.uri(key)}: content differs from the recorded sha256 {sha}")
    return data, key.rsplit("/", 1)[-1]


def embed(batch: pa.RecordBatch, *, column: str, store: ObjectStore, pool: ThreadPoolExecutor,
          chunk_bytes: int = CHUNK_BYTES, window: int = 16) -> Iterator[pa.RecordBatch]:
    """Yield ``batch`` in slices with ``column`` appended; a slice holds about ``chunk_bytes`` of media.

    Args:
        batch: Release rows with the ``media`` struct column.
        column: Name of the embedded column (``image`` / ``audio``).
        store: Where ``media/<ds>/...`` lives.
        pool: Threads for concurrent reads (object stores reward parallel GETs).
        chunk_bytes: Bound on media bytes held in memory at once.
        window: Objects requested concurrently.

    Raises:
        MediaError: A media object is missing or its sha256 differs from the record's.
    """
    media = batch.column(batch.schema.get_field_index("media"))
    keys = pc.struct_field(media, "key").to_pylist()
    shas = pc.struct_field(media, "sha256").to_pylist()
    out_schema = batch.schema.append(pa.field(column, MEDIA_FEATURE))
    start = 0
    datas: list[bytes | None] = []
    paths: list[str | None] = []
    held = 0
    i = 0
    while i < len(keys):
        got = list(pool.map(lambda j: _fetch(store, keys[j], shas[j]), range(i, min(i + window, len(keys)))))
        for data, path in got:
            datas.append(data)
            paths.append(path)
            held += len(data) if data else 0
        i += len(got)
        if held >= chunk_bytes or i >= len(keys):
            arr = pa.StructArray.from_arrays([pa.array(datas, pa.binary()), pa.array(paths, pa.string())],
                                             fields=list(MEDIA_FEATURE),
                                             mask=pa.array([d is None for d in datas], pa.bool_()))
            part = batch.slice(start, len(datas))
            yield pa.RecordBatch.from_arrays([*part.columns, arr], schema=out_schema)
            start += len(datas)
            datas, paths, held = [], [], 0
    if len(keys) == 0:
        yield pa.RecordBatch.from_arrays([*batch.columns, pa.array([], MEDIA_FEATURE)], schema=out_schema)
