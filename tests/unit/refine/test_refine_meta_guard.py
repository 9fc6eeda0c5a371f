"""Refine's backstop for metadata: a value that is not of its column's type quarantines its item, not the run."""

from __future__ import annotations

import pytest

from pipelines.annotations.base import InvalidLabel
from pipelines.refine.refine import _typed_meta
from pipelines.spec import parse_spec
from tests.unit.collect.specs import TEXT

pytestmark = pytest.mark.unit


def test_a_date_that_is_no_date_is_an_invalid_label_not_a_crash() -> None:
    spec = parse_spec(TEXT)
    assert str(_typed_meta(spec, {"thread_id": "t", "received_at": "2026-12-06T09:30:00"})["received_at"]) == \
        "2026-12-06 09:30:00"
    with pytest.raises(InvalidLabel) as bad:
        _typed_meta(spec, {"thread_id": "t", "received_at": "not-a-date"})
    assert bad.value.reason == "meta.invalid" and "received_at" in bad.value.detail
