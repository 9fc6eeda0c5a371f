"""Objects under an S3 prefix (``source: {kind: s3, uri: s3://bucket/prefix}``), read with boto3.

The endpoint and credentials are the storage's S3 settings (``ObjectStore.s3_settings``): in a DAG they come
from the ``datadam_s3`` Airflow connection, elsewhere from the standard AWS environment. ``source.connection``
names that connection for the orchestration; this stage never reads connections itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlparse

from pipelines.collect import reasons as R
from pipelines.collect.reasons import Reject
from pipelines.collect.sources.listing import Entry, ListingSource, ext_of
from pipelines.spec.models import DatasetSpec
from pipelines.spec.models import S3Source as S3Config
from pipelines.storage.store import ObjectStore, S3Settings, boto_client

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

_CHUNK = 1024 * 1024


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key``."""
    p = urlparse(uri)
    return p.netloc, p.path.lstrip("/")


def get_limited(client: S3Client, bucket: str, key: str, *, limit: int) -> bytes:
    """An object's bytes, streamed, at most ``limit`` (``media.oversize`` past it)."""
    obj = client.get_object(Bucket=bucket, Key=key)
    if obj.get("ContentLength", 0) > limit:
        obj["Body"].close()
        raise Reject(R.MEDIA_OVERSIZE, f"s3://{bucket}/{key}: {obj['ContentLength']} bytes > {limit}")
    buf = bytearray()
    body = obj["Body"]
    try:
        for chunk in body.iter_chunks(_CHUNK):
            buf += chunk
            if len(buf) > limit:
                raise Reject(R.MEDIA_OVERSIZE, f"s3://{bucket}/{key}: more than {limit} bytes")
    finally:
        body.close()
    return bytes(buf)


class S3Source(ListingSource):
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
        self._client: S3Client | None = None

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = boto_client(self.s3)
        return self._client

    def entries(self) -> Iterator[Entry]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:  # S3 lists keys in UTF-8 binary order: stable between runs
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith("/"):
                    continue
                size = int(obj.get("Size", 0))
                yield Entry(uri=f"s3://{self.bucket}/{key}", locator=key, ext=ext_of(key), size=size,
                            fingerprint=f"size={size};etag={obj.get('ETag', '').strip(chr(34))}")

    def fetch(self, entry: Entry) -> bytes:
        return get_limited(self.client, self.bucket, entry.locator, limit=self.limit_for(entry))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
