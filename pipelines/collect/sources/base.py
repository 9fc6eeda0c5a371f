"""What every source is: a stable, indexable sequence of raw items for one spec."""

from __future__ import annotations

import functools
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar

from pipelines.spec.models import DatasetSpec
from pipelines.storage.store import ObjectStore, S3Settings


@functools.cache
def package_version() -> str:
    """The installed datadam version (recorded as the collector version in provenance)."""
    try:
        return metadata.version("datadam")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


def make_item_id(dataset: str, source_uri: str) -> str:
    """A stable item id: the same item of the same source gets the same id in every run and every shard."""
    return hashlib.sha256(f"{dataset}\n{source_uri}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class RawComponent:
    """One component file of a multimodal item: its kind (a component of the spec's modality), bytes, extension
    and where it came from."""

    kind: str
    data: bytes
    ext: str
    source_uri: str


@dataclass(frozen=True)
class RawItem:
    """One item as a source yields it, before any check.

    Attributes:
        index: position in the source's stable order (shards are ranges of it).
        source_uri: where the item comes from; with the dataset id it determines the item id.
        data: the bytes as collected (media file, or encoded text).
        ext: the extension the source declares (``jpg``, ``wav``, ``txt``, ``jsonl`` ...); intake trusts the
            decoded content over it.
        truth: the answer the source knows (synthetic ground truth), see the stage contract for its shape.
        meta: values of the spec's schema columns.
        license: licence of this item, when it differs from the spec's.
        text: text the source supplies with a media item (a transcript), de-identified like any text.
        error: set when the source could not fetch the item; it is quarantined as ``source.unavailable``
            (or as ``reject`` when set).
        reject: a reason code the source itself decided on (path traversal, symlink escape, archive bomb,
            oversize download ...); ``error`` then says why.
        fingerprint: what the source knew of the item before fetching it (size, mtime, ETag), for the record.
        components: a multimodal item's component files, one per component kind (``data`` and ``ext`` are then
            the primary component's).
    """

    index: int
    source_uri: str
    data: bytes
    ext: str
    truth: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    text: str | None = None
    error: str | None = None
    reject: str | None = None
    fingerprint: str | None = None
    components: tuple[RawComponent, ...] = ()


class Source(ABC):
    """A source of raw items for one spec, registered in ``SOURCES`` under ``spec.source.kind``.

    Items are addressed by index in a stable order, so a shard is a ``(start, count)`` range and a retry of
    a shard yields the same items. Sources that list what is out there (files, URLs, objects, records) fix
    that order per run when the run is planned; ``run_id`` names the run. ``s3`` reaches the source's own S3
    objects (an ``s3`` source's or records' ``s3://`` media), read from the connection the source names by the
    orchestration; the storage's settings when not given.
    """

    kind: ClassVar[str]

    def __init__(self, *, spec: DatasetSpec, store: ObjectStore, run_id: str | None = None,
                 s3: S3Settings | None = None) -> None:
        if spec.source.kind != self.kind:
            raise ValueError(
                f"{type(self).__name__} serves source kind {self.kind!r}, spec has {spec.source.kind!r}"
            )
        self.spec = spec
        self.store = store
        self.run_id = run_id
        # The source's own S3 credentials (its connection's), when they are not the storage's.
        self.s3 = s3 or store.s3_settings

    @property
    def collector(self) -> str:
        """Name and version of what collected the items (``ITEM_SCHEMA.collector``)."""
        return f"datadam-{self.kind}/{package_version()}"

    @abstractmethod
    def plan_size(self, *, limit: int | None = None) -> int:
        """How many items a run collects; ``limit`` caps (or, for generators, sets) the number."""

    @abstractmethod
    def items(self, *, start: int, count: int) -> Iterator[RawItem]:
        """The items with index in ``[start, start + count)``, in index order."""
