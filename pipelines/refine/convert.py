"""Label Studio results -> canonical label values, one converter per annotation type (a view of the registry).

A converter gets one annotation's result list and the item's media facts and returns the label columns of
``pipelines.storage.records.LABEL_FIELDS`` for that type, or raises ``InvalidLabel`` with a reason code.
Each converter lives with its annotation type (``pipelines/annotations/types/``, the ``convert`` of its
``TypeCode``) and reads the control names of that type's config builder. Refine never computes agreement or
consensus: ``label_pull`` writes each item's consensus as Label Studio result regions (``layout.qc``) and a
converter turns that into the released label.
"""

from __future__ import annotations

from pipelines.annotations import REGISTRY
from pipelines.annotations.base import InvalidLabel, MediaFacts, normalise_text
from pipelines.annotations.code import Converter

__all__ = ["CONVERTERS", "Converter", "InvalidLabel", "MediaFacts", "normalise_text"]

# Every annotation type of the spec model has a converter; a test checks the registry against ANNOTATION_TYPES.
CONVERTERS: dict[str, Converter] = {t: k.code.convert for t, k in REGISTRY.items()}
