"""The static catalog site in headless Chromium (Debian's ``chromium``, driven by Playwright): filters and search
work with no server and no network, pages link, screenshots are kept under ``artifacts/catalog_site/``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.publish import publish
from pipelines.storage import ObjectStore, open_store
from pipelines.validate import gate, validate
from tests.unit.validate import factories as f

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "catalog_site"


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "headless Chromium is needed: apt-get install chromium"
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> ObjectStore:
    store = open_store(str(tmp_path_factory.mktemp("site") / "root"))
    text, image, audio = f.text_spec(), f.bbox_spec(), f.audio_spec(intended_use=["방언 음성인식"])
    runs = [f.text_run(text, n=30), f.bbox_run(store, image, n=24), f.audio_run(store, audio)]
    runs.append(f.text_run(text, run_id="run-2", n=45))  # a second version with a change log
    for run in runs:
        run.write(store)
        assert validate(spec=run.spec, store=store, run_id=run.run_id).success  # with Data Docs
        assert gate(spec=run.spec, store=store, run_id=run.run_id).status == "approved"
        publish(spec=run.spec, store=store, run_id=run.run_id)
    return store


ERRORS: list[str] = []  # JavaScript errors of the pages under test


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)  # no network at all
        pg = context.new_page()
        pg.on("pageerror", lambda e: ERRORS.append(str(e)))
        yield pg
        browser.close()


def _ids(pg: Any) -> list[str]:
    return sorted(pg.eval_on_selector_all("article.card", "els => els.map(e => e.dataset.id)"))


def test_the_list_filters_by_field_and_modality_and_searches(site: ObjectStore, page: Any) -> None:
    page.goto(site.uri("catalog/index.html"))
    assert _ids(page) == ["crop-disease-test", "dialect-speech-test", "sentiment-text-test"]
    assert page.text_content("#count") == "3 / 3"
    page.screenshot(path=str(ARTIFACTS / "index.png"), full_page=True)

    page.select_option("#field", "speech-language")
    assert _ids(page) == ["dialect-speech-test", "sentiment-text-test"]
    page.select_option("#modality", "audio")
    assert _ids(page) == ["dialect-speech-test"]
    page.screenshot(path=str(ARTIFACTS / "index-filtered.png"), full_page=True)
    page.select_option("#field", "")
    page.select_option("#modality", "")

    page.fill("#q", "감성")  # Korean name
    assert _ids(page) == ["sentiment-text-test"]
    page.fill("#q", "고추탄저병")  # a label
    assert _ids(page) == ["crop-disease-test"]
    page.fill("#q", "방언 음성인식")  # every word, in the intended use
    assert _ids(page) == ["dialect-speech-test"]
    page.fill("#q", "nothing like this")
    assert _ids(page) == [] and "No dataset matches" in page.text_content("#list")
    page.screenshot(path=str(ARTIFACTS / "index-no-match.png"), full_page=True)

    # a filtered view is a link: the state lives in the URL's hash
    page.goto(site.uri("catalog/index.html") + "#modality=image")
    assert _ids(page) == ["crop-disease-test"] and page.input_value("#modality") == "image"
    assert not ERRORS, ERRORS


def test_a_dataset_page_links_its_report_card_and_versions(site: ObjectStore, page: Any) -> None:
    page.goto(site.uri("catalog/index.html"))
    page.click("article[data-id='sentiment-text-test'] h3 a")
    page.wait_for_load_state()
    assert page.url.endswith("catalog/datasets/sentiment-text-test.html")
    assert page.text_content("#download") == (
        f"datadam download sentiment-text-test --version 1.1 --storage {site.root}")
    versions = page.eval_on_selector_all("#versions tr td:first-child", "els => els.map(e => e.textContent)")
    assert versions == ["1.1", "1.0"]
    assert "rows 30 -> 45" in page.text_content("#versions")
    body = page.text_content("main")
    for needle in ("데이터 영역", "데이터 구축량", "achieved", "구문 정확성", "Motivation", "긍정"):
        assert needle in body, needle
    page.screenshot(path=str(ARTIFACTS / "dataset-text.png"), full_page=True)

    assert not ERRORS, ERRORS
    page.click("#qa-report")  # the QA report copied into the release opens, and its Data Docs link too
    page.wait_for_load_state()
    assert "releases/sentiment-text-test/1.1/quality/report.html" in page.url
    assert "품질 검증 보고서" in page.title()
    docs = page.query_selector("a[href*='data_docs/index.html']")
    assert docs is not None
    docs.click()
    page.wait_for_load_state()
    assert "data_docs/index.html" in page.url and page.title()
    ERRORS.clear()  # GX's Data Docs pages load jQuery from a CDN: offline, they log errors that are not ours

    page.goto(site.uri("catalog/datasets/crop-disease-test.html"))
    thumbs = page.eval_on_selector_all("img.thumb", "els => els.map(e => e.naturalWidth)")
    assert len(thumbs) >= 3 and all(w > 0 for w in thumbs)  # thumbnails decoded by the browser
    page.screenshot(path=str(ARTIFACTS / "dataset-image.png"), full_page=True)
    page.goto(site.uri("catalog/datasets/dialect-speech-test.html"))
    assert page.eval_on_selector_all("audio", "els => els.length") >= 1
    page.click("header a")
    assert page.url.endswith("catalog/index.html")
    assert not ERRORS, ERRORS
