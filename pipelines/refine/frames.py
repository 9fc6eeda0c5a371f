"""Multi-frame DICOM annotated frame by frame: the consensus's regions converted frame by frame, tagged with
their frame.

Label Studio shows the frames of such an item as one image list (``<Image valueList="$frames">``) and stores, on
every region, ``item_index``: the position of the image it was drawn on, which is the DICOM frame index (frame
number - 1), since the list holds every frame in order. Each frame is the DICOM's Columns x Rows, so the percent
coordinates convert to DICOM pixels exactly as for a single image. The consensus itself is label_pull's (QC
matches regions only within a frame); its regions keep their ``item_index``, so here they are grouped by frame,
converted, and concatenated in frame order; ``dicom.region_frames`` gives the frame of each region of the label
column, in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.annotations.base import MediaFacts
from pipelines.spec.models import DatasetSpec
from pipelines.storage.records import FRAME_REGION_TYPES

Converter = Callable[[DatasetSpec, list[dict[str, Any]], MediaFacts], dict[str, Any]]


def frame_of(region: dict[str, Any]) -> int:
    """The frame index a region was drawn on (Label Studio's ``item_index``; absent on a one-image list)."""
    return int(region.get("item_index") or 0)


def by_frame(
    spec: DatasetSpec, result: list[dict[str, Any]], media: MediaFacts, convert: Converter
) -> tuple[dict[str, Any], list[int] | None]:
    """The consensus's regions converted frame by frame, and the frame of each region of the value.

    Types that are not regions (a classification of the whole item) are converted once, as for any item.
    """
    if spec.annotation.type not in FRAME_REGION_TYPES:
        return convert(spec, result, media), None
    field = ""
    merged: list[Any] = []
    region_frames: list[int] = []
    for frame in sorted({frame_of(r) for r in result}) or [0]:
        (field, regions), = convert(spec, [r for r in result if frame_of(r) == frame], media).items()
        merged += regions
        region_frames += [frame] * len(regions)
    return {field: merged}, region_frames
