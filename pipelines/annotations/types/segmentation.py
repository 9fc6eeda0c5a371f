"""``segmentation``: brush masks, one per class (unpainted pixels are the background class).

Label Studio: ``BrushLabels name="label"`` on images. QC: mean per-class mask IoU; consensus = the best-agreeing
annotation. Brush masks arrive in Label Studio's bit-packed RLE of an RGBA buffer (thi.ng rle-pack); records carry
a plain run-length encoding of the binary mask, row-major, counts alternating and starting with background (the
first count may be 0), so any reader can decode it with a cumulative sum.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.annotations.base import InvalidLabel, MediaFacts, check_label, image_size, one_label, regions
from pipelines.annotations.code import family
from pipelines.annotations.lsconfig import _el, _image_only, _options
from pipelines.annotations.lsresults import brush, polygon_masks, region_id
from pipelines.annotations.measures import Consensus, _label_of, _regions, best_agreeing
from pipelines.spec.models import DatasetSpec, Segmentation

Mask = npt.NDArray[np.bool_]


# ------------------------------------------------------------------------------------ Label Studio config


def _segmentation(spec: DatasetSpec, view: ET.Element, to: str) -> None:
    a = spec.annotation
    assert isinstance(a, Segmentation)
    _image_only("segmentation", to, spec)
    # Unpainted pixels are the background class; it is not a brush label.
    _options(_el(view, "BrushLabels", name="label", toName=to), "Label", a.labels)


# -------------------------------------------------------------------------------------------------- QC


def extract(t: str, result: Sequence[Mapping[str, Any]]) -> Any:
    """One boolean mask per class."""
    if t == "segmentation":
        return _masks(result)
    raise ValueError(f"no QC extractor for annotation type {t!r}")


def _masks(result: Sequence[Mapping[str, Any]]) -> dict[str, Mask]:
    """Brush regions decoded (Label Studio RLE) into one boolean mask per class."""
    from label_studio_sdk.converter.brush import decode_rle

    masks: dict[str, Mask] = {}
    for r in _regions(result, "brushlabels"):
        v = r["value"]
        w, h = int(r["original_width"]), int(r["original_height"])
        m = np.asarray(decode_rle(v["rle"]), dtype=np.uint8).reshape(h, w, 4)[:, :, 3] > 0
        lab = _label_of(v, "brushlabels")
        masks[lab] = masks[lab] | m if lab in masks else m
    return masks


def mask_iou(a: Mapping[str, Mask], b: Mapping[str, Mask]) -> float:
    """Mean per-class IoU over the classes either annotator painted."""
    classes = set(a) | set(b)
    if not classes:
        return 1.0
    ious = []
    for c in sorted(classes):  # a fixed order: the float sum must not depend on the process's hash seed
        ma, mb = a.get(c), b.get(c)
        if ma is None or mb is None or ma.shape != mb.shape:
            ious.append(0.0)
            continue
        union = np.logical_or(ma, mb).sum()
        ious.append(float(np.logical_and(ma, mb).sum() / union) if union else 1.0)
    return sum(ious) / len(ious)


def agreement(t: str, a: Any, b: Any) -> float:
    """Mean per-class IoU."""
    if t == "segmentation":
        return mask_iou(a, b)
    raise ValueError(f"no agreement measure for annotation type {t!r}")


def consensus(t: str, values: Sequence[Any], agree: float, tracks: bool) -> Consensus:
    """The best-agreeing annotation (the medoid)."""
    return best_agreeing(partial(agreement, t), values, agree)


# ------------------------------------------------------------------------------------------- converter


class _Bits:
    """Big-endian bit reader over Label Studio's packed RLE bytes."""

    def __init__(self, data: list[int]) -> None:
        try:
            self.bits = np.unpackbits(np.asarray(data, dtype=np.uint8))
        except (ValueError, OverflowError, TypeError) as exc:
            raise InvalidLabel("label.mask_invalid", f"RLE bytes are not 0-255: {exc}") from None
        self.pos = 0

    def read(self, n: int) -> int:
        if self.pos + n > len(self.bits):
            raise InvalidLabel("label.mask_invalid", "RLE stream ends early")
        chunk = self.bits[self.pos:self.pos + n]
        self.pos += n
        value = 0
        for b in chunk:
            value = (value << 1) | int(b)
        return value


def decode_ls_rle(rle: list[int]) -> npt.NDArray[np.uint8]:
    """Label Studio brush RLE (thi.ng rle-pack) -> the flat uint8 buffer it encodes (RGBA for brushes)."""
    bits = _Bits(rle)
    num = bits.read(32)
    word = bits.read(5) + 1
    sizes = [bits.read(4) + 1 for _ in range(4)]
    out = np.zeros(num, dtype=np.uint8)
    i = 0
    while i < num:
        repeat = bits.read(1)
        j = i + 1 + bits.read(sizes[bits.read(2)])
        if j > num:
            raise InvalidLabel("label.mask_invalid", "an RLE run beyond the buffer")
        if repeat:
            out[i:j] = bits.read(word)
        else:
            for k in range(i, j):
                out[k] = bits.read(word)
        i = j
    return out


def mask_to_rle(mask: npt.NDArray[Any]) -> list[int]:
    """A binary mask (H x W) as row-major run lengths, starting with a (possibly empty) background run."""
    flat = np.asarray(mask, dtype=bool).ravel()
    if flat.size == 0:
        return []
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], changes, [flat.size])))
    counts = [int(c) for c in runs]
    return [0, *counts] if flat[0] else counts


def rle_to_mask(rle: list[int], width: int, height: int) -> npt.NDArray[np.bool_]:
    """The binary mask (H x W) of a canonical run-length list."""
    values = np.zeros(len(rle), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, np.asarray(rle, dtype=np.int64))
    if flat.size != width * height:
        raise ValueError(f"RLE covers {flat.size} pixels, a {width}x{height} mask has {width * height}")
    return flat.reshape(height, width)


def segmentation(spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts) -> dict[str, Any]:
    """``BrushLabels name="label"``: one mask per class (strokes of one class merged), canonical RLE."""
    per_label: dict[str, npt.NDArray[np.bool_]] = {}
    for r in regions(result, "brushlabels", "label"):
        label = one_label(spec, r, "brushlabels")
        w_img, h_img = image_size(r, media)
        w, h = round(w_img), round(h_img)
        v = r.get("value") or {}
        if v.get("format", "rle") != "rle" or not v.get("rle"):
            raise InvalidLabel("label.mask_invalid", f"{label}: brush without RLE data")
        flat = decode_ls_rle(list(v["rle"]))
        if flat.size != w * h * 4:
            raise InvalidLabel("label.size_mismatch", f"{label}: mask of {flat.size // 4} pixels on a {w}x{h} image")
        painted = flat[3::4].reshape(h, w) > 0  # the alpha channel carries the stroke
        per_label[label] = per_label[label] | painted if label in per_label else painted
    masks = []
    for label in [lab for lab in spec.labels if lab in per_label]:
        m = per_label[label]
        if not m.any():
            raise InvalidLabel("label.empty", f"{label}: a mask without painted pixels")
        masks.append({"label": check_label(spec, label), "rle": mask_to_rle(m), "width": int(m.shape[1]),
                      "height": int(m.shape[0])})
    return {"masks": masks}


# ----------------------------------------------------------------------------------- reference results


def from_truth(t: str, truth: Mapping[str, Any], *, to_name: str, size: tuple[int, int] | None = None,
               **_media: Any) -> list[dict[str, Any]] | None:
    """``{"polygons"}`` (pixels) painted as one brush mask per class."""
    if t == "segmentation" and isinstance(truth.get("polygons"), list) and size is not None:
        return [brush(label=label, mask=m, to_name=to_name, rid=region_id("truth", label))
                for label, m in polygon_masks(truth["polygons"], size).items()]
    return None


SEGMENTATION = family("segmentation", build=_segmentation, convert=segmentation, extract=extract,
                      agreement=agreement, consensus=consensus, from_truth=from_truth)
