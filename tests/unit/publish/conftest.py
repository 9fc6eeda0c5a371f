"""Fixtures of the publish tests: an s3:// root on moto's server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from pipelines.storage import ObjectStore, S3Settings, open_store


@pytest.fixture
def s3_store(request: pytest.FixtureRequest) -> Iterator[ObjectStore]:
    """An s3:// root on moto's server in this process (loopback, a free port the OS picks).

    moto keeps its buckets in process-wide state that outlives a server: each test gets its own bucket.
    """
    from moto.server import ThreadedMotoServer

    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    host, port = srv.get_host_and_port()
    settings = S3Settings(endpoint_url=f"http://{host}:{port}", access_key="testing", secret_key="testing")
    bucket = "t-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    s = open_store(f"s3://{bucket}/root", s3=settings)
    s.ensure_bucket()
    try:
        yield s
    finally:
        srv.stop()
