"""Where HTTP and records sources may reach: no loopback, private or link-local address unless the spec allows
the host (checked for the first URL and after every redirect), one deadline per fetch, media references confined
to the source's own root. A real HTTP server on loopback plays both the allowed host and the attacker's."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

from pipelines.collect import CollectError, collect_shard, make_source, plan_shards
from pipelines.collect import reasons as R
from pipelines.spec import parse_spec
from pipelines.storage import ObjectStore, open_store
from tests.unit.collect.specs import AUDIO, IMAGE

pytestmark = pytest.mark.unit


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    hits: ClassVar[dict[str, int]] = {}
    port: ClassVar[int] = 0

    def log_message(self, *args: Any) -> None:
        pass

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.end_headers()

    def do_GET(self) -> None:
        path = self.path
        self.hits[path] = self.hits.get(path, 0) + 1
        if path == "/to-metadata.png":  # the cloud metadata endpoint: credentials, if it were fetched
            return self._redirect("http://169.254.169.254/latest/meta-data/iam/security-credentials/")
        if path == "/to-localhost.png":  # the same server under a name the spec did not allow
            return self._redirect(f"http://localhost:{self.port}/secret.png")
        if path == "/to-file.png":
            return self._redirect("file:///etc/passwd")
        if path == "/loop.png":
            return self._redirect("/loop.png")
        if path == "/drip.png":  # a byte at a time, never a pause long enough for the read timeout
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                for _ in range(400):
                    self.wfile.write(b"\0")
                    self.wfile.flush()
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if path == "/list.txt":  # a URL list served over HTTP, as a contractor's binding names it
            body = f"# delivery\nhttp://127.0.0.1:{self.port}/a.png\nhttp://127.0.0.1:{self.port}/secret.png\n".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path in ("/a.png", "/moved.png", "/secret.png"):
            if path == "/moved.png":
                return self._redirect("/a.png")
            body = _png(1 if path == "/a.png" else 2)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_error(404)


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.hits = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _collect(spec: Any, store: ObjectStore) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, str]]]:
    [shard] = plan_shards(spec=spec, store=store, run_id="r1")
    res = collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
    assert res.items_in == res.items_out + res.quarantined == shard["count"]
    rows = {r["source_uri"].rsplit("/", 1)[-1]: r for r in store.read_table(res.manifest_key).to_pylist()}
    q = {r["source_uri"].rsplit("/", 1)[-1]: (r["reason"], r["detail"])
         for r in store.read_table(res.quarantine_key).to_pylist()}
    return rows, q


def test_a_loopback_url_is_refused_unless_the_spec_allows_its_host(server: str, tmp_path: Path) -> None:
    spec = parse_spec({**IMAGE, "source": {"kind": "http", "urls": [f"{server}/a.png"]}})
    rows, q = _collect(spec, open_store(str(tmp_path / "s1")))
    assert rows == {} and q["a.png"][0] == R.SOURCE_FORBIDDEN_ADDRESS
    assert "127.0.0.1 (loopback)" in q["a.png"][1] and "source.allow_hosts" in q["a.png"][1]
    assert _Handler.hits == {}  # refused before connecting

    allowed = parse_spec({**IMAGE, "source": {"kind": "http", "urls": [f"{server}/a.png"],
                                              "allow_hosts": ["127.0.0.1"]}})
    rows, q = _collect(allowed, open_store(str(tmp_path / "s2")))
    assert list(rows) == ["a.png"] and q == {}


def test_every_redirect_is_checked_before_it_is_followed(server: str, tmp_path: Path) -> None:
    spec = parse_spec({**IMAGE, "source": {"kind": "http", "allow_hosts": ["127.0.0.1"], "urls": [
        f"{server}/moved.png", f"{server}/to-metadata.png", f"{server}/to-localhost.png", f"{server}/to-file.png",
        f"{server}/loop.png"]}})
    rows, q = _collect(spec, open_store(str(tmp_path / "s")))
    assert list(rows) == ["moved.png"]  # a redirect inside the allowed host is followed
    assert {k: v[0] for k, v in q.items()} == {
        "to-metadata.png": R.SOURCE_FORBIDDEN_ADDRESS,
        "to-localhost.png": R.SOURCE_FORBIDDEN_ADDRESS,  # allowing 127.0.0.1 does not allow other names for it
        "to-file.png": R.SOURCE_UNAVAILABLE,
        "loop.png": R.SOURCE_UNAVAILABLE,
    }
    assert "redirected to http://169.254.169.254/" in q["to-metadata.png"][1]
    assert "(link-local)" in q["to-metadata.png"][1]
    assert "localhost resolves to" in q["to-localhost.png"][1]
    assert "/secret.png" not in _Handler.hits  # never fetched
    assert "more than 5 redirects" in q["loop.png"][1] and "file://" in q["to-file.png"][1]


def test_one_deadline_bounds_a_fetch_that_never_stops_trickling(server: str, tmp_path: Path) -> None:
    spec = parse_spec({**IMAGE, "source": {"kind": "http", "urls": [f"{server}/drip.png"], "timeout_s": 5.0,
                                           "deadline_s": 0.5, "allow_hosts": ["127.0.0.1"]}})
    rows, q = _collect(spec, open_store(str(tmp_path / "s")))
    assert rows == {} and q["drip.png"][0] == R.SOURCE_UNAVAILABLE
    assert "deadline of 0.5 s" in q["drip.png"][1]


def _records(tmp_path: Path, refs: list[str], **source: Any) -> Any:
    folder = tmp_path / "delivery"
    folder.mkdir(exist_ok=True)
    lines = [json.dumps({"id": f"r{i}", "file": ref}) for i, ref in enumerate(refs)]
    (folder / "meta.jsonl").write_text("\n".join(lines), "utf-8")
    return parse_spec({**IMAGE, "source": {"kind": "records", "path": str(folder / "meta.jsonl"), "format": "jsonl",
                                           "id_column": "id", "media_column": "file", **source}})


def test_records_media_urls_are_checked_like_the_http_source(server: str, tmp_path: Path) -> None:
    refs = [f"{server}/a.png", f"{server}/to-metadata.png"]
    rows, q = _collect(_records(tmp_path, refs), open_store(str(tmp_path / "s1")))
    assert rows == {} and {k: v[0] for k, v in q.items()} == {
        "meta.jsonl#r0": R.SOURCE_FORBIDDEN_ADDRESS, "meta.jsonl#r1": R.SOURCE_FORBIDDEN_ADDRESS}
    assert _Handler.hits == {}
    rows, q = _collect(_records(tmp_path, refs, allow_hosts=["127.0.0.1"]), open_store(str(tmp_path / "s2")))
    assert list(rows) == ["meta.jsonl#r0"] and list(q) == ["meta.jsonl#r1"]
    assert q["meta.jsonl#r1"][0] == R.SOURCE_FORBIDDEN_ADDRESS
    assert "redirected to http://169.254.169.254/" in q["meta.jsonl#r1"][1]


def test_records_s3_media_stays_under_the_source_media_root(tmp_path: Path) -> None:
    refs = ["s3://raw-deliveries/2026/plot1/a.png",  # inside media_root
            "s3://raw-deliveries/2025/plot1/a.png",  # same bucket, another prefix
            "s3://datadam/restricted/other-dataset/originals/x.png",  # another dataset's originals
            "s3://raw-deliveries/2026/../restricted/x.png"]
    spec = _records(tmp_path, refs, media_root="s3://raw-deliveries/2026")
    store = open_store(str(tmp_path / "s"))
    entries = {e.locator: e for e in make_source(spec=spec, store=store, run_id="r1").entries()}
    assert entries[refs[0]].reject is None
    assert [(entries[r].reject, (entries[r].detail or "").split(":", 1)[0]) for r in refs[1:]] == [
        (R.SOURCE_OUTSIDE_ROOT, "line 2"), (R.SOURCE_OUTSIDE_ROOT, "line 3"), (R.SOURCE_PATH_TRAVERSAL, "line 4")]

    # without a media_root no s3:// reference is read at all (the storage credentials would read any of them)
    bare = make_source(spec=_records(tmp_path, refs[:1]), store=store, run_id="r1")
    [entry] = list(bare.entries())
    assert entry.reject == R.SOURCE_OUTSIDE_ROOT and "needs source.media_root" in (entry.detail or "")


def test_a_media_root_inside_or_around_the_storage_root_fails_the_plan(tmp_path: Path) -> None:
    store = open_store("s3://datadam/prod")
    for root in ("s3://datadam/prod/restricted", "s3://datadam", "s3://datadam/prod"):
        spec = _records(tmp_path, [], media_root=root)
        with pytest.raises(CollectError, match="overlaps the storage root"):
            make_source(spec=spec, store=store, run_id="r1")
    make_source(spec=_records(tmp_path, [], media_root="s3://datadam/deliveries"), store=store, run_id="r1")


def test_audio_records_spec_accepts_the_new_fields() -> None:
    spec = parse_spec({**AUDIO, "source": {"kind": "records", "path": "x.jsonl", "format": "jsonl",
                                           "media_column": "file", "media_root": "s3://raw/2026/",
                                           "allow_hosts": ["intranet.example", "[fd00::1]", "10.0.0.5"]}})
    assert spec.source.allow_hosts == ["intranet.example", "[fd00::1]", "10.0.0.5"]  # type: ignore[union-attr]


def test_a_bound_url_list_is_fetched_under_the_same_address_checks(server: str, tmp_path: Path) -> None:
    from pipelines.spec.binding import bind_source, bound_spec

    base = parse_spec(IMAGE)
    refused = bound_spec(base, bind_source(base, f"{server}/list.txt"))
    with pytest.raises(CollectError, match=r"source.url_list .*127.0.0.1 \(loopback\)"):
        plan_shards(spec=refused, store=open_store(str(tmp_path / "s1")), run_id="r1")
    assert _Handler.hits == {}  # the list itself was never fetched from a host the binding did not allow

    block = f'{{kind: http, url_list: "{server}/list.txt", allow_hosts: [127.0.0.1]}}'
    allowed = bound_spec(base, bind_source(base, block))
    rows, q = _collect(allowed, open_store(str(tmp_path / "s2")))
    assert sorted(rows) == ["a.png", "secret.png"] and q == {}
    assert _Handler.hits["/list.txt"] == 1
