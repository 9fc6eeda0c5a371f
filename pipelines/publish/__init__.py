"""Publish approved runs as versioned, immutable Parquet releases; open a release as a pyarrow Dataset.

``publish`` splits deterministically by a hash of the group key, embeds image/audio bytes in the layout
Hugging Face ``datasets`` reads (video by URI + sha256), writes through a staging prefix, then the card, the
Croissant file and the manifest, then ``LATEST``, then the catalog and its static site. ``download`` is the
client side: parallel, resumable, verified along the hash chain LATEST -> manifest -> files (``integrity``).
"""

from pipelines.publish.catalog import list_releases, read_catalog, rebuild_catalog, search, sync_dataset
from pipelines.publish.download import ChecksumError, DownloadError, DownloadResult, IntegrityError, download
from pipelines.publish.media import MediaError
from pipelines.publish.release import (
    PublishError,
    PublishResult,
    dataset_metadata,
    manifest_key,
    open_dataset,
    publish,
    release_schema,
)
from pipelines.publish.versions import VersionError, next_minor, next_version, parse_version, version_key
from pipelines.storage import Transfer
from pipelines.storage.splits import SPLITS, hash_unit, rank_groups

__all__ = [
    "SPLITS",
    "ChecksumError",
    "DownloadError",
    "DownloadResult",
    "IntegrityError",
    "MediaError",
    "PublishError",
    "PublishResult",
    "Transfer",
    "VersionError",
    "dataset_metadata",
    "download",
    "hash_unit",
    "list_releases",
    "manifest_key",
    "next_minor",
    "next_version",
    "open_dataset",
    "parse_version",
    "publish",
    "rank_groups",
    "read_catalog",
    "rebuild_catalog",
    "release_schema",
    "search",
    "sync_dataset",
    "version_key",
]
