"""Label configs: one builder per type, escaped XML, the control names refine and the simulator use."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from label_studio_sdk.label_interface import LabelInterface
from label_studio_sdk.label_interface.control_tags import ControlTag
from label_studio_sdk.label_interface.object_tags import ObjectTag

from pipelines.label.config import BUILDERS, CONTROL_NAMES, label_config
from pipelines.spec import ANNOTATION_TYPES
from sim.specs import LABELS, demo_spec

pytestmark = pytest.mark.unit


def test_every_annotation_type_has_a_builder_and_nothing_else() -> None:
    assert set(BUILDERS) == set(ANNOTATION_TYPES)
    assert set(CONTROL_NAMES) == set(ANNOTATION_TYPES)


@pytest.mark.parametrize("annotation_type", ANNOTATION_TYPES)
def test_config_uses_only_tags_label_studio_knows(annotation_type: str) -> None:
    li = LabelInterface(label_config(demo_spec(annotation_type)))
    # The SDK maps every tag Label Studio's frontend renders to its own class; unknown tags stay generic.
    assert li.controls and li.objects
    assert all(type(c) is not ControlTag for c in li.controls), [type(c).__name__ for c in li.controls]
    assert all(type(o) is not ObjectTag for o in li.objects), [type(o).__name__ for o in li.objects]
    names = {c.name for c in li.controls}
    assert set(CONTROL_NAMES[annotation_type]) <= names


def test_korean_and_special_characters_are_escaped_and_round_trip() -> None:
    xml = label_config(demo_spec("bbox"))
    assert "&amp;" in xml and "&lt;기타&gt;" in xml and "&quot;표본&quot;" in xml
    values = [el.get("value") for el in ET.fromstring(xml).iter("Label")]
    assert values == LABELS


@pytest.mark.parametrize(("modality", "tag"), [("text", "Text"), ("image", "Image"), ("audio", "Audio")])
def test_classification_points_choices_named_label_at_the_item(modality: str, tag: str) -> None:
    root = ET.fromstring(label_config(demo_spec("classification", modality=modality)))
    obj = root.find(tag)
    assert obj is not None and obj.get("name") == modality and obj.get("value") == f"${modality}"
    choices = root.find("Choices")
    assert choices is not None
    assert (choices.get("name"), choices.get("toName"), choices.get("choice")) == (
        "label",
        modality,
        "single-radio",
    )
    assert [c.get("value") for c in choices.iter("Choice")] == ["긍정", "부정", "중립"]


def test_bbox_is_rectangle_labels_named_label() -> None:
    root = ET.fromstring(label_config(demo_spec("bbox")))
    rect = root.find("RectangleLabels")
    assert rect is not None and (rect.get("name"), rect.get("toName")) == ("label", "image")


def test_transcription_with_segments_has_per_region_text() -> None:
    root = ET.fromstring(label_config(demo_spec("transcription")))
    by_name = {el.get("name"): el for el in root if el.get("name")}
    assert by_name["transcript"].tag == "TextArea" and by_name["transcript"].get("toName") == "audio"
    assert by_name["segment"].tag == "Labels"
    assert by_name["segment_text"].get("perRegion") == "true"
    assert [c.get("value") for c in by_name["dialect"].iter("Choice")] == ["경상", "전라", "제주"]


def test_transcription_without_segments_has_only_the_transcript() -> None:
    spec = demo_spec("transcription", annotation={"segments": False, "dialect_tags": []})
    names = [el.get("name") for el in ET.fromstring(label_config(spec)) if el.get("toName")]
    assert names == ["transcript"]


@pytest.mark.parametrize("annotation_type", ["polygon", "polyline", "keypoints"])
def test_video_geometry_is_drawn_on_keyframes(annotation_type: str) -> None:
    root = ET.fromstring(label_config(demo_spec(annotation_type, modality="video")))
    frames = root.find("Image")
    assert frames is not None and (frames.get("name"), frames.get("valueList")) == ("frames", "$frames")
    assert {el.get("toName") for el in root if el.get("toName")} == {"frames"}
    assert root.find("Video") is not None  # the clip stays visible for context


def test_speech_in_a_video_is_transcribed_on_its_sound_track() -> None:
    root = ET.fromstring(label_config(demo_spec("transcription", modality="video")))
    audio, video = root.find("Audio"), root.find("Video")
    assert audio is not None and video is not None
    assert (audio.get("value"), audio.get("sync"), video.get("sync")) == ("$video", "video", "audio")
    assert {el.get("toName") for el in root if el.get("toName")} == {"audio"}


@pytest.mark.parametrize("spec_id", ["visual-qa", "broadcast-scene-events", "broadcast-conversation-speech",
                                     "multimodal-drama-emotion"])
def test_a_multimodal_task_shows_every_component_and_a_separate_sound_is_synced(spec_id: str) -> None:
    """docs/adr/0024: the primary component in its own field, the other media by kind, the text in ``text``; a
    silent clip plays muted beside its own audio file, the two players synced."""
    from pipelines.label.push import _task
    from pipelines.spec import load_catalog

    spec = load_catalog().get(spec_id)
    xml = label_config(spec)
    li = LabelInterface(xml)
    kinds = {c.kind for c in spec.modality.components}
    assert {o.name for o in li.objects} == kinds
    row = {"item_id": "i1", "meta": "{}", "media_key": f"media/{spec_id}/a.mp4", "text": "대사",
           "components": [{"kind": "audio", "key": f"media/{spec_id}/b.wav"}] if "audio" in kinds else None}
    data = _task(spec, row, lambda key: f"url:{key}", gold=False)["data"]
    root = ET.fromstring(xml)
    for el in root:
        value = el.get("value", "")
        if el.tag in ("Image", "Video", "Audio", "Text"):
            assert value.startswith("$") and value[1:] in data, (el.tag, value, data)
    if "audio" in kinds:
        audio, video = root.find("Audio"), root.find("Video")
        assert audio is not None and video is not None
        assert (audio.get("value"), audio.get("sync"), video.get("sync"), video.get("muted")) == (
            "$audio", "video", "audio", "true")
        assert data["audio"] == f"url:media/{spec_id}/b.wav" and data["video"] == f"url:media/{spec_id}/a.mp4"
        from pipelines.label.push import _quarantine_reason

        assert _quarantine_reason(spec, {**row, "components": None}) == (
            "label.media_missing", "no audio component after de-identification")
        outside = [{"kind": "audio", "key": f"restricted/{spec_id}/b.wav"}]
        assert _quarantine_reason(spec, {**row, "components": outside})[0] == "label.media_not_deidentified"
        assert _quarantine_reason(spec, row) is None


def test_speaker_labels_add_a_closed_per_region_speaker_choice() -> None:
    spec = demo_spec("transcription", annotation={"speaker_labels": True, "max_speakers": 3})
    xml = label_config(spec)
    by_name = {el.get("name"): el for el in ET.fromstring(xml) if el.get("name")}
    speaker = by_name["speaker"]
    assert (speaker.tag, speaker.get("toName"), speaker.get("perRegion"), speaker.get("required")) == \
        ("Choices", "audio", "true", "true")
    # generic labels only: no free-text control could carry a speaker's name
    assert [c.get("value") for c in speaker.iter("Choice")] == ["화자1", "화자2", "화자3"]
    assert by_name["segment_text"].get("perRegion") == "true"
    li = LabelInterface(xml)
    assert all(type(c) is not ControlTag for c in li.controls)
    # without speaker labels there is no speaker control
    assert "speaker" not in {el.get("name") for el in ET.fromstring(label_config(demo_spec("transcription")))}


def test_speaker_labels_need_segments() -> None:
    from pipelines.spec.errors import SpecError

    with pytest.raises(SpecError, match="needs segments: true"):
        demo_spec("transcription", annotation={"segments": False, "speaker_labels": True})
