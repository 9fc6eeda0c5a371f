"""The publish stage: versioned, immutable Parquet releases committed through a ``LATEST`` pointer.

Reads a run's ``refine/records.parquet`` (the bytes the validation and the gate approved) and the split of each
record validate planned (``validate/splits.parquet``, trusted through the sha256 quality.json records; a run
without it is planned here by the same planner), and writes::

    releases/<ds>/.staging/<token>/data/<split>/part-NNNNN.parquet  while writing, deleted after
    releases/<ds>/<version>/data/<split>/part-NNNNN.parquet         moved from staging (s3: copy+delete)
    releases/<ds>/<version>/quality/                                the run's quality.json and QA report
    releases/<ds>/<version>/README.md, croissant.json               dataset card, Croissant 1.0 JSON-LD
    releases/<ds>/.reservations/<version>.json                      who holds the version (conditional create)
    releases/<ds>/<version>/manifest.json                           files, sizes, sha256s; schema; quality
    releases/<ds>/LATEST                                            the version + manifest sha256, written last
    catalog/index.json, catalog/*.html                              updated after LATEST (derived, repairable)

A release exists once its manifest does; ``LATEST`` only ever names a complete release. A publisher reserves its
version before writing under it (``reservation.reserve``) and commits the manifest with a conditional create, so
two publishers racing end with two versions (or a refusal), never one overwriting the other. A published version
is never modified: new content gets the next version of the programme (1.0-beta -> 1.0 -> 1.1), identical
content is a no-op.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import yaml

from pipelines.pace import Pace
from pipelines.publish.card import render_card
from pipelines.publish.catalog import list_releases, sync_dataset
from pipelines.publish.content import ContentHash
from pipelines.publish.croissant import build_croissant
from pipelines.publish.integrity import Pointer, decode_pointer, encode_pointer, sha256_hex
from pipelines.publish.media import (
    MEDIA_FEATURE,
    component_columns,
    embed,
    embed_column,
    hf_metadata,
    reference_column,
)
from pipelines.publish.reservation import AlreadyPublished, ReservationError, holds, reserve
from pipelines.publish.site import site_is_current, write_site
from pipelines.publish.versions import version_key
from pipelines.spec import DatasetSpec, default_schemas_dir, spec_hash
from pipelines.spec.models import ImageModality, Keypoints
from pipelines.storage import ObjectStore, Transfer, artifacts, layout, open_store
from pipelines.storage.splits import Codes, GroupCounts, SplitPlan, group_key_array, new_plan, strata_array

FORMAT = "datadam-release/1"
PART_BYTES = 512 * 1024 * 1024  # roll to the next part file past this size (S3 copies stay well under 5 GB)
BATCH_ROWS = 8192
# Records up to this many decoded bytes are read once: pass 1 keeps its batches for pass 2. Larger runs are read
# twice (streaming both times), so memory stays bounded whatever the run's size.
KEEP_BYTES = 256 * 1024 * 1024
# Row groups sized for readers: Hugging Face's viewer and streaming read a row group at a time and its own
# Parquet export uses 100 rows for image/audio datasets; DuckDB and Arrow parallelise over row groups. A group
# closes at whichever comes first, its row count or its uncompressed size.
ROW_GROUP_ROWS = 50_000
MEDIA_ROW_GROUP_ROWS = 100
ROW_GROUP_BYTES = 64 * 1024 * 1024
STAGING_MAX_AGE_S = 6 * 3600  # staging prefixes older than this belong to dead publishers


class PublishError(RuntimeError):
    """The run cannot be published (not approved, changed since validation) or a release is unreadable."""


@dataclass(frozen=True)
class PublishResult:
    """What ``publish`` returns to the orchestrator.

    Attributes:
        version: The release version (new, or the existing one with identical content).
        prefix: Storage prefix of the release, ``releases/<ds>/<version>``.
        rows: Records in the release.
        manifest_key: Storage key of its manifest.json.
        created: False when identical content was already published (nothing written).
    """

    version: str
    prefix: str
    rows: int
    manifest_key: str
    created: bool


# ------------------------------------------------------------------------------------- storage contracts


def manifest_key(ds: str, version: str) -> str:
    return layout.release_manifest(ds, version)


# --------------------------------------------------------------------------------------------- helpers


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def _quality_summary(quality: dict[str, Any]) -> dict[str, Any]:
    chars = {k: {f: v.get(f) for f in ("name_ko", "name_en", "target", "measured", "passed", "blocking")}
             for k, v in quality.get("characteristics", {}).items()}
    return {"success": quality.get("success"), "items": quality.get("items"),
            "validated_at": quality.get("validated_at"), "checks_failed": quality.get("checks_failed", []),
            "checks_warned": quality.get("checks_warned", []), "characteristics": chars,
            "label_counts": quality.get("label_counts", {})}


def _clean_stale_staging(store: ObjectStore, ds: str, content_hash: str) -> None:
    """Drop staging prefixes of crashed attempts: the same content (we redo it) or older than a day's shift.

    A staging prefix is ``<unix time>-<content hash>-<random>``; a live publisher of other content is younger.
    """
    base = layout.release_staging(ds)
    now = time.time()
    seen: set[str] = set()
    for obj in store.list(base):
        name = obj.key[len(base) + 1:].split("/", 1)[0]
        if name in seen:
            continue
        seen.add(name)
        stamp, _, rest = name.partition("-")
        old = not stamp.isdigit() or now - int(stamp) > STAGING_MAX_AGE_S
        if old or rest.startswith(content_hash[:16]):
            store.delete_prefix(layout.release_staging(ds, name))


class _SplitWriter:
    """Parquet parts of one split, written locally (hashed while final), then uploaded to staging.

    Batches are buffered into row groups of at most ``rg_rows`` rows or ``rg_bytes`` uncompressed bytes.
    """

    def __init__(self, *, split: str, schema: pa.Schema, store: ObjectStore, staging: str, tmp: Path,
                 part_bytes: int, rg_rows: int, rg_bytes: int, transfer: Transfer) -> None:
        self.split, self.schema, self.store, self.staging = split, schema, store, staging
        self.transfer = transfer
        self.tmp, self.part_bytes, self.rg_rows, self.rg_bytes = tmp, part_bytes, rg_rows, rg_bytes
        self.files: list[dict[str, Any]] = []
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._path: Path | None = None
        self._rows = 0
        self._groups = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._pending_bytes = 0

    def _open(self) -> pq.ParquetWriter:
        if self._writer is None:
            self._path = self.tmp / f"{self.split}-{len(self.files):05d}.parquet"
            self._writer = pq.ParquetWriter(str(self._path), self.schema, compression="zstd")
            self._rows = self._groups = 0
        return self._writer

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        batch = batch.replace_schema_metadata(self.schema.metadata)
        # A batch larger than a row group's byte budget is cut so each group stays near the budget.
        per_row = max(1, batch.nbytes // batch.num_rows)
        step = max(1, min(self.rg_rows, self.rg_bytes // per_row))
        for start in range(0, batch.num_rows, step):
            piece = batch.slice(start, step)
            self._pending.append(piece)
            self._pending_rows += piece.num_rows
            self._pending_bytes += piece.nbytes
            if self._pending_rows >= self.rg_rows or self._pending_bytes >= self.rg_bytes:
                self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
        self._open().write_table(table, row_group_size=table.num_rows)  # exactly one row group
        self._rows += table.num_rows
        self.rows += table.num_rows
        self._groups += 1
        if self._path is not None and self._path.stat().st_size >= self.part_bytes:
            self._finish_part()

    def _finish_part(self) -> None:
        assert self._writer is not None and self._path is not None
        self._writer.close()
        rel = f"data/{self.split}/part-{len(self.files):05d}.parquet"
        self.files.append({"key": rel, "split": self.split, "rows": self._rows, "row_groups": self._groups,
                           "size": self._path.stat().st_size, "sha256": _sha256_file(self._path)})
        self.store.upload_file(self._path, f"{self.staging}/{rel}", transfer=self.transfer)
        self._path.unlink()
        self._writer, self._path = None, None

    def close(self) -> list[dict[str, Any]]:
        self._flush()
        if self._writer is None and not self.files:
            self._open()  # an empty split still gets a file, so its schema is readable
        if self._writer is not None:
            self._finish_part()
        return self.files


@dataclass
class _Written:
    """What pass 2 wrote: files, schema, media handling and the achieved distribution."""

    files: list[dict[str, Any]]
    schema: pa.Schema
    media_col: str | None
    media_mode: str | None
    dropped: list[str]
    component_columns: dict[str, str]  # a multimodal item's other media: column -> "embedded"
    by_stratum: dict[str, dict[str, int]]
    row_group_rows: int
    row_group_bytes: int


# --------------------------------------------------------------------------------------------- publish


def publish(*, spec: DatasetSpec, store: ObjectStore, run_id: str, batch_rows: int = BATCH_ROWS,
            part_bytes: int = PART_BYTES, row_group_rows: int | None = None,
            row_group_bytes: int = ROW_GROUP_BYTES, transfer: Transfer | None = None) -> PublishResult:
    """Publish an approved run as a release of its dataset.

    Idempotent: re-publishing identical content (same records content and spec) returns the existing version
    with ``created=False``; different content gets the next version (see ``versions.next_version``).

    Args:
        spec: The dataset spec (version, splits, columns to drop as personal).
        store: The storage root.
        run_id: The run whose refined records to publish.
        batch_rows: Records per streamed batch.
        part_bytes: Size at which a split rolls over to its next part file.
        row_group_rows: Rows per Parquet row group; default 100 for embedded media, else 50,000.
        row_group_bytes: Uncompressed bytes at which a row group closes early.
        transfer: S3 multipart settings for uploading and moving parts (default: 64 MB parts, 8 threads).

    Returns:
        The version, its prefix and manifest key, the row count, and whether anything was written.

    Raises:
        PublishError: The run is not approved by the gate, or its records changed after validation.
    """
    ds = spec.id
    transfer = transfer or Transfer()
    rkey = artifacts.RECORDS.key(ds, run_id)
    decision = artifacts.GATE_RESULT.read_if_exists(store, ds, run_id)
    if decision is None:
        raise PublishError(f"{artifacts.GATE_RESULT.uri(store, ds, run_id)}: run {run_id!r} has not been through "
                           "the gate (run validate, then gate)")
    if decision.get("status") != "approved":
        raise PublishError(f"run {run_id!r} is {decision.get('status')!r} at the gate, not approved: "
                           f"{decision.get('note', '')}")
    if not store.exists(rkey):
        raise PublishError(f"{store.uri(rkey)}: no refined records")
    records_sha = store.sha256(rkey)
    if decision.get("records_sha256") != records_sha:
        raise PublishError(f"{store.uri(rkey)} changed after it was validated and approved; validate again")
    quality_raw = artifacts.QUALITY.read_bytes(store, ds, run_id)
    if decision.get("quality_sha256") != hashlib.sha256(quality_raw).hexdigest():
        raise PublishError(f"run {run_id!r} was validated again after the gate decided; run the gate again")
    quality = json.loads(quality_raw)
    s_hash = spec_hash(spec)

    releases = list_releases(store, ds)
    for version, m in releases.items():
        if m.get("records_sha256") == records_sha and m.get("spec", {}).get("hash") == s_hash:
            return _existing(store, spec, version, m)

    plan = new_plan(spec)
    codes = _validated_codes(store, spec, run_id, quality, records_sha=records_sha, s_hash=s_hash)
    content_hash, rows, kept = _scan(store, rkey, spec, plan, batch_rows=batch_rows, s_hash=s_hash,
                                     rank=codes is None)
    for version, m in releases.items():
        if m.get("content_hash") == content_hash:
            return _existing(store, spec, version, m)

    try:
        held = reserve(store, dataset=ds, spec_version=spec.version, published=releases, run_id=run_id,
                       content_hash=content_hash, max_age_s=STAGING_MAX_AGE_S)
    except AlreadyPublished as done:  # a racing publisher committed this content first
        return _existing(store, spec, done.version, store.read_json(manifest_key(ds, done.version)))
    except ReservationError as exc:
        raise PublishError(str(exc)) from exc
    version = held.version
    prefix = layout.release(ds, version)
    mkey = manifest_key(ds, version)
    # We hold the version and it has no manifest: whatever is under it was left by a dead holder, never published.
    store.delete_prefix(prefix)
    _clean_stale_staging(store, ds, content_hash)
    attempt = f"{int(time.time())}-{content_hash[:16]}-{uuid.uuid4().hex[:8]}"
    staging = layout.release_staging(ds, attempt)
    try:
        written = _write_splits(store, rkey, spec, plan, staging=staging, batch_rows=batch_rows,
                                part_bytes=part_bytes, version=version, s_hash=s_hash,
                                row_group_rows=row_group_rows, row_group_bytes=row_group_bytes,
                                transfer=transfer, batches=kept, codes=codes)
        kept = None
        for f in written.files:
            store.move(layout.release_staging(ds, f"{attempt}/{f['key']}"), layout.release_file(ds, version, f["key"]),
                       transfer=transfer)
        # The newest release below ours, listed again: a racing publisher may have committed one meanwhile.
        older = [kv for kv in list_releases(store, ds).items() if version_key(kv[0]) < version_key(version)]
        previous = older[-1] if older else None
        manifest = _manifest(spec, run_id, version=version, written=written, rows=rows,
                             content_hash=content_hash, records_sha=records_sha, s_hash=s_hash, plan=plan,
                             quality=quality, decision=decision, previous=previous)
        manifest["source"] = run_source(store, spec, run_id)
        manifest["documents"] = _write_documents(store, spec, run_id, prefix=prefix, manifest=manifest,
                                                 schema=written.schema)
        raw = _encode_manifest(manifest)
        if not holds(store, held):
            raise PublishError(f"{store.uri(prefix)}: another publisher took over version {version} while this "
                               "one wrote it (this one was presumed dead); nothing was committed by this run")
        if not store.create_exclusive(mkey, raw):  # the manifest is the commit: never overwritten
            other = store.read_json(mkey)
            if other.get("content_hash") == content_hash:
                return _existing(store, spec, version, other)
            raise PublishError(f"{store.uri(mkey)}: version {version} was committed by another publisher; "
                               "it was left as it is. Publish again to get the next version")
        _advance_latest(store, ds, version, sha256_hex(raw))  # last: the release now exists
    finally:
        store.delete_prefix(staging)
    _after_commit(store, spec)
    return PublishResult(version=version, prefix=prefix, rows=rows, manifest_key=mkey, created=True)


def download_command(store: ObjectStore, dataset: str, version: str) -> str:
    """The exact command a developer runs to fetch this version."""
    return f"datadam download {dataset} --version {version} --storage {store.root}"


def _write_documents(store: ObjectStore, spec: DatasetSpec, run_id: str, *, prefix: str,
                     manifest: dict[str, Any], schema: pa.Schema) -> list[dict[str, Any]]:
    """The card, the Croissant file, and the run's QA report and quality.json; listed with their sha256s."""
    docs: list[dict[str, Any]] = []
    ds, version = spec.id, str(manifest["version"])
    card = render_card(manifest, download_command=download_command(store, spec.id, manifest["version"])).encode()
    store.write_bytes(layout.release_file(ds, version, "README.md"), card)
    docs.append(_doc_entry("README.md", card))
    croissant = json.dumps(build_croissant(manifest, schema, url=store.uri(prefix)), ensure_ascii=False,
                           indent=2).encode()
    store.write_bytes(layout.release_file(ds, version, "croissant.json"), croissant)
    docs.append(_doc_entry("croissant.json", croissant))
    for art in (artifacts.QUALITY, artifacts.REPORT):
        if art.exists(store, spec.id, run_id):
            data = store.read_bytes(art.key(spec.id, run_id))
            store.write_bytes(layout.release_file(ds, version, f"quality/{art.file}"), data)
            docs.append(_doc_entry(f"quality/{art.file}", data))
    vdocs = artifacts.DATA_DOCS.key(spec.id, run_id)
    for obj in store.list(vdocs):  # the report links data_docs/ relatively
        data = store.read_bytes(obj.key)
        rel = f"quality/{artifacts.DATA_DOCS.file}/{obj.key[len(vdocs) + 1:]}"
        store.write_bytes(layout.release_file(ds, version, rel), data)
        docs.append(_doc_entry(rel, data))
    return docs


def _doc_entry(key: str, data: bytes) -> dict[str, Any]:
    return {"key": key, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _encode_manifest(manifest: dict[str, Any]) -> bytes:
    """The manifest's bytes, as ``ObjectStore.write_json`` writes them; LATEST and the catalog record their sha256."""
    return json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode()


def _advance_latest(store: ObjectStore, ds: str, version: str, manifest_sha256: str) -> None:
    """Point LATEST at ``version`` and its manifest hash, unless it already names a newer version.

    A compare-and-swap: two publishers finishing in either order leave LATEST on the newer release. A pointer
    written before the hash chain existed (a bare version) gets the hash. A pointer that names this version
    with another manifest hash is left alone and reported: one of the two was changed after the release.

    Raises:
        PublishError: LATEST records another manifest hash for this version.
    """
    key = layout.latest(ds)
    conflict: list[str] = []

    def update(current: bytes | None) -> bytes | None:
        conflict.clear()
        if current is not None:
            try:
                now: Pointer | None = decode_pointer(current)
            except ValueError:
                now = None  # unreadable: replaced by a good pointer
            if now is not None and version_key(now.version) > version_key(version):
                return None
            if now is not None and now.version == version and now.manifest_sha256 is not None:
                if now.manifest_sha256 != manifest_sha256:
                    conflict.append(now.manifest_sha256)
                return None
        return encode_pointer(version, manifest_sha256)

    store.compare_and_swap(key, update)
    if conflict:
        raise PublishError(f"{store.uri(key)} records manifest sha256 {conflict[0]} for {ds} {version}, but its "
                           f"manifest.json hashes to {manifest_sha256}: the pointer or the manifest was changed "
                           "after the release. Nothing was rewritten; restore the release from a trusted copy")


def _after_commit(store: ObjectStore, spec: DatasetSpec) -> None:
    """Work that follows the commit and that a re-run repairs: the catalog entry and the site's pages."""
    index, changed = sync_dataset(store, spec.id)
    if changed or not site_is_current(store, index, spec.id):
        write_site(store, index, spec.id)


def _existing(store: ObjectStore, spec: DatasetSpec, version: str, manifest: dict[str, Any]) -> PublishResult:
    """The no-op answer; repairs a LATEST that a crash left behind this (complete) release."""
    ds = spec.id
    _advance_latest(store, ds, version, sha256_hex(store.read_bytes(manifest_key(ds, version))))
    if manifest.get("content_hash"):
        _clean_stale_staging(store, ds, str(manifest["content_hash"]))  # what killed attempts left
    _after_commit(store, spec)
    return PublishResult(version=version, prefix=layout.release(ds, version),
                         rows=int(manifest["rows"]["total"]),
                         manifest_key=manifest_key(ds, version), created=False)


def _validated_codes(store: ObjectStore, spec: DatasetSpec, run_id: str, quality: dict[str, Any], *,
                     records_sha: str, s_hash: str) -> str | None:
    """The key of validate's per-record split codes, if publish may route by them; else None (publish plans).

    They are the plan the gate approved (the leakage check read them), computed by the same planner: publish takes
    them when quality.json (whose sha256 the gate recorded) names their sha256 for these records and this spec.
    A run validated before the codes existed, or under another spec, is planned here as before.
    """
    entry = (quality.get("splits") or {}).get("codes")
    if not isinstance(entry, dict) or quality.get("records_sha256") != records_sha \
            or quality.get("spec_hash") != s_hash:
        return None
    key = artifacts.SPLIT_CODES.key(spec.id, run_id)
    if not store.exists(key) or store.sha256(key) != entry.get("sha256"):
        return None
    return key


class _CodeReader:
    """Validate's split codes in record order, handed out ``n`` at a time (one Parquet batch held at once)."""

    def __init__(self, fh: Any, rows: int) -> None:
        pf = pq.ParquetFile(fh)
        if pf.metadata.num_rows != rows:
            raise PublishError(f"the validated split codes hold {pf.metadata.num_rows} rows for {rows} records")
        self._batches = pf.iter_batches(batch_size=BATCH_ROWS * 8, columns=["split"])
        self._buf: Codes = np.zeros(0, dtype=np.int8)

    def take(self, n: int) -> Codes:
        parts: list[Codes] = []
        while n > 0:
            if not len(self._buf):
                self._buf = next(self._batches).column(0).to_numpy(zero_copy_only=False).astype(np.int8, copy=False)
            k = min(n, len(self._buf))
            parts.append(self._buf[:k])
            self._buf, n = self._buf[k:], n - k
        if len(parts) == 1:
            return parts[0]
        out: Codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int8)
        return out


def _scan(store: ObjectStore, rkey: str, spec: DatasetSpec, plan: SplitPlan, *, batch_rows: int,
          s_hash: str, rank: bool = True) -> tuple[str, int, list[pa.RecordBatch] | None]:
    """Pass 1: the content hash of the records, and (``rank``) the hash-rank split plan when stratified.

    Also returns the decoded batches when they all fit in ``KEEP_BYTES`` (pass 2 then reads nothing), else None.
    """
    # A release that embeds component media is other content than the one that held only their keys (so an
    # earlier multimodal release is superseded, not taken as identical); other specs' hashes are unchanged.
    comps = "".join(f"|component:{c}=embedded" for c in component_columns(spec))
    content = ContentHash(f"{FORMAT}|{s_hash}{comps}")
    members = GroupCounts() if plan.stratify_by and rank else None  # small when items share groups
    kept: list[pa.RecordBatch] | None = []
    held = 0
    with store.open_input(rkey) as fh:
        for batch in pq.ParquetFile(fh).iter_batches(batch_size=batch_rows):
            content.update(batch)
            if members is not None:
                members.add(group_key_array(spec, batch), strata_array(spec, batch))
            if kept is not None:
                held += batch.nbytes
                if held <= KEEP_BYTES:
                    kept.append(batch)
                else:
                    kept = None
    if members is not None:
        plan.rank(members)
    return content.hexdigest(), content.rows, kept


def release_schema(spec: DatasetSpec, records: pa.Schema, *, version: str | None = None,
                   s_hash: str | None = None) -> tuple[pa.Schema, str | None, list[str]]:
    """The release schema: records minus personal metadata columns, plus the media column(s).

    Images and audio are embedded (``struct<bytes, path>``, read by Hugging Face as Image/Audio); video is
    referenced (``struct<uri, sha256>``). A multimodal item's other media components follow, each embedded in a
    column named by its kind as that kind's primary media would be (``audio`` beside a referenced ``video``);
    ``components`` keeps their keys and sha256s. The schema metadata names the spec (id, version, hash) and the
    release version, so a Parquet file found alone still says what it is.
    """
    dropped = [name for name, col in spec.columns.items() if col.personal]
    fields = [f for f in records if f.name not in dropped]
    media_col = embed_column(spec)
    ref_col = reference_column(spec)
    meta: dict[bytes | str, bytes | str] = dict(records.metadata or {})
    meta[b"datadam.release_format"] = FORMAT.encode()
    meta[b"datadam.spec_id"] = spec.id.encode()
    meta[b"datadam.spec_version"] = spec.version.encode()
    meta[b"datadam.spec_hash"] = (s_hash or spec_hash(spec)).encode()
    if version is not None:
        meta[b"datadam.release_version"] = version.encode()
    if media_col:
        fields.append(pa.field(media_col, MEDIA_FEATURE))
    elif ref_col:
        fields.append(pa.field(ref_col, pa.struct([pa.field("uri", pa.string()), pa.field("sha256", pa.string())])))
    comp_cols = component_columns(spec)
    fields += [pa.field(c, MEDIA_FEATURE) for c in comp_cols]
    if media_col or comp_cols:
        meta[b"huggingface"] = hf_metadata(*([media_col] if media_col else []), *comp_cols)
    return pa.schema(fields, metadata=meta), media_col or ref_col, dropped


def _references(batch: pa.RecordBatch, *, column: str, store: ObjectStore, schema: pa.Schema) -> pa.RecordBatch:
    """Append ``column`` = struct(uri, sha256) of each record's media object (video stays in media/)."""
    media = batch.column(batch.schema.get_field_index("media"))
    keys = pc.struct_field(media, "key")
    uris = pc.binary_join_element_wise(pa.scalar(store.uri("")), keys, "")
    arr = pa.StructArray.from_arrays([uris, pc.struct_field(media, "sha256")], names=["uri", "sha256"],
                                     mask=pc.is_null(keys))
    return pa.RecordBatch.from_arrays([*batch.columns, arr], schema=batch.schema.append(schema.field(column)))


def _with_components(batches: Iterator[pa.RecordBatch], columns: list[str], *, store: ObjectStore,
                     pool: ThreadPoolExecutor) -> Iterator[pa.RecordBatch]:
    """Append each embedded component column (``audio`` ...) to ``batches``, in ``columns`` order."""
    for batch in batches:
        if not columns:
            yield batch
            continue
        yield from _with_components(embed(batch, column=columns[0], store=store, pool=pool, component=columns[0]),
                                    columns[1:], store=store, pool=pool)


def _write_splits(store: ObjectStore, rkey: str, spec: DatasetSpec, plan: SplitPlan, *, staging: str,
                  batch_rows: int, part_bytes: int, version: str, s_hash: str, row_group_rows: int | None,
                  row_group_bytes: int, transfer: Transfer, batches: list[pa.RecordBatch] | None = None,
                  codes: str | None = None) -> _Written:
    """Pass 2: route each record to its split and write the parts to staging (``batches``: pass 1's, if kept).

    ``codes``: the key of validate's per-record split codes to route by (else each batch's groups are looked up in
    the plan, hashing them when it is not stratified).
    """
    by_stratum: dict[str, Counter[str]] = {}
    with store.open_input(rkey) as fh, contextlib.ExitStack() as stack:
        pf = pq.ParquetFile(fh)
        given = None if codes is None else _CodeReader(stack.enter_context(store.open_input(codes)),
                                                       pf.metadata.num_rows)
        schema, media_col, dropped = release_schema(spec, pf.schema_arrow, version=version, s_hash=s_hash)
        embedded = embed_column(spec)
        comp_cols = component_columns(spec)
        rg_rows = row_group_rows or (MEDIA_ROW_GROUP_ROWS if embedded or comp_cols else ROW_GROUP_ROWS)
        kept = [n for n in pf.schema_arrow.names if n not in dropped]
        with tempfile.TemporaryDirectory(prefix="datadam-release-") as tmp, \
                ThreadPoolExecutor(max_workers=8, thread_name_prefix="media") as pool:
            writers = {name: _SplitWriter(split=name, schema=schema, store=store, staging=staging,
                                          tmp=Path(tmp), part_bytes=part_bytes, rg_rows=rg_rows,
                                          rg_bytes=row_group_bytes, transfer=transfer)
                       for name in plan.plan}
            names = list(writers)
            pace = Pace(f"{spec.id} publish {version}", total=pf.metadata.num_rows, unit="rows")
            if given is not None:
                source = batches if batches is not None else pf.iter_batches(batch_size=batch_rows)
                coded: Any = ((b, given.take(b.num_rows)) for b in source)
            elif batches is not None:  # read once: every record's split in one lookup
                keys = [group_key_array(spec, b) for b in batches]
                all_codes = plan.codes(pa.concat_arrays(keys)) if keys else np.zeros(0, dtype=np.int8)
                ends = np.cumsum([len(k) for k in keys])
                coded = zip(batches, np.split(all_codes, ends[:-1]), strict=True)
            else:
                coded = ((b, plan.codes(group_key_array(spec, b))) for b in pf.iter_batches(batch_size=batch_rows))
            for batch, where in coded:  # where: split numbers, in plan order
                pace.advance(batch.num_rows)
                if plan.stratify_by:
                    _count_strata(by_stratum, strata_array(spec, batch), where, names)
                rows = batch.select(kept)
                for i, writer in enumerate(writers.values()):
                    part = rows.filter(pa.array(where == i))
                    if part.num_rows == 0:
                        continue
                    if embedded:
                        chunks: Iterator[pa.RecordBatch] = embed(part, column=embedded, store=store, pool=pool)
                    elif media_col:
                        chunks = iter([_references(part, column=media_col, store=store, schema=schema)])
                    else:
                        chunks = iter([part])
                    for chunk in _with_components(chunks, comp_cols, store=store, pool=pool):
                        writer.write(chunk)
            files = [f for w in writers.values() for f in w.close()]
            pace.finish()
    mode = "embedded" if embedded else ("reference" if media_col else None)
    return _Written(files=files, schema=schema, media_col=media_col, media_mode=mode, dropped=dropped,
                    component_columns=dict.fromkeys(comp_cols, "embedded"),
                    by_stratum={k: dict(v) for k, v in sorted(by_stratum.items())}, row_group_rows=rg_rows,
                    row_group_bytes=row_group_bytes)


def _count_strata(by_stratum: dict[str, Counter[str]], strata: pa.Array, where: Codes, names: list[str]) -> None:
    """Add a batch's rows per (stratum, split) to ``by_stratum``; a null stratum counts as ``""``."""
    enc = strata.fill_null("").dictionary_encode()
    pairs = np.bincount(enc.indices.to_numpy().astype(np.int64) * len(names) + where,
                        minlength=len(enc.dictionary) * len(names)).reshape(-1, len(names))
    for stratum, row in zip(enc.dictionary.to_pylist(), pairs.tolist(), strict=True):
        counts = by_stratum.setdefault(stratum, Counter())
        for name, n in zip(names, row, strict=True):
            if n:
                counts[name] += n


def _split_report(plan: SplitPlan, per_split: dict[str, int], by_stratum: dict[str, dict[str, int]]
                  ) -> dict[str, Any]:
    """Planned beside achieved ratios, overall and per stratum; the largest deviation from the plan."""
    total = sum(per_split.values())
    achieved = {s: (per_split.get(s, 0) / total if total else 0.0) for s in plan.plan}
    deviation = max((abs(achieved[s] - r) for s, r in plan.plan.items()), default=0.0)
    strata_out: dict[str, Any] = {}
    for stratum, counts in by_stratum.items():
        n = sum(counts.values())
        strata_out[stratum] = {"rows": {s: counts.get(s, 0) for s in plan.plan},
                               "achieved": {s: round(counts.get(s, 0) / n, 6) for s in plan.plan}}
    return {"ratios": plan.plan, "planned": plan.plan, "achieved": {s: round(v, 6) for s, v in achieved.items()},
            "max_deviation": round(deviation, 6), "group_by": plan.group_by, "stratify_by": plan.stratify_by,
            "method": plan.method, "by_stratum": strata_out or None}


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built in: 7x faster, same result


@functools.cache
def _programme_names() -> dict[tuple[str, str], str]:
    """Korean names of the programme's fields and group tasks (schemas/fields.yaml, groups.yaml).

    Read directly rather than through ``load_catalog``, which validates all 150 specs (0.5 s per process).
    """
    out: dict[tuple[str, str], str] = {}
    root = default_schemas_dir()
    for kind in ("field", "group"):
        path = Path(root) / f"{kind}s.yaml"
        if path.exists():
            for row in yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or []:
                out[(kind, str(row["id"]))] = str(row["name"])
    return out


def dataset_metadata(spec: DatasetSpec) -> dict[str, Any]:
    """What the card, Croissant, the catalog and the site say about the dataset type (from the spec)."""
    a = spec.annotation
    m = spec.modality
    comps = list(getattr(m, "components", [m]))
    formats = sorted({f for c in comps for f in getattr(c, "formats", [])})
    languages = sorted({getattr(c, "language", "ko") for c in comps if c.kind == "text"} | {"ko"})
    target_language = getattr(a, "target_language", None)
    if target_language:
        languages = sorted(set(languages) | {str(target_language).split("-")[0]})
    names = _programme_names()
    field_name, group_name = names.get(("field", spec.field)), names.get(("group", spec.group))
    return {
        "field": spec.field, "field_name": field_name, "group": spec.group, "group_name": group_name,
        "modality": m.kind, "modality_kinds": sorted(spec.modality_kinds),
        "formats": formats, "annotation_type": a.type, "labels": spec.labels, "overlap": a.overlap,
        "overlap_share": a.overlap_share, "gold_share": a.gold_share, "review_share": a.review_share,
        "description": spec.description, "intended_use": list(spec.intended_use), "built_year": spec.built_year,
        "target_volume": spec.target_volume, "source_kind": spec.source.kind,
        "deidentify": list(spec.deidentify.targets), "languages": languages,
        "columns": {name: {"type": col.type, "description": col.description, "personal": col.personal}
                    for name, col in spec.columns.items()},
        "planned_shares": {k: dict(v) for k, v in spec.planned_shares.items()},
        "validity": spec.quality.validity.model_dump() if spec.quality.validity else None,
        "dicom": _dicom_metadata(spec),
        # The dataset page draws poses with it; the records name keypoints but not how they join.
        "skeleton": ({"keypoints": list(a.keypoints), "edges": [list(e) for e in a.skeleton]}
                     if isinstance(a, Keypoints) else None),
    }


def run_source(store: ObjectStore, spec: DatasetSpec, run_id: str) -> dict[str, Any]:
    """Where a run's items came from: the spec's source, or the binding the run was given (``datadam run
    --source``, the DAG's ``source`` param).

    A release is read by anyone, and the location a contractor gave (a folder, a bucket prefix, a URL) can name
    people: a patient's folder, ``홍길동_민원_010-….csv``, a home directory. So a release names a bound location by
    its keyed pseudonym (``src-…``, as it names each item's source URI) and its kind; what was given, and the
    source it bound, stay in the run's collect plan (``runs/<ds>/<run>/collect/plan.json``, never released)."""
    from pipelines.pii.pseudonyms import Pseudonyms

    plan = artifacts.COLLECT_PLAN.read_if_exists(store, spec.id, run_id) or {}
    binding = plan.get("binding")
    kind = (binding or {}).get("source", {}).get("kind") or spec.source.kind
    public = None if binding is None else {
        "given": Pseudonyms.of_store(store).source(str(binding.get("given") or "")), "source": {"kind": kind}}
    return {"kind": kind, "bound_at_run": binding is not None, "binding": public}


def _dicom_metadata(spec: DatasetSpec) -> dict[str, Any] | None:
    """Which confidentiality profile and options the DICOM items went through (for the card)."""
    m = spec.modality
    if not isinstance(m, ImageModality) or "dicom" not in m.formats:
        return None
    o = m.dicom_options()
    return {"profile": "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile",
            "options": list(o.profile_options), "burned_in": o.burned_in,
            "safe_private_tags": list(o.safe_private_tags), "modalities": list(o.modalities)}


def _manifest(spec: DatasetSpec, run_id: str, *, version: str, written: _Written, rows: int, content_hash: str,
              records_sha: str, s_hash: str, plan: SplitPlan, quality: dict[str, Any], decision: dict[str, Any],
              previous: tuple[str, dict[str, Any]] | None) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    files = written.files
    per_split = {name: sum(f["rows"] for f in files if f["split"] == name) for name in plan.plan}
    if previous is None:
        changelog: list[dict[str, Any]] = []
        summary = "첫 공개 / initial release"
        prev_version = None
    else:
        prev_version, prev = previous
        changelog = list(prev.get("changelog", []))
        changes = [f"rows {prev['rows']['total']} -> {rows}"]
        for name in plan.plan:
            before = prev.get("rows", {}).get(name)
            if before is not None and before != per_split[name]:
                changes.append(f"{name} {before} -> {per_split[name]}")
        if prev.get("spec", {}).get("hash") != s_hash:
            changes.append(f"spec {prev.get('spec', {}).get('version')} -> {spec.version} changed")
        summary = "내용 변경 / content changed: " + "; ".join(changes)
    changelog.append({"version": version, "date": now, "run_id": run_id, "previous_version": prev_version,
                      "content_hash": content_hash, "summary": summary})
    return {
        "format": FORMAT,
        "dataset": spec.id, "name": spec.name, "name_en": spec.name_en, "license": spec.license,
        "version": version, "created_at": now, "run_id": run_id,
        "spec": {"id": spec.id, "version": spec.version, "hash": s_hash},
        "metadata": dataset_metadata(spec),
        "content_hash": content_hash, "records_sha256": records_sha,
        "rows": {"total": rows, **per_split},
        "bytes": {"total": sum(f["size"] for f in files),
                  **{s: sum(f["size"] for f in files if f["split"] == s) for s in plan.plan}},
        "files": files,
        "schema": written.schema.to_string(show_schema_metadata=False),
        "media_column": written.media_col, "media_mode": written.media_mode, "dropped_columns": written.dropped,
        "component_columns": written.component_columns,
        "row_groups": {"max_rows": written.row_group_rows, "max_bytes": written.row_group_bytes},
        "splits": _split_report(plan, per_split, written.by_stratum),
        "quality": _quality_summary(quality),
        "gate": {k: decision.get(k) for k in ("status", "by", "note", "automatic", "decided_at", "at", "via")},
        "changelog": changelog,
    }


# ----------------------------------------------------------------------------------------------- read


def open_dataset(dataset_id: str, *, version: str | None = None, split: str | None = None,
                 storage: str | ObjectStore) -> pads.Dataset:
    """Open a release as a pyarrow Dataset (pandas, DuckDB and Hugging Face ``datasets`` read it).

    The files are the ones the manifest lists (never a listing of the prefix); a ``split`` column is
    derived from the directory, so ``split=None`` gives every split with that column.

    Args:
        dataset_id: The dataset id.
        version: A released version; None resolves ``releases/<id>/LATEST``.
        split: ``train``, ``validation`` or ``test``; None for all.
        storage: The storage root URI or an open store.

    Raises:
        PublishError: No release, unknown version or unknown split.
    """
    store = storage if isinstance(storage, ObjectStore) else open_store(storage)
    if version is None:
        version = store.read_pointer(layout.latest(dataset_id))
        if version is None:
            raise PublishError(f"{store.uri(layout.latest(dataset_id))}: {dataset_id!r} has no release")
    mkey = manifest_key(dataset_id, version)
    if not store.exists(mkey):
        raise PublishError(f"{store.uri(mkey)}: {dataset_id!r} has no release {version!r}")
    manifest = store.read_json(mkey)
    files = [f for f in manifest["files"] if split is None or f["split"] == split]
    if not files:
        raise PublishError(f"{dataset_id} {version} has no split {split!r}; "
                           f"splits: {sorted({f['split'] for f in manifest['files']})}")
    base = store.path(layout.release_file(dataset_id, version, "data"))
    paths = [store.path(layout.release_file(dataset_id, version, f['key'])) for f in files]
    part = pads.partitioning(pa.schema([pa.field("split", pa.string())]))
    return pads.dataset(paths, filesystem=store.fs, format="parquet", partitioning=part,
                        partition_base_dir=base)
