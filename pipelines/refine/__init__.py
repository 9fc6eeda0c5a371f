"""Refine: Label Studio results -> canonical Arrow records; normalisation; invalid labels quarantined."""

from pipelines.refine.convert import CONVERTERS, InvalidLabel, box_f1, cer, consensus, normalise_text
from pipelines.refine.refine import RefineResult, refine

__all__ = ["CONVERTERS", "InvalidLabel", "RefineResult", "box_f1", "cer", "consensus", "normalise_text", "refine"]
