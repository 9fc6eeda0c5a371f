"""The de-identification stage: one collect shard in, de-identified media and an audited manifest out.

Nothing reaches ``media/`` before the detectors ran again on the masked result and found nothing; an item they
still find something in is quarantined as ``pii.unmasked``. For video that means every frame of the re-encoded
clip and every keyframe image cut from it (keyframes are written for the annotation types Label Studio draws on
keyframe images, listed in the item's ``meta.frames``). Items that duplicate an item a lower shard of the
same run kept are quarantined here too (``dedupe.exact`` / ``dedupe.near``): collect shards run in parallel and
only see their own items.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

import cv2

from pipelines.collect import reasons as R
from pipelines.collect.dedupe import (
    DROPPED_SCHEMA,
    Duplicate,
    lower_shards_kept,
    signatures,
)
from pipelines.collect.deid.dicom import deid_dicom
from pipelines.collect.deid.image import deid_image_checked, detector_versions, has_personal_metadata
from pipelines.collect.deid.video import compact, deid_video, detector_settings
from pipelines.collect.dicom import dataset_key
from pipelines.collect.reasons import Reject
from pipelines.collect.shards import ShardResult, part_key, quarantine_key, write_quarantine
from pipelines.collect.sources.base import package_version
from pipelines.collect.video import has_personal_metadata as video_has_personal_metadata
from pipelines.collect.video import scratch_dir
from pipelines.pii.dictionaries import spec_dictionaries
from pipelines.pii.text import TEXT_RULES_VERSION, Finding, TextDeidentifier
from pipelines.spec.models import (
    KEYFRAME_TYPES,
    TEXT_PII,
    VISUAL_PII,
    DatasetSpec,
    EnumColumn,
    ImageModality,
    MultimodalModality,
    VideoModality,
)
from pipelines.storage import layout
from pipelines.storage.schemas import ITEM_SCHEMA, dumps, now, rows_to_table
from pipelines.storage.store import ObjectStore, StorageError
from pipelines.wav import mute_ranges, peak

STAGE = "deidentify"
PROVENANCE_PII = frozenset({"rrn", "foreigner_rn", "phone", "email", "card", "account"})
AUDIO_MARGIN_S = 0.05  # silence a little around a segment with personal data


class _Deidentifier:
    """Per-spec state: compiled text rules and the targets, built once per shard."""

    def __init__(self, spec: DatasetSpec, store: ObjectStore) -> None:
        self.spec = spec
        self.store = store
        targets = set(spec.deidentify.targets)
        self.text_targets = sorted(targets & TEXT_PII)
        self.visual_targets = sorted(targets & VISUAL_PII)
        dictionaries = spec_dictionaries(spec)
        self.text = TextDeidentifier(targets=self.text_targets, dictionaries=dictionaries)
        # Metadata and source URIs get the identifier-shaped rules whatever the spec's targets (an image dataset
        # lists none of the text rules, but a file name can still be a resident number).
        self.provenance = TextDeidentifier(targets=sorted(PROVENANCE_PII | set(self.text_targets)),
                                           dictionaries=dictionaries)
        mod = spec.modality
        self.dicom_key = (
            dataset_key(store, spec.id) if isinstance(mod, ImageModality) and "dicom" in mod.formats else None
        )

    def item(self, row: dict[str, Any]) -> tuple[dict[str, Any], Counter[str]]:
        """The de-identified row and what was masked; raises ``Reject`` to quarantine the item."""
        audit: dict[str, Any] = {
            "version": f"datadam-deid/{package_version()}",
            "targets": sorted(self.spec.deidentify.targets),
            "original_sha256": row["original_sha256"],
        }
        masked: Counter[str] = Counter()
        out = dict(row)
        text_findings: list[dict[str, Any]] = []
        if self.text_targets or row["text"] is not None or row["truth"]:
            # the always-masked identifiers run on any text, whatever the spec's targets: audit them too
            audit["text"] = {"rules": TEXT_RULES_VERSION, "findings": text_findings}
        spoken: list[Finding] = []
        if row["text"] is not None:
            out["text"], found = self._mask("text", row["text"], text_findings)
            spoken += found
        truth = json.loads(row["truth"]) if row["truth"] else None
        segments_with_pii: list[dict[str, Any]] = []
        if isinstance(truth, dict) and isinstance(truth.get("transcript"), str):
            truth["transcript"], found = self._mask("truth.transcript", truth["transcript"], text_findings)
            spoken += found
            for i, seg in enumerate(truth.get("segments") or []):
                if isinstance(seg, dict) and isinstance(seg.get("text"), str):
                    seg["text"], seg_found = self._mask(f"truth.segments[{i}]", seg["text"], text_findings)
                    if seg_found:
                        segments_with_pii.append(seg)
            out["truth"] = dumps(truth)
        provenance_findings = self._mask_provenance(row, out)
        if provenance_findings:
            audit["provenance"] = {"rules": TEXT_RULES_VERSION, "findings": provenance_findings}
            masked.update(f["kind"] for f in provenance_findings)
        # segments repeat the transcript: count each piece of personal data once
        masked.update(f["kind"] for f in text_findings if not f["field"].startswith("truth.segments"))

        mod = self.spec.modality
        primary = mod.primary if isinstance(mod, MultimodalModality) else mod.kind
        if row["media_key"]:
            data = self._read(row["media_key"], row["media_sha256"])
            if primary == "image" and row["media_ext"] == "dcm":
                data = self._dicom(data, out, audit, masked)
            else:
                data = self._media(primary, data, str(row["media_ext"]), row, out, audit, masked,
                                   spoken, segments_with_pii)
            out["media_key"], out["media_sha256"] = self._write(data, row["media_ext"])
            audit["media_sha256"] = out["media_sha256"]
        if row.get("components"):  # a multimodal item's other media: each through its own kind's de-identifier
            parts = []
            for c in row["components"]:
                data = self._media(c["kind"], self._read(c["key"], c["sha256"]), str(c["ext"]), row, out, audit,
                                   masked, spoken, segments_with_pii)
                key, sha = self._write(data, c["ext"])
                parts.append({**c, "key": key, "sha256": sha})
                audit.setdefault("components", {})[c["kind"]] = sha
            out["components"] = parts
        audit["recheck"] = {"passed": True}
        out["deid"] = dumps(audit)
        return out, masked

    def _read(self, key: str, sha256: str) -> bytes:
        data = self.store.read_bytes(key)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise Reject(R.DEID_FAILED, f"{key} no longer has the collected content")
        return data

    def _write(self, data: bytes, ext: str) -> tuple[str, str]:
        sha = hashlib.sha256(data).hexdigest()
        key = layout.media(self.spec.id, sha, ext)
        if not self.store.exists(key):  # content-addressed: the same bytes are written once
            self.store.write_bytes(key, data)
        return key, sha

    def _media(self, kind: str, data: bytes, ext: str, row: dict[str, Any], out: dict[str, Any],
               audit: dict[str, Any], masked: Counter[str], spoken: list[Finding],
               segments: list[dict[str, Any]]) -> bytes:
        """One media file (the item's, or a multimodal item's component of ``kind``) de-identified."""
        if kind == "image":
            return self._image(data, audit, masked)
        if kind == "audio":
            return self._audio(data, spoken, segments, audit, masked)
        if kind == "video":
            return self._video(data, ext, row, out, audit, masked)
        return data  # timeseries: nothing in it identifies a person (the provenance is masked above)

    def _modality(self, kind: str) -> Any:
        mod = self.spec.modality
        return mod.component(kind) if isinstance(mod, MultimodalModality) else mod

    def _mask_provenance(self, row: dict[str, Any], out: dict[str, Any]) -> list[dict[str, Any]]:
        """The text rules on what travels with the item to Label Studio and releases besides its text.

        Metadata strings (a contractor's records file may hold a phone number in a note column) and the source URI
        (file names like ``홍길동_900101-1234567.jpg`` happen, in healthcare especially). Enum values are left alone:
        the spec lists them. A URI is searched with its percent-escapes decoded and written back escaped.
        """
        sink: list[dict[str, Any]] = []
        meta = json.loads(row["meta"]) if row.get("meta") else None
        if isinstance(meta, dict):
            changed = False
            for name, value in meta.items():
                if isinstance(value, str) and not isinstance(self.spec.columns.get(name), EnumColumn):
                    masked_value, found = self._mask(f"meta.{name}", value, sink, self.provenance)
                    if found:
                        meta[name], changed = masked_value, True
            if changed:
                out["meta"] = dumps(meta)
        uri = row.get("source_uri")
        if isinstance(uri, str):
            masked_uri, found = self._mask("source_uri", unquote(uri), sink, self.provenance)
            if found:
                out["source_uri"] = quote(masked_uri, safe=":/?#@!$&'()*+,;=~%")
        return sink

    def _mask(
        self, where: str, text: str, sink: list[dict[str, Any]], rules: TextDeidentifier | None = None
    ) -> tuple[str, list[Finding]]:
        rules = rules or self.text
        if not rules.targets:
            return text, []
        masked_text, findings, left = rules.mask_checked(text)  # the re-check: a search of the masked text
        if left:
            raise Reject(
                R.PII_UNMASKED,
                f"{where}: {len(left)} finding(s) of {sorted({f.kind for f in left})} remain after masking",
            )
        sink.extend({"field": where, **f.as_dict()} for f in findings)
        return masked_text, findings

    def _image(self, data: bytes, audit: dict[str, Any], masked: Counter[str]) -> bytes:
        try:
            done = deid_image_checked(data, targets=self.visual_targets)  # its last re-check is ``left``
            out, regions, left = done.data, done.regions, done.left
            meta_left = has_personal_metadata(out)
        except (OSError, ValueError, cv2.error) as exc:
            raise Reject(R.DEID_FAILED, f"image: {type(exc).__name__}: {exc}") from None
        audit["image"] = {
            "detectors": detector_versions(),
            "regions": [r.as_dict() for r in regions],
            "reencoded": out is not data,
        }
        if left or meta_left:
            what = (
                f"{len(left)} region(s) of {sorted({r.kind for r in left})}" if left else "EXIF/XMP metadata"
            )
            raise Reject(R.PII_UNMASKED, f"image: {what} still found after masking")
        masked.update(r.kind for r in regions)
        return out

    def _dicom(self, data: bytes, out: dict[str, Any], audit: dict[str, Any], masked: Counter[str]) -> bytes:
        """PS3.15 Annex E on the tags, burned-in text masked or quarantined; the display PNG of every frame goes
        to ``media/`` too, ``meta.frames`` lists them in frame order and ``meta.display`` names the first (what
        Label Studio shows; same pixel grid as the DICOM)."""
        mod = self.spec.modality
        assert isinstance(mod, ImageModality) and self.dicom_key is not None
        try:
            res = deid_dicom(data, opts=mod.dicom_options(), secret=self.dicom_key,
                             clean_text=lambda text: self.provenance.mask(text)[0],
                             method=f"datadam-deid/{package_version()}")
        except (OSError, ValueError, AttributeError, KeyError, TypeError, IndexError, cv2.error) as exc:
            # pydicom reports a malformed element with any of these; one odd file must not fail the shard
            raise Reject(R.DEID_FAILED, f"dicom: {type(exc).__name__}: {exc}") from None
        audit["dicom"] = res.audit
        keys = []  # one display PNG per frame (frame i at index i), content-addressed like other media
        for png in res.frame_displays:
            key = layout.media(self.spec.id, hashlib.sha256(png).hexdigest(), "png")
            if not self.store.exists(key):
                self.store.write_bytes(key, png)
            keys.append(key)
        meta = json.loads(out["meta"]) if out.get("meta") else {}
        out["meta"] = dumps({**meta, "display": keys[0], "frames": keys, "dicom": res.facts})
        masked.update({"dicom_attributes": sum(res.audit["actions"].values())})
        if res.regions:
            masked["burned_in_text"] += len(res.regions)
        return res.data

    def _video(
        self, data: bytes, ext: str, row: dict[str, Any], out: dict[str, Any], audit: dict[str, Any],
        masked: Counter[str]
    ) -> bytes:
        mod = self._modality("video")
        assert isinstance(mod, VideoModality)
        targets = self.visual_targets
        keyframe_fps = mod.annotation_fps if self.spec.annotation.type in KEYFRAME_TYPES else None
        with scratch_dir() as tmp:
            try:
                res = deid_video(data, ext=ext, targets=targets, workdir=tmp, keyframe_fps=keyframe_fps)
                meta_left = video_has_personal_metadata(res.data)
            except (OSError, ValueError, cv2.error) as exc:  # VideoError is a ValueError
                raise Reject(R.DEID_FAILED, f"video: {type(exc).__name__}: {exc}") from None
            scan, after = res.scan, res.recheck
            audit["video"] = {
                "detectors": {**detector_versions(), **detector_settings()},
                "frames": scan.frames,
                "fps": round(scan.fps, 6),
                "regions": compact(scan.regions),  # kind -> [frame, x, y, w, h] of every detection
                "recheck_regions": compact(res.added),  # found by a re-check, masked in the next round
                "rounds": res.rounds,
                "masked_frames": res.masked_frames,
                "reencoded": res.reencoded,
                "keyframes": len(res.keyframes),
            }
            if after is not None and (after.frames, after.width, after.height) != (scan.frames, scan.width,
                                                                                    scan.height):
                raise Reject(
                    R.DEID_FAILED,
                    f"video: the masked clip has {after.frames} frames of {after.width}x{after.height}, "
                    f"the original {scan.frames} of {scan.width}x{scan.height}",
                )
            left, keyframes_left = (after.regions if after is not None else []), res.keyframes_left
            if left or keyframes_left or meta_left:
                what = [f"{len(left)} region(s) of {sorted({r.kind for _, r in left})} in "
                        f"{len({f for f, _ in left})} frame(s)"] if left else []
                what += [f"{len(keyframes_left)} region(s) in keyframe images"] if keyframes_left else []
                what += ["GPS/camera metadata"] if meta_left else []
                raise Reject(R.PII_UNMASKED, f"video: {', '.join(what)} still found after masking")
            if res.keyframes:
                keys = []
                for path in res.keyframes:
                    jpeg = path.read_bytes()
                    key = layout.media(self.spec.id, hashlib.sha256(jpeg).hexdigest(), "jpg")
                    if not self.store.exists(key):
                        self.store.write_bytes(key, jpeg)
                    keys.append(key)
                meta = json.loads(row["meta"]) if row["meta"] else {}
                out["meta"] = dumps({**meta, "frames": keys})
        masked.update(r.kind for _, r in [*scan.regions, *res.added])
        return res.data

    def _audio(
        self,
        data: bytes,
        spoken: list[Finding],
        segments: list[dict[str, Any]],
        audit: dict[str, Any],
        masked: Counter[str],
    ) -> bytes:
        if spoken and not segments:
            # Masking the transcript alone would leave the personal data audible.
            raise Reject(
                R.PII_UNMASKED, "audio: personal data is spoken but no time-aligned segment locates it"
            )
        ranges = [
            (max(0.0, float(s["start"]) - AUDIO_MARGIN_S), float(s["end"]) + AUDIO_MARGIN_S) for s in segments
        ]
        audit["audio"] = {"muted": [{"start": round(a, 3), "end": round(b, 3)} for a, b in ranges]}
        if not ranges:
            return data
        try:
            out = mute_ranges(data, ranges)
            loud = [r for r in ranges if peak(out, *r) > 0]
        except (EOFError, ValueError, OSError) as exc:
            raise Reject(R.DEID_FAILED, f"audio: {type(exc).__name__}: {exc}") from None
        if loud:
            raise Reject(R.PII_UNMASKED, f"audio: {len(loud)} range(s) with personal data are not silent")
        masked["audio_segments"] += len(ranges)
        return out


def _cross_shard_duplicates(
    spec: DatasetSpec, store: ObjectStore, run_id: str, shard: int
) -> Callable[[str], Duplicate | None]:
    """item id -> the lower-shard item of this run it duplicates (collect only saw its own shard)."""
    own = layout.collected_part(spec.id, run_id, shard)
    if shard == 0 or not store.exists(own):  # runs collected before the index existed have nothing to compare
        return lambda item_id: None
    sigs = signatures(store.read_table(own))
    lower = lower_shards_kept(store, spec.id, run_id=run_id, below=shard)

    def find(item_id: str) -> Duplicate | None:
        s = sigs.get(item_id)
        if s is None:
            return None
        return lower.find(item_id, sha=s["content_sha256"], phash=s["phash"], minhash=s["minhash"])

    return find


def deidentify_shard(*, spec: DatasetSpec, store: ObjectStore, run_id: str, shard: int) -> ShardResult:
    """De-identify the items of one collect shard.

    Reads ``restricted/<ds>/runs/<run>/collect/part-<shard>.parquet``; writes de-identified media to
    ``media/<ds>/<sha256>.<ext>``, the manifest (``media_key`` under ``media/``, ``deid`` audit JSON filled)
    to ``runs/<ds>/<run>/deidentify/part-<shard>.parquet`` and failures to
    ``.../deidentify/quarantine-<shard>.parquet``.
    Idempotent: media are content-addressed and both Parquet files are rewritten whole.

    Args:
        spec: the dataset type.
        store: the storage root.
        run_id: the run.
        shard: the shard number (``plan_shards()[i]["shard"]``).

    Raises:
        StorageError: the collect shard does not exist.
    """
    in_key = part_key(spec.id, run_id, "collect", shard)
    if not store.exists(in_key):
        raise StorageError(f"{store.uri(in_key)}: no collect output for shard {shard}; run collect first")
    rows = store.read_table(in_key).to_pylist()
    deid = _Deidentifier(spec, store)
    out_rows: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    masked: Counter[str] = Counter()
    at = now()
    duplicate_of = _cross_shard_duplicates(spec, store, run_id, shard)
    for row in rows:
        try:
            dup = duplicate_of(row["item_id"])
            if dup is not None:
                dropped.append({"item_id": row["item_id"], "reason": dup.reason})
                raise Reject(dup.reason, f"{dup.detail}, collected by a lower shard of this run")
            new_row, found = deid.item(row)
        except Reject as rej:
            quarantine.append(
                {
                    "item_id": row["item_id"],
                    "stage": STAGE,
                    "reason": rej.reason,
                    "detail": rej.detail,
                    "source_uri": row["source_uri"],
                    "at": at,
                }
            )
            continue
        out_rows.append(new_row)
        masked.update(found)
    manifest_key = part_key(spec.id, run_id, STAGE, shard)
    q_key = quarantine_key(spec.id, run_id, STAGE, shard)
    store.write_table(manifest_key, rows_to_table(out_rows, ITEM_SCHEMA))
    write_quarantine(store, dataset=spec.id, run_id=run_id, stage=STAGE, shard=shard, rows=quarantine)
    store.write_table(layout.collected_dropped(spec.id, run_id, shard), rows_to_table(dropped, DROPPED_SCHEMA))
    if len(rows) != len(out_rows) + len(quarantine):  # an invariant of the loop above
        raise RuntimeError(
            f"deidentify lost items: in={len(rows)} out={len(out_rows)} quarantined={len(quarantine)}"
        )
    return ShardResult(
        dataset=spec.id,
        run_id=run_id,
        shard=shard,
        items_in=len(rows),
        items_out=len(out_rows),
        quarantined=len(quarantine),
        manifest_key=manifest_key,
        quarantine_key=q_key,
        reasons=dict(sorted(Counter(q["reason"] for q in quarantine).items())),
        masked=dict(sorted(masked.items())),
    )
