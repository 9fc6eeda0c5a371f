"""The annotation registry against the spec model's annotation union (both ways), each type's code (every required
piece present, a missing one named) and the stage tables derived from it."""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import pyarrow as pa
import pytest

from pipelines.annotations import REGISTRY, kind
from pipelines.annotations.code import REQUIRED_PIECES, TypeCode, missing_pieces
from pipelines.spec.models import ANNOTATION_MODALITIES, ANNOTATION_TYPES, Annotation

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def _union_types() -> set[str]:
    """The ``type`` literal of every model in the spec's discriminated annotation union."""
    (union, *_meta) = typing.get_args(Annotation)
    out = set()
    for model in typing.get_args(union):
        (literal,) = typing.get_args(model.model_fields["type"].annotation)
        out.add(literal)
    return out


def test_the_registry_holds_exactly_the_spec_models_annotation_types() -> None:
    union = _union_types()
    assert len(union) == 15
    assert set(REGISTRY) - union == set(), "registered types the spec model does not know"
    assert union - set(REGISTRY) == set(), "spec annotation types without a registry entry"
    assert set(ANNOTATION_TYPES) == set(REGISTRY) == set(ANNOTATION_MODALITIES)


def test_every_entry_is_complete_and_consistent() -> None:
    for name, k in REGISTRY.items():
        assert k.name == name and kind(name) is k
        assert k.label_fields and all(isinstance(f, pa.Field) for f in k.label_fields), name
        assert len({f.name for f in k.label_fields}) == len(k.label_fields), name
        assert k.controls and k.metric and k.ko, name
        assert 0.0 < k.correct_at <= 1.0, name
    # the struct label column is the list of structs with a label: none for free text, the boxes' for bbox
    assert kind("bbox").struct_label_column == "objects" and kind("transcription").struct_label_column is None
    assert kind("dialogue_intent").struct_label_column is None  # turns carry intents, not labels
    # where the spec's labels appear: the scalar / list column, else the struct list
    assert [kind(t).class_column for t in ("classification", "multi_label", "dialogue_intent", "ner", "qa")] == [
        "label", "labels", "intent", "entities", None]
    with pytest.raises(KeyError):
        kind("video_caption")


def test_every_registered_type_has_every_required_piece_of_code() -> None:
    assert set(REQUIRED_PIECES) == {"build", "extract", "agreement", "consensus", "convert"}
    for name, k in REGISTRY.items():
        assert isinstance(k.code, TypeCode), name
        assert missing_pieces(k.code) == [], f"{name}: its code lacks {missing_pieces(k.code)}"
        assert k.code.from_truth is not None, f"{name}: no reference result (gold tasks, simulator)"
    # the types whose consensus is built from several answers turn it back into regions themselves
    assert {t for t, k in REGISTRY.items() if k.code.consensus_result is not None} == {
        "multi_label", "bbox", "polygon", "polyline", "transcription", "ner"}


def test_a_missing_piece_is_named() -> None:
    code = kind("bbox").code
    assert missing_pieces(dataclasses.replace(code, convert=None)) == ["convert"]  # type: ignore[arg-type]
    assert missing_pieces(dataclasses.replace(code, build=None, consensus=None)) == [  # type: ignore[arg-type]
        "build", "consensus"]
    assert missing_pieces(None) == list(REQUIRED_PIECES)
    with pytest.raises(TypeError, match="convert"):
        TypeCode(build=code.build, extract=code.extract, agreement=code.agreement,  # type: ignore[call-arg]
                 consensus=code.consensus)


def test_stage_tables_are_keyed_by_the_registry() -> None:
    from pipelines.label import qc
    from pipelines.label.config import BUILDERS, CONTROL_NAMES
    from pipelines.label.predict import PREDICTORS
    from pipelines.refine import CONVERTERS
    from pipelines.storage.records import LABEL_FIELDS
    from pipelines.validate.checks import STRUCT_LABEL_COLUMNS

    for table in (BUILDERS, CONTROL_NAMES, CONVERTERS, LABEL_FIELDS, qc.METRICS, qc.CORRECT_AT):
        assert set(table) == set(REGISTRY)
    for t, k in REGISTRY.items():  # the stage tables are views: the type's own code, nothing of the stage's
        assert BUILDERS[t] is k.code.build and CONVERTERS[t] is k.code.convert, t
    assert set(PREDICTORS) <= set(REGISTRY)  # pre-annotation models exist for some types only
    assert {
        t: k.struct_label_column for t, k in REGISTRY.items() if k.struct_label_column} == STRUCT_LABEL_COLUMNS
    for t in REGISTRY:  # QC reads, compares and finds consensus for every registered type
        empty = qc.extract(t, [])
        assert qc.consensus(t, [empty, empty]).agreement == 1.0


def test_the_registry_imports_no_stage_and_no_airflow() -> None:
    allowed = ("pipelines.spec", "pipelines.annotations")
    bad = []
    for path in sorted((ROOT / "pipelines" / "annotations").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{path.name}: {n}" for n in names
                    if n.split(".")[0] == "airflow" or (n.startswith("pipelines") and not n.startswith(allowed))]
    assert bad == []
