"""docs/spec.md, generated from the models so the reference cannot drift from the code."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from pipelines.spec import models as m

_SECTIONS: list[tuple[str, list[type[BaseModel]]]] = [
    ("Spec (top level)", [m.DatasetSpec]),
    ("modality (by `kind`)", [m.ImageModality, m.DicomOptions, m.DicomWindow, m.VideoModality, m.AudioModality,
                              m.TextModality, m.TimeseriesModality, m.MultimodalModality]),
    ("source (by `kind`)", [m.SyntheticSource, m.LocalSource, m.HttpSource, m.S3Source, m.RecordsSource]),
    ("deidentify", [m.Deidentify]),
    ("annotation (by `type`)", [m.Classification, m.MultiLabel, m.BBox, m.Polygon, m.Polyline, m.Keypoints,
                                m.Segmentation, m.Transcription, m.NER, m.QA, m.Summarisation, m.Translation,
                                m.DialogueIntent, m.TemporalEvents, m.TimeseriesLabels]),
    ("schema columns (by `type`)", [m.StringColumn, m.IntColumn, m.FloatColumn, m.BoolColumn, m.EnumColumn,
                                    m.DateColumn, m.DatetimeColumn]),
    ("quality", [m.Quality, m.Sampling, m.Validity]),
    ("splits", [m.Splits]),
]


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (list, tuple):
        return f"list[{', '.join(_type_name(a) for a in args)}]"
    if origin is dict:
        return f"map[{_type_name(args[0])} → {_type_name(args[1])}]"
    if tp is type(None):
        return "null"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp.__name__
    return getattr(tp, "__name__", str(tp))


def _default(f: FieldInfo) -> str:
    if f.is_required():
        return "**required**"
    if f.default_factory is not None:
        value: Any = f.default_factory()  # type: ignore[call-arg]
        return "(see below)" if isinstance(value, BaseModel) else f"`{value!r}`"
    if f.default is PydanticUndefined:
        return ""
    return f"`{f.default!r}`"


def _table(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
    rows = ["| key | type | default | notes |", "|---|---|---|---|"]
    for name, f in model.model_fields.items():
        key = f.alias or name
        notes = (f.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_type_name(f.annotation)} | {_default(f)} | {notes} |")
    return f"#### {model.__name__}\n\n{doc}\n\n" + "\n".join(rows) + "\n"


def reference_markdown() -> str:
    parts = [
        "# Dataset spec reference",
        "",
        "Generated from `pipelines/spec/models.py` by `datadam specs schema`; a test fails when it is stale.",
        "Every mapping is closed (`extra=\"forbid\"`): an unknown key is an error. Cross-field rules (shares sum to 1,",
        "`stratify_by`/`group_by` name real columns, an agreement target needs `overlap >= 2`, a gold target needs",
        "`gold_share > 0`, the annotation type fits the modality, de-identification fits the modality ...) are listed",
        "in `_cross_field_issues` and reported with the file, the field path and the bad value.",
        "",
    ]
    for title, models in _SECTIONS:
        parts.append(f"## {title}\n")
        parts.extend(_table(model) for model in models)
    return "\n".join(parts).rstrip() + "\n"
