"""The stage table the DAG is built from: well-formed, and the factory supplies every stage it does not run."""

from __future__ import annotations

import pytest

from pipelines.orchestration.stages import STAGES, TASK_IDS, RunConfError, StageCall

pytestmark = pytest.mark.unit


def test_every_input_is_an_earlier_stage_and_every_waiting_stage_has_an_operator() -> None:
    from pipelines.orchestration.factory import _WAITING_STAGES

    assert len(set(TASK_IDS)) == len(TASK_IDS)
    for i, stage in enumerate(STAGES):
        assert stage.input is None or stage.input in TASK_IDS[:i], stage
        assert not stage.mapped or stage.input, stage
    assert {s.id for s in STAGES if s.run is None} == set(_WAITING_STAGES)


def test_a_bad_delivery_in_the_run_conf_fails_before_the_store_is_opened() -> None:
    validate = next(s for s in STAGES if s.id == "validate").run
    assert validate is not None
    call = StageCall(spec_id="crop-disease-open-field", run_id="r1", params={"storage": None},
                     conf={"delivery": "weekly"})
    with pytest.raises(RunConfError, match=r"^run conf delivery: 'weekly' is not one of auto, partial, final$"):
        validate(call)
