"""Multi-frame DICOM annotated frame by frame: one consensus per frame, regions tagged with their frame.

Label Studio shows the frames of such an item as one image list (``<Image valueList="$frames">``) and stores, on
every region, ``item_index``: the position of the image it was drawn on, which is the DICOM frame index (frame
number - 1), since the list holds every frame in order. Each frame is the DICOM's Columns x Rows, so the percent
coordinates convert to DICOM pixels exactly as for a single image. Regions are grouped by frame, converted and
merged across annotators frame by frame (a box on frame 2 never clusters with one on frame 5), then concatenated
in frame order; ``dicom.region_frames`` gives the frame of each region of the label column, in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.refine.agreement import Consensus, consensus
from pipelines.refine.base import MediaFacts
from pipelines.spec.models import DatasetSpec
from pipelines.storage.records import FRAME_REGION_TYPES

Converter = Callable[[DatasetSpec, list[dict[str, Any]], MediaFacts], dict[str, Any]]


def frame_of(region: dict[str, Any]) -> int:
    """The frame index a region was drawn on (Label Studio's ``item_index``; absent on a one-image list)."""
    return int(region.get("item_index") or 0)


def by_frame(
    spec: DatasetSpec, results: list[list[dict[str, Any]]], media: MediaFacts, convert: Converter
) -> tuple[Consensus, list[int] | None]:
    """One consensus over annotators' results, frame by frame, and the frame of each region of its value.

    Types that are not regions (a classification of the whole item) are merged once, as for any item.
    """
    if spec.annotation.type not in FRAME_REGION_TYPES:
        return consensus(spec.annotation.type, [convert(spec, r, media) for r in results]), None
    frames = sorted({frame_of(r) for result in results for r in result})
    field = ""
    merged: list[Any] = []
    region_frames: list[int] = []
    methods: set[str] = set()
    agreements: list[float] = []
    for frame in frames or [0]:
        values = [convert(spec, [r for r in result if frame_of(r) == frame], media) for result in results]
        c = consensus(spec.annotation.type, values)
        (field, regions), = c.value.items()
        merged += regions
        region_frames += [frame] * len(regions)
        methods.add(c.method)
        if c.agreement is not None:
            agreements.append(c.agreement)
    agreement = sum(agreements) / len(agreements) if agreements else None
    method = methods.pop() if len(methods) == 1 else "per_frame"
    return Consensus({field: merged}, method, agreement), region_frames
