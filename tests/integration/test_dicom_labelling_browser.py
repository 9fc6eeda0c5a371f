"""A DICOM in the labelling UI, seen through headless Chromium (Debian's ``chromium``, driven by Playwright, launched
as test_catalog_site_browser does): a real CT file collected and de-identified, its task pushed to the stack's
Label Studio, the annotator's page opened after a login. The windowed display image must really render there: the
image element loaded at the DICOM's size, and the screenshot of the image area is not blank. Screenshots are saved
under the test's tmp dir. A real 30-frame ultrasound shows as an image list annotators page through."""

from __future__ import annotations

import copy
import io
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from pipelines.collect import dicom as dicom_intake
from pipelines.label import LabelStudioClient, LabelStudioSettings, push
from pipelines.spec import parse_spec
from pipelines.spec.models import DatasetSpec
from pipelines.stack import StackInfo
from pipelines.stack.state import StackPaths, load_secrets
from pipelines.storage import ObjectStore, open_store
from tests.integration.conftest import MADE
from tests.unit.collect.specs import IMAGE
from tests.unit.collect.test_dicom_deid import deidentified

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls")]
RUN = "manual__2026-12-05T00:00:00+00:00"
WINDOW = {"center": 40.0, "width": 400.0}  # soft tissue, in HU: what the spec asks annotators to see


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "headless Chromium is needed: apt-get install chromium"
    return path


def _spec(root: Path, *, dicom: dict[str, Any]) -> DatasetSpec:
    d = copy.deepcopy(IMAGE)
    d.update(id=f"it-dicom-ui-{uuid.uuid4().hex[:8]}", field="healthcare", deidentify=[], schema={},
             source={"kind": "local", "root": str(root)}, annotation={"type": "bbox", "labels": ["lesion"]},
             splits={"train": 0.8, "validation": 0.1, "test": 0.1})
    d.pop("planned_shares", None)
    d["modality"] = {"kind": "image", "formats": ["dicom"], "min_width": 64, "min_height": 64, "dicom": dicom}
    spec = parse_spec(d)
    MADE.append(spec)
    return spec


def _run(tmp_path: Path, sample: str, dicom: dict[str, Any]) -> tuple[DatasetSpec, ObjectStore, dict[str, Any]]:
    root = tmp_path / "export"
    root.mkdir()
    path = get_testdata_file(sample)
    assert path is not None
    shutil.copy(str(path), root / sample)
    spec = _spec(root, dicom=dicom)
    store = open_store(str(tmp_path / "store"))
    rows = deidentified(spec, store, RUN)
    assert len(rows) == 1
    return spec, store, rows[0]


@pytest.fixture
def page(stack: StackInfo) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    secrets = load_secrets(StackPaths(stack.home))
    assert secrets is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        pg.goto(f"{stack.ls_url}/user/login/")
        pg.fill("input[name=email]", secrets.ls_email)
        pg.fill("input[name=password]", secrets.ls_password)
        pg.click("button[type=submit]")
        pg.wait_for_url(lambda url: "/user/login" not in url, wait_until="commit", timeout=120_000)
        yield pg
        browser.close()


EDITOR_IMG = ".lsf-image img"  # the labelling editor's image (its src is the preloaded blob of the task's URL)


def _open_task(page: Any, ls: LabelStudioSettings, project_id: int) -> dict[str, Any]:
    """Open the labelling view of the project's one task; wait until the editor's image element has loaded."""
    [ref] = list(LabelStudioClient(ls).task_refs(project_id))
    page.goto(f"{ls.url}/projects/{project_id}/data?task={ref.task_id}", wait_until="commit")
    loaded = page.wait_for_function(
        f"() => {{ const imgs = [...document.querySelectorAll('{EDITOR_IMG}')]"
        ".filter(i => i.complete && i.naturalWidth > 0);"
        " return imgs.length ? imgs.map(i => ({w: i.naturalWidth, h: i.naturalHeight})) : null; }",
        timeout=120_000)
    images: list[dict[str, Any]] = loaded.json_value()
    page.wait_for_selector(EDITOR_IMG, state="visible")
    task = LabelStudioClient(ls).sdk.tasks.get(id=ref.task_id)
    return {"task": task, "images": images}


def _shown_region(page: Any, out: Path) -> np.ndarray:
    """Screenshot of the area where the editor shows the image, saved to ``out`` (the whole page next to it)."""
    boxes = [b for b in (e.bounding_box() for e in page.query_selector_all(EDITOR_IMG)) if b]
    assert boxes, "no image in the labelling editor"
    box = max(boxes, key=lambda b: b["width"] * b["height"])
    assert box["width"] > 200 and box["height"] > 200, box  # laid out at a working size, not a thumbnail
    page.screenshot(path=str(out), clip=box)
    page.screenshot(path=str(out.with_name(out.stem + "-page.png")), full_page=True)
    return np.asarray(Image.open(out).convert("L"), dtype=np.float64)


def test_the_labelling_ui_shows_the_windowed_display_image_of_a_real_ct(
        tmp_path: Path, ls: LabelStudioSettings, page: Any) -> None:
    spec, store, row = _run(tmp_path, "CT_small.dcm", {"modalities": ["CT"], "bits_stored": [16],
                                                        "burned_in_scan": "flagged", "window": WINDOW})
    res = push(spec=spec, store=store, run_id=RUN, ls=ls)
    assert (res.tasks_total, res.quarantined) == (1, 0)
    seen = _open_task(page, ls, res.project_id)
    out = pydicom.dcmread(io.BytesIO(store.read_bytes(row["media_key"])))
    # the page loaded the display PNG (not the DICOM), at the DICOM's Columns x Rows
    [img] = seen["images"]
    assert (img["w"], img["h"]) == (out.Columns, out.Rows) == (128, 128)
    url = str(seen["task"].data["image"])
    assert url.startswith("/data/local-files/") and url.endswith(".png")  # the display image, never the DICOM
    # and it is the soft-tissue window of the de-identified pixels
    windowed = dicom_intake.render(out, dicom_intake.pixels(out)[0], window=(WINDOW["center"], WINDOW["width"]))
    display = np.asarray(Image.open(io.BytesIO(store.read_bytes(json.loads(row["meta"])["display"]))))
    assert np.array_equal(display, windowed)
    assert not np.array_equal(display, dicom_intake.render(out, dicom_intake.pixels(out)[0]))  # not min-max
    shot = _shown_region(page, tmp_path / "ct-labelling.png")
    assert shot.std() > 10 and shot.max() - shot.min() > 100, "the image area is blank"  # not one flat colour
    assert (tmp_path / "ct-labelling.png").stat().st_size > 5_000


def test_a_multi_frame_ultrasound_shows_as_an_image_list_of_its_frames(
        tmp_path: Path, ls: LabelStudioSettings, page: Any) -> None:
    spec, store, row = _run(tmp_path, "examples_ybr_color.dcm", {
        "modalities": ["US"], "bits_stored": [8], "photometric": ["YBR_FULL_422"], "burned_in_scan": "flagged",
        "max_frames": 40})
    res = push(spec=spec, store=store, run_id=RUN, ls=ls)
    assert (res.tasks_total, res.quarantined) == (1, 0)
    seen = _open_task(page, ls, res.project_id)
    assert seen["images"] and all((i["w"], i["h"]) == (320, 240) for i in seen["images"])
    frames = seen["task"].data["frames"]
    keys = json.loads(row["meta"])["frames"]  # every frame's display PNG, in frame order
    assert len(frames) == 30 and all(str(u).endswith(k.rsplit("/", 1)[1]) for u, k in zip(frames, keys, strict=True))
    assert page.get_by_text("of 30").count() >= 1  # the pager annotators page through the frames with
    shot = _shown_region(page, tmp_path / "us-frames-labelling.png")
    assert shot.std() > 10, "the image area is blank"
