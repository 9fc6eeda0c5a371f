"""Embed de-identified media bytes into release rows, in the layout Hugging Face ``datasets`` reads.

An image (or audio) column is ``struct<bytes: binary, path: string>``: the Arrow storage of ``datasets``'
``Image`` / ``Audio`` features; the Parquet schema metadata names the feature so ``load_dataset("parquet")``
decodes it. Bytes are read from ``media/<ds>/...`` through the store a few rows at a time and checked
against the sha256 the records carry: a release never holds media other than what was validated.

A multimodal item's other media components (the audio beside a video, ``components`` in the records) are
released the way the primary media of their kind is: an audio or image component is embedded in its own column
named by its kind (``audio``), so ``datadam download`` and ``open_dataset`` give its bytes (docs/adr/0028).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.spec import DatasetSpec
from pipelines.spec.models import MultimodalModality
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


def component_columns(spec: DatasetSpec) -> list[str]:
    """The embedded columns of a multimodal item's other media components, in the spec's order (``["audio"]``
    for video + audio). An image or audio component is embedded as an image or audio spec's media is; text is
    the ``text`` column and the primary component is ``media``."""
    m = spec.modality
    if not isinstance(m, MultimodalModality):
        return []
    return [c.kind for c in m.components if c.kind != m.primary and c.kind in _HF_FEATURE]


def reference_column(spec: DatasetSpec) -> str | None:
    """``video`` when items carry video: too large to embed, so rows reference it by URI and sha256."""
    return "video" if "video" in spec.modality_kinds else None


def hf_metadata(*columns: str) -> bytes:
    """Schema metadata that makes ``datasets`` decode ``columns`` as Image/Audio (other columns it infers)."""
    return json.dumps({"info": {"features": {c: {"_type": _HF_FEATURE[c]} for c in columns}}}).encode()


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


def _refs(batch: pa.RecordBatch, component: str | None) -> tuple[list[str | None], list[str | None]]:
    """Keys and sha256s of the primary media (``component`` None) or of each row's component of that kind."""
    if component is None:
        media = batch.column(batch.schema.get_field_index("media"))
        return pc.struct_field(media, "key").to_pylist(), pc.struct_field(media, "sha256").to_pylist()
    keys: list[str | None] = []
    shas: list[str | None] = []
    for comps in batch.column(batch.schema.get_field_index("components")).to_pylist():
        c = next((c for c in comps or [] if c.get("kind") == component), None)
        keys.append(c.get("key") if c else None)
        shas.append(c.get("sha256") if c else None)
    return keys, shas


def embed(batch: pa.RecordBatch, *, column: str, store: ObjectStore, pool: ThreadPoolExecutor,
          chunk_bytes: int = CHUNK_BYTES, window: int = 16, component: str | None = None
          ) -> Iterator[pa.RecordBatch]:
    """Yield ``batch`` in slices with ``column`` appended; a slice holds about ``chunk_bytes`` of media.

    Args:
        batch: Release rows with the ``media`` struct column (and ``components`` when ``component`` is given).
        column: Name of the embedded column (``image`` / ``audio``).
        store: Where ``media/<ds>/...`` lives.
        pool: Threads for concurrent reads (object stores reward parallel GETs).
        chunk_bytes: Bound on media bytes held in memory at once.
        window: Objects requested concurrently.
        component: Embed each row's component of this kind (``components`` column) instead of ``media``; a row
            without one gets null.

    Raises:
        MediaError: A media object is missing or its sha256 differs from the record's.
    """
    keys, shas = _refs(batch, component)
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
