"""What every converter (Label Studio result -> label columns) shares: the quarantine exception, the media facts of an
item, Korean text normalisation with an offset map (so spans annotated on the raw text land on the normalised record
text), and region helpers. Moved from ``pipelines/refine/base.py`` (refine imports it from here)."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from pipelines.spec.models import DatasetSpec

_WS = re.compile(r"\s+")
# Label Studio percentages can overshoot the media edge by rounding; beyond this it is a real error.
EDGE_TOLERANCE_PX = 1.0
# Audio/video regions may end a few frames past the clip by rounding of the player's clock.
EDGE_TOLERANCE_S = 0.05


class InvalidLabel(ValueError):
    """An annotation that cannot become a canonical record; ``reason`` is the quarantine reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class MediaFacts:
    """What a converter may know about the annotated item (from the de-identified manifest)."""

    width: int | None
    height: int | None
    duration_s: float | None
    text: str | None


def normalise_text(text: str) -> str:
    """Unicode NFC (Hangul composed), whitespace runs collapsed, trimmed."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _joins_previous(ch: str) -> bool:
    """Whether NFC may merge ``ch`` into the character before it (a combining mark, or a Hangul vowel/final
    jamo that composes with a leading consonant into one syllable)."""
    o = ord(ch)
    return unicodedata.combining(ch) != 0 or 0x1160 <= o <= 0x11FF or 0xD7B0 <= o <= 0xD7FF


class OffsetMap:
    """Maps character offsets in a raw text onto :func:`normalise_text` of it.

    Label Studio reports span offsets in the text it showed (the raw, de-identified text), while records carry
    the normalised text: NFC merges decomposed jamo into one syllable and whitespace runs collapse to one
    space, so offsets move. The raw text is cut into pieces NFC cannot reach across (a starter and what joins
    it) and each piece's position in the normalised text is recorded; O(len(text)). Should a piece boundary be
    wrong for some script, the built text differs from ``normalise_text`` and every lookup falls back to
    normalising the prefix (exact, quadratic, never silently wrong).
    """

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.text = normalise_text(raw)
        self._raw_starts: list[int] = []
        self._norm_starts: list[int] = []
        out: list[str] = []
        pos = 0
        pending_space = seen_text = False
        i = 0
        while i < len(raw):
            j = i + 1
            while j < len(raw) and _joins_previous(raw[j]):
                j += 1
            nfc = unicodedata.normalize("NFC", raw[i:j])
            self._raw_starts.append(i)
            if nfc.isspace():
                self._norm_starts.append(pos)
                pending_space = pending_space or seen_text
            else:
                if pending_space:
                    out.append(" ")
                    pos += 1
                    pending_space = False
                self._norm_starts.append(pos)
                piece = _WS.sub(" ", nfc)
                out.append(piece)
                pos += len(piece)
                seen_text = True
            i = j
        self._exact = "".join(out) == self.text

    def to_norm(self, offset: int) -> int:
        """The normalised offset of a raw offset (a boundary between raw characters)."""
        if offset <= 0:
            return 0
        if offset >= len(self.raw):
            return len(self.text)
        if not self._exact:
            return min(len(_WS.sub(" ", unicodedata.normalize("NFC", self.raw[:offset])).lstrip()), len(self.text))
        k = bisect_right(self._raw_starts, offset) - 1
        # An offset inside a merged piece (between a consonant and its vowel jamo) maps to the piece start.
        return min(self._norm_starts[k], len(self.text))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """A raw [start, end) span on the normalised text, trimmed of the whitespace at its edges."""
        s, e = self.to_norm(start), self.to_norm(end)
        while s < e and self.text[s].isspace():
            s += 1
        while e > s and self.text[e - 1].isspace():
            e -= 1
        return s, e


def utf16_to_codepoints(text: str, offset: int) -> int:
    """A UTF-16 code-unit offset (what a browser counts) as a Python code-point offset."""
    units = 0
    for i, ch in enumerate(text):
        if units >= offset:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def regions(result: list[dict[str, Any]], rtype: str, from_name: str | None = None) -> list[dict[str, Any]]:
    """Result regions of one control type (and name)."""
    return [r for r in result if r.get("type") == rtype and (from_name is None or r.get("from_name") == from_name)]


def region_labels(region: dict[str, Any], key: str) -> list[str]:
    """The labels a region carries under ``value[key]`` (e.g. ``polygonlabels``)."""
    labels = (region.get("value") or {}).get(key) or []
    return [str(v) for v in labels]


def one_label(spec: DatasetSpec, region: dict[str, Any], key: str, allowed: list[str] | None = None) -> str:
    """The single, known label of a region (quarantine reasons: empty, too many, unknown class)."""
    labels = region_labels(region, key)
    if not labels:
        raise InvalidLabel("label.empty", f"a {key} region without a label")
    if len(labels) > 1:
        raise InvalidLabel("label.too_many", f"a {key} region with labels {labels}")
    return check_label(spec, labels[0], allowed)


def check_label(spec: DatasetSpec, value: str, allowed: list[str] | None = None) -> str:
    """A label value normalised and checked against the spec's label set (or ``allowed``)."""
    value = normalise_text(value)
    if value not in (spec.labels if allowed is None else allowed):
        raise InvalidLabel("label.unknown_class", f"{value!r} is not in the spec's label set")
    return value


def textarea_texts(result: list[dict[str, Any]], from_name: str) -> list[str]:
    """Every text submitted in a TextArea, in order (one region with several texts, or several regions)."""
    out: list[str] = []
    for r in regions(result, "textarea", from_name):
        out += [str(t) for t in (r.get("value") or {}).get("text") or []]
    return out


def image_size(region: dict[str, Any], media: MediaFacts) -> tuple[float, float]:
    """The size a region was drawn on; it must be the item's media size (else pixels would be wrong)."""
    if not media.width or not media.height:
        raise InvalidLabel("media.no_size", "an image annotation on an item without a measured size")
    w_img = float(region.get("original_width") or media.width)
    h_img = float(region.get("original_height") or media.height)
    if (round(w_img), round(h_img)) != (media.width, media.height):
        raise InvalidLabel("label.size_mismatch",
                           f"annotated on {w_img:g}x{h_img:g}, media is {media.width}x{media.height}")
    return w_img, h_img


def percent_point(x: Any, y: Any, w_img: float, h_img: float) -> tuple[float, float]:
    """A Label Studio percent point in pixels, clamped to the image within the rounding tolerance."""
    px, py = float(x) * w_img / 100.0, float(y) * h_img / 100.0
    t = EDGE_TOLERANCE_PX
    if px < -t or py < -t or px > w_img + t or py > h_img + t:
        raise InvalidLabel("label.geometry_outside", f"point ({px:.1f},{py:.1f}) outside {w_img:g}x{h_img:g}")
    return round(min(max(px, 0.0), w_img), 2), round(min(max(py, 0.0), h_img), 2)
