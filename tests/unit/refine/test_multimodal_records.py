"""Multimodal records (docs/adr/0024): the primary component is ``media``, a text component ``text``, the other
media a ``components`` column; validate checks the primary component's attributes."""

from __future__ import annotations

import pytest

from pipelines.spec import load_catalog
from pipelines.storage.records import COMPONENT_MEDIA_TYPE, has_components, record_schema
from pipelines.validate.checks import media_modality, text_modality

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("spec_id", "primary", "components"), [
    ("visual-qa", "image", False),
    ("broadcast-scene-events", "video", True),
    ("broadcast-conversation-speech", "video", True),
    ("multimodal-drama-emotion", "video", True),
])
def test_the_record_carries_every_component(spec_id: str, primary: str, components: bool) -> None:
    spec = load_catalog().get(spec_id)
    schema = record_schema(spec)
    assert has_components(spec) is components
    assert ("components" in schema.names) is components
    if components:
        assert schema.field("components").type.value_type == COMPONENT_MEDIA_TYPE
    assert {"media", "text"} <= set(schema.names)
    m = media_modality(spec)
    assert m is not None and m.kind == primary == spec.modality.primary
    assert (text_modality(spec) is not None) is ("text" in spec.modality_kinds)
