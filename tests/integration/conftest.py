"""Fixtures of the tests that talk to Label Studio or the stack's S3 endpoint.

``s3_store`` is a fresh ``s3://<bucket>/it-<module>-<random>`` root on the stack's endpoint, emptied on teardown.

``ls`` is the running stack's Label Studio; on teardown it deletes the projects (and review projects) of every spec
a test registered in ``MADE``: the stack's Label Studio outlives the session, and tests leave no projects behind.
A module whose helpers register specs requests ``ls`` for every test (``pytest.mark.usefixtures("ls")``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from pipelines.label import LabelStudioSettings
from pipelines.spec import DatasetSpec
from pipelines.stack import StackInfo
from pipelines.storage import ObjectStore, S3Settings
from sim.specs import delete_projects

MADE: list[DatasetSpec] = []


@pytest.fixture
def ls(stack: StackInfo) -> Iterator[LabelStudioSettings]:
    settings = LabelStudioSettings(url=stack.ls_url, token=stack.ls_token)
    yield settings
    try:
        delete_projects(settings, MADE)
    finally:
        MADE.clear()


@pytest.fixture
def s3_store(stack: StackInfo, request: pytest.FixtureRequest) -> Iterator[ObjectStore]:
    assert stack.s3_endpoint, "the stack's S3 endpoint is not running"
    settings = S3Settings(endpoint_url=stack.s3_endpoint, access_key=stack.s3_access_key,
                          secret_key=stack.s3_secret_key, region=stack.s3_region)
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    store = ObjectStore(f"s3://{stack.s3_bucket}/it-{name}-{uuid.uuid4().hex[:8]}", s3=settings)
    store.ensure_bucket()
    yield store
    for prefix in ("restricted", "media", "runs", "state", "releases", "catalog"):
        store.delete_prefix(prefix)
