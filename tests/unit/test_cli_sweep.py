"""`datadam sweep`: which specs it picks, and the summary it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.cli.sweep import SweepRow, select_specs, summarise, write_summary

pytestmark = pytest.mark.unit


def test_filters_combine_and_each_takes_several_values() -> None:
    every = select_specs()
    assert len(every) == 150
    audio_or_text = select_specs(modality=["audio", "text"])
    assert audio_or_text and {s.modality.kind for s in audio_or_text} == {"audio", "text"}
    speech_transcripts = select_specs(modality=["audio"], annotation=["transcription"])
    assert speech_transcripts and all(s.annotation.type == "transcription" for s in speech_transcripts)
    assert len(speech_transcripts) < len(audio_or_text)
    only = select_specs(only=["dialect-speech-jeju", "crop-disease-open-field"])
    assert [s.id for s in only] == ["crop-disease-open-field", "dialect-speech-jeju"]
    assert select_specs(field=["healthcare"], modality=["audio"], annotation=["bbox"]) == []


def test_an_unknown_id_is_an_error_naming_it() -> None:
    with pytest.raises(KeyError, match="no-such-type"):
        select_specs(only=["no-such-type"])
    res = CliRunner().invoke(app, ["sweep", "--only", "no-such-type"])
    assert res.exit_code == 2
    assert "no such dataset type: no-such-type" in res.output


def test_summary_counts_outcomes_per_annotation_type(tmp_path: Path) -> None:
    rows = [
        SweepRow("a", "image", "bbox", "success", 10, 30.0, None, "a.log"),
        SweepRow("b", "image", "bbox", "failed", None, 40.0, "gate: blocking checks failed: x", "b.log"),
        SweepRow("c", "text", "ner", "refused", None, 0.5, "simulated annotators: c: ...", "c.log"),
    ]
    s = summarise(rows)
    assert s["specs"] == 3 and s["succeeded"] == 1
    assert s["by_annotation"] == {"bbox": {"success": 1, "failed": 1}, "ner": {"refused": 1}}
    assert s["by_modality"]["image"] == {"success": 1, "failed": 1}
    out = tmp_path / "sweeps" / "sweep.json"
    write_summary(out, rows=rows, settings={"items": 12}, wall_s=71.0)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["summary"]["outcomes"] == {"success": 1, "failed": 1, "refused": 1}
    assert [r["spec_id"] for r in doc["runs"]] == ["a", "b", "c"]
    assert doc["runs"][1]["reason"] == "gate: blocking checks failed: x"
