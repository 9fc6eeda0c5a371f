"""A list of HTTP(S) URLs (``source: {kind: http, urls: [...], url_list: path}``), downloaded with httpx.

Downloads stream and stop at the item size limit (``media.oversize``, before reading the body when
``Content-Length`` says so); ``timeout_s`` bounds connecting and every read. Transient failures (timeouts,
connection errors, 429 and 5xx) are retried twice with backoff; what still fails is quarantined as
``source.unavailable`` and tried again by the next run. Redirects are followed (at most 5) only to http(s).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import httpx

from pipelines.collect import reasons as R
from pipelines.collect.errors import CollectError
from pipelines.collect.reasons import Reject
from pipelines.collect.sources.base import package_version
from pipelines.collect.sources.listing import Entry, ListingSource, ext_of
from pipelines.spec.models import DatasetSpec
from pipelines.spec.models import HttpSource as HttpConfig
from pipelines.storage.store import ObjectStore

RETRIES = 2
_BACKOFF_S = 0.5


class _Retryable(Exception):
    pass


def download(client: httpx.Client, url: str, *, limit: int) -> tuple[bytes, str | None]:
    """(body, content type) of a GET, at most ``limit`` bytes.

    Raises:
        Reject: ``media.oversize``; ``source.unavailable`` for a 4xx answer.
        httpx.HTTPError: after the retries, for transport errors and 5xx answers.
    """
    for attempt in range(RETRIES + 1):
        try:
            return _download_once(client, url, limit=limit)
        except (_Retryable, httpx.TransportError) as exc:
            if attempt == RETRIES:
                raise Reject(R.SOURCE_UNAVAILABLE, f"{url}: {type(exc).__name__}: {exc}") from None
            time.sleep(_BACKOFF_S * 2**attempt)
    raise AssertionError("unreachable")


def _download_once(client: httpx.Client, url: str, *, limit: int) -> tuple[bytes, str | None]:
    with client.stream("GET", url) as resp:
        if resp.status_code == 429 or resp.status_code >= 500:
            raise _Retryable(f"HTTP {resp.status_code}")
        if resp.status_code >= 400:
            raise Reject(R.SOURCE_UNAVAILABLE, f"{url}: HTTP {resp.status_code}")
        if resp.url.scheme not in ("http", "https"):
            raise Reject(R.SOURCE_UNAVAILABLE, f"{url} redirected to {resp.url.scheme}://")
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise Reject(R.MEDIA_OVERSIZE, f"{url}: Content-Length {declared} > {limit} bytes")
        buf = bytearray()
        for chunk in resp.iter_bytes():
            buf += chunk
            if len(buf) > limit:
                raise Reject(R.MEDIA_OVERSIZE, f"{url}: more than {limit} bytes")
        ctype = resp.headers.get("content-type", "").split(";", 1)[0].strip().lower() or None
        return bytes(buf), ctype


def make_client(timeout_s: float) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
        follow_redirects=True,
        max_redirects=5,
        headers={"User-Agent": f"datadam-collector/{package_version()}"},
    )


class HttpSource(ListingSource):
    """The URLs of ``urls`` and then of ``url_list`` (a local text file: one URL a line, ``#`` comments)."""

    kind: ClassVar[str] = "http"

    def __init__(self, *, spec: DatasetSpec, store: ObjectStore, run_id: str | None = None) -> None:
        super().__init__(spec=spec, store=store, run_id=run_id)
        assert isinstance(spec.source, HttpConfig)
        self.config: HttpConfig = spec.source
        self._client: httpx.Client | None = None

    def _urls(self) -> Iterator[str]:
        yield from self.config.urls
        if self.config.url_list:
            path = Path(self.config.url_list).expanduser()
            try:
                lines = path.read_text(encoding="utf-8-sig").splitlines()
            except OSError as exc:
                raise CollectError(f"{self.spec.id}: cannot read source.url_list {str(path)!r}: {exc}") from exc
            for line in lines:
                url = line.strip()
                if url and not url.startswith("#"):
                    yield url

    def entries(self) -> Iterator[Entry]:
        for url in self._urls():
            if not url.lower().startswith(("http://", "https://")):
                yield Entry(uri=url, locator=url, reject=R.SOURCE_UNAVAILABLE,
                            detail=f"{url!r} is not an http(s) URL")
                continue
            yield Entry(uri=url, locator=url, ext=ext_of(httpx.URL(url).path))

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = make_client(self.config.timeout_s)
        return self._client

    def fetch(self, entry: Entry) -> bytes:
        data, _ = download(self.client, entry.locator, limit=self.limit_for(entry))
        return data

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

