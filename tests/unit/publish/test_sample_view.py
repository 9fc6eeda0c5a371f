"""What the dataset page draws for the label types the browser test does not publish: polylines, extractive QA,
video events; brush masks decoded from the canonical RLE; data text kept as text."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from pipelines.annotations.types.segmentation import mask_to_rle
from pipelines.publish.sample_view import image_figures, text_samples, timed_samples

pytestmark = pytest.mark.unit


class _Tags(HTMLParser):
    """Start tags with their attributes, and the text, as a browser's parser would see them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        want = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}  # class_ -> class, data_x -> data-x
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in want.items())]


def _png(w: int, h: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), (40, 90, 140)).save(buf, format="PNG")
    return buf.getvalue()


def test_polylines_are_open_paths_in_image_pixels_with_their_class() -> None:
    row = {"item_id": "road-1", "media": {"width": 200, "height": 100},
           "image": {"bytes": _png(200, 100), "path": "a.png"},
           "polylines": [{"label": "차선", "points": [{"x": 0.0, "y": 90.0}, {"x": 100.5, "y": 50.0}]},
                         {"label": "정지선", "points": [{"x": 10.0, "y": 10.0}, {"x": 50.0, "y": 10.0},
                                                      {"x": 60.0, "y": 20.0}]}]}
    page = _Tags(image_figures("polyline", [row], media_column="image", labels=["차선", "정지선"], skeleton=None))
    assert page.find("svg")[0]["viewbox"] == "0 0 200 100"  # the image's own pixels: no rescaling of points
    assert [a["points"] for a in page.find("polyline")] == ["0,90 100.5,50", "10,10 50,10 60,20"]
    assert all(a["fill"] == "none" for a in page.find("polyline"))  # open, not filled
    assert [a["data-label"] for a in page.find("g", class_="shape")] == ["차선", "정지선"]
    assert [a["data-label"] for a in page.find("li") if "data-label" in a] == ["차선", "정지선"]  # legend


def test_a_mask_is_drawn_from_the_canonical_rle_and_a_bad_one_is_not() -> None:
    from PIL import Image

    m = np.zeros((6, 8), dtype=bool)
    m[2:4, 3:7] = True
    masks = [{"label": "잎", "rle": mask_to_rle(m), "width": 8, "height": 6},
             {"label": "병반", "rle": [3, 4], "width": 8, "height": 6}]  # covers 7 of 48 pixels: not drawn
    row = {"item_id": "leaf", "media": {"width": 8, "height": 6}, "masks": masks}
    page = _Tags(image_figures("segmentation", [row], media_column=None, labels=["잎", "병반"], skeleton=None))
    drawn = page.find("image", class_="mask")
    assert len(drawn) == 1 and len(page.find("g", class_="shape")) == 1
    href = drawn[0]["href"] or ""
    with Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))) as img:
        alpha = np.asarray(img.convert("RGBA"))[:, :, 3] > 0
    assert (alpha == m).all()  # exactly the painted pixels


def test_qa_answers_are_marked_in_the_text_and_listed_with_their_questions() -> None:
    text = "세종대왕은 1443년에 훈민정음을 만들었다."
    row = {"item_id": "qa-1", "text": text,
           "qa": [{"question": "언제 만들었나?", "answer": "1443년", "answer_start": text.index("1443")},
                  {"question": "무엇을?", "answer": "훈민정음", "answer_start": text.index("훈민정음")}]}
    html = text_samples("qa", [row], labels=[])
    assert re.findall(r"<mark [^>]*data-label='(A\d)'[^>]*>([^<]*)</mark>", html) == [("A1", "1443년"),
                                                                                      ("A2", "훈민정음")]
    assert "언제 만들었나?</span> → <span class='a'>1443년" in html


def test_nested_entities_nest_and_crossing_ones_are_counted_not_mangled() -> None:
    text = "서울대학교 병원"
    ents = [{"label": "OG", "start": 0, "end": 8}, {"label": "LC", "start": 0, "end": 2},
            {"label": "X", "start": 4, "end": 7}, {"label": "Y", "start": 6, "end": 8}]
    html = text_samples("ner", [{"item_id": "n", "text": text, "entities": ents}], labels=["OG", "LC"])
    body = re.search(r"<p class='textsample'>(.*)</p>", html)
    assert body is not None
    assert re.sub(r"<[^>]+>", "", body.group(1)) == text  # every character once, in order
    assert re.findall(r"data-label='(\w+)'", body.group(1)) == ["OG", "LC", "X"]
    assert "1 crossing spans not shown inline" in html


def test_text_from_the_data_stays_text() -> None:
    evil = "<script>alert(1)</script>"
    row = {"item_id": evil, "text": f"a {evil} b", "entities": [{"label": evil, "start": 2, "end": 10}]}
    html = text_samples("ner", [row], labels=[evil])
    assert "<script" not in html and "&lt;script&gt;" in html
    row2 = {"item_id": "x", "media": {"width": 10, "height": 10},
            "objects": [{"label": "'><img src=x onerror=alert(1)>", "x": 1.0, "y": 1.0, "w": 2.0, "h": 2.0}]}
    page = _Tags(image_figures("bbox", [row2], media_column=None, labels=[], skeleton=None))
    assert page.find("img") == [] and page.find("g", class_="shape")[0]["data-label"] == row2["objects"][0]["label"]


def test_video_events_sit_on_a_timeline_that_seeks_the_clip() -> None:
    row = {"item_id": "clip-1", "media": {"key": "media/v/abc.mp4", "duration_s": 10.0},
           "video": {"uri": "s3://b/root/media/v/abc.mp4", "sha256": "abc"},
           "events": [{"label": "넘어짐", "start": 2.0, "end": 4.5}, {"label": "싸움", "start": 5.0, "end": 10.0}]}
    page = _Tags(timed_samples("temporal_events", [row], labels=["넘어짐", "싸움"], media_column="video",
                               media_mode="reference", audio_src=[None]))
    assert page.find("video")[0]["src"] == "../../media/v/abc.mp4"  # beside catalog/ in the same store
    bars = page.find("button", class_="event")
    assert [(b["data-label"], b["data-start"], b["data-end"]) for b in bars] == [("넘어짐", "2", "4.5"),
                                                                                  ("싸움", "5", "10")]
    assert "left:20.000%;width:25.000%" in (bars[0]["style"] or "")


def test_a_multimodal_clip_plays_with_its_own_sound() -> None:
    """docs/adr/0024: the audio component beside a silent clip gets its own player, seeked with the clip."""
    row = {"item_id": "clip-2", "media": {"key": "media/v/abc.mp4", "duration_s": 10.0},
           "components": [{"kind": "audio", "key": "media/v/def.wav", "sha256": "def"}],
           "events": [{"label": "넘어짐", "start": 2.0, "end": 4.5}]}
    page = _Tags(timed_samples("temporal_events", [row], labels=["넘어짐"], media_column="video",
                               media_mode="reference", audio_src=[None]))
    assert page.find("video")[0]["src"] == "../../media/v/abc.mp4"
    assert page.find("audio")[0]["src"] == "../../media/v/def.wav"


def test_transcript_segments_show_their_speaker_and_dialect() -> None:
    row = {"item_id": "talk-1", "media": {"key": "media/a/abc.wav", "duration_s": 6.0}, "transcript": "네 안녕하세요",
           "segments": [{"start": 0.5, "end": 1.0, "text": "네", "speaker": "화자1", "dialect": "전남"},
                        {"start": 1.5, "end": 3.0, "text": "안녕하세요", "speaker": "화자2", "dialect": None}]}
    page = _Tags(timed_samples("transcription", [row], labels=[], media_column="audio", media_mode="reference",
                               audio_src=["../../media/a/abc.wav"]))
    assert len(page.find("span", class_="tag")) == 2
    assert "화자1 · 전남" in page.text and "화자2" in page.text
