"""The collect stage: plan shards over a source, then collect one shard (intake checks, dedupe, quarantine).

Output of shard ``n`` (see ``pipelines.storage.schemas``):
- ``restricted/<ds>/runs/<run>/collect/part-<n:05d>.parquet`` (ITEM_SCHEMA): the collected items, un-masked text
  and truth included, so it lives under ``restricted/`` like the originals; only de-identification reads it;
- ``runs/<ds>/<run>/collect/quarantine-<n:05d>.parquet`` (QUARANTINE_SCHEMA: ids, reason codes, no content) and
  ``.../collect/summary-<n:05d>.json`` (counts): what anyone may read about the shard;
- originals of media items under ``restricted/<ds>/<sha256>.<ext>``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pydantic

from pipelines.collect import reasons as R
from pipelines.collect.dedupe import STATE_SCHEMA, other_runs_matches, text_minhash
from pipelines.collect.dicom import dataset_key
from pipelines.collect.intake import Accepted, check_item
from pipelines.collect.reasons import Reject
from pipelines.collect.sources import RawItem, make_item_id, make_source
from pipelines.pace import Pace
from pipelines.pii.text import mask_uri
from pipelines.spec.models import DatasetSpec, ImageModality, MultimodalModality, Source, TextModality
from pipelines.storage import artifacts, layout
from pipelines.storage.schemas import ITEM_SCHEMA, QUARANTINE_SCHEMA, dumps, now, rows_to_table
from pipelines.storage.store import ObjectStore, S3Settings, StorageError

_SOURCE: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Source)

STAGE = "collect"
# Items per shard by modality: a shard is one Airflow task, so a few minutes of work.
SHARD_SIZE = {"image": 200, "audio": 200, "video": 10, "timeseries": 100, "text": 5000}
# Airflow's core.max_map_length default: more shards than this cannot be mapped.
MAX_SHARDS = 1024
_PART_RE = re.compile(r"/(?:part|quarantine|summary|dropped)-(\d{5})\.(?:parquet|json)$")


@dataclass(frozen=True)
class ShardResult:
    """What one collect or de-identification shard wrote; ``items_in == items_out + quarantined``."""

    dataset: str
    run_id: str
    shard: int
    items_in: int
    items_out: int
    quarantined: int
    manifest_key: str
    quarantine_key: str
    reasons: dict[str, int] = field(default_factory=dict)
    summary_key: str = ""  # collect: the shard's content-free counts
    masked: dict[str, int] = field(default_factory=dict)  # deidentify: findings / regions / muted segments by kind


def part_key(dataset: str, run_id: str, stage: str, shard: int) -> str:
    """The item manifest of a stage's shard; ``collect`` manifests hold un-masked data and live in ``restricted/``."""
    if stage == artifacts.ITEMS.stage:
        return artifacts.ITEMS.part(dataset, run_id, shard)
    name = f"part-{shard:05d}.parquet"
    if stage == STAGE:
        return layout.restricted_run_file(dataset, run_id, stage, name)
    return layout.run_file(dataset, run_id, stage, name)


def summary_key(dataset: str, run_id: str, shard: int) -> str:
    """Counts of one collect shard (no content): what the run's readers may see of the collect manifest."""
    return layout.run_file(dataset, run_id, STAGE, f"summary-{shard:05d}.json")


def quarantine_key(dataset: str, run_id: str, stage: str, shard: int) -> str:
    return layout.run_file(dataset, run_id, stage, f"quarantine-{shard:05d}.parquet")


def original_quarantine_key(dataset: str, run_id: str, stage: str, shard: int) -> str:
    """The quarantine rows with their original source URIs, under ``restricted/`` (the rows in ``runs/`` hold the
    URIs with identifiers masked); ``datadam quarantine show --originals`` reads them."""
    return layout.restricted_run_file(dataset, run_id, stage, f"quarantine-{shard:05d}.parquet")


def write_quarantine(store: ObjectStore, *, dataset: str, run_id: str, stage: str, shard: int,
                     rows: list[dict[str, Any]]) -> str:
    """Write a shard's quarantine rows: URIs masked in ``runs/``, the originals in the restricted twin."""
    store.write_table(original_quarantine_key(dataset, run_id, stage, shard), rows_to_table(rows, QUARANTINE_SCHEMA))
    masked = [{**r, "source_uri": mask_uri(r["source_uri"]) if r.get("source_uri") else r.get("source_uri")}
              for r in rows]
    key = quarantine_key(dataset, run_id, stage, shard)
    store.write_table(key, rows_to_table(masked, QUARANTINE_SCHEMA))
    return key


def plan_shards(
    *, spec: DatasetSpec, store: ObjectStore, run_id: str, items: int | None = None,
    binding: dict[str, Any] | None = None, s3: S3Settings | None = None,
) -> list[dict[str, int]]:
    """Cut the source's items into shards; the plan is also written to ``runs/<ds>/<run>/collect/plan.json``.

    Args:
        spec: the dataset type.
        store: the storage root.
        run_id: the run (Airflow run id or any safe string).
        items: number of items to collect; defaults to what the source has (``source.items`` for synthetic).
        binding: the run's source binding (``Binding.record()``), when ``spec`` carries a source bound at run
            time; recorded in the plan, where publish finds it for the manifest and the card.
        s3: credentials of the source's own S3 (its connection), when they are not the storage's.

    Returns:
        ``[{"shard": n, "start": i, "count": k}, ...]`` in shard order, at most ``MAX_SHARDS`` entries.
    """
    source = make_source(spec=spec, store=store, run_id=run_id, s3=s3)
    total = source.plan_size(limit=items)
    mod = spec.modality  # a multimodal item costs what its primary component does (a clip: ten to a shard)
    kind = mod.primary if isinstance(mod, MultimodalModality) else mod.kind
    size = max(SHARD_SIZE.get(kind, 100), math.ceil(total / MAX_SHARDS))
    shards = [
        {"shard": n, "start": start, "count": min(size, total - start)}
        for n, start in enumerate(range(0, total, size))
    ]
    _drop_stale_parts(store, spec.id, run_id, keep=len(shards))
    if isinstance(spec.modality, ImageModality) and "dicom" in spec.modality.formats:
        dataset_key(store, spec.id)  # before shards run in parallel: they must all read the same key
    artifacts.COLLECT_PLAN.write(
        store, spec.id, run_id,
        {
            "dataset": spec.id,
            "run_id": run_id,
            "source": spec.source.model_dump(mode="json"),
            "binding": binding,
            "collector": source.collector,
            "items": total,
            "shard_size": size,
            "shards": shards,
        },
    )
    return shards


def _drop_stale_parts(store: ObjectStore, dataset: str, run_id: str, *, keep: int) -> None:
    # A re-planned run with fewer shards must not leave parts of the old plan behind for later stages to read.
    prefixes = (layout.run(dataset, run_id, STAGE), layout.restricted_run(dataset, run_id, STAGE),
                artifacts.ITEMS.key(dataset, run_id), layout.collected(dataset, run_id))
    for prefix in prefixes:
        for obj in store.list(prefix):
            m = _PART_RE.search(obj.key)
            if m and int(m.group(1)) >= keep:
                store.delete(obj.key)


def spec_as_planned(spec: DatasetSpec, store: ObjectStore, run_id: str) -> DatasetSpec:
    """The spec collect works with: with the source ``plan_shards`` recorded when the run was bound at run time
    (docs/adr/0018), so shards read what was planned without binding (and checking the delivery) again."""
    plan = artifacts.COLLECT_PLAN.read(store, spec.id, run_id)
    if not plan.get("binding"):
        return spec
    return spec.model_copy(update={"source": _SOURCE.validate_python(plan["source"])})


def collect_shard(
    *, spec: DatasetSpec, store: ObjectStore, run_id: str, shard: dict[str, Any], s3: S3Settings | None = None
) -> ShardResult:
    """Collect the items of one shard: intake checks, dedupe, originals to ``restricted/``.

    Duplicates (exact and near) are looked for among the earlier items of the shard and the items other runs
    kept; de-identification later compares against the lower shards of this run (see ``dedupe``). Every item
    the shard saw is recorded in ``state/<ds>/collected/<run>/part-<n>.parquet`` (incremental runs, dedupe).

    Idempotent: a re-run rewrites the same files with the same rows (``collected_at`` of items already
    collected by this run is kept).

    Args:
        spec: the dataset type.
        store: the storage root.
        run_id: the run.
        shard: one entry of ``plan_shards``.
        s3: credentials of the source's own S3 (its connection), when they are not the storage's.

    Returns:
        Counts and the keys written; the quarantine file is written even when empty, so a re-run replaces it.
    """
    n, start, count = int(shard["shard"]), int(shard["start"]), int(shard["count"])
    source = make_source(spec=spec, store=store, run_id=run_id, s3=s3)
    manifest_key = part_key(spec.id, run_id, STAGE, n)
    q_key = quarantine_key(spec.id, run_id, STAGE, n)
    earlier = _earlier_collected_at(store, manifest_key)
    collector = source.collector
    at = now()
    quarantine: list[tuple[int, dict[str, Any]]] = []  # (order in the shard, entry)
    state: list[tuple[int, dict[str, Any]]] = []
    accepted: list[_Candidate] = []

    def refuse(order: int, raw_uri: str, item_id: str, reason: str, detail: str) -> None:
        quarantine.append((order, {"item_id": item_id, "stage": STAGE, "reason": reason, "detail": detail,
                                   "source_uri": raw_uri, "at": at}))

    # Pass 1: fetch, intake checks and signatures, one item at a time.
    items_in = 0
    pace = Pace(f"{spec.id} collect shard {n}", total=count)
    for raw in source.items(start=start, count=count):
        order, items_in = items_in, items_in + 1
        pace.advance()
        item_id = make_item_id(spec.id, raw.source_uri)
        seen = {"item_id": item_id, "source_uri": raw.source_uri, "run_id": run_id, "shard": n,
                "position": raw.index, "fingerprint": raw.fingerprint}
        try:
            if raw.reject is not None:
                raise Reject(raw.reject, raw.error or raw.reject)
            if raw.error is not None:
                raise Reject(R.SOURCE_UNAVAILABLE, raw.error)
            acc = check_item(spec, raw)
        except Reject as rej:
            kept = _keep_original(store, spec.id, raw.ext, raw.data) if raw.data else None
            detail = f"{rej.detail} (original: {kept})" if kept else rej.detail
            refuse(order, raw.source_uri, item_id, rej.reason, detail)
            state.append((order, {**seen, "outcome": rej.reason, "content_sha256": None}))
            continue
        row = _row(spec, store, raw, acc, item_id=item_id, shard=n, collected_at=earlier.get(item_id, at),
                   collector=collector)
        # a multimodal item's text (a question, a script line) is no near-duplicate signature of the item: its primary
        # component's pHash is
        sig = {"sha": acc.content_sha256, "phash": acc.phash,
               "minhash": text_minhash(acc.text) if acc.text is not None and not acc.components
               and not raw.components else None}
        # Text has no media file in restricted/: keep its raw bytes until pass 2 decides (a shard's texts are small).
        text_bytes = raw.data if row["media_key"] is None else None
        accepted.append(_Candidate(order, item_id, raw.ext, sig, seen, row, text_bytes))

    pace.finish()
    # Pass 2: duplicates among the shard's earlier items and the items other runs kept, in item order.
    candidates = pa.table({"content_sha256": pa.array([c.sig["sha"] for c in accepted], pa.string()),
                           "phash": pa.array([c.sig["phash"] for c in accepted], pa.binary()),
                           "minhash": pa.array([c.sig["minhash"] for c in accepted], pa.binary())})
    index = other_runs_matches(store, spec.id, run_id=run_id, candidates=candidates)
    rows: list[dict[str, Any]] = []
    for c in accepted:
        dup = index.find(c.item_id, **c.sig)
        if dup is None:
            index.add(c.item_id, **c.sig)
            state.append((c.order, {**c.seen, "outcome": None, "content_sha256": c.sig["sha"],
                                    "phash": c.sig["phash"], "minhash": c.sig["minhash"]}))
            rows.append(c.row)
            continue
        original = c.row["media_key"] or (_keep_original(store, spec.id, c.ext, c.text_bytes) if c.text_bytes
                                          else None)
        refuse(c.order, c.row["source_uri"], c.item_id, dup.reason,
               f"{dup.detail} (original: {original})" if original else dup.detail)
        state.append((c.order, {**c.seen, "outcome": dup.reason, "content_sha256": c.sig["sha"]}))
    state_rows = [entry for _, entry in sorted(state, key=lambda t: t[0])]
    quarantined = [entry for _, entry in sorted(quarantine, key=lambda t: t[0])]
    # state/ is read by every later run: URIs with identifiers masked (the originals stay in the manifests)
    state_rows = [{**r, "source_uri": mask_uri(r["source_uri"])} for r in state_rows]
    store.write_table(layout.collected_part(spec.id, run_id, n), rows_to_table(state_rows, STATE_SCHEMA))
    store.write_table(manifest_key, rows_to_table(rows, ITEM_SCHEMA))
    write_quarantine(store, dataset=spec.id, run_id=run_id, stage=STAGE, shard=n, rows=quarantined)
    if items_in != len(rows) + len(quarantined):  # an invariant of this loop: fail loudly if it ever breaks
        raise RuntimeError(f"collect lost items: in={items_in} out={len(rows)} quarantined={len(quarantined)}")
    result = ShardResult(
        dataset=spec.id,
        run_id=run_id,
        shard=n,
        items_in=items_in,
        items_out=len(rows),
        quarantined=len(quarantined),
        manifest_key=manifest_key,
        quarantine_key=q_key,
        reasons=dict(sorted(Counter(q["reason"] for q in quarantined).items())),
        summary_key=summary_key(spec.id, run_id, n),
    )
    store.write_json(result.summary_key, dataclasses.asdict(result))
    return result


def _row(
    spec: DatasetSpec,
    store: ObjectStore,
    raw: RawItem,
    acc: Accepted,
    *,
    item_id: str,
    shard: int,
    collected_at: datetime,
    collector: str,
) -> dict[str, Any]:
    original_sha = hashlib.sha256(raw.data).hexdigest()
    media_key: str | None = None
    if not isinstance(spec.modality, TextModality):  # (a multimodal item's primary component is never its text)
        # Text lives in the manifest's `text` column; media files go to restricted/ until de-identified.
        media_key = _keep(store, spec.id, raw.data, acc.ext)
    components: list[dict[str, Any]] | None = None
    if acc.components:  # a multimodal item's other media components, kept like the primary's file
        files = {c.kind: c.data for c in raw.components}
        components = []
        for kind, part in acc.components:
            sha = hashlib.sha256(files[kind]).hexdigest()
            components.append({"kind": kind, "key": _keep(store, spec.id, files[kind], part.ext), "sha256": sha,
                               "original_sha256": sha, "ext": part.ext, "width": part.width,
                               "height": part.height, "duration_s": part.duration_s,
                               "sample_rate": part.sample_rate, "channels": part.channels})
    return {
        "item_id": item_id,
        "dataset": spec.id,
        "shard": shard,
        "source_uri": raw.source_uri,
        "media_key": media_key,
        "media_sha256": original_sha if media_key else None,
        "original_sha256": original_sha,
        "media_ext": acc.ext,
        "text": acc.text if acc.text is not None else raw.text,
        "width": acc.width,
        "height": acc.height,
        "duration_s": acc.duration_s,
        "sample_rate": acc.sample_rate,
        "channels": acc.channels,
        "meta": dumps(raw.meta),
        "truth": dumps(raw.truth) if raw.truth is not None else None,
        "collected_at": collected_at,
        "license": raw.license or spec.license,
        "collector": collector,
        "deid": None,
        "components": components,
    }


def _keep(store: ObjectStore, dataset: str, data: bytes, ext: str) -> str:
    key = layout.original(dataset, hashlib.sha256(data).hexdigest(), ext)
    if not store.exists(key):
        store.write_bytes(key, data)
    return key


@dataclass(frozen=True)
class _Candidate:
    """An item that passed intake, waiting for the duplicate check (its original already in restricted/)."""

    order: int
    item_id: str
    ext: str
    sig: dict[str, Any]
    seen: dict[str, Any]
    row: dict[str, Any]
    text_bytes: bytes | None


def _keep_original(store: ObjectStore, dataset: str, ext: str, data: bytes) -> str:
    """Keep a quarantined item's bytes (restricted) so an inspector can see what was refused."""
    ext = re.sub(r"[^a-z0-9]", "", ext.lower())[:8] or "bin"
    key = layout.restricted(dataset, "quarantine", f"{hashlib.sha256(data).hexdigest()}.{ext}")
    if not store.exists(key):
        store.write_bytes(key, data)
    return key


def _earlier_collected_at(store: ObjectStore, key: str) -> dict[str, datetime]:
    if not store.exists(key):
        return {}
    try:
        table = store.read_table(key, columns=["item_id", "collected_at"])
    except (StorageError, pa.ArrowInvalid, OSError):  # an unreadable old part is simply replaced
        return {}
    return dict(
        zip(table.column("item_id").to_pylist(), table.column("collected_at").to_pylist(), strict=True)
    )
