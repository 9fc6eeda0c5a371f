"""The HTTP(S) URL-list source against a real HTTP server on loopback: limits, timeouts, retries, redirects."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

from pipelines.collect import collect_shard, plan_shards
from pipelines.collect import reasons as R
from pipelines.collect.sources import http as http_source
from pipelines.spec import parse_spec
from pipelines.storage import open_store
from tests.unit.collect.specs import IMAGE

pytestmark = pytest.mark.integration


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        path = self.path
        self.hits[path] = self.hits.get(path, 0) + 1
        if path == "/flaky.png" and self.hits[path] == 1:
            self.send_error(503)  # fails once, then works: the retry must get it
            return
        if path == "/old-name.png":
            self.send_response(302)
            self.send_header("Location", "/a.png")
            self.end_headers()
            return
        if path == "/slow.png":
            time.sleep(3)
        if path == "/endless.png":  # no Content-Length, keeps sending: the size limit must stop it
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"\0" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        body = self.files.get(path.split("?", 1)[0].replace("/flaky.png", "/b.png"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout case)
            self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.files = {"/a.png": _png(1), "/b.png": _png(2), "/c.png": _png(3), "/big.png": _png(4) * 40,
                      "/slow.png": _png(5)}
    _Handler.hits = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_urls_are_downloaded_within_limits_and_failures_are_quarantined(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_source, "_BACKOFF_S", 0.05)  # the retry schedule, shortened for the test
    url_list = tmp_path / "urls.txt"
    url_list.write_text(f"# delivery 1\n{server}/c.png\n{server}/a.png\nftp://example.org/x.png\n", "utf-8")
    spec = parse_spec({
        **IMAGE,
        "source": {"kind": "http", "timeout_s": 1.0, "url_list": str(url_list), "allow_hosts": ["127.0.0.1"],
                   "urls": [f"{server}/a.png", f"{server}/flaky.png", f"{server}/old-name.png", f"{server}/big.png",
                            f"{server}/endless.png", f"{server}/missing.png", f"{server}/slow.png"]},
        "modality": {**IMAGE["modality"], "max_bytes": 1_000_000},
    })
    store = open_store(str(tmp_path / "store"))
    [shard] = plan_shards(spec=spec, store=store, run_id="r1")
    assert shard["count"] == 9  # a.png listed twice is one item
    res = collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
    assert res.items_in == res.items_out + res.quarantined == 9
    q = {r["source_uri"].rsplit("/", 1)[-1]: (r["reason"], r["detail"])
         for r in store.read_table(res.quarantine_key).to_pylist()}
    assert {k: v[0] for k, v in q.items()} == {
        "old-name.png": R.DEDUPE_EXACT,  # redirected to a.png: the same picture
        "big.png": R.MEDIA_OVERSIZE,
        "endless.png": R.MEDIA_OVERSIZE,
        "missing.png": R.SOURCE_UNAVAILABLE,
        "slow.png": R.SOURCE_UNAVAILABLE,
        "x.png": R.SOURCE_UNAVAILABLE,
    }
    assert "Content-Length" in q["big.png"][1] and "HTTP 404" in q["missing.png"][1]
    rows = store.read_table(res.manifest_key).to_pylist()
    assert sorted(r["source_uri"].rsplit("/", 1)[-1] for r in rows) == ["a.png", "c.png", "flaky.png"]
    assert _Handler.hits["/flaky.png"] == 2 and _Handler.hits["/slow.png"] == 3  # retried, then given up

    # the next run fetches only what was not collected, and tries the unavailable ones again
    _Handler.files["/missing.png"] = _png(6)
    [shard] = plan_shards(spec=spec, store=store, run_id="r2")
    again = collect_shard(spec=spec, store=store, run_id="r2", shard=shard)
    assert shard["count"] == 3 and again.items_out == 1  # missing.png now; slow.png and x.png fail again
    assert again.reasons == {R.SOURCE_UNAVAILABLE: 2}
