"""Label Studio label configs (XML) generated from a spec: the object tags here, the controls from the annotation
type's builder (``pipelines/annotations/types/``, reached through the registry: :data:`BUILDERS` is a view).

Control names are a contract with ``refine`` (which parses the results) and the annotator simulator:
classification ``Choices name="label"``; bbox ``RectangleLabels name="label"``; transcription
``TextArea name="transcript"`` plus, with segments, ``Labels name="segment"`` regions that each carry a
``TextArea name="segment_text"`` (perRegion) and, with speaker labels, a ``Choices name="speaker"`` (perRegion,
화자1..화자N). The other names are listed in :data:`CONTROL_NAMES`.

The XML is built with ElementTree, so label values (Korean, ``&``, quotes, ``<``) are always escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pipelines.annotations import REGISTRY
from pipelines.annotations.lsconfig import FRAMES, Builder, LabelConfigError, _el
from pipelines.label.tasks import component_kinds, object_kinds, target_kind
from pipelines.spec.models import DatasetSpec, TimeseriesModality
from pipelines.storage.records import dicom_max_frames

__all__ = ["BUILDERS", "CONTROL_NAMES", "FRAMES", "Builder", "LabelConfigError", "label_config"]


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


# The controls of each annotation type: its builder lives with the type (pipelines/annotations/types/); a view of
# the registry.
BUILDERS: dict[str, Builder] = {t: k.code.build for t, k in REGISTRY.items()}


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
