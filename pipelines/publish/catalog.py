"""``catalog/index.json``: every released dataset, what the download client lists and searches.

The catalog is derived data: a dataset's entry is rebuilt from its release manifests and ``LATEST`` (never
edited by hand), and merged into the index with a compare-and-swap (``ObjectStore.compare_and_swap``), so two datasets
published at once both end up listed. Because an entry is a function of storage, a publisher that died after
``LATEST`` but before the catalog is repaired by the next run (``publish`` of identical content is a no-op that
re-syncs the catalog), and ``rebuild_catalog`` recreates the whole index from the releases.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pipelines.publish.integrity import sha256_hex
from pipelines.publish.versions import version_key
from pipelines.storage import ObjectStore, layout

CATALOG_FORMAT = "datadam-catalog/1"
CATALOG_KEY = layout.CATALOG_INDEX


def manifest_hashes(store: ObjectStore, dataset: str) -> dict[str, str]:
    """sha256 of each published version's ``manifest.json`` bytes, oldest first: what the catalog records."""
    return {v: sha for v, (_, sha) in _read_releases(store, dataset).items()}


def _read_releases(store: ObjectStore, dataset: str) -> dict[str, tuple[dict[str, Any], str]]:
    base = layout.release(dataset)
    out: dict[str, tuple[dict[str, Any], str]] = {}
    for obj in store.list(base):
        rest = obj.key[len(base) + 1:].split("/")
        if len(rest) == 2 and rest[1] == "manifest.json" and not rest[0].startswith("."):
            raw = store.read_bytes(obj.key)
            out[rest[0]] = (json.loads(raw), sha256_hex(raw))
    return dict(sorted(out.items(), key=lambda kv: version_key(kv[0])))


def list_releases(store: ObjectStore, dataset: str) -> dict[str, dict[str, Any]]:
    """Published versions (those with a manifest) and their manifests, oldest first."""
    return {v: m for v, (m, _) in _read_releases(store, dataset).items()}


def build_entry(dataset: str, releases: dict[str, dict[str, Any]], latest: str,
                hashes: dict[str, str] | None = None) -> dict[str, Any]:
    """The catalog entry of a dataset from its manifests (oldest first) and the version LATEST names.

    ``hashes`` (version -> sha256 of its manifest.json) go into the entry: the second record of the hash chain
    beside ``LATEST``, and the one that vouches for versions older than the current one.
    """
    hashes = hashes or {}
    m = releases[latest]
    md = m["metadata"]
    q = m.get("quality", {})
    splits = list(m["splits"]["planned"])
    versions = []
    for v, mv in releases.items():
        log: dict[str, Any] = next((c for c in mv.get("changelog", []) if c.get("version") == v), {})
        versions.append({"version": v, "created_at": mv["created_at"], "rows": mv["rows"]["total"],
                         "bytes": mv.get("bytes", {}).get("total"), "summary": log.get("summary", ""),
                         "quality_success": mv.get("quality", {}).get("success"),
                         "gate": mv.get("gate", {}).get("status"), "manifest_sha256": hashes.get(v)})
    return {
        "id": dataset, "name": m["name"], "name_en": m["name_en"], "license": m["license"],
        "field": md["field"], "field_name": md.get("field_name"), "group": md["group"],
        "group_name": md.get("group_name"), "modality": md["modality"], "modality_kinds": md["modality_kinds"],
        "annotation_type": md["annotation_type"], "labels": md.get("labels", []),
        "description": md["description"], "intended_use": md.get("intended_use", []),
        "built_year": md.get("built_year"), "target_volume": md.get("target_volume"),
        "languages": md.get("languages", []),
        "latest": latest, "manifest_sha256": hashes.get(latest), "versions": versions,
        "rows": m["rows"]["total"], "bytes": m.get("bytes", {}).get("total"),
        "splits": {s: m["rows"].get(s, 0) for s in splits},
        "splits_achieved": m["splits"].get("achieved"),
        "media_mode": m.get("media_mode"),
        "quality": {"success": q.get("success"),
                    "characteristics": {k: {"name_ko": c.get("name_ko"), "name_en": c.get("name_en"),
                                            "target": c.get("target"), "measured": c.get("measured"),
                                            "passed": c.get("passed")}
                                        for k, c in q.get("characteristics", {}).items()}},
        "gate": m.get("gate", {}).get("status"),
        "release": layout.release(dataset, latest), "page": f"datasets/{dataset}.html",
    }


def empty_catalog() -> dict[str, Any]:
    return {"format": CATALOG_FORMAT, "revision": 0, "updated_at": None, "datasets": {}}


def read_catalog(store: ObjectStore) -> dict[str, Any]:
    """The catalog index (an empty one when nothing was released yet)."""
    if not store.exists(CATALOG_KEY):
        return empty_catalog()
    out: dict[str, Any] = store.read_json(CATALOG_KEY)
    return out


def _encode(index: dict[str, Any]) -> bytes:
    return json.dumps(index, ensure_ascii=False, indent=2, sort_keys=True).encode()


def sync_dataset(store: ObjectStore, dataset: str) -> tuple[dict[str, Any], bool]:
    """Make the catalog's entry for ``dataset`` match storage; returns the index and whether it changed.

    A dataset without a ``LATEST`` is removed from the catalog (it has no release readers can see).
    """
    latest = store.read_pointer(layout.latest(dataset))
    entry: dict[str, Any] | None = None
    if latest is not None:
        both = _read_releases(store, dataset)
        if latest in both:
            entry = build_entry(dataset, {v: m for v, (m, _) in both.items()}, latest,
                                {v: sha for v, (_, sha) in both.items()})
    changed = False

    def update(current: bytes | None) -> bytes | None:
        nonlocal changed
        index = json.loads(current) if current else empty_catalog()
        new = _keep_recorded_hashes(entry, index["datasets"].get(dataset))
        if index["datasets"].get(dataset) == new:
            return None
        if new is None:
            index["datasets"].pop(dataset, None)
        else:
            index["datasets"][dataset] = new
        index["revision"] = int(index.get("revision", 0)) + 1
        index["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        index["datasets"] = dict(sorted(index["datasets"].items()))
        changed = True
        return _encode(index)

    raw = store.compare_and_swap(CATALOG_KEY, update)
    return (json.loads(raw) if raw else empty_catalog()), changed


def _keep_recorded_hashes(entry: dict[str, Any] | None, old: dict[str, Any] | None) -> dict[str, Any] | None:
    """``entry`` with the manifest hashes ``old`` already recorded: a recorded hash is never re-derived.

    The catalog is otherwise rebuilt from storage, which would launder a manifest changed after its release into
    the record the download client checks it against; keeping the first hash makes that change show.
    """
    if entry is None or not old:
        return entry
    recorded = {v.get("version"): v.get("manifest_sha256") for v in old.get("versions", []) if isinstance(v, dict)}
    versions = [{**v, "manifest_sha256": recorded.get(v["version"]) or v.get("manifest_sha256")}
                for v in entry["versions"]]
    latest = next((v["manifest_sha256"] for v in versions if v["version"] == entry["latest"]), None)
    return {**entry, "versions": versions, "manifest_sha256": latest}


def rebuild_catalog(store: ObjectStore) -> dict[str, Any]:
    """Re-derive every entry from ``releases/`` (after a restore, or to drop entries of deleted datasets)."""
    names = sorted({o.key.split("/")[1] for o in store.list("releases") if o.key.endswith("/LATEST")})
    listed = set(read_catalog(store)["datasets"])
    index = empty_catalog()
    for name in sorted(set(names) | listed):
        index, _ = sync_dataset(store, name)
    return index


def search(index: dict[str, Any], query: str = "", *, field: str | None = None, modality: str | None = None,
           annotation: str | None = None) -> list[dict[str, Any]]:
    """Entries whose id, names, description, labels, group or intended use contain every word of ``query``."""
    words = [w.casefold() for w in query.split()]
    out = []
    for entry in index["datasets"].values():
        if field and entry["field"] != field:
            continue
        if modality and modality != entry["modality"] and modality not in entry.get("modality_kinds", []):
            continue
        if annotation and entry["annotation_type"] != annotation:
            continue
        hay = " ".join(str(x) for x in (
            entry["id"], entry["name"], entry["name_en"], entry["description"], entry["group"],
            entry.get("group_name") or "", entry.get("field_name") or "", entry["field"],
            " ".join(entry.get("labels", [])), " ".join(entry.get("intended_use", [])))).casefold()
        if all(w in hay for w in words):
            out.append(entry)
    return out
