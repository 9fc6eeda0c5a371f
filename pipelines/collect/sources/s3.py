"""Objects under an S3 prefix (``source: {kind: s3, uri: s3://bucket/prefix}``), read through ``storage.S3Reader``.

The endpoint and credentials are the storage's S3 settings (``ObjectStore.s3_settings``): in a DAG they come
from the ``datadam_s3`` Airflow connection, elsewhere from the standard AWS environment. ``source.connection``
names that connection for the orchestration; this stage never reads connections itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import urlparse

from pipelines.collect import reasons as R
from pipelines.collect.reasons import Reject
from pipelines.collect.sources.listing import Entry, ListingSource, ext_of
from pipelines.spec.models import DatasetSpec
from pipelines.spec.models import S3Source as S3Config
from pipelines.storage.store import ObjectStore, ObjectTooLarge, S3Reader, S3Settings

_CHUNK = 1024 * 1024


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key``."""
    p = urlparse(uri)
    return p.netloc, p.path.lstrip("/")


def get_limited(reader: S3Reader, bucket: str, key: str, *, limit: int) -> bytes:
    """An object's bytes, streamed, at most ``limit`` (``media.oversize`` past it)."""
    try:
        return reader.get_limited(bucket, key, limit=limit, chunk=_CHUNK)
    except ObjectTooLarge as exc:
        raise Reject(R.MEDIA_OVERSIZE, str(exc)) from None


class S3Collector(ListingSource):
    """Every object under the prefix, in key order (folder markers skipped)."""

    kind: ClassVar[str] = "s3"

    def __init__(self, *, spec: DatasetSpec, store: ObjectStore, run_id: str | None = None,
                 s3: S3Settings | None = None) -> None:
        super().__init__(spec=spec, store=store, run_id=run_id, s3=s3)
        assert isinstance(spec.source, S3Config)
        self.config: S3Config = spec.source
        self.bucket, prefix = split_s3_uri(self.config.uri)
        # s3://bucket/photos means the folder photos/, not every key starting with "photos"
        self.prefix = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
        self.reader = S3Reader(self.s3)

    def entries(self) -> Iterator[Entry]:
        for key, size, etag in self.reader.list(self.bucket, self.prefix):  # UTF-8 binary order: stable between runs
            if key.endswith("/"):
                continue
            yield Entry(uri=f"s3://{self.bucket}/{key}", locator=key, ext=ext_of(key), size=size,
                        fingerprint=f"size={size};etag={etag}")

    def fetch(self, entry: Entry) -> bytes:
        return get_limited(self.reader, self.bucket, entry.locator, limit=self.limit_for(entry))

    def close(self) -> None:
        self.reader.close()
