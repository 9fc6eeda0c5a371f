"""The dataset-type spec: pydantic models, the catalog loader and the JSON Schema export.

The names below are loaded on first use (PEP 562): importing ``pipelines.spec.snapshot`` to build DAGs from the
parse view must not import the models (docs/adr/0038).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.spec.catalog import (
        Catalog,
        FieldInfo,
        GroupInfo,
        check_files,
        json_schema,
        json_schema_text,
        load_catalog,
        load_spec,
        parse_spec,
        reload_catalog,
        spec_hash,
    )
    from pipelines.spec.errors import SpecError, SpecIssue
    from pipelines.spec.models import ANNOTATION_TYPES, MODALITY_KINDS, SOURCE_KINDS, DatasetSpec
    from pipelines.spec.snapshot import default_schemas_dir

_WHERE = {
    **dict.fromkeys(("Catalog", "FieldInfo", "GroupInfo", "check_files", "json_schema", "json_schema_text",
                     "load_catalog", "load_spec", "parse_spec", "reload_catalog", "spec_hash"),
                    "pipelines.spec.catalog"),
    "default_schemas_dir": "pipelines.spec.snapshot",
    **dict.fromkeys(("SpecError", "SpecIssue"), "pipelines.spec.errors"),
    **dict.fromkeys(("ANNOTATION_TYPES", "MODALITY_KINDS", "SOURCE_KINDS", "DatasetSpec"), "pipelines.spec.models"),
}

__all__ = [
    "ANNOTATION_TYPES",
    "MODALITY_KINDS",
    "SOURCE_KINDS",
    "Catalog",
    "DatasetSpec",
    "FieldInfo",
    "GroupInfo",
    "SpecError",
    "SpecIssue",
    "check_files",
    "default_schemas_dir",
    "json_schema",
    "json_schema_text",
    "load_catalog",
    "load_spec",
    "parse_spec",
    "reload_catalog",
    "spec_hash",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value
