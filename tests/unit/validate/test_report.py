"""The QA report as HTML: sections, charts drawn to scale, thumbnails, and nothing from the data can inject markup."""

from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from PIL import Image

from pipelines.storage import ObjectStore, open_store
from pipelines.validate import validate
from pipelines.validate.report import bar_chart, render_report, thumbnail_data_uri
from tests.unit.validate import families as F

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Any) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _parse(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Tags()
    p.feed(html)
    return p.tags


def test_bar_chart_draws_each_value_to_scale() -> None:
    svg = bar_chart([("가", {"planned": 0.5, "actual": 0.25}), ("나", {"planned": 0.5, "actual": 0.75})],
                    series=["planned", "actual"], unit="%", title="t", width=720)
    legend_y = "4"
    widths = [float(a["width"] or 0) for tag, a in _parse(svg) if tag == "rect" and a.get("y") != legend_y]
    assert widths == pytest.approx([430 * 0.5 / 0.75, 430 * 0.25 / 0.75, 430 * 0.5 / 0.75, 430.0], abs=0.05)
    assert "25.0%" in svg and "75.0%" in svg


def test_values_from_the_data_cannot_inject_markup(store: ObjectStore) -> None:
    fam = F.family("classification")
    rows = fam.rows()
    rows[3]["label"] = "<script>alert(1)</script>"
    rows[4]["text"] = "</script><img src=x onerror=alert(1)>"
    F.write_run(store, fam, rows)
    res = validate(spec=fam.spec, store=store, run_id=F.RUN, data_docs=False)
    html = store.read_text(res.report_key)
    scripts = [a for tag, a in _parse(html) if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "quality-data"}], "one inert JSON block, no script"
    assert not any(tag == "img" and a.get("onerror") for tag, a in _parse(html))
    block = re.search(r"<script type='application/json' id='quality-data'>(.*?)</script>", html, re.S)
    assert block is not None
    assert json.loads(block.group(1))["checks_failed"] == store.read_json(res.quality_key)["checks_failed"]


def test_sections_and_a_thumbnail_with_its_boxes(store: ObjectStore) -> None:
    img = Image.new("RGB", (640, 480), (0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    uri = thumbnail_data_uri(buf.getvalue(), size=160, overlay={"boxes": [[0, 0, 320, 240]], "lines": [],
                                                                "points": []})
    thumb = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert thumb.size == (160, 120)
    edge, inside = thumb.getpixel((40, 1)), thumb.getpixel((120, 100))
    assert edge[0] > 150 and edge[1] < 100 and max(inside) < 10  # a red box edge, black elsewhere (JPEG noise)
    q = {"dataset": "d", "run_id": "r", "spec_version": "1.0", "items": 0, "validated_at": "t", "success": True,
         "characteristics": {}, "checks": []}
    ids = {a.get("id") for _, a in _parse(render_report(q, name="이름", name_en="Name", docs_href=None))}
    assert {"summary", "characteristics", "chart-classes", "chart-agreement", "chart-quarantine", "failing-items",
            "checks", "splits", "validity", "quality-json"} <= ids
