"""Label Studio label configs (XML) generated from a spec, one builder per annotation type.

Control names are a contract with ``refine`` (which parses the results) and the annotator simulator:
classification ``Choices name="label"``; bbox ``RectangleLabels name="label"``; transcription
``TextArea name="transcript"`` plus, with segments, ``Labels name="segment"`` regions that each carry a
``TextArea name="segment_text"`` (perRegion) and, with speaker labels, a ``Choices name="speaker"`` (perRegion,
화자1..화자N). The other names are listed in :data:`CONTROL_NAMES`.

The XML is built with ElementTree, so label values (Korean, ``&``, quotes, ``<``) are always escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from pipelines.annotations import REGISTRY
from pipelines.label.tasks import FRAMES, component_kinds, object_kinds, target_kind
from pipelines.spec.models import (
    NER,
    QA,
    BBox,
    Classification,
    DatasetSpec,
    DialogueIntent,
    Keypoints,
    MultiLabel,
    Polygon,
    Polyline,
    Segmentation,
    Summarisation,
    TemporalEvents,
    TimeseriesLabels,
    TimeseriesModality,
    Transcription,
    Translation,
)
from pipelines.storage.records import dicom_max_frames


class LabelConfigError(ValueError):
    """The spec's annotation cannot be expressed as a Label Studio config (yet); the message names why."""


# The object tag of each elementary modality, and the task-data field it reads.
_OBJECT_TAGS: dict[str, str] = {
    "image": "Image",
    "video": "Video",
    "audio": "Audio",
    "text": "Text",
    "timeseries": "TimeSeries",
}

# Control names per annotation type (a contract with refine and the simulator; a view of the registry). Extra
# controls the builders add: bbox "box" (VideoRectangle) on video; transcription "segment", "segment_text" with
# segments, "dialect", "speaker"; qa "answer_span" (extractive), "answer_choice" (yes/no); summarisation
# "summary_span" (extractive / both); dialogue_intent "slot".
CONTROL_NAMES: dict[str, tuple[str, ...]] = {t: k.controls for t, k in REGISTRY.items()}

Builder = Callable[[DatasetSpec, ET.Element, str], None]


def _el(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, attrs)


def _options(parent: ET.Element, tag: str, values: list[str]) -> ET.Element:
    for v in values:
        _el(parent, tag, value=v)
    return parent


def _objects(spec: DatasetSpec, view: ET.Element, target: str) -> None:
    kinds = object_kinds(spec)
    # An item carries one media file; when it is a video, its sound is played by an Audio tag on the same URL
    # (Label Studio's "audio sync trick"), so audio regions and per-region text work on video. A multimodal item
    # whose sound is its own component (a WAV beside a silent clip, docs/adr/0024) plays that file instead, the
    # two players synced (``sync`` names the other object: seeking or playing one moves both).
    sound_of_video = "video" in kinds and ("audio" in kinds or target == "audio")
    own_sound = sound_of_video and "audio" in component_kinds(spec)
    for kind in kinds:
        if kind == "image" and target == FRAMES:
            continue  # a multi-frame DICOM: every frame is in the ``frames`` list below, the first one too
        attrs = {"name": kind, "value": f"${kind}"}
        if kind == "image":
            attrs["zoom"] = "true"
        if kind == "video" and sound_of_video:
            attrs["sync"] = "audio"
            if own_sound:
                attrs["muted"] = "true"  # the clip has no sound track: the Audio object plays the item's sound
        if kind == "audio" and sound_of_video:
            attrs.update(value="$audio" if own_sound else "$video", sync="video")
        if kind == "timeseries":
            m = spec.modality
            if not isinstance(m, TimeseriesModality):  # multimodal timeseries: channels unknown here
                raise LabelConfigError(f"{spec.id}: timeseries inside a multimodal item is not supported yet")
            attrs.update(valueType="url", sep=",")
            ts = _el(view, "TimeSeries", **attrs)
            for ch in m.channels:
                _el(ts, "Channel", column=ch)
            continue
        _el(view, _OBJECT_TAGS[kind], **attrs)
    if sound_of_video and "audio" not in kinds:
        _el(view, "Audio", name="audio", value="$video", sync="video")
    if target == FRAMES:
        # Video keyframes sampled at modality.annotation_fps, or every frame of a multi-frame DICOM (in frame
        # order); regions carry the frame's ``item_index``.
        _el(view, "Image", name=FRAMES, valueList=f"${FRAMES}", zoom="true")


# ------------------------------------------------------------------------------------------- builders


def _classification(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Classification)
    c = _el(view, "Choices", name="label", toName=to, choice="single-radio", showInline="true",
            required="true")
    _options(c, "Choice", a.labels)


def _multi_label(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, MultiLabel)
    attrs = {"name": "labels", "toName": to, "choice": "multiple", "showInline": "true"}
    if a.min_labels > 0:
        attrs["required"] = "true"
    _options(_el(view, "Choices", **attrs), "Choice", a.labels)


def _bbox(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, BBox)
    if to == "video":
        # Video object tracking: a label set plus VideoRectangle regions.
        _options(_el(view, "Labels", name="label", toName=to), "Label", a.labels)
        _el(view, "VideoRectangle", name="box", toName=to)
        return
    _options(_el(view, "RectangleLabels", name="label", toName=to), "Label", a.labels)


def _image_only(kind: str, to: str, spec: DatasetSpec) -> None:
    if to not in ("image", FRAMES):
        raise LabelConfigError(f"{spec.id}: {kind} annotation on {to} is not supported yet (images and keyframes)")


def _polygon(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Polygon)
    _image_only("polygon", to, spec)
    _options(_el(view, "PolygonLabels", name="label", toName=to), "Label", a.labels)


def _polyline(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Polyline)
    _image_only("polyline", to, spec)
    # VectorLabels draws open polylines unless closable; Label Studio has no dedicated polyline tag.
    _options(_el(view, "VectorLabels", name="label", toName=to, closable="false"), "Label", a.labels)


def _keypoints(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Keypoints)
    _image_only("keypoints", to, spec)
    # Objects are boxed with their class; each named keypoint is a KeyPointLabels label.
    _options(_el(view, "RectangleLabels", name="label", toName=to), "Label", a.labels)
    _options(_el(view, "KeyPointLabels", name="keypoint", toName=to, smart="false"), "Label", a.keypoints)


def _segmentation(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Segmentation)
    _image_only("segmentation", to, spec)
    # Unpainted pixels are the background class; it is not a brush label.
    _options(_el(view, "BrushLabels", name="label", toName=to), "Label", a.labels)


def _transcription(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Transcription)
    if to != "audio":
        raise LabelConfigError(f"{spec.id}: transcription of {to} is not supported (audio or video sound only)")
    _el(view, "TextArea", name="transcript", toName=to, rows="4", editable="true", maxSubmissions="1",
        required="true")
    if a.segments:
        _el(view, "Labels", name="segment", toName=to).append(ET.Element("Label", {"value": "speech"}))
        _el(view, "TextArea", name="segment_text", toName=to, perRegion="true", editable="true",
            maxSubmissions="1", rows="2")
    if a.speaker_labels:
        # Who speaks in the selected segment: one generic label per region (화자1 = the first voice heard in this
        # item). A closed list, never free text, so no speaker name can reach a label.
        _el(view, "Header", value="화자 (처음 들린 목소리부터 화자1, 화자2 …)")
        _options(_el(view, "Choices", name="speaker", toName=to, perRegion="true", required="true",
                     choice="single-radio", showInline="true"), "Choice", a.speakers)
    if a.dialect_tags:
        _options(_el(view, "Choices", name="dialect", toName=to, choice="multiple", showInline="true"),
                 "Choice", a.dialect_tags)


def _ner(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, NER)
    _options(_el(view, "Labels", name="label", toName=to), "Label", a.labels)


def _qa(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, QA)
    n = str(a.questions_per_item)
    _el(view, "TextArea", name="question", toName=to, rows="2", maxSubmissions=n, editable="true")
    if a.style == "extractive":
        _el(view, "Labels", name="answer_span", toName=to).append(ET.Element("Label", {"value": "answer"}))
    elif a.style == "yes_no":
        _options(_el(view, "Choices", name="answer_choice", toName=to, choice="single-radio"), "Choice",
                 ["예", "아니오"])
    _el(view, "TextArea", name="answer", toName=to, rows="2", maxSubmissions=n, editable="true")


def _summarisation(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Summarisation)
    if a.style in ("extractive", "both"):
        _el(view, "Labels", name="summary_span", toName=to).append(ET.Element("Label", {"value": "summary"}))
    if a.style in ("abstractive", "both"):
        _el(view, "TextArea", name="summary", toName=to, rows="5", maxSubmissions="1", editable="true",
            required="true")


def _translation(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Translation)
    _el(view, "Header", value=f"{a.source_language} → {a.target_language}")
    _el(view, "TextArea", name="translation", toName=to, rows="4", maxSubmissions="1", editable="true",
        required="true")


def _dialogue_intent(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, DialogueIntent)
    _options(_el(view, "Choices", name="intent", toName=to, choice="single-radio", showInline="true",
                 required="true"), "Choice", a.intents)
    if a.slots and to == "text":
        _options(_el(view, "Labels", name="slot", toName=to), "Label", a.slots)


def _temporal_events(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, TemporalEvents)
    tag = "TimelineLabels" if to == "video" else "Labels"  # Audio regions are plain Labels
    _options(_el(view, tag, name="label", toName=to), "Label", a.labels)


def _timeseries_labels(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, TimeseriesLabels)
    _options(_el(view, "TimeSeriesLabels", name="label", toName=to), "Label", a.labels)


# Every annotation type of the spec model has a builder; a test checks both ways against ANNOTATION_TYPES.
BUILDERS: dict[str, Builder] = {
    "classification": _classification,
    "multi_label": _multi_label,
    "bbox": _bbox,
    "polygon": _polygon,
    "polyline": _polyline,
    "keypoints": _keypoints,
    "segmentation": _segmentation,
    "transcription": _transcription,
    "ner": _ner,
    "qa": _qa,
    "summarisation": _summarisation,
    "translation": _translation,
    "dialogue_intent": _dialogue_intent,
    "temporal_events": _temporal_events,
    "timeseries_labels": _timeseries_labels,
}


def label_config(spec: DatasetSpec) -> str:
    """The Label Studio XML config for a spec.

    Raises:
        LabelConfigError: naming the annotation type (and modality) when it cannot be expressed yet.
    """
    kind = spec.annotation.type
    builder = BUILDERS.get(kind)
    if builder is None:
        raise LabelConfigError(f"{spec.id}: annotation type {kind!r} has no Label Studio config builder")
    if kind == "segmentation" and dicom_max_frames(spec) > 1:
        raise LabelConfigError(f"{spec.id}: brush masks on multi-frame DICOM are not supported yet (max_frames: 1)")
    target = target_kind(spec)
    view = ET.Element("View")
    _el(view, "Header", value=spec.name)
    _objects(spec, view, target)
    builder(spec, view, target)
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode")
