"""Synthetic polygon truth is outlined with as many points as the spec asks of an annotator (its ``min_points``):
otherwise every simulated answer is quarantined by refine (``label.too_few_points``) and the run delivers nothing."""

from __future__ import annotations

import pytest

from pipelines.collect.sources.synthetic.image import make_image
from pipelines.spec import load_catalog
from pipelines.spec.models import ImageModality, Polygon

pytestmark = pytest.mark.unit

POLYGON_SPECS = sorted(s.id for s in load_catalog().specs.values()
                       if isinstance(s.annotation, Polygon) and isinstance(s.modality, ImageModality))


def test_there_are_polygon_specs_that_need_more_than_a_triangle() -> None:
    assert any(load_catalog().get(s).annotation.min_points > 3 for s in POLYGON_SPECS)  # type: ignore[union-attr]


@pytest.mark.parametrize("spec_id", POLYGON_SPECS)
def test_every_synthetic_polygon_has_the_points_the_spec_needs(spec_id: str) -> None:
    spec = load_catalog().get(spec_id)
    assert isinstance(spec.annotation, Polygon) and isinstance(spec.modality, ImageModality)
    seen = 0
    for index in range(6):
        _data, _ext, truth = make_image(spec, spec.modality, seed=spec.source.seed or 0, index=index)
        assert truth is not None
        for p in truth["polygons"]:
            distinct = {(q["x"], q["y"]) for q in p["points"]}
            assert len(distinct) >= spec.annotation.min_points, (index, p)
            seen += 1
    assert seen > 0
