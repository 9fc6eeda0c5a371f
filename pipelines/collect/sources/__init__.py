"""Sources of raw items, registered by ``spec.source.kind``."""

from __future__ import annotations

from pipelines.collect.errors import CollectError
from pipelines.collect.sources.base import RawItem, Source, make_item_id, package_version
from pipelines.collect.sources.http import HttpCollector
from pipelines.collect.sources.listing import ListingSource
from pipelines.collect.sources.local import LocalCollector
from pipelines.collect.sources.records import RecordsCollector
from pipelines.collect.sources.s3 import S3Collector
from pipelines.collect.sources.synthetic import SyntheticCollector
from pipelines.spec.models import DatasetSpec
from pipelines.storage.store import ObjectStore, S3Settings

# One entry per implemented ``spec.source.kind``; a test checks it against SOURCE_KINDS and the catalog.
SOURCES: dict[str, type[Source]] = {
    SyntheticCollector.kind: SyntheticCollector,
    LocalCollector.kind: LocalCollector,
    HttpCollector.kind: HttpCollector,
    S3Collector.kind: S3Collector,
    RecordsCollector.kind: RecordsCollector,
}


def make_source(*, spec: DatasetSpec, store: ObjectStore, run_id: str | None = None,
                s3: S3Settings | None = None) -> Source:
    """The source a spec names, ready to plan and yield items.

    Args:
        spec: the dataset type.
        store: the storage root.
        run_id: the run; listing sources (local, http, s3, records) need it to plan and read the run's listing.
        s3: credentials of the source's own S3 (its connection), when they are not the storage's.
    """
    try:
        cls = SOURCES[spec.source.kind]
    except KeyError:
        raise CollectError(
            f"{spec.id}: source kind {spec.source.kind!r} is not implemented yet "
            f"(implemented: {sorted(SOURCES)})"
        ) from None
    return cls(spec=spec, store=store, run_id=run_id, s3=s3)


__all__ = [
    "SOURCES",
    "HttpCollector",
    "ListingSource",
    "LocalCollector",
    "RawItem",
    "RecordsCollector",
    "S3Collector",
    "Source",
    "SyntheticCollector",
    "make_item_id",
    "make_source",
    "package_version",
]
