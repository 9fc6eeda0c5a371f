"""Annotation types: one registry entry per type (label columns, controls, QC measures); see ``registry``."""

from pipelines.annotations.registry import REGISTRY, AnnotationKind, kind

__all__ = ["REGISTRY", "AnnotationKind", "kind"]
