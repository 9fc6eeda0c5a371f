"""Review sampling (formula and ISO 2859-1), the review project's title and config, verdict parsing."""

from __future__ import annotations

import pytest
from label_studio_sdk.label_interface import LabelInterface

from pipelines.label.review import (
    choose,
    code_letter,
    formula_sample_size,
    iso2859_plan,
    parse_verdict,
    plan_review,
    review_config,
    review_title,
    verdict_result,
)
from pipelines.label.tasks import PROJECT_TITLE_MAX
from pipelines.spec import ANNOTATION_TYPES
from pipelines.spec.models import Sampling
from sim.specs import demo_spec

pytestmark = pytest.mark.unit


def test_formula_gives_385_for_95_percent_and_5_points_and_corrects_for_small_populations() -> None:
    # z = 1.96: 1.96^2 * 0.25 / 0.0025 = 384.16 -> 385
    assert formula_sample_size(population=10**9, confidence=0.95, margin=0.05, expected_p=0.5) == 385
    # N = 1000: 384.16 / (1 + 383.16 / 1000) = 277.7 -> 278
    assert formula_sample_size(population=1000, confidence=0.95, margin=0.05, expected_p=0.5) == 278
    assert formula_sample_size(population=20, confidence=0.99, margin=0.05, expected_p=0.5) <= 20
    assert formula_sample_size(population=0, confidence=0.95, margin=0.05, expected_p=0.5) == 0


@pytest.mark.parametrize(
    ("lot", "aql", "level", "expected"),
    [
        (1000, 2.5, "II", ("J", 80, 5, 6)),  # the textbook example
        (500, 1.0, "II", ("H", 50, 1, 2)),
        (1000, 1.0, "II", ("J", 80, 2, 3)),
        (1000, 4.0, "II", ("J", 80, 7, 8)),
        (1000, 0.65, "II", ("J", 80, 1, 2)),
        (1000, 6.5, "II", ("J", 80, 10, 11)),
        (100, 1.0, "II", ("E", 13, 0, 1)),  # F has an up arrow: the Ac 0 plan of E
        (3000, 1.0, "II", ("K", 125, 3, 4)),
        (3000, 1.0, "I", ("H", 50, 1, 2)),
        (3000, 1.0, "III", ("L", 200, 5, 6)),
        (1000, 1.5, "II", ("J", 80, 3, 4)),
        (20_000, 0.065, "II", ("L", 200, 0, 1)),  # M has an up arrow
        (100_000, 0.065, "II", ("P", 800, 1, 2)),  # N has a down arrow
    ],
)
def test_iso2859_single_sampling_plans_match_the_tables(
    lot: int, aql: float, level: str, expected: tuple[str, int, int, int]
) -> None:
    plan = iso2859_plan(lot_size=lot, aql=aql, level=level)
    assert (plan.code_letter, plan.n, plan.acceptance, plan.rejection) == expected


def test_iso2859_inspects_everything_when_the_plan_exceeds_the_lot() -> None:
    # lot 10, level II -> B; AQL 0.065 points down to L (200): more than the lot, so all 10 are inspected
    assert code_letter(10, "II") == "B"
    plan = iso2859_plan(lot_size=10, aql=0.065)
    assert (plan.n, plan.acceptance) == (10, 0)


def test_review_plan_honours_the_share_and_the_population() -> None:
    formula = Sampling()
    assert plan_review(formula, population=10_000, review_share=0.0).n == 0  # no review share, no review
    assert plan_review(formula, population=10_000, review_share=0.01).n == 370  # formula: 369.5 -> 370
    assert plan_review(formula, population=10_000, review_share=0.1).n == 1000  # the share is the floor
    assert plan_review(formula, population=50, review_share=0.1).n == 45
    aql = Sampling(method="aql", aql=2.5)
    assert plan_review(aql, population=1000, review_share=0.01).n == 80


def test_the_sample_is_stable_and_grows_by_adding() -> None:
    spec = demo_spec("classification")
    first = choose(spec, range(100), 10)
    assert first == choose(spec, reversed(range(100)), 10)
    later = choose(spec, range(200), 20)
    assert set(first) <= set(later) or len(set(first) & set(later)) >= 5  # mostly kept; never reshuffled
    assert len(set(first)) == 10


def test_review_titles_fit_and_differ_from_the_main_project() -> None:
    long = demo_spec("bbox", spec_id="x" * 60)
    assert len(review_title(long)) <= PROJECT_TITLE_MAX and review_title(long).endswith(":review")
    assert review_title(demo_spec("bbox", spec_id="crop")) == "datadam:crop:1.0:review"


@pytest.mark.parametrize("annotation_type", ANNOTATION_TYPES)
def test_review_config_is_the_dataset_config_plus_a_verdict(annotation_type: str) -> None:
    spec = demo_spec(annotation_type)
    li = LabelInterface(review_config(spec))
    names = {c.name for c in li.controls}
    assert {"verdict", "reason", "comment"} <= names
    to = li.get_control("verdict").to_name[0]
    assert li.validate_annotation({"result": verdict_result(False, ["wrong_label"], to_name=to)})


def test_a_verdict_is_read_back_from_an_exported_review_task() -> None:
    task = {"meta": {"annotation_id": 7, "item_id": "i1"}}
    ann = {"completed_by": {"id": 3, "email": "r@x"}, "result": verdict_result(False, ["missing"], to_name="image")}
    v = parse_verdict(task, ann)
    assert v is not None and (v.annotation_id, v.item_id, v.accepted, v.reason, v.reviewer) == (
        7, "i1", False, "missing", "r@x")
    assert parse_verdict(task, {**ann, "was_cancelled": True}) is None
    assert parse_verdict({"meta": {}}, ann) is None
