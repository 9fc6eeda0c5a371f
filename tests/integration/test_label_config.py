"""Generated label configs against the real Label Studio server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pipelines.label import (
    LabelStudioClient,
    LabelStudioError,
    LabelStudioSettings,
    label_config,
    project_title,
)
from pipelines.spec import ANNOTATION_TYPES, DatasetSpec
from sim.specs import demo_spec
from tests.integration.conftest import MADE

pytestmark = pytest.mark.integration

# The types the simulator and refine handle now, on each modality they are used with.
REQUIRED = [
    ("classification", "text"),
    ("classification", "image"),
    ("classification", "audio"),
    ("bbox", "image"),
    ("transcription", "audio"),
]



@pytest.fixture
def client(ls: LabelStudioSettings) -> LabelStudioClient:
    return LabelStudioClient(ls)


def _spec(annotation_type: str, **kw: Any) -> DatasetSpec:
    spec = demo_spec(annotation_type, spec_id=f"it-cfg-{uuid.uuid4().hex[:10]}", **kw)
    MADE.append(spec)
    return spec


@pytest.mark.parametrize("annotation_type", ANNOTATION_TYPES)
def test_server_accepts_the_config_of_every_type(client: LabelStudioClient, annotation_type: str) -> None:
    client.validate_config(label_config(demo_spec(annotation_type)))


@pytest.mark.parametrize(("annotation_type", "modality"), REQUIRED)
def test_projects_are_created_once_with_the_config(
    client: LabelStudioClient, annotation_type: str, modality: str
) -> None:
    spec = _spec(annotation_type, modality=modality)
    xml = label_config(spec)
    pid = client.ensure_project(title=project_title(spec), label_config=xml)
    assert client.ensure_project(title=project_title(spec), label_config=xml) == pid
    assert client.sdk.projects.get(id=pid).label_config == xml


def test_a_changed_config_updates_the_project_and_a_bad_one_is_refused(client: LabelStudioClient) -> None:
    title = project_title(_spec("classification"))
    v1 = label_config(demo_spec("classification", annotation={"labels": ["긍정", "부정"]}))
    v2 = label_config(demo_spec("classification", annotation={"labels": ["긍정", "부정", "중립"]}))
    pid = client.ensure_project(title=title, label_config=v1)
    assert client.ensure_project(title=title, label_config=v2) == pid
    assert "중립" in (client.sdk.projects.get(id=pid).label_config or "")
    broken = v2.replace('toName="text"', 'toName="nowhere"')
    with pytest.raises(LabelStudioError, match="nowhere"):
        client.ensure_project(title=title, label_config=broken)
    with pytest.raises(LabelStudioError, match="nowhere"):
        client.validate_config(broken)
