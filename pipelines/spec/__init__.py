"""The dataset-type spec: pydantic models, the catalog loader and the JSON Schema export."""

from pipelines.spec.catalog import (
    Catalog,
    FieldInfo,
    GroupInfo,
    check_files,
    default_schemas_dir,
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
