"""Dataset pages draw the labels of their sample records, checked in headless Chromium (Debian's ``chromium``
driven by Playwright, offline): boxes, polygons, poses with their skeleton, brush masks, NER spans and a
transcript that seeks its player. Screenshots go under the test's tmp dir and to ``/tmp/site-shots/``."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipelines.publish import publish
from pipelines.storage import ObjectStore, open_store
from pipelines.validate import gate, validate
from tests.unit.validate import factories as f

pytestmark = pytest.mark.integration

SHOTS = Path("/tmp/site-shots")  # where the lead looks; the tmp dir copy is the test's own
W, H = 160, 120
ERRORS: list[str] = []


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "headless Chromium is needed: apt-get install chromium"
    return path


def _photo(i: int) -> bytes:
    """A deterministic 160x120 'photo': a gradient with a darker blob, so drawings show against something."""
    from PIL import Image

    yy, xx = np.mgrid[0:H, 0:W]
    r = (60 + xx * 120 // W + 13 * i) % 256
    g = 90 + yy * 100 // H
    b = 140 - ((xx - 90) ** 2 + (yy - 60) ** 2 < 900) * 80
    img = Image.fromarray(np.stack([r, g, b], axis=-1).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _image_rows(store: ObjectStore, spec: Any, n: int, labels: Any) -> f.Run:
    run = f.Run(spec, "run-1")
    for i in range(n):
        key, sha = f._put_media(store, spec.id, _photo(i), "png")
        run.rows.append({"item_id": f"img-{i:04d}",
                         "media": {"key": key, "sha256": sha, "ext": "png", "width": W, "height": H},
                         "crop": "고추" if i % 3 else "배추", "field_plot": f"plot-{i % 8}",
                         "temperature_c": 10.0 + i % 20, **labels(i), **f._qc(i)})
    return run


def _polygon_labels(i: int) -> dict[str, Any]:
    tri = [{"x": 10.0 + i, "y": 10.0}, {"x": 70.0, "y": 20.0}, {"x": 30.0, "y": 80.0}]
    quad = [{"x": 90.0, "y": 40.0}, {"x": 150.0, "y": 45.0}, {"x": 145.0, "y": 110.0}, {"x": 95.0, "y": 100.0}]
    polys = [{"label": f.BBOX_LABELS[i % 4], "points": tri}, {"label": f.BBOX_LABELS[(i + 1) % 4], "points": quad}]
    return {"polygons": polys[: 1 + i % 2]}  # one or two per image: the count on the page must follow the rows


KP = ["머리", "목", "왼손", "오른손", "골반"]
SKELETON = [["머리", "목"], ["목", "왼손"], ["목", "오른손"], ["목", "골반"]]


def _pose_labels(i: int) -> dict[str, Any]:
    def pose(label: str, dx: float, hidden: str | None) -> dict[str, Any]:
        at = {"머리": (20, 15), "목": (20, 35), "왼손": (5, 60), "오른손": (35, 60), "골반": (20, 80)}
        return {"label": label, "keypoints": [
            {"name": k, "x": None, "y": None, "visible": 0} if k == hidden else
            {"name": k, "x": at[k][0] + dx, "y": at[k][1] + 10.0, "visible": 1 if k == "골반" else 2} for k in KP]}
    return {"poses": [pose("사람", 20.0, None), pose("작업자", 100.0, "왼손" if i % 2 else None)]}


def _mask_labels(i: int) -> dict[str, Any]:
    from pipelines.annotations.types.segmentation import mask_to_rle  # the canonical encoding refine writes

    yy, xx = np.mgrid[0:H, 0:W]
    disc = (xx - 50) ** 2 + (yy - 60) ** 2 < (25 + i) ** 2
    band = (yy > 85) & (xx > 70)
    return {"masks": [{"label": lab, "rle": mask_to_rle(m), "width": W, "height": H}
                      for lab, m in (("잎", disc), ("병반", band))]}


def _ner_run(spec: Any, n: int) -> f.Run:
    run = f.Run(spec, "run-1")
    for i in range(n):
        name, place = f"김철수{i}", "부산" if i % 2 else "서울"
        text = f"{name} 씨는 어제 {place}에서 <b>회의</b>에 참석했다."  # markup in data must stay text
        ents = [{"label": "PS", "start": 0, "end": len(name), "text": name},
                {"label": "LC", "start": text.index(place), "end": text.index(place) + len(place), "text": place}]
        if i % 2:
            ents.append({"label": "DT", "start": text.index("어제"), "end": text.index("어제") + 2, "text": "어제"})
        ents.sort(key=lambda e: e["start"])
        run.rows.append({"item_id": f"txt-{i:04d}", "text": text, "entities": ents, "speaker_age": 30,
                         "domain": "일상", **f._qc(i)})
    return run


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> ObjectStore:
    store = open_store(str(tmp_path_factory.mktemp("labels") / "root"))
    image = {"kind": "image", "min_width": 64, "min_height": 48, "formats": ["png"]}
    polygon = f.bbox_spec(id="polygon-test", modality=image, annotation={"type": "polygon", "labels": f.BBOX_LABELS})
    poses = f.bbox_spec(id="keypoints-test", modality=image, annotation={
        "type": "keypoints", "labels": ["사람", "작업자"], "keypoints": KP, "skeleton": SKELETON})
    masks = f.bbox_spec(id="segmentation-test", modality=image,
                        annotation={"type": "segmentation", "labels": ["잎", "병반"]})
    ner = f.text_spec(id="ner-test", annotation={"type": "ner", "labels": ["PS", "LC", "DT", "OG"]},
                      splits={"train": 0.8, "validation": 0.1, "test": 0.1})
    bbox, audio = f.bbox_spec(), f.audio_spec()
    runs = [f.bbox_run(store, bbox, n=12), _image_rows(store, polygon, 12, _polygon_labels),
            _image_rows(store, poses, 12, _pose_labels), _image_rows(store, masks, 12, _mask_labels),
            _ner_run(ner, 12), f.audio_run(store, audio, n=12)]
    for run in runs:
        run.write(store)
        assert validate(spec=run.spec, store=store, run_id=run.run_id).success, run.spec.id
        assert gate(spec=run.spec, store=store, run_id=run.run_id).status == "approved"
        publish(spec=run.spec, store=store, run_id=run.run_id)
    return store


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)  # no network at all
        pg = context.new_page()
        pg.on("pageerror", lambda e: ERRORS.append(str(e)))
        yield pg
        browser.close()


def _open(site: ObjectStore, page: Any, dataset: str, shot: Path) -> dict[str, Any]:
    """Open a dataset page, screenshot its drawn samples, and return what a reader sees of the first ones."""
    page.goto(site.uri(f"catalog/datasets/{dataset}.html"))
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.locator("#labels").screenshot(path=str(shot))  # the legend and the drawn samples
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SHOTS / shot.name)
    assert not ERRORS, ERRORS
    return page.evaluate("""() => ({
      figures: [...document.querySelectorAll('#drawn figure')].map(fig => ({
        item: fig.dataset.item,
        shapes: [...fig.querySelectorAll('.shape')].map(s => s.dataset.kind + ':' + s.dataset.label),
        names: [...fig.querySelectorAll('svg text')].map(t => t.textContent),
        bones: fig.querySelectorAll('line.bone').length, points: fig.querySelectorAll('circle.kp').length,
        marks: [...fig.querySelectorAll('mark')].map(m => m.dataset.label + '=' + m.textContent),
        boxes: [...fig.querySelectorAll('.shape')].map(s => { const r = s.getBBox(); return r.width * r.height; }),
        photo: !!fig.querySelector('image.photo'), text: fig.textContent})),
      legend: [...document.querySelectorAll('ul.legend li[data-label]')].map(li => li.textContent),
      legendText: (document.querySelector('ul.legend') || {}).textContent || ''})""")


def _sample_rows(site: ObjectStore, dataset: str) -> dict[str, dict[str, Any]]:
    from pipelines.publish import open_dataset

    rows = open_dataset(dataset, split="train", storage=site).to_table().to_pylist()
    return {r["item_id"]: r for r in rows}


def test_image_pages_draw_every_box_polygon_pose_and_mask_with_class_names(
        site: ObjectStore, page: Any, tmp_path: Path) -> None:
    cases = {"crop-disease-test": ("objects", "box"), "polygon-test": ("polygons", "polygon"),
             "keypoints-test": ("poses", "pose"), "segmentation-test": ("masks", "mask")}
    for dataset, (column, kind) in cases.items():
        seen = _open(site, page, dataset, tmp_path / f"{dataset}.png")
        rows = _sample_rows(site, dataset)
        assert len(seen["figures"]) == 6, dataset  # SAMPLE_ROWS samples drawn
        for fig in seen["figures"]:
            labels = [x["label"] for x in rows[fig["item"]][column]]
            assert fig["photo"], fig["item"]  # the image under the drawing
            assert fig["shapes"] == [f"{kind}:{lab}" for lab in labels], (dataset, fig["item"])
            assert fig["names"] == labels  # class names written on the image
            assert all(a > 0 for a in fig["boxes"]), (dataset, fig)  # each shape has a visible extent
        used = {x["label"] for r in rows.values() for x in r[column]
                if r["item_id"] in {g["item"] for g in seen["figures"]}}
        assert set(seen["legend"]) == used, dataset

    poses = _open(site, page, "keypoints-test", tmp_path / "keypoints-test.png")
    rows = _sample_rows(site, "keypoints-test")
    for fig in poses["figures"]:
        placed = [{k["name"] for k in p["keypoints"] if k["visible"]} for p in rows[fig["item"]]["poses"]]
        assert fig["points"] == sum(len(p) for p in placed)  # an unplaced keypoint is not drawn
        assert fig["bones"] == sum(1 for p in placed for a, b in SKELETON if a in p and b in p)
    assert any(fig["bones"] == 4 + 3 for fig in poses["figures"])  # a missing hand takes its bone with it
    assert "skeleton: 머리–목, 목–왼손" in poses["legendText"]


def test_ner_spans_are_highlighted_and_markup_in_the_text_stays_text(
        site: ObjectStore, page: Any, tmp_path: Path) -> None:
    seen = _open(site, page, "ner-test", tmp_path / "ner-test.png")
    rows = _sample_rows(site, "ner-test")
    assert len(seen["figures"]) == 6
    for fig in seen["figures"]:
        ents = rows[fig["item"]]["entities"]
        assert fig["marks"] == [f"{e['label']}={e['text']}" for e in ents]
        assert "<b>회의</b>" in fig["text"]  # shown as typed, not bold
    assert set(seen["legend"]) <= {"PS", "LC", "DT"} and {"PS", "LC"} <= set(seen["legend"])
    assert page.evaluate("document.querySelectorAll('#drawn b').length") == 0


def test_a_transcript_segment_seeks_the_audio_player(site: ObjectStore, page: Any, tmp_path: Path) -> None:
    seen = _open(site, page, "dialect-speech-test", tmp_path / "transcription-test.png")
    rows = _sample_rows(site, "dialect-speech-test")
    first = seen["figures"][0]
    segs = rows[first["item"]]["segments"]
    assert [s["text"] for s in segs][1] in first["text"] and rows[first["item"]]["transcript"] in first["text"]
    assert page.locator("audio").count() == len(seen["figures"])  # each clip embedded once, with its transcript
    fig = page.locator("#drawn figure").first
    assert fig.locator("audio").count() == 1 and fig.locator(".timeline button").count() == len(segs)
    # Where the player seeks to, read when it starts seeking: once it plays, currentTime runs on.
    fig.locator("audio").evaluate(
        "a => a.addEventListener('seeking', () => { window.seekedTo = a.currentTime; }, {once: true})")
    fig.locator("ol.segments button").nth(1).click()
    page.wait_for_function("window.seekedTo !== undefined")
    assert page.evaluate("window.seekedTo") == pytest.approx(segs[1]["start"], abs=0.01)
    assert not ERRORS, ERRORS
