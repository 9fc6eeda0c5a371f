"""The QA report shows what refine masked in annotator-typed text (read from refine's summary.json)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.storage import layout, open_store
from pipelines.validate import validate
from tests.unit.validate import families as F

pytestmark = pytest.mark.unit


def test_the_report_and_quality_json_show_the_masked_counts(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    fam = F.family("transcription")
    F.write_run(store, fam, fam.rows())
    store.write_json(f"{layout.run(fam.spec.id, F.RUN, 'refine')}/summary.json",
                     {"items_in": 24, "records": 24, "quarantined": 0, "reasons": {},
                      "masked": {"phone": 3, "names": 7}})
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    assert store.read_json(res.quality_key)["masked"] == {"refine": {"names": 7, "phone": 3}}
    html = store.read_text(res.report_key)
    section = re.search(r"<section id='masked'>(.*?)</section>", html, re.S)
    assert section is not None
    assert re.search(r"<td>refine</td><td>phone</td><td class='num'>3</td>", section.group(1))
    assert re.search(r"<td>refine</td><td>names</td><td class='num'>7</td>", section.group(1))


def test_a_run_without_masked_counts_says_so(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    fam = F.family("classification")
    F.write_run(store, fam, fam.rows())
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    html = store.read_text(res.report_key)
    assert "no personal data was masked in annotator-typed text" in html
