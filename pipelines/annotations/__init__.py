"""Annotation types: one registry entry per type (label columns, controls, QC measures) pointing to the type's code
in ``types/`` (config builder, QC extract / agreement / consensus, converter, reference result); see ``registry``."""

from pipelines.annotations.registry import REGISTRY, AnnotationKind, kind

__all__ = ["REGISTRY", "AnnotationKind", "kind"]
