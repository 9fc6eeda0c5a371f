"""Every spec of the catalog (150) becomes a Label Studio project the real server accepts.

Projects are created in bulk (a few concurrent raw POSTs; the SDK's typed models cost ~0.3 s per call) under
throw-away titles, checked, and deleted again, so the stack's Label Studio keeps no test projects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from pipelines.label import LabelStudioSettings, label_config
from pipelines.label.client import auth_headers
from pipelines.spec import load_catalog
from pipelines.stack import StackInfo

pytestmark = pytest.mark.integration

_WORKERS = 4


@pytest.fixture
def ls(stack: StackInfo) -> LabelStudioSettings:
    return LabelStudioSettings(url=stack.ls_url, token=stack.ls_token)


@pytest.fixture
def http(ls: LabelStudioSettings) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=120, headers=auth_headers(ls)) as c:
        yield c


def test_every_spec_in_the_catalog_gets_a_project_the_server_accepts(
    ls: LabelStudioSettings, http: httpx.Client
) -> None:
    catalog = load_catalog()
    assert len(catalog.specs) == 150
    run = uuid.uuid4().hex[:6]
    configs = {sid: label_config(catalog.specs[sid]) for sid in sorted(catalog.specs)}
    created: dict[str, int] = {}

    def create(sid: str) -> tuple[str, httpx.Response]:
        title = f"it-cat-{run}:{sid}"[:50]
        return sid, http.post(f"{ls.url}/api/projects/", json={"title": title, "label_config": configs[sid]})

    refused: dict[str, str] = {}
    try:
        with ThreadPoolExecutor(_WORKERS) as pool:
            for sid, resp in pool.map(create, configs):
                if resp.status_code == 201:
                    created[sid] = int(resp.json()["id"])
                else:
                    refused[sid] = f"HTTP {resp.status_code}: {resp.text[:300]}"
        assert refused == {}
        assert len(created) == 150

        # The server parsed each config: it lists the controls of the spec's annotation type.
        def stored(sid: str) -> tuple[str, dict[str, Any]]:
            return sid, http.get(f"{ls.url}/api/projects/{created[sid]}/").json()

        with ThreadPoolExecutor(_WORKERS) as pool:
            projects = dict(pool.map(stored, created))
        for sid, project in projects.items():
            assert project["label_config"] == configs[sid], sid
            assert project["parsed_label_config"], sid  # non-empty: at least one control with its target
    finally:
        # One at a time: Label Studio disconnects every Django signal of the process while it deletes a project,
        # and two overlapping deletes can leave them disconnected (task counters then stop updating).
        gone = [http.delete(f"{ls.url}/api/projects/{pid}/").status_code for pid in created.values()]
    assert set(gone) <= {204}
