"""De-identification (비식별화): text rules, image and video detectors, and the stage that applies them to a shard."""

from pipelines.collect.deid.image import Region, deid_image, find_regions, regions_in
from pipelines.collect.deid.stage import deidentify_shard
from pipelines.collect.deid.video import VideoDeid, VideoScan, deid_video, scan_video
from pipelines.pii.dictionaries import load_dictionary, resolve_dictionary, spec_dictionaries
from pipelines.pii.text import PLACEHOLDERS, Finding, TextDeidentifier, deid_text

__all__ = [
    "PLACEHOLDERS",
    "Finding",
    "Region",
    "TextDeidentifier",
    "VideoDeid",
    "VideoScan",
    "deid_image",
    "deid_text",
    "deid_video",
    "deidentify_shard",
    "find_regions",
    "load_dictionary",
    "regions_in",
    "resolve_dictionary",
    "scan_video",
    "spec_dictionaries",
]
