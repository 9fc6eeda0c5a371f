"""The QA report in a real browser: headless Chromium renders the page; every section is there, the charts are
SVG, failing images are inline thumbnails, quality.json is embedded; a screenshot is kept under artifacts/.

Chromium is a test prerequisite (the Makefile installs it); without it this test fails, it does not skip.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from PIL import Image

from pipelines.storage import layout, open_store
from pipelines.storage.schemas import QUARANTINE_SCHEMA
from pipelines.validate import validate
from tests.unit.validate import families as F

pytestmark = pytest.mark.integration
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SECTIONS = ("summary", "characteristics", "chart-classes", "chart-agreement", "chart-quarantine", "failing-items",
            "checks", "splits", "validity", "quality-json")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("headless Chromium is a test prerequisite: apt-get install -y chromium (make test does)")


def _browser(*args: str) -> subprocess.CompletedProcess[str]:
    # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


class _Dom(HTMLParser):
    """The rendered DOM as Chromium serialises it: ids, the tags inside each section, image sources."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.section: str | None = None
        self.tags: dict[str, list[str]] = {}
        self.images: list[str] = []
        self.json_block = False
        self.json_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "section":
            self.section = a.get("id")
        if self.section:
            self.tags.setdefault(self.section, []).append(tag)
        if tag == "img":
            self.images.append(str(a.get("src") or ""))
        self.json_block = tag == "script" and a.get("type") == "application/json"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.json_block = False

    def handle_data(self, data: str) -> None:
        if self.json_block:
            self.json_text.append(data)


def _png(i: int) -> bytes:
    img = Image.new("RGB", (64, 48), (40 + 9 * i, 200 - 7 * i, 90))
    for x in range(10, 30):
        for y in range(10, 20):
            img.putpixel((x, y), (250, 250, 250))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _run_with_defects(root: Path) -> Any:
    store = open_store(str(root))
    fam = F.family("bbox")
    rows = fam.rows()
    for row in rows:
        store.write_bytes(row["media"]["key"], _png(int(row["item_id"].rsplit("-", 1)[1])))
    rows[4]["objects"][0]["x"] = 50.0  # outside the 64 px image
    rows[9]["objects"][0]["label"] = "미분류"
    rows[12]["media"]["width"] = 32  # below min_width
    rows[0]["qc_review"] = rows[8]["qc_review"] = "rejected"
    for i in (0, 2, 4, 6):
        rows[i]["crop"] = "배추"
    F.write_run(store, fam, rows, planned=30)
    at = datetime(2026, 11, 2, tzinfo=UTC)
    store.write_table(f"{layout.run(fam.spec.id, F.RUN, 'collect')}/quarantine-00000.parquet", pa.Table.from_pylist(
        [{"item_id": f"q{i}", "stage": "collect", "reason": r, "detail": "", "source_uri": "", "at": at}
         for i, r in enumerate(["media.truncated", "media.truncated", "media.too_small", "pii.unmasked"])],
        schema=QUARANTINE_SCHEMA))
    res = validate(spec=fam.spec, store=store, run_id=F.RUN)
    return store, res


def test_report_renders_in_headless_chromium_with_every_section(tmp_path: Path) -> None:
    store, res = _run_with_defects(tmp_path / "root")
    page = store.local_path(res.report_key)
    assert not res.success

    dumped = _browser("--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = _Dom()
    dom.feed(dumped.stdout)

    assert set(SECTIONS) <= dom.ids, sorted(set(SECTIONS) - dom.ids)
    for chart in ("chart-classes", "chart-agreement", "chart-quarantine"):
        assert "svg" in dom.tags[chart] and "rect" in dom.tags[chart], chart
    thumbs = [src for src in dom.images if src.startswith("data:image/jpeg;base64,")]
    assert len(thumbs) >= 3, "each failing image is shown inline"  # items 4, 9 and 12
    assert "img" in dom.tags["failing-items"]
    text = dumped.stdout
    for words in (("구문 정확성", "Syntactic accuracy"), ("통계적 다양성", "Statistical diversity"),
                  ("의미 정확성", "Semantic accuracy"), ("격리 사유", "Quarantine reasons"),
                  ("작업자별 일치도", "Agreement by annotator")):
        for w in words:
            assert w in text, w
    for cid in ("syntactic.box_inside_width", "syntactic.label_in_set", "technical.width", "diversity.crop",
                "semantic.review_accepted", "completeness.delivered"):
        assert cid in text, cid
    embedded = json.loads("".join(dom.json_text))
    assert embedded == store.read_json(res.quality_key)
    assert re.search(r"media\.truncated", text)

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "qa-report.png"
    shot.unlink(missing_ok=True)
    taken = _browser(f"--screenshot={shot}", "--window-size=1280,3200", page.as_uri())
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    with Image.open(shot) as img:
        assert img.size == (1280, 3200)
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the page rendered content, not a blank canvas"
    (ARTIFACTS / "qa-report.html").write_text(store.read_text(res.report_key), encoding="utf-8")
