"""Pydantic v2 models of a dataset-type spec (one YAML file in ``schemas/datasets/<field>/<id>.yaml``).

Everything is ``extra="forbid"`` and frozen: a typo in a spec is an error, and a loaded spec never changes.
Per-field constraints live on the fields; rules that relate several fields live in ``_cross_field_issues``
and surface as one ``spec_rule`` error per broken rule, each with its own field path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
HANGUL_RE = re.compile(r"[\uac00-\ud7a3]")
_EPS = 1e-6

Slug = Annotated[str, StringConstraints(pattern=SLUG_RE, min_length=2, max_length=64)]
ColumnName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
LangCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")]

# Columns every record has besides the spec's own schema; stratify_by / group_by may name them.
BUILTIN_COLUMNS = ("label", "source_uri")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _unique(values: list[Any], what: str) -> list[Any]:
    seen: set[Any] = set()
    dups = [v for v in values if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
    if dups:
        raise PydanticCustomError("not_unique", "{what} must be unique; repeated: {dups}", {"what": what, "dups": dups})
    return values


# --------------------------------------------------------------------------------------------- modality


# Window presets (centre, width in Hounsfield units) a DICOM spec may name instead of numbers; the usual
# radiology reading windows.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "brain": (40.0, 80.0),
    "subdural": (75.0, 215.0),
    "stroke": (40.0, 40.0),
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "soft_tissue": (50.0, 400.0),
    "abdomen": (40.0, 400.0),
    "liver": (30.0, 150.0),
    "bone": (400.0, 1800.0),
}
DicomModalityCode = Literal["CT", "MR", "CR", "DX", "MG", "US", "XA", "RF", "PT", "NM", "OT", "SC", "IO", "PX", "OP"]
Photometric = Literal[
    "MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT", "PALETTE COLOR"
]
ProfileOption = Literal[
    "retain_long_modified_dates", "retain_patient_chars", "clean_descriptors", "retain_device_identity"
]


class DicomWindow(_Model):
    """A VOI window for the annotators' display image, in the modality's output units (HU for CT)."""

    center: float
    width: float = Field(gt=0)


def _default_modalities() -> list[DicomModalityCode]:
    return ["CT", "MR", "CR", "DX", "MG", "US"]


def _default_bits() -> list[int]:
    return [8, 10, 12, 14, 15, 16]


def _default_photometric() -> list[Photometric]:
    return ["MONOCHROME1", "MONOCHROME2"]


class DicomOptions(_Model):
    """``modality.dicom``: what a DICOM item must be, how PS3.15 Annex E de-identifies it, how annotators see it.

    Every field has a default, so a spec that lists ``dicom`` among its formats needs no block at all.
    """

    modalities: list[DicomModalityCode] = Field(
        default_factory=_default_modalities, min_length=1, description="DICOM Modality (0008,0060) values accepted"
    )
    min_rows: int | None = Field(default=None, ge=1, description="minimum Rows; null: the modality's min_height")
    min_columns: int | None = Field(
        default=None, ge=1, description="minimum Columns; null: the modality's min_width"
    )
    bits_stored: list[Annotated[int, Field(ge=1, le=32)]] = Field(
        default_factory=_default_bits, min_length=1, description="BitsStored values accepted"
    )
    photometric: list[Photometric] = Field(
        default_factory=_default_photometric, min_length=1, description="PhotometricInterpretation values accepted"
    )
    max_frames: int = Field(
        default=1, ge=1, description="NumberOfFrames above this is refused (`dicom.frames`); above 1, annotators page "
        "through every frame of a file (one image list per task) and each region records its frame (`region_frames`)"
    )
    burned_in: Literal["mask", "quarantine"] = Field(
        default="quarantine",
        description="BurnedInAnnotation = YES: mask the text found in the pixels, or quarantine `pii.burned_in`",
    )
    burned_in_scan: Literal["all", "flagged"] = Field(
        default="all",
        description="search every file's pixels for text (found text is masked or quarantined like flagged text), "
        "or only files flagged BurnedInAnnotation = YES",
    )
    profile_options: list[ProfileOption] = Field(
        default_factory=list, description="PS3.15 Annex E (Table E.1-1, 2026d) options applied on top of the Basic "
        "Profile: Retain Longitudinal Temporal Information with Modified Dates (dates shifted per patient), Retain "
        "Patient Characteristics (sex, age, size, weight ... kept), Clean Descriptors (descriptions kept, cleaned), "
        "Retain Device Identity (serial numbers, station names ... kept)"
    )
    safe_private_tags: list[
        Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{3}[13579BDFbdf],[0-9A-Fa-f]{4}$")]
    ] = Field(default_factory=list, description="private tags kept (Retain Safe Private), as `gggg,eeee` hex")
    window: (
        DicomWindow
        | Literal["brain", "subdural", "stroke", "lung", "mediastinum", "soft_tissue", "abdomen", "liver", "bone"]
        | None
    ) = Field(default=None, description="display window or preset; null: the file's VOI LUT / window, else min-max")

    @field_validator("modalities", "bits_stored", "photometric", "profile_options", "safe_private_tags")
    @classmethod
    def _no_repeats(cls, v: list[Any]) -> list[Any]:
        return _unique(v, "values")

    def window_values(self) -> tuple[float, float] | None:
        """(centre, width) of the spec's window, or None when the file's own window is used."""
        if self.window is None:
            return None
        if isinstance(self.window, DicomWindow):
            return self.window.center, self.window.width
        return WINDOW_PRESETS[self.window]


class ImageModality(_Model):
    """Still images (photos, scans, medical images)."""

    kind: Literal["image"] = "image"
    formats: list[Literal["jpeg", "png", "webp", "tiff", "bmp", "dicom"]] = Field(min_length=1)
    min_width: int = Field(ge=1)
    min_height: int = Field(ge=1)
    max_width: int | None = Field(default=None, ge=1)
    max_height: int | None = Field(default=None, ge=1)
    color: Literal["rgb", "grayscale", "any"] = "rgb"
    max_bytes: int = Field(default=50_000_000, ge=1)
    dicom: DicomOptions | None = Field(
        default=None, description="DICOM checks, de-identification and display; needs `dicom` in formats"
    )

    @model_validator(mode="after")
    def _dicom_block_needs_dicom(self) -> ImageModality:
        if self.dicom is not None and "dicom" not in self.formats:
            raise PydanticCustomError("dicom_without_format", "a dicom block needs 'dicom' in formats", {})
        return self

    def dicom_options(self) -> DicomOptions:
        """The spec's DICOM block, or its defaults."""
        return self.dicom if self.dicom is not None else DicomOptions()


class VideoModality(_Model):
    """Video clips; annotated on frames sampled at ``annotation_fps``."""

    kind: Literal["video"] = "video"
    formats: list[Literal["mp4", "mkv", "avi", "mov", "webm", "frames"]] = Field(min_length=1)
    min_width: int = Field(ge=1)
    min_height: int = Field(ge=1)
    min_fps: float = Field(default=10.0, gt=0)
    annotation_fps: float = Field(default=1.0, gt=0)
    min_duration_s: float = Field(default=1.0, gt=0)
    max_duration_s: float = Field(default=600.0, gt=0)
    max_bytes: int = Field(default=2_000_000_000, ge=1)


class AudioModality(_Model):
    """Speech and sound recordings."""

    kind: Literal["audio"] = "audio"
    formats: list[Literal["wav", "flac", "mp3", "ogg", "pcm"]] = Field(min_length=1)
    sample_rates: list[Literal[8000, 16000, 22050, 24000, 32000, 44100, 48000]] = Field(min_length=1)
    channels: Literal[1, 2] = 1
    bit_depth: Literal[16, 24, 32] = 16
    min_duration_s: float = Field(default=0.5, gt=0)
    max_duration_s: float = Field(default=30.0, gt=0)
    max_bytes: int = Field(default=200_000_000, ge=1)


Encoding = Literal["utf-8", "cp949", "euc-kr"]


def _utf8_only() -> list[Encoding]:
    return ["utf-8"]


class TextModality(_Model):
    """Running text, documents, dialogues, parallel sentences."""

    kind: Literal["text"] = "text"
    formats: list[Literal["txt", "json", "jsonl", "csv"]] = Field(min_length=1)
    # Accepted on intake; everything is converted to UTF-8 (NFC) before annotation.
    encodings: list[Encoding] = Field(default_factory=_utf8_only, min_length=1)
    language: LangCode = "ko"
    min_chars: int = Field(default=1, ge=1)
    max_chars: int = Field(default=20_000, ge=1)


class TimeseriesModality(_Model):
    """Multichannel signals (sensors, EEG, power, environment)."""

    kind: Literal["timeseries"] = "timeseries"
    formats: list[Literal["csv", "parquet", "edf"]] = Field(min_length=1)
    channels: list[ColumnName] = Field(min_length=1)
    sampling_hz: float = Field(gt=0)
    min_duration_s: float = Field(default=1.0, gt=0)
    max_duration_s: float = Field(default=86_400.0, gt=0)


SingleModality = Annotated[
    ImageModality | VideoModality | AudioModality | TextModality | TimeseriesModality,
    Field(discriminator="kind"),
]


class MultimodalModality(_Model):
    """Several modalities per item (image + question text, video + audio ...)."""

    kind: Literal["multimodal"] = "multimodal"
    components: list[SingleModality] = Field(min_length=2)

    @field_validator("components")
    @classmethod
    def _distinct_kinds(cls, v: list[SingleModality]) -> list[SingleModality]:
        _unique([c.kind for c in v], "component kinds")
        return v

    @property
    def primary(self) -> str:
        """The component an item is shown and addressed by: video, else image, else audio, else timeseries, else
        text (docs/adr/0024). Its media fill the item manifest's ``media_*`` columns."""
        kinds = {c.kind for c in self.components}
        return next(k for k in PRIMARY_ORDER if k in kinds)

    def component(self, kind: str) -> ImageModality | VideoModality | AudioModality | TextModality | \
            TimeseriesModality:
        """The component of ``kind`` (KeyError when the item has none)."""
        for c in self.components:
            if c.kind == kind:
                return c
        raise KeyError(f"no {kind} component among {[c.kind for c in self.components]}")

    def kind_of_ext(self, ext: str) -> str | None:
        """The component a file with extension ``ext`` is (first declared wins), or None when none takes it."""
        ext = ext.lower().lstrip(".")
        for c in self.components:
            if any(ext in FORMAT_EXTS.get(f, (f,)) for f in c.formats):
                return c.kind
        return None


# Which component of a multimodal item is its primary one, in order of preference.
PRIMARY_ORDER: tuple[str, ...] = ("video", "image", "audio", "timeseries", "text")
# The file extensions of each spec format (where they are not the format's own name).
FORMAT_EXTS: dict[str, tuple[str, ...]] = {
    "jpeg": ("jpg", "jpeg", "jpe"), "tiff": ("tif", "tiff"), "dicom": ("dcm", "dicom"),
    "frames": ("zip",), "pcm": ("pcm", "raw"),
}


Modality = Annotated[
    ImageModality | VideoModality | AudioModality | TextModality | TimeseriesModality | MultimodalModality,
    Field(discriminator="kind"),
]
ModalityKind = Literal["image", "video", "audio", "text", "timeseries", "multimodal"]
MODALITY_KINDS: tuple[str, ...] = ("image", "video", "audio", "text", "timeseries", "multimodal")


def modality_kinds(m: ImageModality | VideoModality | AudioModality | TextModality | TimeseriesModality
                   | MultimodalModality) -> set[str]:
    """The elementary kinds an item carries (a multimodal item carries each of its components)."""
    if isinstance(m, MultimodalModality):
        return {c.kind for c in m.components}
    return {m.kind}


# ----------------------------------------------------------------------------------------------- source


class SyntheticSource(_Model):
    """Seeded, reproducible generator for the spec's modality and annotation type (demo, tests, dry runs)."""

    kind: Literal["synthetic"] = "synthetic"
    seed: int = Field(default=0, ge=0)
    items: int = Field(default=60, ge=1, le=10_000_000)
    defect_rate: Fraction = 0.0


class LocalSource(_Model):
    """Files under a directory on the collecting machine."""

    kind: Literal["local"] = "local"
    root: str = Field(min_length=1)
    glob: str = "**/*"
    follow_symlinks: bool = False


# A host name or IP literal as written in a URL; what a source may fetch from although it resolves to a loopback,
# private, link-local ... address (an intranet server, a test server on 127.0.0.1).
AllowedHost = Annotated[str, StringConstraints(pattern=r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._:-]+)$", max_length=253)]
_ALLOW_HOSTS = ("hosts fetched even though they resolve to a loopback, private, link-local, multicast or reserved "
                "address (refused otherwise, after every redirect too); names or IP literals as in the URL")


class HttpSource(_Model):
    """A list of HTTP(S) URLs, inline or in a text file (one per line)."""

    kind: Literal["http"] = "http"
    urls: list[Annotated[str, StringConstraints(pattern=r"^https?://")]] = Field(default_factory=list)
    url_list: str | None = None
    timeout_s: float = Field(default=60.0, gt=0, description="bounds connecting and each read")
    deadline_s: float = Field(default=600.0, gt=0, description="bounds one whole fetch: retries, redirects, body")
    allow_hosts: list[AllowedHost] = Field(default_factory=list, description=_ALLOW_HOSTS)


class S3Source(_Model):
    """Objects under an S3 prefix; credentials come from an Airflow connection or the environment."""

    kind: Literal["s3"] = "s3"
    uri: Annotated[str, StringConstraints(pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")]
    connection: str = "datadam_s3"


class RecordsSource(_Model):
    """JSONL/CSV/Parquet record files whose columns carry text or point at media."""

    kind: Literal["records"] = "records"
    path: str = Field(min_length=1)
    format: Literal["jsonl", "csv", "parquet"] = Field(
        description="parquet records of a text dataset reach intake as JSONL documents (needs jsonl in formats)")
    id_column: ColumnName | None = None
    media_column: ColumnName | None = None
    text_column: ColumnName | None = None
    encoding: Literal["auto", "utf-8", "cp949", "euc-kr"] = "auto"
    media_root: Annotated[str, StringConstraints(pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")] | None = (
        Field(default=None, description="the s3://bucket/prefix that s3:// media references must lie under "
                                        "(without it they are refused); never inside the storage root"))
    allow_hosts: list[AllowedHost] = Field(default_factory=list, description=_ALLOW_HOSTS + " (http(s) media)")


Source = Annotated[
    SyntheticSource | LocalSource | HttpSource | S3Source | RecordsSource,
    Field(discriminator="kind"),
]
SOURCE_KINDS: tuple[str, ...] = ("synthetic", "local", "http", "s3", "records")


# ------------------------------------------------------------------------------------------ deidentify

PiiKind = Literal[
    "faces",
    "licence_plates",
    "rrn",  # 주민등록번호
    "foreigner_rn",  # 외국인등록번호
    "phone",
    "email",
    "card",
    "account",
    "names",
    "addresses",
]
VISUAL_PII: frozenset[str] = frozenset({"faces", "licence_plates"})
TEXT_PII: frozenset[str] = frozenset({"rrn", "foreigner_rn", "phone", "email", "card", "account", "names", "addresses"})


class Deidentify(_Model):
    """What must be removed before anyone (annotator or release reader) sees an item."""

    targets: list[PiiKind] = Field(default_factory=list)
    name_dictionary: str | None = None
    address_dictionary: str | None = None
    on_failure: Literal["quarantine"] = "quarantine"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # `deidentify: [faces, licence_plates]` is the common form.
        if isinstance(data, list):
            return {"targets": data}
        return data

    @field_validator("targets")
    @classmethod
    def _targets_unique(cls, v: list[str]) -> list[str]:
        return _unique(v, "deidentify targets")


# ----------------------------------------------------------------------------------------- annotation


class _AnnotationBase(_Model):
    guidelines_url: Annotated[str, StringConstraints(pattern=r"^https?://")] | None = None
    overlap: int = Field(default=1, ge=1, le=10, description="annotators per item on the overlap sample")
    overlap_share: Fraction = 0.0
    gold_share: Fraction = 0.0
    review_share: Fraction = 0.0


class _Labelled(_AnnotationBase):
    labels: list[Label] = Field(min_length=1)

    @field_validator("labels")
    @classmethod
    def _labels_unique(cls, v: list[str]) -> list[str]:
        return _unique(v, "labels")


class Classification(_Labelled):
    """One label per item."""

    type: Literal["classification"] = "classification"


class MultiLabel(_Labelled):
    """Any number of labels per item."""

    type: Literal["multi_label"] = "multi_label"
    min_labels: int = Field(default=1, ge=0)
    max_labels: int | None = Field(default=None, ge=1)


class BBox(_Labelled):
    """Axis-aligned rectangles with a class."""

    type: Literal["bbox"] = "bbox"
    min_box_px: int = Field(default=4, ge=1)
    max_objects: int = Field(default=200, ge=1)


class Polygon(_Labelled):
    """Closed polygons with a class."""

    type: Literal["polygon"] = "polygon"
    min_points: int = Field(default=3, ge=3)


class Polyline(_Labelled):
    """Open polylines (lanes, cracks, boundaries)."""

    type: Literal["polyline"] = "polyline"
    min_points: int = Field(default=2, ge=2)


class Keypoints(_Labelled):
    """Named keypoints per object, joined by a skeleton; ``labels`` are the object classes."""

    type: Literal["keypoints"] = "keypoints"
    keypoints: list[Label] = Field(min_length=1)
    skeleton: list[tuple[Label, Label]] = Field(default_factory=list)
    visibility: bool = True

    @field_validator("keypoints")
    @classmethod
    def _kp_unique(cls, v: list[str]) -> list[str]:
        return _unique(v, "keypoints")


class Segmentation(_Labelled):
    """Per-pixel masks (brush); ``labels`` are the mask classes."""

    type: Literal["segmentation"] = "segmentation"
    background: Label = "배경"


SPEAKER_PREFIX = "화자"  # speaker labels are 화자1..화자N (Transcription.speakers)


class Transcription(_AnnotationBase):
    """Speech to text, optionally time-aligned in segments, with dialect tags and dual transcription."""

    type: Literal["transcription"] = "transcription"
    segments: bool = False
    # AI Hub speech sets write "(철자 전사)/(발음 전사)" pairs for dialect and non-standard forms.
    style: Literal["orthographic", "dual"] = "orthographic"
    dialect_tags: list[Label] = Field(default_factory=list)
    speaker_labels: bool = Field(
        default=False,
        description="each segment names its speaker: generic labels 화자1..화자N, numbered by first appearance "
        "within the item (never a real name); needs segments",
    )
    max_speakers: int = Field(default=4, ge=1, le=20, description="N of 화자1..화자N (speaker_labels)")
    max_chars: int = Field(default=2_000, ge=1)

    @field_validator("dialect_tags")
    @classmethod
    def _tags_unique(cls, v: list[str]) -> list[str]:
        return _unique(v, "dialect_tags")

    @model_validator(mode="after")
    def _speakers_need_segments(self) -> Transcription:
        if self.speaker_labels and not self.segments:
            raise PydanticCustomError("speakers_without_segments",
                                      "speaker_labels names the speaker of each segment: it needs segments: true", {})
        return self

    @property
    def speakers(self) -> list[str]:
        """The speaker labels a segment may carry (empty without ``speaker_labels``): 화자1..화자N.

        Speakers are not known in advance, so the labels are generic and numbered by first appearance within
        one item (the first voice heard is 화자1); they never carry a name, so there is nothing to de-identify.
        """
        return [f"{SPEAKER_PREFIX}{i}" for i in range(1, self.max_speakers + 1)] if self.speaker_labels else []


class NER(_AnnotationBase):
    """Named-entity spans over text; ``labels`` are the entity types (TTA tag set or the spec's own)."""

    type: Literal["ner"] = "ner"
    labels: list[Label] = Field(min_length=1)
    nested: bool = False

    @field_validator("labels")
    @classmethod
    def _labels_unique(cls, v: list[str]) -> list[str]:
        return _unique(v, "labels")


class QA(_AnnotationBase):
    """Question answering / machine reading comprehension (text or visual)."""

    type: Literal["qa"] = "qa"
    style: Literal["extractive", "abstractive", "multiple_choice", "yes_no"] = "extractive"
    questions_per_item: int = Field(default=1, ge=1, le=50)
    unanswerable_share: Fraction = 0.0
    choices: int | None = Field(default=None, ge=2, le=10)


class Summarisation(_AnnotationBase):
    """Summaries of documents."""

    type: Literal["summarisation"] = "summarisation"
    style: Literal["extractive", "abstractive", "both"] = "abstractive"
    max_summary_chars: int = Field(default=500, ge=10)
    extractive_sentences: int | None = Field(default=None, ge=1, le=20)


class Translation(_AnnotationBase):
    """Parallel sentence pairs."""

    type: Literal["translation"] = "translation"
    source_language: LangCode = "ko"
    target_language: LangCode
    domains: list[Label] = Field(default_factory=list)


class DialogueIntent(_AnnotationBase):
    """Turn-level intents (and optional slots / emotions) over a dialogue."""

    type: Literal["dialogue_intent"] = "dialogue_intent"
    intents: list[Label] = Field(min_length=1)
    slots: list[Label] = Field(default_factory=list)

    @field_validator("intents", "slots")
    @classmethod
    def _unique_lists(cls, v: list[str]) -> list[str]:
        return _unique(v, "intents/slots")


class TemporalEvents(_Labelled):
    """Labelled time ranges in video or audio (abnormal behaviour, disasters, sound events)."""

    type: Literal["temporal_events"] = "temporal_events"
    min_event_s: float = Field(default=0.5, gt=0)


class TimeseriesLabels(_Labelled):
    """Labelled ranges over signal channels."""

    type: Literal["timeseries_labels"] = "timeseries_labels"


Annotation = Annotated[
    Classification
    | MultiLabel
    | BBox
    | Polygon
    | Polyline
    | Keypoints
    | Segmentation
    | Transcription
    | NER
    | QA
    | Summarisation
    | Translation
    | DialogueIntent
    | TemporalEvents
    | TimeseriesLabels,
    Field(discriminator="type"),
]
ANNOTATION_TYPES: tuple[str, ...] = (
    "classification", "multi_label", "bbox", "polygon", "polyline", "keypoints", "segmentation",
    "transcription", "ner", "qa", "summarisation", "translation", "dialogue_intent", "temporal_events",
    "timeseries_labels",
)  # fmt: skip

# Which elementary modality an annotation type needs (one of them present in the item).
ANNOTATION_MODALITIES: dict[str, frozenset[str]] = {
    "classification": frozenset({"image", "video", "audio", "text", "timeseries"}),
    "multi_label": frozenset({"image", "video", "audio", "text", "timeseries"}),
    "bbox": frozenset({"image", "video"}),
    "polygon": frozenset({"image", "video"}),
    "polyline": frozenset({"image", "video"}),
    "keypoints": frozenset({"image", "video"}),
    "segmentation": frozenset({"image"}),
    "transcription": frozenset({"audio", "video"}),
    "ner": frozenset({"text"}),
    "qa": frozenset({"text"}),
    "summarisation": frozenset({"text"}),
    "translation": frozenset({"text"}),
    "dialogue_intent": frozenset({"text", "audio"}),
    "temporal_events": frozenset({"video", "audio"}),
    "timeseries_labels": frozenset({"timeseries"}),
}

# Geometry Label Studio Community can draw on images but not on video (it has only VideoRectangle and
# TimelineLabels for video): such video items are annotated on keyframe images cut at ``annotation_fps``.
KEYFRAME_TYPES: frozenset[str] = frozenset({"polygon", "polyline", "keypoints"})


def label_set(a: Any) -> list[str]:
    """The class names a spec's annotation can produce (empty for free-text types)."""
    if isinstance(a, DialogueIntent):
        return list(a.intents)
    return list(getattr(a, "labels", []))


# --------------------------------------------------------------------------------------------- schema


class _ColumnBase(_Model):
    required: bool = False
    description: str | None = None
    # Personal data in a metadata column is dropped or generalised before release.
    personal: bool = False


class StringColumn(_ColumnBase):
    type: Literal["string"] = "string"
    max_length: int = Field(default=256, ge=1)
    pattern: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise PydanticCustomError("bad_regex", "pattern does not compile: {err}", {"err": str(exc)}) from exc
        return v


class IntColumn(_ColumnBase):
    type: Literal["int"] = "int"
    min: int | None = None
    max: int | None = None


class FloatColumn(_ColumnBase):
    type: Literal["float"] = "float"
    min: float | None = None
    max: float | None = None
    unit: str | None = None


class BoolColumn(_ColumnBase):
    type: Literal["bool"] = "bool"


class EnumColumn(_ColumnBase):
    type: Literal["enum"] = "enum"
    values: list[Label] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _values_unique(cls, v: list[str]) -> list[str]:
        return _unique(v, "enum values")


class DateColumn(_ColumnBase):
    type: Literal["date"] = "date"


class DatetimeColumn(_ColumnBase):
    type: Literal["datetime"] = "datetime"


Column = Annotated[
    StringColumn | IntColumn | FloatColumn | BoolColumn | EnumColumn | DateColumn | DatetimeColumn,
    Field(discriminator="type"),
]


# -------------------------------------------------------------------------------------------- quality


AQL_VALUES = (0.065, 0.1, 0.15, 0.25, 0.4, 0.65, 1.0, 1.5, 2.5, 4.0, 6.5)


class Sampling(_Model):
    """How the semantic-accuracy review sample is sized.

    ``formula``: n = z^2 p (1-p) / e^2 (95 % and +-5 % give ~385), capped by the population.
    ``aql``: single sampling plan of KS Q ISO 2859-1 at the given inspection level and AQL.
    """

    method: Literal["formula", "aql"] = "formula"
    confidence: float = Field(default=0.95, description="one of 0.9, 0.95, 0.99")
    margin: float = Field(default=0.05, gt=0.0, lt=0.5)
    expected_p: float = Field(default=0.5, gt=0.0, lt=1.0)
    aql: float = Field(default=1.0, description="a preferred AQL of ISO 2859-1: " + ", ".join(map(str, AQL_VALUES)))
    inspection_level: Literal["I", "II", "III"] = "II"

    @field_validator("confidence")
    @classmethod
    def _confidence(cls, v: float) -> float:
        if v not in (0.9, 0.95, 0.99):
            raise PydanticCustomError("not_allowed", "confidence must be one of 0.9, 0.95, 0.99")
        return v

    @field_validator("aql")
    @classmethod
    def _aql(cls, v: float) -> float:
        if v not in AQL_VALUES:
            raise PydanticCustomError("not_allowed", "aql must be a preferred AQL value: {allowed}",
                                      {"allowed": ", ".join(map(str, AQL_VALUES))})
        return v


ValidityMetric = Literal[
    "accuracy", "macro_f1", "micro_f1", "auroc", "mAP50", "mAP50_95", "mIoU", "dice", "oks_ap",
    "cer", "wer", "bleu", "rouge_l", "exact_match", "token_f1", "mae", "rmse",
]  # fmt: skip
LOWER_IS_BETTER: frozenset[str] = frozenset({"cer", "wer", "mae", "rmse"})


class Validity(_Model):
    """학습모델 유효성: the baseline model's metric on the test split against a target."""

    metric: ValidityMetric
    target: float = Field(ge=0.0)
    model: str | None = Field(default=None, description="baseline used in the programme, for the record")

    @property
    def higher_is_better(self) -> bool:
        return self.metric not in LOWER_IS_BETTER


class Quality(_Model):
    """Targets per NIA quality characteristic. Every threshold is a share in [0, 1]."""

    syntactic_accuracy: Fraction = 1.0  # 구문 정확성
    semantic_accuracy: Fraction | None = None  # 의미 정확성 (review acceptance)
    agreement: Fraction | None = None  # inter-annotator agreement (alpha / IoU-F1 / 1-CER ...)
    gold_accuracy: Fraction | None = None
    technical_conformity: Fraction = 0.99  # 기술 적합성
    completeness: Fraction = 1.0  # 완전성
    conformity_volume: Fraction = 1.0  # 기준 적합성: delivered / target_volume
    diversity_tolerance: Fraction = 0.05  # 통계적 다양성: max |actual - planned| share
    sampling: Sampling = Field(default_factory=Sampling)
    validity: Validity | None = None


# --------------------------------------------------------------------------------------------- splits


class Splits(_Model):
    """Deterministic split ratios (sum to 1); no group (speaker, patient, scene) lands in two splits."""

    train: Fraction = 0.8
    validation: Fraction = 0.1
    test: Fraction = 0.1
    stratify_by: ColumnName | None = Field(default=None, description="`label`, or an enum/bool column")
    group_by: ColumnName | None = Field(default=None, description="a column, `label` or `source_uri`")


# ----------------------------------------------------------------------------------------------- spec

License = Literal[
    "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "CC0-1.0",
    "Apache-2.0", "MIT", "ODC-BY-1.0", "KOGL-1", "LicenseRef-AIHub",
]  # fmt: skip


class DatasetSpec(_Model):
    """One dataset type of the programme. See docs/spec.md for every field."""

    id: Slug = Field(description="stable slug; the file name, the DAG id and the release name")
    name: str = Field(min_length=2, max_length=120, description="Korean name, as on AI Hub (must contain Hangul)")
    name_en: str = Field(min_length=2, max_length=160, description="English name")
    field: Slug = Field(description="one of schemas/fields.yaml; the file lives in datasets/<field>/")
    group: Slug = Field(description="one of schemas/groups.yaml, of the same field")
    version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+(\.\d+)?(-(alpha|beta|rc)\d*)?$")] = Field(
        default="1.0", description="programme version: 1.0-beta, 1.0, 1.1 ...")
    license: License = Field(default="LicenseRef-AIHub", description="SPDX id; LicenseRef-AIHub = AI Hub terms")
    description: str = Field(min_length=20, max_length=4000, description="what is collected, from whom, for what")
    intended_use: list[str] = Field(default_factory=list, description="활용 서비스 (intended services)")
    built_year: int = Field(default=2020, ge=2017, le=2100, description="구축년도")
    modality: Modality = Field(description="media kind and its technical requirements (기술 적합성)")
    source: Source = Field(default_factory=SyntheticSource, description="where items come from")
    deidentify: Deidentify = Field(default_factory=Deidentify,
                                   description="PII removed before annotation and release; a list is short for targets")
    annotation: Annotation = Field(description="annotation type, its label set and the QC shares")
    schema_: dict[ColumnName, Column] = Field(default_factory=dict, alias="schema",
                                              description="metadata columns every record carries")
    quality: Quality = Field(default_factory=Quality, description="targets per NIA quality characteristic")
    planned_shares: dict[ColumnName, dict[Label, Fraction]] = Field(
        default_factory=dict, description="planned distribution of `label` or an enum column (통계적 다양성)")
    splits: Splits = Field(default_factory=Splits, description="split ratios, stratification and grouping")
    target_volume: int = Field(ge=1, le=1_000_000_000, description="planned number of items (구축량)")

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True)

    @property
    def columns(self) -> dict[str, Column]:
        return dict(self.schema_)

    @property
    def labels(self) -> list[str]:
        return label_set(self.annotation)

    @property
    def modality_kinds(self) -> set[str]:
        return modality_kinds(self.modality)

    @model_validator(mode="after")
    def _cross_field(self) -> DatasetSpec:
        issues = list(_cross_field_issues(self))
        if issues:
            raise PydanticCustomError(
                "spec_rule",
                "{summary}",
                {"summary": "; ".join(f"{'.'.join(map(str, p))}: {m}" for p, _, m in issues), "issues": issues},
            )
        return self


Issue = tuple[tuple[str | int, ...], Any, str]


def _cross_field_issues(s: DatasetSpec) -> Iterator[Issue]:
    """Rules relating several fields. Yields (path, bad value, what is allowed)."""
    if not HANGUL_RE.search(s.name):
        yield ("name",), s.name, "the name is the Korean name of the dataset type (must contain Hangul)"

    kinds = s.modality_kinds
    a = s.annotation
    needed = ANNOTATION_MODALITIES[a.type]
    if not kinds & needed:
        yield (("annotation", "type"), a.type,
               f"annotation type {a.type!r} needs a modality among {sorted(needed)}, spec has {sorted(kinds)}")

    # modality internal ranges
    comps = s.modality.components if isinstance(s.modality, MultimodalModality) else [s.modality]
    for i, m in enumerate(comps):
        base: tuple[str | int, ...] = ("modality", "components", i) if len(comps) > 1 else ("modality",)
        if isinstance(m, ImageModality):
            if m.max_width is not None and m.max_width < m.min_width:
                yield (*base, "max_width"), m.max_width, f"must be >= min_width ({m.min_width})"
            if m.max_height is not None and m.max_height < m.min_height:
                yield (*base, "max_height"), m.max_height, f"must be >= min_height ({m.min_height})"
        if isinstance(m, VideoModality | AudioModality | TimeseriesModality) and m.max_duration_s < m.min_duration_s:
            yield (*base, "max_duration_s"), m.max_duration_s, f"must be >= min_duration_s ({m.min_duration_s})"
        if isinstance(m, VideoModality) and m.annotation_fps > m.min_fps:
            yield (*base, "annotation_fps"), m.annotation_fps, f"must be <= min_fps ({m.min_fps})"
        if isinstance(m, TextModality) and m.max_chars < m.min_chars:
            yield (*base, "max_chars"), m.max_chars, f"must be >= min_chars ({m.min_chars})"

    # de-identification fits the modality
    for i, t in enumerate(s.deidentify.targets):
        if t in VISUAL_PII and not kinds & {"image", "video"}:
            yield ("deidentify", "targets", i), t, "faces/licence_plates need an image or video modality"
        if t in TEXT_PII and not kinds & {"text", "audio", "video"}:
            yield ("deidentify", "targets", i), t, "text PII rules need text, or audio/video with transcripts"
    # 'names' works without a dictionary (the morphological analyser and context); a dictionary only adds names
    if "addresses" in s.deidentify.targets and not s.deidentify.address_dictionary:
        yield (("deidentify", "address_dictionary"), None,
               "target 'addresses' needs an address_dictionary (path of a word list)")

    # annotation-internal rules
    if isinstance(a, Keypoints):
        names = set(a.keypoints)
        for i, (head, tail) in enumerate(a.skeleton):
            for j, end in enumerate((head, tail)):
                if end not in names:
                    yield ("annotation", "skeleton", i, j), end, f"skeleton ends must be keypoints: {sorted(names)}"
            if head == tail:
                yield ("annotation", "skeleton", i), [head, tail], "a skeleton edge joins two different keypoints"
    if isinstance(a, MultiLabel) and a.max_labels is not None and a.max_labels < a.min_labels:
        yield ("annotation", "max_labels"), a.max_labels, f"must be >= min_labels ({a.min_labels})"
    if isinstance(a, Translation) and a.source_language == a.target_language:
        yield ("annotation", "target_language"), a.target_language, "must differ from source_language"
    if isinstance(a, QA) and a.style == "multiple_choice" and a.choices is None:
        yield ("annotation", "choices"), None, "style multiple_choice needs the number of choices"
    if isinstance(a, Segmentation) and a.background in a.labels:
        yield ("annotation", "background"), a.background, "the background class must not be one of the labels"
    if isinstance(a, TimeseriesLabels) and not isinstance(s.modality, TimeseriesModality):
        yield ("annotation", "type"), a.type, "timeseries_labels needs modality kind timeseries"
    if a.overlap >= 2 and a.overlap_share == 0:
        yield ("annotation", "overlap_share"), 0.0, "overlap >= 2 needs overlap_share > 0"
    if a.overlap_share > 0 and a.overlap < 2:
        yield ("annotation", "overlap"), a.overlap, "overlap_share > 0 needs overlap >= 2 annotators"

    # quality targets need the QC that measures them
    q = s.quality
    if q.agreement is not None and a.overlap < 2:
        yield (("quality", "agreement"), q.agreement,
               f"an agreement target needs annotation.overlap >= 2 (overlap is {a.overlap})")
    if q.gold_accuracy is not None and a.gold_share == 0:
        yield ("quality", "gold_accuracy"), q.gold_accuracy, "a gold_accuracy target needs annotation.gold_share > 0"
    if q.semantic_accuracy is not None and a.review_share == 0:
        yield (("quality", "semantic_accuracy"), q.semantic_accuracy,
               "a semantic_accuracy target needs annotation.review_share > 0")
    if q.validity is not None and q.validity.metric not in LOWER_IS_BETTER and q.validity.target > 1.0:
        yield (("quality", "validity", "target"), q.validity.target,
               f"{q.validity.metric} is a share: the target must be in [0, 1]")

    # splits
    sp = s.splits
    total = sp.train + sp.validation + sp.test
    if not math.isclose(total, 1.0, abs_tol=_EPS):
        yield ("splits",), {"train": sp.train, "validation": sp.validation, "test": sp.test}, (
            f"train + validation + test must sum to 1 (sum is {total:g})")
    known = set(s.schema_) | {"source_uri"} | ({"label"} if s.labels else set())
    for key in ("stratify_by", "group_by"):
        col = getattr(sp, key)
        if col is not None and col not in known:
            yield ("splits", key), col, f"must name a column: one of {sorted(known)}"
    if sp.stratify_by and sp.stratify_by in s.schema_:
        c = s.schema_[sp.stratify_by]
        if not isinstance(c, EnumColumn | BoolColumn):
            yield ("splits", "stratify_by"), sp.stratify_by, f"stratify by a label, enum or bool column (is {c.type})"
    if sp.group_by is not None and sp.group_by == sp.stratify_by:
        yield ("splits", "group_by"), sp.group_by, "group_by and stratify_by must differ"

    # schema columns
    for name, col in s.schema_.items():
        if isinstance(col, IntColumn | FloatColumn) and col.min is not None and col.max is not None \
                and col.max < col.min:
            yield ("schema", name, "max"), col.max, f"must be >= min ({col.min})"
        if name in BUILTIN_COLUMNS:
            yield ("schema", name), name, f"{name!r} is a built-in column of every record; choose another name"

    # planned shares
    for key, shares in s.planned_shares.items():
        if key == "label":
            allowed = s.labels
            if not allowed:
                yield ("planned_shares", key), key, f"annotation type {a.type!r} has no label set to plan shares of"
                continue
        elif key in s.schema_ and isinstance(s.schema_[key], EnumColumn):
            allowed = list(s.schema_[key].values)  # type: ignore[union-attr]
        else:
            enums = sorted(k for k, c in s.schema_.items() if isinstance(c, EnumColumn))
            yield ("planned_shares", key), key, f"must be 'label' or an enum column: one of {enums}"
            continue
        for value in shares:
            if value not in allowed:
                yield ("planned_shares", key, value), value, f"not a value of {key!r}: one of {allowed}"
        total = sum(shares.values())
        if not math.isclose(total, 1.0, abs_tol=1e-3):
            yield ("planned_shares", key), dict(shares), f"shares must sum to 1 (sum is {total:g})"
