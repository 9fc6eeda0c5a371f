"""`datadam run --simulate` refuses at once what the simulated annotators cannot do, instead of waiting out a
label timeout of days."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.spec import load_catalog
from pipelines.spec.models import DatasetSpec, LocalSource, MultimodalModality, TimeseriesModality
from pipelines.storage import open_store
from sim.annotators import SUPPORTED, SimulatorError, preflight

pytestmark = pytest.mark.unit


def _first(pred: object) -> DatasetSpec:
    specs = sorted(load_catalog().specs.values(), key=lambda s: s.id)
    return next(s for s in specs if pred(s))  # type: ignore[operator]


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_store(tmp_path.as_uri())


@pytest.mark.parametrize("spec_id", ["civil-complaint-classification", "crop-disease-open-field",
                                     "dialect-speech-jeju"])
def test_the_demo_specs_pass(spec_id: str, store) -> None:  # type: ignore[no-untyped-def]
    preflight(spec=load_catalog().get(spec_id), store=store)


def test_an_annotation_type_the_simulator_does_not_speak_is_named(store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every type has a simulator today; a type without one (as a new 16th type starts) is refused by name."""
    import sim.annotators as sim

    spec = _first(lambda s: s.annotation.type == "ner" and s.source.kind == "synthetic")
    monkeypatch.setattr(sim, "SUPPORTED", tuple(t for t in SUPPORTED if t != "ner"))
    with pytest.raises(SimulatorError, match=f"{spec.id}: .*do not annotate 'ner'"):
        preflight(spec=spec, store=store)


def test_a_component_without_a_synthetic_generator_is_named(store) -> None:  # type: ignore[no-untyped-def]
    """Multimodal items are generated component by component (docs/adr/0024); a timeseries component is not yet."""
    spec = _first(lambda s: s.modality.kind == "multimodal" and s.annotation.type in SUPPORTED)
    odd = spec.model_copy(update={"modality": MultimodalModality(components=[
        *spec.modality.components[:1], TimeseriesModality(formats=["csv"], channels=["x"], sampling_hz=10)])})
    with pytest.raises(SimulatorError, match="no synthetic timeseries component in multimodal items yet"):
        preflight(spec=odd, store=store)


def test_a_source_without_ground_truth_is_refused(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = load_catalog().get("crop-disease-open-field")
    local = spec.model_copy(update={"source": LocalSource(kind="local", root=str(tmp_path), glob="*.jpg")})
    with pytest.raises(SimulatorError, match=r"need the ground truth a synthetic source writes; .*'local'"):
        preflight(spec=local, store=store)


def test_truth_in_a_shape_annotators_cannot_use_is_refused(store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Truth the simulator's results cannot be built from (here: video tracks without their boxes) is refused."""
    from pipelines.collect.sources import SyntheticCollector

    spec = _first(lambda s: s.annotation.type == "bbox" and s.modality.kind == "video")
    monkeypatch.setattr(SyntheticCollector, "sample_truth", lambda self, i: {"tracks": [{"label": spec.labels[0]}]})
    with pytest.raises(SimulatorError, match="ground truth for 'bbox' lacks what an annotator submits"):
        preflight(spec=spec, store=store)


@pytest.mark.parametrize("modality", ["text", "audio"])
def test_dialogue_intent_sources_now_write_the_intent_as_truth(store, modality: str) -> None:  # type: ignore[no-untyped-def]
    from pipelines.collect.sources import SyntheticCollector

    spec = _first(lambda s: s.annotation.type == "dialogue_intent" and s.modality.kind == modality)
    truth = SyntheticCollector(spec=spec, store=store).sample_truth(3)
    assert truth is not None and truth["label"] in spec.labels
    preflight(spec=spec, store=store)


def test_every_spec_gets_an_answer_quickly_and_the_supported_ones_mostly_pass(store) -> None:  # type: ignore[no-untyped-def]
    """Each of the 150 is either accepted or refused with its own id in the reason (no other exception)."""
    passed = refused = 0
    for spec in load_catalog().specs.values():
        try:
            preflight(spec=spec, store=store)
            passed += 1
        except SimulatorError as exc:
            assert str(exc).startswith(f"{spec.id}: "), str(exc)
            refused += 1
    assert passed + refused == 150
    assert passed == 150  # every type, every modality (multimodal included)
