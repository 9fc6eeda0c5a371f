"""Refine: Label Studio results -> canonical Arrow records; normalisation; invalid labels quarantined."""

from pipelines.refine.convert import CONVERTERS, InvalidLabel, normalise_text
from pipelines.refine.refine import RefineResult, refine

__all__ = ["CONVERTERS", "InvalidLabel", "RefineResult", "normalise_text", "refine"]
