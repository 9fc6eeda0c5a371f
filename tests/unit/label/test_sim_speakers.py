"""Simulated speaker labels: valid for the config, the truth's speakers, and a wrong voice as the mistake."""

from __future__ import annotations

import random

import pytest
from label_studio_sdk.label_interface import LabelInterface

from pipelines.label import qc
from pipelines.label.config import label_config
from sim.annotators import _result
from sim.specs import demo_spec

pytestmark = pytest.mark.unit

TRUTH = {
    "transcript": "안녕하세요 네 반갑습니다 그럼 시작할까요",
    "segments": [
        {"start": 0.0, "end": 1.0, "text": "안녕하세요", "speaker": "화자1"},
        {"start": 1.2, "end": 2.0, "text": "네 반갑습니다", "speaker": "화자2"},
        {"start": 2.2, "end": 3.5, "text": "그럼 시작할까요", "speaker": "화자1"},
    ],
}


def test_simulated_speakers_follow_the_truth_and_a_mistake_gives_a_turn_to_the_other_voice() -> None:
    spec = demo_spec("transcription", annotation={"speaker_labels": True, "max_speakers": 3})
    right = _result(spec, TRUTH, None, random.Random(0), wrong=False)
    assert LabelInterface(label_config(spec)).validate_prediction({"result": right})
    said = qc.extract("transcription", right)
    assert [t.speaker for t in said.turns] == ["화자1", "화자2", "화자1"]
    wrong_speakers = 0
    for seed in range(40):
        bad = qc.extract("transcription", _result(spec, TRUTH, None, random.Random(seed), wrong=True))
        assert {t.speaker for t in bad.turns} <= {"화자1", "화자2"}  # the voices of the item, never a name
        wrong_speakers += [t.speaker for t in bad.turns] != ["화자1", "화자2", "화자1"]
        assert qc.agreement("transcription", bad, said) < 1.0
    assert 10 <= wrong_speakers <= 30  # about half of the mistakes are a wrong speaker
