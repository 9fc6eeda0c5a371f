"""Sources that list what is out there (files, URLs, objects, records) and fetch items one by one.

Planning a run lists the source once and fixes the run's items in
``restricted/<ds>/runs/<run>/collect/listing.parquet`` (names and record payloads may be personal, so the
listing is restricted): shards are ranges of it, so a retried shard sees the same items even when the source
changed meanwhile. Items other runs already collected are left out (incremental runs); item ids derive from
the source URI, so they are the same in every run.

Zip archives are expanded into their members at planning (see ``archive``), refused entries (path traversal,
symlink escapes, zip bombs) stay in the listing with their reason so that they are quarantined item by item.
Planning fetches an archive once and holds that copy beside the listing (``.../collect/archives/<sha256>.zip``);
a shard opens the held copy once, reads only its members' bytes at their offsets, and never fetches the source
again, so every shard sees the archive the listing was made from.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.dataset as pads

from pipelines.collect import reasons as R
from pipelines.collect.dedupe import collected_elsewhere
from pipelines.collect.reasons import Reject
from pipelines.collect.sources import archive
from pipelines.collect.sources.base import RawComponent, RawItem, Source, make_item_id
from pipelines.spec.models import (
    AudioModality,
    DatasetSpec,
    ImageModality,
    MultimodalModality,
    TextModality,
    TimeseriesModality,
    VideoModality,
)
from pipelines.storage import layout

# Archives are read whole into memory to list and extract their members: refuse larger ones.
MAX_ARCHIVE_BYTES = 2 * 1024**3
_LISTING_BATCH = 4096

LISTING_SCHEMA = pa.schema(
    [
        pa.field("index", pa.int64(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),  # the item's source URI (its id derives from it)
        pa.field("locator", pa.string(), nullable=False),  # what ``fetch`` needs: path, URL, key
        pa.field("member", pa.string()),  # archive member name, when the item is inside an archive
        pa.field("ext", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("fingerprint", pa.string()),
        pa.field("reject", pa.string()),
        pa.field("detail", pa.string()),
        pa.field("payload", pa.binary()),  # the item's bytes when the listing already has them (records)
        pa.field("meta", pa.string()),  # JSON: values of the spec's schema columns
        pa.field("text", pa.string()),  # text supplied with a media item (a transcript)
        pa.field("archive", pa.string()),  # storage key of the archive copy the run holds, for members
        pa.field("parts", pa.string()),  # JSON: a multimodal item's component files (docs/adr/0024)
    ]
)
# What of an entry a multimodal item's ``parts`` keeps, per component file.
_PART_FIELDS = ("uri", "locator", "member", "ext", "size", "fingerprint", "archive")


@dataclass(frozen=True)
class Entry:
    """One listed item, before fetching."""

    uri: str
    locator: str
    ext: str = ""
    size: int | None = None
    fingerprint: str | None = None
    member: str | None = None
    reject: str | None = None
    detail: str | None = None
    payload: bytes | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    archive: str | None = None
    # a multimodal item: its component files, (component kind, entry) in the spec's order
    parts: tuple[tuple[str, Entry], ...] = ()


def group_components(mod: MultimodalModality, entries: list[Entry]) -> list[Entry]:
    """One entry per multimodal item: the files sharing a name stem in one folder (``scene01.mp4``,
    ``scene01.wav``, ``scene01.json``), sorted by stem (docs/adr/0024).

    The item's URI is the stem's (``…/scene01``), so its id is the same whichever components arrive. A group
    without a file of some component, with two of one, or with a file no component takes is kept with
    ``multimodal.component_missing`` / ``multimodal.component_extra`` and quarantined; a refused file
    (a symbolic link, an oversize one ...) refuses its group with its own reason.
    """
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        groups.setdefault(stem_uri(e.uri), []).append(e)
    declared = [c.kind for c in mod.components]
    out: list[Entry] = []
    for stem in sorted(groups):
        files = groups[stem]
        kinds = [mod.kind_of_ext(e.ext) or "" for e in files]
        parts = tuple(sorted(zip(kinds, files, strict=True),
                             key=lambda p: (declared.index(p[0]) if p[0] in declared else len(declared), p[1].uri)))
        primary = next((e for k, e in parts if k == mod.primary), files[0])
        names = ", ".join(e.uri.rsplit("/", 1)[-1] for e in files)
        reject = next(((e.reject, e.detail) for e in files if e.reject), None)
        if reject is None and "" in kinds:
            strays = [e.uri.rsplit("/", 1)[-1] for k, e in parts if not k]
            reject = (R.MULTIMODAL_EXTRA, f"{', '.join(strays)}: no component of {declared} takes this file")
        if reject is None and len(set(kinds)) < len(kinds):
            reject = (R.MULTIMODAL_EXTRA, f"more than one file of a component among {names}")
        missing = [k for k in declared if k not in kinds]
        if reject is None and missing:
            reject = (R.MULTIMODAL_MISSING, f"no {', '.join(missing)} file beside {names}")
        out.append(replace(primary, uri=stem, size=sum(e.size or 0 for e in files) or None,
                           reject=reject[0] if reject else None, detail=reject[1] if reject else None,
                           parts=parts))
    return out


def stem_uri(uri: str) -> str:
    """A file's URI without its extension (query and fragment dropped): the key of its multimodal item."""
    base = uri.split("?", 1)[0].split("#", 1)[0]
    head, _, name = base.rpartition("/")
    return f"{head}/{name.rsplit('.', 1)[0]}" if "." in name else base


def max_item_bytes(spec: DatasetSpec) -> int:
    """The most bytes one item may have: a download stops there (``media.oversize``)."""
    mod = spec.modality
    comps = mod.components if isinstance(mod, MultimodalModality) else [mod]
    limits: list[int] = []
    for m in comps:
        if isinstance(m, ImageModality | AudioModality | VideoModality):
            limits.append(m.max_bytes)
        elif isinstance(m, TextModality):
            limits.append(m.max_chars * 4 + 65_536)
        elif isinstance(m, TimeseriesModality):
            limits.append(512 * 1024**2)
    return max(limits)


def ext_of(name: str) -> str:
    base = name.rsplit("/", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    return base.rsplit(".", 1)[1].lower() if "." in base else ""


class ListingSource(Source):
    """A source whose items are listed at planning and fetched by shards.

    A source listing files (``groups_files``) groups a multimodal spec's files into items (``group_components``);
    a records source lists one item per record and does not.
    """

    groups_files: ClassVar[bool] = True

    @abstractmethod
    def entries(self) -> Iterator[Entry]:
        """Every item of the source, in a stable order (sorted names, the URL list's order ...)."""

    @abstractmethod
    def fetch(self, entry: Entry) -> bytes:
        """The bytes of one entry, at most ``max_item_bytes`` (archives: ``MAX_ARCHIVE_BYTES``).

        Raises:
            Reject: the item is refused (``media.oversize``, ``source.symlink_escape`` ...).
            Exception: any other failure is quarantined as ``source.unavailable``.
        """

    def close(self) -> None:
        """Release connections (called when a shard is done)."""

    def limit_for(self, entry: Entry) -> int:
        """The most bytes ``fetch`` may read for this entry."""
        if entry.member is None and archive.is_zip(entry.uri):
            return MAX_ARCHIVE_BYTES
        return max_item_bytes(self.spec)

    # -------------------------------------------------------------------------------------- planning
    def listing_key(self) -> str:
        if not self.run_id:
            raise ValueError(f"{type(self).__name__} needs the run id to plan or read its listing")
        return layout.restricted_run_file(self.spec.id, self.run_id, "collect", "listing.parquet")

    def plan_size(self, *, limit: int | None = None) -> int:
        """List the source, leave out what other runs collected, and fix the run's listing."""
        skip = collected_elsewhere(self.store, self.spec.id, run_id=self.run_id or "")
        n = 0
        seen: set[str] = set()
        batch: list[dict[str, Any]] = []
        with self.store.parquet_writer(self.listing_key(), LISTING_SCHEMA) as writer:
            try:
                for entry in self._listed():
                    if limit is not None and n >= limit:
                        break
                    if entry.uri in seen or make_item_id(self.spec.id, entry.uri) in skip:
                        continue  # the same URI twice is the same item; other runs' items are not collected again
                    seen.add(entry.uri)
                    batch.append(self._row(n, entry))
                    n += 1
                    if len(batch) >= _LISTING_BATCH:
                        writer.write_table(pa.Table.from_pylist(batch, schema=LISTING_SCHEMA))
                        batch = []
            finally:
                self.close()
            if batch or n == 0:
                writer.write_table(pa.Table.from_pylist(batch, schema=LISTING_SCHEMA))
        return n

    @staticmethod
    def _row(index: int, e: Entry) -> dict[str, Any]:
        return {
            "index": index, "uri": e.uri, "locator": e.locator, "member": e.member, "ext": e.ext, "size": e.size,
            "fingerprint": e.fingerprint, "reject": e.reject, "detail": e.detail, "payload": e.payload,
            "meta": json.dumps(e.meta, ensure_ascii=False, sort_keys=True, default=str), "text": e.text,
            "archive": e.archive,
            "parts": json.dumps([{"kind": k, **{f: getattr(p, f) for f in _PART_FIELDS}} for k, p in e.parts])
            if e.parts else None,
        }

    def _listed(self) -> Iterator[Entry]:
        """The run's items: each entry, or for a multimodal spec each group of component files."""
        if isinstance(self.spec.modality, MultimodalModality) and self.groups_files:
            yield from group_components(self.spec.modality, list(self._expanded()))
        else:
            yield from self._expanded()

    def _expanded(self) -> Iterator[Entry]:
        for entry in self.entries():
            if entry.reject is None and entry.member is None and entry.payload is None and archive.is_zip(entry.uri):
                yield from self._members(entry)
            elif entry.reject is None and entry.size is not None and entry.size > self.limit_for(entry):
                yield replace(entry, reject=R.MEDIA_OVERSIZE,
                              detail=f"{entry.size} bytes > {self.limit_for(entry)} (not fetched)")
            else:
                yield entry

    def _members(self, entry: Entry) -> Iterator[Entry]:
        try:
            if entry.size is not None and entry.size > MAX_ARCHIVE_BYTES:
                raise Reject(R.ARCHIVE_BOMB, f"archive of {entry.size} bytes > {MAX_ARCHIVE_BYTES}")
            data = self.fetch(entry)
            members = archive.list_members(data)
            held = layout.restricted_run_file(self.spec.id, self.run_id or "", "collect",
                                              f"archives/{hashlib.sha256(data).hexdigest()}.zip")
            if not self.store.exists(held):  # content-addressed: a re-plan of the same archive writes nothing
                self.store.write_bytes(held, data)
        except Reject as rej:
            yield replace(entry, reject=rej.reason, detail=rej.detail)
            return
        except Exception as exc:  # the archive could not be read now: quarantined, tried again next run
            yield replace(entry, reject=R.SOURCE_UNAVAILABLE, detail=f"{type(exc).__name__}: {exc}")
            return
        for m in members:
            yield replace(entry, uri=f"{entry.uri}!/{m.name}", member=m.name, ext=ext_of(m.name), size=m.size,
                          reject=m.reject, detail=m.detail, archive=held)

    # --------------------------------------------------------------------------------------- fetching
    def items(self, *, start: int, count: int) -> Iterator[RawItem]:
        key = self.listing_key()
        if not self.store.exists(key):
            raise FileNotFoundError(f"{self.store.uri(key)}: plan the run before collecting its shards")
        data = pads.dataset(self.store.path(key), format="parquet", filesystem=self.store.fs)
        expr = (pads.field("index") >= start) & (pads.field("index") < start + count)
        rows = sorted(data.to_table(filter=expr).to_pylist(), key=lambda r: r["index"])
        # members of one archive are listed together: the archive is opened once and held while they are read
        opened: tuple[str, zipfile.ZipFile] | None = None
        holding = contextlib.ExitStack()

        def read(e: Entry) -> bytes:
            nonlocal opened
            if e.payload is not None:
                return e.payload
            if e.member is not None:
                which = e.archive or e.locator
                if opened is None or opened[0] != which:
                    holding.close()
                    opened = None
                    opened = (which, holding.enter_context(self._open_archive(e)))
                return archive.read_member(opened[1], e.member, limit=max_item_bytes(self.spec))
            return self.fetch(e)

        try:
            for r in rows:
                entry = Entry(uri=r["uri"], locator=r["locator"], ext=r["ext"] or "", size=r["size"],
                              fingerprint=r["fingerprint"], member=r["member"], reject=r["reject"],
                              detail=r["detail"], payload=r["payload"], meta=json.loads(r["meta"] or "{}"),
                              text=r["text"], archive=r.get("archive"))
                item = RawItem(index=int(r["index"]), source_uri=entry.uri, data=b"", ext=entry.ext,
                               meta=entry.meta, text=entry.text, fingerprint=entry.fingerprint)
                if entry.reject:
                    yield replace(item, reject=entry.reject, error=entry.detail or entry.reject)
                    continue
                parts = [(p.pop("kind"), Entry(**p)) for p in json.loads(r.get("parts") or "[]")]
                try:
                    if parts and isinstance(self.spec.modality, MultimodalModality):
                        comps = tuple(RawComponent(kind=k, data=read(p), ext=p.ext, source_uri=p.uri)
                                      for k, p in parts)
                        main = next((c for c in comps if c.kind == self.spec.modality.primary), comps[0])
                        yield replace(item, data=main.data, ext=main.ext, components=comps)
                        continue
                    data_ = read(entry)
                except Reject as rej:
                    yield replace(item, reject=rej.reason, error=rej.detail)
                    continue
                except Exception as exc:  # one failing item must not lose the shard
                    yield replace(item, error=f"{type(exc).__name__}: {exc}")
                    continue
                yield replace(item, data=data_)
        finally:
            holding.close()
            self.close()

    @contextlib.contextmanager
    def _open_archive(self, member: Entry) -> Iterator[zipfile.ZipFile]:
        """The archive a member entry lives in: the copy held in storage, opened for random access."""
        if member.archive:
            with self.store.open_input(member.archive) as f, archive.open_archive(f) as zf:
                yield zf
            return
        # a listing planned before archives were held: fetch the source's archive (once for the shard)
        whole = replace(member, uri=member.uri.split("!/", 1)[0], member=None, ext="zip")
        with archive.open_archive(self.fetch(whole)) as zf:
            yield zf
