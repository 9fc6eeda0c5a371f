"""Text from specs and data reaches terminals and web pages as text: never as Rich markup, never as HTML."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli import datasets as cli_datasets
from pipelines.publish import publish, read_catalog
from pipelines.publish.site import json_for_html
from pipelines.storage import ObjectStore, open_store
from tests.unit.publish.test_publish import approve
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit

LINK = "[link=https://evil.example/steal]click to verify your account[/link]"
HOSTILE = (f"말뭉치 {LINK} [bold red]urgent[/bold red] [/x] "
           "</script><script>alert(1)</script> <!--<script> & > \u2028\u2029 end")


@pytest.fixture
def store(tmp_path: Any) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


@pytest.fixture
def hostile(store: ObjectStore) -> str:
    spec = f.text_spec(description=HOSTILE, name_en="Sentiment [link=https://evil.example]corpus[/link]")
    approve(store, f.text_run(spec))
    publish(spec=spec, store=store, run_id="run-1")
    return spec.id


def test_datasets_info_prints_a_description_as_text_not_markup(store: ObjectStore, hostile: str) -> None:
    app = typer.Typer()
    app.add_typer(cli_datasets.app)
    res = CliRunner().invoke(app, ["datasets", "info", hostile, "--storage", store.root], env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.output  # a stray "[/x]" used to end in a MarkupError traceback
    out = res.stdout
    assert LINK in out and "[bold red]urgent[/bold red] [/x]" in out  # printed as written, nothing became a link
    assert "Sentiment [link=https://evil.example]corpus[/link]" in out
    assert "\x1b]8;" not in out  # no terminal hyperlink escape

    listed = CliRunner().invoke(app, ["datasets", "list", "--storage", store.root], env={"COLUMNS": "400"})
    assert listed.exit_code == 0 and "[link=https://evil.example]corpus[/link]" in listed.stdout


def _script_data(page: str) -> str:
    # what a browser takes as the element's content: everything up to the first "</script"
    start = page.index("<script type='application/json' id='catalog-data'>")
    body = page[start:].split(">", 1)[1]
    return body[: body.lower().index("</script")]


def test_the_catalog_page_embeds_hostile_strings_as_inert_json(store: ObjectStore, hostile: str) -> None:
    page = store.read_text("catalog/index.html")
    payload = _script_data(page)
    # the element holds the whole catalog, and parsing it gives back every string unchanged
    assert json.loads(payload) == read_catalog(store)
    assert json.loads(payload)["datasets"][hostile]["description"] == HOSTILE
    # nothing inside can end the element or switch the HTML parser into a comment or a nested script
    assert not re.search(r"[<>&\u2028\u2029]", payload)
    assert page.count("<script") == 2  # the data element and the page's own script, no injected one

    dataset_page = store.read_text(f"catalog/datasets/{hostile}.html")
    assert "<script>alert(1)" not in dataset_page and "&lt;/script&gt;&lt;script&gt;alert(1)" in dataset_page


def test_json_for_html_round_trips_every_character_it_escapes() -> None:
    value = {"s": "<!-- </script> <script> & > \u2028 \u2029 '\"", "n": [1, 2.5, None, True]}
    text = json_for_html(value)
    assert json.loads(text) == value and not re.search(r"[<>&\u2028\u2029]", text)
