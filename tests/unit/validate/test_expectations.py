"""datadam's custom GX expectations, each run through GX itself: passes on good data, fails on bad."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from pipelines.validate import expectations as X

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def validate_frame() -> Any:
    import great_expectations as gx

    ctx = gx.get_context(mode="ephemeral")
    source = ctx.data_sources.add_pandas(name="t")
    counter = iter(range(10_000))

    def run(expectation: Any, frame: pd.DataFrame) -> Any:
        asset = source.add_dataframe_asset(name=f"a{next(counter)}")
        batch = asset.add_batch_definition_whole_dataframe(name="b").get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(expectation, result_format="SUMMARY")

    return run


CASES: list[tuple[Any, dict[str, list[Any]], dict[str, list[Any]], int]] = [
    (X.ExpectSpanTextToMatchSource(), {"span_ok": [True, True]}, {"span_ok": [True, False]}, 1),
    (X.ExpectGeometryInsideMedia(), {"outside_px": [0.0, 0.0]}, {"outside_px": [0.0, 12.5]}, 1),
    (X.ExpectLabelledKeypointsPlaced(), {"placement_ok": [True]}, {"placement_ok": [False, True]}, 1),
    (X.ExpectMaskRleToCoverMask(), {"rle_pixels": [12, 6], "mask_pixels": [12, 6]},
     {"rle_pixels": [12, 5], "mask_pixels": [12, 6]}, 1),
    (X.ExpectNoDuplicateInRun(column="dup_item_id"), {"dup_item_id": [None, None]},
     {"dup_item_id": ["a", None, "a"]}, 2),
    (X.ExpectNoSplitLeakage(), {"leak_splits": [None, None]}, {"leak_splits": ["test|train", None]}, 1),
    (X.ExpectShareAtLeast(column="volume_share", min_value=0.9), {"volume_share": [0.95]},
     {"volume_share": [0.5]}, 1),
    (X.ExpectSharesWithinTolerance(max_value=0.05), {"abs_deviation": [0.0, 0.04]},
     {"abs_deviation": [0.01, 0.2]}, 1),
    (X.ExpectBaselineMetric(min_value=0.8), {"value": [0.85]}, {"value": [0.7]}, 1),
    (X.ExpectBaselineMetric(max_value=0.15), {"value": [0.1]}, {"value": [0.3]}, 1),  # an error rate (CER)
]


@pytest.mark.parametrize(("expectation", "good", "bad", "unexpected"), CASES,
                         ids=[f"{type(c[0]).__name__}-{i}" for i, c in enumerate(CASES)])
def test_custom_expectation_passes_good_and_fails_bad(validate_frame: Any, expectation: Any,
                                                      good: dict[str, list[Any]], bad: dict[str, list[Any]],
                                                      unexpected: int) -> None:
    ok = validate_frame(expectation, pd.DataFrame(good))
    assert ok.success, ok.result
    ko = validate_frame(expectation, pd.DataFrame(bad))
    assert not ko.success
    assert ko.result["unexpected_count"] == unexpected


def test_custom_expectations_have_their_own_type_and_keep_the_parent_semantics() -> None:
    e = X.ExpectSharesWithinTolerance(max_value=0.07)
    assert e.expectation_type == "expect_shares_within_tolerance"
    assert e.column == "abs_deviation" and e.max_value == 0.07
    assert set(X.CUSTOM) == {cls.__name__ for cls in vars(X).values()
                             if isinstance(cls, type) and cls.__name__.startswith("Expect")
                             and cls.__module__ == X.__name__}
