"""Sample records drawn the way an annotator saw them, for the dataset pages of the catalog site.

Shapes go into inline SVG over the sample image in the image's own pixel coordinates (records carry pixels), so
the drawing needs no scaling code and stays sharp at any size; brush masks are decoded from the canonical RLE
into a one-colour transparent PNG laid over the image. Text spans become ``<mark>`` elements, transcripts and
temporal events a clickable timeline next to the player. Everything is built here, in Python, as escaped
markup: the page works from any object store with no network, and text from the data is only ever text.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np

# Class colours: distinguishable on photos and on white (Okabe-Ito first, then Tableau); class i of the spec gets
# colour i, so a class keeps its colour across the samples of a page.
_PALETTE = ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#e15759",
            "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
DISPLAY_PX = 320  # CSS width of one drawn sample
_EMBED_PX = 640  # longest side of the image embedded under the drawing
_MAX_MASK_PIXELS = 40_000_000  # a canonical RLE claiming more is not drawn (the page would not load anyway)

IMAGE_KINDS = ("bbox", "polygon", "polyline", "keypoints", "segmentation")
TEXT_KINDS = ("ner", "qa")
TIMED_KINDS = ("transcription", "temporal_events", "timeseries_labels")

LABEL_CSS = """
.labelled{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:1rem;margin:.5rem 0}
.labelled figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:.4rem;background:#fff}
.labelled figcaption{font-size:.8rem;color:var(--mut);margin-top:.3rem}
svg.drawn{width:320px;max-width:100%;height:auto;background:#222;display:block}
svg.drawn image.photo{image-rendering:pixelated}
svg.drawn text{font-family:system-ui,sans-serif;font-weight:600;paint-order:stroke;stroke:#000;
stroke-width:2px;stroke-linejoin:round}
ul.legend{list-style:none;padding:0;margin:.3rem 0;display:flex;flex-wrap:wrap;gap:.3rem .9rem}
ul.legend li{font-size:.85rem} .sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;
margin-right:.3em;vertical-align:-.1em;border:1px solid #0003}
.textsample{line-height:2.1;margin:.3rem 0;padding:.5rem;border:1px solid var(--line);border-radius:6px}
mark.span{background:color-mix(in srgb,var(--c) 35%,#fff);border-bottom:3px solid var(--c);padding:0 .1em;
border-radius:2px} mark.span::after{content:attr(data-label);font-size:.65rem;font-weight:700;color:#fff;
background:var(--c);border-radius:3px;padding:0 .25em;margin-left:.2em;vertical-align:super}
ol.qa{margin:.2rem 0 .6rem} ol.qa .q{font-weight:600}
.player audio,.player video{width:100%;max-width:480px;display:block}
.timeline{position:relative;height:28px;background:var(--bg);border:1px solid var(--line);border-radius:4px;
margin:.4rem 0;max-width:480px} .timeline button{position:absolute;top:3px;height:20px;border:0;
border-radius:3px;cursor:pointer;opacity:.85;font-size:.7rem;overflow:hidden;white-space:nowrap;color:#000;
padding:0 .2em;min-width:4px} .timeline .cursor{position:absolute;top:0;bottom:0;width:2px;background:#b3261e}
ol.segments{padding-left:1.2rem;margin:.2rem 0} ol.segments button{background:none;border:0;cursor:pointer;
text-align:left;padding:.1rem .2rem;font:inherit;border-radius:3px} ol.segments button.active{background:#e8f0fe}
ol.segments .t{color:var(--mut);font-variant-numeric:tabular-nums;margin-right:.4em}
"""

# Click a segment or an event to seek its player; the playing segment is highlighted and a cursor runs along
# the timeline. One listener per page: figures carry their own player.
LABEL_JS = """
(function(){
  document.addEventListener('click', function(ev){
    const b = ev.target.closest('[data-start]'); if(!b) return;
    const fig = b.closest('figure'); if(!fig) return;
    for(const media of fig.querySelectorAll('audio,video')){  // a silent clip and its own sound seek together
      media.currentTime = parseFloat(b.dataset.start);
      const p = media.play(); if(p) p.catch(function(){});
    }
  });
  for(const media of document.querySelectorAll('figure audio, figure video')){
    media.addEventListener('timeupdate', function(){
      const fig = media.closest('figure'), t = media.currentTime;
      for(const s of fig.querySelectorAll('ol.segments button'))
        s.classList.toggle('active', parseFloat(s.dataset.start) <= t && t < parseFloat(s.dataset.end));
      const tl = fig.querySelector('.timeline'), cur = fig.querySelector('.timeline .cursor');
      if(tl && cur) cur.style.left = Math.min(100, 100 * t / parseFloat(tl.dataset.duration)) + '%';
    });
  }
})();
"""


def class_colour(label: str, labels: Sequence[str]) -> str:
    """The colour of ``label``: its position among the spec's classes, else a stable hash of its name."""
    if label in labels:
        return _PALETTE[list(labels).index(label) % len(_PALETTE)]
    return _PALETTE[int(hashlib.sha256(label.encode()).hexdigest()[:8], 16) % len(_PALETTE)]


def _n(v: float) -> str:
    return f"{float(v):.2f}".rstrip("0").rstrip(".")


def _legend(used: Sequence[str], labels: Sequence[str], extra: str = "") -> str:
    order = [lab for lab in labels if lab in used] + sorted(set(used) - set(labels))
    items = "".join(f"<li data-label='{escape(lab)}'><span class='sw' style='background:{class_colour(lab, labels)}'>"
                    f"</span>{escape(lab)}</li>" for lab in order)
    return f"<ul class='legend' aria-label='legend'>{items}{extra}</ul>"


# ------------------------------------------------------------------------------------------------ images


def _image_uri(data: bytes) -> tuple[str, int, int] | None:
    """A JPEG data URI of the image (longest side at most ``_EMBED_PX``) and its original size."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            size = img.size
            img.thumbnail((_EMBED_PX, _EMBED_PX))
            buf = io.BytesIO()
            img.convert("RGB").save(buf, format="JPEG", quality=85)
    except OSError:  # not an image Pillow reads (a DICOM object): the shapes are drawn on a blank canvas
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode(), size[0], size[1]


def _mask_uri(rle: Sequence[int], width: int, height: int, colour: str) -> str | None:
    """The canonical RLE as a transparent PNG painted in ``colour``; None when it does not cover the mask."""
    from PIL import Image

    counts = np.asarray(list(rle), dtype=np.int64)
    if width <= 0 or height <= 0 or width * height > _MAX_MASK_PIXELS or (counts < 0).any() \
            or int(counts.sum()) != width * height:
        return None
    values = np.zeros(len(counts), dtype=np.uint8)
    values[1::2] = 1  # runs alternate, background first
    img = Image.fromarray(np.repeat(values, counts).reshape(height, width), mode="P")
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    img.putpalette([0, 0, 0, *rgb])
    buf = io.BytesIO()
    img.save(buf, format="PNG", transparency=0, optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _tag(x: float, y: float, label: str, colour: str, fs: float) -> str:
    return (f"<text x='{_n(x)}' y='{_n(max(y, fs))}' font-size='{_n(fs)}' fill='{colour}'>{escape(label)}</text>")


def _points(pts: Sequence[dict[str, Any]]) -> str:
    return " ".join(f"{_n(p['x'])},{_n(p['y'])}" for p in pts)


def _shapes(kind: str, row: dict[str, Any], labels: Sequence[str], skeleton: dict[str, Any] | None,
            fs: float) -> tuple[list[str], list[str]]:
    """SVG groups (one per label of the record, class ``shape``) and the classes they use."""
    out: list[str] = []
    used: list[str] = []
    ns = "vector-effect='non-scaling-stroke'"

    def group(label: str, inner: str, sub: str) -> None:
        used.append(label)
        out.append(f"<g class='shape' data-kind='{sub}' data-label='{escape(label)}'>{inner}</g>")

    if kind == "bbox":
        for o in row.get("objects") or []:
            c = class_colour(o["label"], labels)
            group(o["label"], f"<rect x='{_n(o['x'])}' y='{_n(o['y'])}' width='{_n(o['w'])}' height='{_n(o['h'])}' "
                  f"fill='{c}' fill-opacity='.15' stroke='{c}' stroke-width='2' {ns}/>"
                  + _tag(o["x"] + fs * 0.15, o["y"] + fs, o["label"], c, fs), "box")
    elif kind in ("polygon", "polyline"):
        closed = kind == "polygon"
        for s in row.get("polygons" if closed else "polylines") or []:
            pts = s.get("points") or []
            if not pts:
                continue
            c = class_colour(s["label"], labels)
            el = (f"<polygon points='{_points(pts)}' fill='{c}' fill-opacity='.25'" if closed
                  else f"<polyline points='{_points(pts)}' fill='none'")
            group(s["label"], f"{el} stroke='{c}' stroke-width='2.5' stroke-linejoin='round' {ns}/>"
                  + _tag(pts[0]["x"], pts[0]["y"] - fs * 0.2, s["label"], c, fs), kind)
    elif kind == "keypoints":
        edges = [tuple(e) for e in (skeleton or {}).get("edges") or []]
        for pose in row.get("poses") or []:
            c = class_colour(pose["label"], labels)
            placed = {k["name"]: k for k in pose.get("keypoints") or [] if k.get("x") is not None
                      and k.get("y") is not None and k.get("visible", 2) > 0}
            if not placed:
                continue
            lines = "".join(
                f"<line class='bone' x1='{_n(placed[a]['x'])}' y1='{_n(placed[a]['y'])}' x2='{_n(placed[b]['x'])}' "
                f"y2='{_n(placed[b]['y'])}' stroke='{c}' stroke-width='2.5' {ns}/>"
                for a, b in edges if a in placed and b in placed)
            # Visible points are filled, occluded ones hollow (COCO's 2 and 1).
            dots = "".join(
                f"<circle class='kp' data-name='{escape(k['name'])}' cx='{_n(k['x'])}' cy='{_n(k['y'])}' "
                f"r='{_n(fs * 0.3)}' fill='{c if k.get('visible', 2) == 2 else 'none'}' stroke='#fff' "
                f"stroke-width='1.5' {ns}><title>{escape(k['name'])}</title></circle>"
                for k in placed.values())
            top = min(placed.values(), key=lambda k: k["y"])
            group(pose["label"], lines + dots + _tag(top["x"], top["y"] - fs * 0.5, pose["label"], c, fs), "pose")
    elif kind == "segmentation":
        for m in row.get("masks") or []:
            c = class_colour(m["label"], labels)
            uri = _mask_uri(m.get("rle") or [], int(m.get("width") or 0), int(m.get("height") or 0), c)
            if uri is None:
                continue
            counts = np.cumsum(np.asarray(m["rle"], dtype=np.int64))
            first = int(counts[0]) if len(counts) else 0  # the first painted pixel carries the class name
            w = int(m["width"])
            group(m["label"], f"<image class='mask' href='{uri}' x='0' y='0' width='{w}' height='{int(m['height'])}' "
                  f"opacity='.55' preserveAspectRatio='none'/>"
                  + _tag(first % w, first // w + fs, m["label"], c, fs), "mask")
    return out, used


def image_figures(kind: str, rows: Sequence[dict[str, Any]], *, media_column: str | None,
                  labels: Sequence[str], skeleton: dict[str, Any] | None) -> str:
    """One ``<figure>`` per sample: the image with its labels drawn over it, then a legend of the classes."""
    figs: list[str] = []
    used_all: list[str] = []
    for row in rows:
        media = row.get("media") or {}
        value = row.get(media_column) if media_column else None
        drawn = _image_uri(value["bytes"]) if isinstance(value, dict) and value.get("bytes") else None
        w = int(drawn[1] if drawn else media.get("width") or 0)
        h = int(drawn[2] if drawn else media.get("height") or 0)
        if w <= 0 or h <= 0:
            continue
        fs = max(w, h) * 13 / DISPLAY_PX  # about 13 CSS px whatever the image size
        shapes, used = _shapes(kind, row, labels, skeleton, fs)
        used_all += used
        photo = (f"<image class='photo' href='{drawn[0]}' x='0' y='0' width='{w}' height='{h}' "
                 f"preserveAspectRatio='none'/>" if drawn else "")
        item = escape(str(row.get("item_id", "")))
        figs.append(f"<figure data-item='{item}'><svg class='drawn' viewBox='0 0 {w} {h}' role='img' "
                    f"aria-label='{item}: {len(shapes)} labels'>{photo}{''.join(shapes)}</svg>"
                    f"<figcaption>{item} · {w}×{h} · {len(shapes)} labels</figcaption></figure>")
    if not figs:
        return ""
    extra = ""
    if kind == "keypoints" and skeleton:
        names = " · ".join(escape(k) for k in skeleton.get("keypoints") or [])
        bones = ", ".join(f"{escape(a)}–{escape(b)}" for a, b in skeleton.get("edges") or [])
        extra = (f"<li class='skeleton'>keypoints: {names}" + (f"; skeleton: {bones}" if bones else "")
                 + " (filled: visible, hollow: occluded)</li>")
    return _legend(used_all, labels, extra) + f"<div class='labelled' id='drawn'>{''.join(figs)}</div>"


# -------------------------------------------------------------------------------------------------- text


def _marked(text: str, spans: Sequence[tuple[int, int, str, str]], labels: Sequence[str]) -> tuple[str, int]:
    """``text`` with ``(start, end, label, css class)`` spans as nested ``<mark>`` elements.

    Spans that cross another span cannot nest in HTML; they are left out of the inline view (their count is
    returned so the page can say so; the raw row still lists them).
    """
    events = sorted(spans, key=lambda s: (s[0], -s[1]))
    out: list[str] = []
    stack: list[int] = []  # ends of the open marks
    pos = skipped = 0
    for start, end, label, cls in events:
        if not 0 <= start < end <= len(text):
            skipped += 1
            continue
        while stack and stack[-1] <= start:
            out.append(escape(text[pos:stack[-1]]) + "</mark>")
            pos = stack.pop()
        if stack and end > stack[-1]:
            skipped += 1
            continue
        out.append(escape(text[pos:start]))
        out.append(f"<mark class='{cls}' data-label='{escape(label)}' style='--c:{class_colour(label, labels)}'>")
        stack.append(end)
        pos = start
    while stack:
        out.append(escape(text[pos:stack[-1]]) + "</mark>")
        pos = stack.pop()
    out.append(escape(text[pos:]))
    return "".join(out), skipped


def text_samples(kind: str, rows: Sequence[dict[str, Any]], *, labels: Sequence[str]) -> str:
    """NER entities and extractive QA answers highlighted in the sample texts; QA pairs listed under them."""
    parts: list[str] = []
    used: list[str] = []
    for row in rows:
        text = row.get("text")
        if not isinstance(text, str):
            continue
        item = escape(str(row.get("item_id", "")))
        if kind == "ner":
            ents = row.get("entities") or []
            spans = [(int(e["start"]), int(e["end"]), str(e["label"]), "span") for e in ents]
            used += [s[2] for s in spans]
            body, skipped = _marked(text, spans, labels)
            note = f" · {skipped} crossing spans not shown inline" if skipped else ""
            parts.append(f"<figure data-item='{item}'><p class='textsample'>{body}</p>"
                         f"<figcaption>{item} · {len(ents)} entities{note}</figcaption></figure>")
        else:
            pairs = row.get("qa") or []
            spans = [(int(p["answer_start"]), int(p["answer_start"]) + len(p["answer"] or ""), f"A{i + 1}", "span")
                     for i, p in enumerate(pairs) if p.get("answer_start") is not None and p.get("answer")]
            body, _ = _marked(text, spans, labels)
            qa = "".join(f"<li><span class='q'>{escape(p['question'] or '')}</span> → "
                         f"<span class='a'>{escape(p['answer'] or '')}</span></li>" for p in pairs)
            parts.append(f"<figure data-item='{item}'><p class='textsample'>{body}</p><ol class='qa'>{qa}</ol>"
                         f"<figcaption>{item} · {len(pairs)} questions</figcaption></figure>")
    if not parts:
        return ""
    legend = _legend(used, labels) if kind == "ner" else ""
    return legend + f"<div id='drawn'>{''.join(parts)}</div>"


# ------------------------------------------------------------------------------------------------- timed


def _clock(s: float) -> str:
    return f"{int(s // 60)}:{s % 60:05.2f}"


def _timeline(items: Sequence[tuple[float, float, str, str]], duration: float) -> str:
    """Bars at their place in the clip; each one seeks the player of its figure."""
    bars = "".join(
        f"<button class='event' data-label='{escape(label)}' data-start='{_n(s)}' data-end='{_n(e)}' "
        f"title='{escape(label)} {_clock(s)}–{_clock(e)}' style='left:{100 * s / duration:.3f}%;"
        f"width:{100 * max(e - s, 0) / duration:.3f}%;background:{colour}'>{escape(label)}</button>"
        for s, e, label, colour in items)
    return f"<div class='timeline' data-duration='{_n(duration)}'>{bars}<div class='cursor'></div></div>"


def _player(row: dict[str, Any], media_column: str | None, media_mode: str | None, audio_src: str | None) -> str:
    key = (row.get("media") or {}).get("key")
    if media_mode == "reference" and media_column == "video" and key:
        # media/ sits beside catalog/ in the same store: a relative link works wherever the tree is served.
        video = f"<video controls preload='metadata' src='../../{escape(str(key))}'></video>"
        # A multimodal item's sound is its own file beside the silent clip (docs/adr/0024), embedded in the
        # release (0028): played from its bytes, else (too long to inline) from media/ like the video.
        sound = audio_src or next((f"../../{c.get('key')}" for c in row.get("components") or []
                                   if c.get("kind") == "audio" and c.get("key")), None)
        if sound:
            video += f"<audio controls preload='metadata' src='{escape(str(sound))}'></audio>"
        return video
    if audio_src:
        return f"<audio controls preload='metadata' src='{escape(audio_src)}'></audio>"
    return ""


def timed_samples(kind: str, rows: Sequence[dict[str, Any]], *, labels: Sequence[str], media_column: str | None,
                  media_mode: str | None, audio_src: Sequence[str | None]) -> str:
    """A player per sample with its transcript segments (or events) as a timeline and a clickable list."""
    parts: list[str] = []
    used: list[str] = []
    for row, src in zip(rows, audio_src, strict=True):
        item = escape(str(row.get("item_id", "")))
        if kind == "transcription":
            segs = [s for s in row.get("segments") or [] if s.get("start") is not None and s.get("end") is not None]
            items = [(float(s["start"]), float(s["end"]), str(s.get("text") or ""),
                      " · ".join(str(x) for x in (s.get("speaker"), s.get("dialect")) if x)) for s in segs]
        else:
            evs = row.get("events") or []
            items = [(float(e["start"]), float(e["end"]), str(e["label"]), "") for e in evs]
            used += [i[2] for i in items]
        media = row.get("media") or {}
        duration = float(media.get("duration_s") or max((i[1] for i in items), default=0.0))
        if duration <= 0:
            continue
        colours = ["#aecbfa" if kind == "transcription" else class_colour(i[2], labels) for i in items]
        bars = [(s, e, text, c) for (s, e, text, _), c in zip(items, colours, strict=True)]
        listing = "".join(
            f"<li><button data-start='{_n(s)}' data-end='{_n(e)}'><span class='t'>{_clock(s)}–{_clock(e)}</span>"
            f"{escape(text)}" + (f" <span class='tag'>{escape(tag)}</span>" if tag else "") + "</button></li>"
            for s, e, text, tag in items)
        transcript = (f"<p class='transcript'>{escape(str(row.get('transcript') or ''))}</p>"
                      if kind == "transcription" else "")
        parts.append(f"<figure data-item='{item}'><div class='player'>"
                     f"{_player(row, media_column, media_mode, src)}</div>{_timeline(bars, duration)}"
                     f"<ol class='segments'>{listing}</ol>{transcript}"
                     f"<figcaption>{item} · {_clock(duration)} · {len(items)} "
                     f"{'segments' if kind == 'transcription' else 'events'}</figcaption></figure>")
    if not parts:
        return ""
    legend = _legend(used, labels) if kind != "transcription" else ""
    return legend + f"<div class='labelled' id='drawn'>{''.join(parts)}</div>"
