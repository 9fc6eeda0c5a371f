"""A list of HTTP(S) URLs (``source: {kind: http, urls: [...], url_list: path}``), downloaded with httpx.

Downloads stream and stop at the item size limit (``media.oversize``, before reading the body when
``Content-Length`` says so); ``timeout_s`` bounds connecting and every read, and ``deadline_s`` the whole fetch
(retries, redirects and body together). Transient failures (timeouts, connection errors, 429 and 5xx) are retried
twice with backoff; what still fails is quarantined as ``source.unavailable`` and tried again by the next run.

Where a fetch may go (see docs/adr/0009): redirects are followed here, not by the client (at most 5, only to
http(s)), and every connection (the first URL's and each redirect's) is made to an address checked when it is
made: a host that resolves to a loopback, link-local, private, shared, multicast, unspecified or reserved address
is refused (``source.forbidden_address``) unless ``source.allow_hosts`` names it. The address checked is the one
connected to, so a name that resolves differently a moment later cannot slip through. Environment proxies are
not used: a proxy would make the connection instead, unchecked.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpcore
import httpx

from pipelines.collect import reasons as R
from pipelines.collect.errors import CollectError
from pipelines.collect.reasons import Reject
from pipelines.collect.sources.base import package_version
from pipelines.collect.sources.listing import Entry, ListingSource, ext_of
from pipelines.spec.models import DatasetSpec
from pipelines.spec.models import HttpSource as HttpConfig
from pipelines.storage.store import ObjectStore, S3Settings

RETRIES = 2
MAX_REDIRECTS = 5
_BACKOFF_S = 0.5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Retryable(Exception):
    pass


# ------------------------------------------------------------------------------------------ addresses


def forbidden_why(ip: str) -> str | None:
    """Why a fetch may not connect to ``ip`` (``"loopback"``, ``"private"`` ...), or None when it may."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])  # an IPv6 zone id is not part of the address
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for why in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(addr, f"is_{why}"):
            return why.replace("_", "-")
    if not addr.is_global:  # shared address space (100.64.0.0/10), IPv6 site-local and other special ranges
        return "not globally routable"
    return None


def resolve_allowed(host: str, port: int, *, allow_hosts: frozenset[str]) -> list[str]:
    """The addresses a fetch may connect to for ``host``: all of them, or a ``Reject`` naming the first refused.

    A host in ``allow_hosts`` (its name or IP literal, as written in the URL) is not checked.

    Raises:
        Reject: ``source.forbidden_address``; ``source.unavailable`` when the name does not resolve.
    """
    name = host.strip("[]").lower().rstrip(".")
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Reject(R.SOURCE_UNAVAILABLE, f"cannot resolve {name!r}: {exc}") from None
    ips = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if name in allow_hosts:
        return ips
    for ip in ips:
        why = forbidden_why(ip)
        if why is not None:
            raise Reject(R.SOURCE_FORBIDDEN_ADDRESS,
                         f"{name} resolves to {ip} ({why}); list it in source.allow_hosts to fetch from it")
    return ips


class _CheckedBackend(httpcore.NetworkBackend):
    """Connects only to addresses ``resolve_allowed`` accepts, and to exactly the address it checked."""

    def __init__(self, allow_hosts: frozenset[str]) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow = allow_hosts

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        ips = resolve_allowed(host, port, allow_hosts=self._allow)
        last: Exception | None = None
        for ip in ips:
            try:
                return self._inner.connect_tcp(ip, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # the next address of the name, as a resolver-driven connect does
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not a source")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _CheckedTransport(httpx.HTTPTransport):
    """httpx's transport with its connection pool on ``_CheckedBackend`` (the pool's only network access)."""

    def __init__(self, *, allow_hosts: frozenset[str]) -> None:
        super().__init__(trust_env=False)
        limits = httpx.Limits(max_connections=10, max_keepalive_connections=10, keepalive_expiry=5.0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),  # SSL_CERT_FILE / SSL_CERT_DIR still apply (a company CA)
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CheckedBackend(allow_hosts),
        )


def make_client(timeout_s: float, *, allow_hosts: Iterable[str] = ()) -> httpx.Client:
    """An httpx client that connects only to allowed addresses and follows no redirect by itself."""
    allow = frozenset(h.strip("[]").lower().rstrip(".") for h in allow_hosts)
    return httpx.Client(
        transport=_CheckedTransport(allow_hosts=allow),
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": f"datadam-collector/{package_version()}"},
    )


# ------------------------------------------------------------------------------------------- fetching


def download(client: httpx.Client, url: str, *, limit: int, deadline_s: float = 600.0) -> tuple[bytes, str | None]:
    """(body, content type) of a GET, at most ``limit`` bytes, within ``deadline_s`` in all.

    Raises:
        Reject: ``media.oversize``; ``source.forbidden_address`` (the URL or a redirect); ``source.unavailable``
            for a 4xx answer, a bad redirect, the deadline, and transport errors or 5xx answers after the retries.
    """
    deadline = time.monotonic() + deadline_s
    for attempt in range(RETRIES + 1):
        try:
            return _download_once(client, url, limit=limit, deadline=deadline, deadline_s=deadline_s)
        except (_Retryable, httpx.TransportError) as exc:
            wait = _BACKOFF_S * 2**attempt
            if attempt == RETRIES or time.monotonic() + wait >= deadline:
                raise Reject(R.SOURCE_UNAVAILABLE, f"{url}: {type(exc).__name__}: {exc}") from None
            time.sleep(wait)
    raise AssertionError("unreachable")


def _download_once(client: httpx.Client, url: str, *, limit: int, deadline: float,
                   deadline_s: float) -> tuple[bytes, str | None]:
    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Reject(R.SOURCE_UNAVAILABLE, f"{url}: not done within the deadline of {deadline_s:g} s")
        return remaining

    hop = httpx.URL(url)
    for _ in range(MAX_REDIRECTS + 1):
        if hop.scheme not in ("http", "https"):
            raise Reject(R.SOURCE_UNAVAILABLE, f"{url} redirected to {hop.scheme}://")
        remaining = left()  # no connect or read may outlast the deadline either
        per = httpx.Timeout(min(client.timeout.read or remaining, remaining),
                            connect=min(client.timeout.connect or remaining, remaining))
        try:
            resp = client.send(client.build_request("GET", hop, timeout=per), stream=True)
        except Reject as rej:  # refused before connecting
            where = url if hop == httpx.URL(url) else f"{url} (redirected to {hop})"
            raise Reject(rej.reason, f"{where}: {rej.detail}") from None
        try:
            if resp.status_code in _REDIRECTS and "location" in resp.headers:
                hop = hop.join(resp.headers["location"])
                continue
            return _body(resp, url, limit=limit, left=left)
        finally:
            resp.close()
    raise Reject(R.SOURCE_UNAVAILABLE, f"{url}: more than {MAX_REDIRECTS} redirects")


def _body(resp: httpx.Response, url: str, *, limit: int, left: Callable[[], float]) -> tuple[bytes, str | None]:
    if resp.status_code == 429 or resp.status_code >= 500:
        raise _Retryable(f"HTTP {resp.status_code}")
    if resp.status_code >= 400:
        raise Reject(R.SOURCE_UNAVAILABLE, f"{url}: HTTP {resp.status_code}")
    declared = resp.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Reject(R.MEDIA_OVERSIZE, f"{url}: Content-Length {declared} > {limit} bytes")
    buf = bytearray()
    for chunk in resp.iter_bytes():
        buf += chunk
        if len(buf) > limit:
            raise Reject(R.MEDIA_OVERSIZE, f"{url}: more than {limit} bytes")
        left()  # a server that trickles bytes forever never trips the read timeout: the deadline stops it
    ctype = resp.headers.get("content-type", "").split(";", 1)[0].strip().lower() or None
    return bytes(buf), ctype


_MAX_URL_LIST_BYTES = 256 * 1024**2


def _list_lines(lines: list[str]) -> Iterator[str]:
    """The URLs of a list file: one a line, blank lines and ``#`` comments skipped."""
    for line in lines:
        url = line.strip()
        if url and not url.startswith("#"):
            yield url


class HttpCollector(ListingSource):
    """The URLs of ``urls`` and then of ``url_list`` (a local text file or an http(s) URL of one: one URL a line,
    ``#`` comments)."""

    kind: ClassVar[str] = "http"

    def __init__(self, *, spec: DatasetSpec, store: ObjectStore, run_id: str | None = None,
                 s3: S3Settings | None = None) -> None:
        super().__init__(spec=spec, store=store, run_id=run_id, s3=s3)
        assert isinstance(spec.source, HttpConfig)
        self.config: HttpConfig = spec.source
        self._client: httpx.Client | None = None

    def _urls(self) -> Iterator[str]:
        yield from self.config.urls
        if self.config.url_list and self.config.url_list.lower().startswith(("http://", "https://")):
            # a list served over HTTP is fetched like any item: address checks, size limit, deadline
            try:
                body, _ = download(self.client, self.config.url_list, limit=_MAX_URL_LIST_BYTES,
                                   deadline_s=self.config.deadline_s)
            except Reject as exc:
                raise CollectError(f"{self.spec.id}: source.url_list {self.config.url_list!r}: {exc.detail}") from exc
            except httpx.HTTPError as exc:
                raise CollectError(f"{self.spec.id}: cannot fetch source.url_list {self.config.url_list!r}: "
                                   f"{type(exc).__name__}: {exc}") from exc
            yield from _list_lines(body.decode("utf-8-sig", errors="replace").splitlines())
        elif self.config.url_list:
            path = Path(self.config.url_list).expanduser()
            try:
                lines = path.read_text(encoding="utf-8-sig").splitlines()
            except OSError as exc:
                raise CollectError(f"{self.spec.id}: cannot read source.url_list {str(path)!r}: {exc}") from exc
            yield from _list_lines(lines)

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
            self._client = make_client(self.config.timeout_s, allow_hosts=self.config.allow_hosts)
        return self._client

    def fetch(self, entry: Entry) -> bytes:
        data, _ = download(self.client, entry.locator, limit=self.limit_for(entry), deadline_s=self.config.deadline_s)
        return data

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

