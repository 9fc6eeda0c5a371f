"""The artifact catalogue: every file one stage of a run leaves for another, by name (docs/adr/0030).

Kedro's data catalog is the model: an entry names an artifact, says which stage writes it and which read it, where
it lives (its key function), what it holds (an Arrow schema for Parquet, a ``TypedDict`` shape for JSON) and reads
and writes it. Stages exchange these files only through their entries (``artifacts.LABEL_QC.read(store, ds, run)``,
``artifacts.entry("label_qc")``), never by file name; ``tests/unit/test_storage_boundaries.py`` bans a
``layout.run_file(..., "<a catalogued file>")`` outside ``pipelines/storage`` and ``tests/unit/test_artifacts.py``
round-trips every entry through a real ``file://`` store.

A writer checks what it is given: a Parquet table must have the entry's schema (the records' schema is
``record_schema(spec)``), a JSON document must carry its shape's required keys with values of their types (a
reader may rely on them). Extra JSON keys are allowed: a shape names what readers depend on, not every field.
Readers do not validate: a run written before a key was added must still be readable.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypedDict, Union

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from pipelines.spec.models import DatasetSpec
from pipelines.storage import layout
from pipelines.storage.records import record_schema
from pipelines.storage.schemas import ANNOTATION_SCHEMA, ITEM_SCHEMA, QC_SCHEMA, SPLIT_SCHEMA
from pipelines.storage.store import ObjectStore


class ArtifactError(ValueError):
    """A writer was handed something that is not the artifact's schema or shape."""


# --- JSON shapes: the keys a reader relies on ------------------------------------------------------------------


class CollectPlan(TypedDict):
    dataset: str
    run_id: str
    source: dict[str, Any]
    binding: dict[str, Any] | None
    collector: str
    items: int
    shard_size: int
    shards: list[dict[str, int]]


class RefineSummary(TypedDict):
    items_in: int
    records: int
    quarantined: int
    reasons: dict[str, int]
    masked: dict[str, int]


class QcSummary(TypedDict):
    dataset: str
    run_id: str
    items_in_run: int
    annotation_type: str
    agreement: dict[str, Any]
    gold: dict[str, Any]
    review: dict[str, Any]
    annotators: list[dict[str, Any]]
    review_plan: dict[str, Any]
    review_project_id: int | None


class ReviewSample(TypedDict):
    project_id: int | None
    item_ids: list[str]


class Quality(TypedDict):
    success: bool
    items: int
    checks: list[dict[str, Any]]
    checks_failed: list[str]
    checks_warned: list[str]
    not_measured: list[str]
    characteristics: dict[str, Any]
    delivery: dict[str, Any]
    records_sha256: str


class GateResult(TypedDict):
    status: str
    by: str
    note: str
    automatic: bool
    dataset: str
    run_id: str
    decided_at: str
    quality_sha256: str
    records_sha256: str | None
    delivery: str | None
    checks_failed: list[str]
    not_measured: list[str]


class GateDecision(TypedDict):
    decision: str
    by: str
    note: str
    at: str
    quality_sha256: str
    via: str
    dataset: str
    run_id: str
    history: list[dict[str, Any]]


class GateRework(TypedDict):
    dataset: str
    run_id: str
    by: str
    note: str
    quality_sha256: str
    items: dict[str, list[str]]
    run_wide_checks: list[str]


def _type_ok(value: Any, hint: Any) -> bool:
    """Does ``value`` have the (top-level) type ``hint`` names: ``int``, ``str | None``, ``list[str]`` ..."""
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    base = origin or hint
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, base)


def shape_errors(doc: Any, shape: type) -> list[str]:
    """What is wrong with ``doc`` as a ``shape`` (a ``TypedDict``): missing required keys, values of another type."""
    if not isinstance(doc, dict):
        return [f"not a JSON object but {type(doc).__name__}"]
    hints = typing.get_type_hints(shape)
    required: frozenset[str] = getattr(shape, "__required_keys__", frozenset(hints))
    errors = [f"missing {k!r}" for k in sorted(required - doc.keys())]
    errors += [f"{k!r} is {type(doc[k]).__name__}, not {hint}" for k, hint in hints.items()
               if k in doc and not _type_ok(doc[k], hint)]
    return errors


# --- entries ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    name: str
    stage: str  # the stage that writes it (its run folder)
    file: str
    holds: str
    readers: tuple[str, ...]
    restricted: bool = field(default=False, kw_only=True)  # under restricted/: it may hold personal data

    def key(self, dataset: str, run_id: str) -> str:
        if self.restricted:
            return layout.restricted_run_file(dataset, run_id, self.stage, self.file)
        return layout.run_file(dataset, run_id, self.stage, self.file)

    def exists(self, store: ObjectStore, dataset: str, run_id: str) -> bool:
        return store.exists(self.key(dataset, run_id))

    def uri(self, store: ObjectStore, dataset: str, run_id: str) -> str:
        return store.uri(self.key(dataset, run_id))

    @property
    def kind(self) -> str:
        return "json"


@dataclass(frozen=True)
class JsonArtifact(_Entry):
    """A JSON document of a run; ``shape`` is the ``TypedDict`` of the keys its readers rely on."""

    shape: type = field(default=dict, kw_only=True)

    def read(self, store: ObjectStore, dataset: str, run_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = store.read_json(self.key(dataset, run_id))
        return doc

    def read_if_exists(self, store: ObjectStore, dataset: str, run_id: str) -> dict[str, Any] | None:
        return self.read(store, dataset, run_id) if self.exists(store, dataset, run_id) else None

    def read_bytes(self, store: ObjectStore, dataset: str, run_id: str) -> bytes:
        """The document as stored (what a sha256 of it, recorded by a later stage, is taken over)."""
        return store.read_bytes(self.key(dataset, run_id))

    def check(self, doc: Any) -> None:
        errors = shape_errors(doc, self.shape)
        if errors:
            raise ArtifactError(f"{self.name}: not a {self.shape.__name__}: {'; '.join(errors)}")

    def write(self, store: ObjectStore, dataset: str, run_id: str, doc: Any) -> str:
        """Check ``doc`` against the shape, write it; returns its key."""
        self.check(doc)
        key = self.key(dataset, run_id)
        store.write_json(key, doc)
        return key

    def add(self, store: ObjectStore, dataset: str, run_id: str, **keys: Any) -> dict[str, Any]:
        """Add ``keys`` to the stored document (a later stage's note on it, e.g. rework's ``reopened``); the rest is
        kept as its writer wrote it. Returns the new document."""
        doc = {**self.read(store, dataset, run_id), **keys}
        store.write_json(self.key(dataset, run_id), doc)
        return doc


@dataclass(frozen=True)
class PageArtifact(_Entry):
    """A text page of a run (HTML)."""

    @property
    def kind(self) -> str:
        return "html"

    def read(self, store: ObjectStore, dataset: str, run_id: str) -> str:
        return store.read_text(self.key(dataset, run_id))

    def write(self, store: ObjectStore, dataset: str, run_id: str, text: str) -> str:
        key = self.key(dataset, run_id)
        store.write_text(key, text)
        return key


@dataclass(frozen=True)
class TableArtifact(_Entry):
    """A Parquet table of a run: ``schema`` fixed, or ``schema_for(spec)`` when it depends on the spec."""

    schema: pa.Schema | None = field(default=None, kw_only=True)
    schema_for: Callable[[DatasetSpec], pa.Schema] | None = field(default=None, kw_only=True)

    @property
    def kind(self) -> str:
        return "parquet"

    def schema_of(self, spec: DatasetSpec | None = None) -> pa.Schema:
        if self.schema is not None:
            return self.schema
        if self.schema_for is None or spec is None:
            raise ArtifactError(f"{self.name}: its schema depends on the spec; pass it")
        return self.schema_for(spec)

    def read(self, store: ObjectStore, dataset: str, run_id: str, *, columns: list[str] | None = None) -> pa.Table:
        return store.read_table(self.key(dataset, run_id), columns=columns)

    def _check(self, schema: pa.Schema, spec: DatasetSpec | None) -> None:
        want = self.schema_of(spec)
        if not schema.equals(want, check_metadata=False):
            raise ArtifactError(f"{self.name}: the table's schema is not the artifact's:\n{schema}\n!=\n{want}")

    def write(self, store: ObjectStore, dataset: str, run_id: str, table: pa.Table,
              *, spec: DatasetSpec | None = None) -> str:
        """Check the table's schema, write it; returns its key."""
        self._check(table.schema, spec)
        key = self.key(dataset, run_id)
        store.write_table(key, table)
        return key

    @contextmanager
    def writer(self, store: ObjectStore, spec: DatasetSpec, run_id: str) -> Iterator[pq.ParquetWriter]:
        """Stream the table batch by batch (bounded memory), in the artifact's schema for ``spec``."""
        with store.parquet_writer(self.key(spec.id, run_id), self.schema_of(spec)) as w:
            yield w


@dataclass(frozen=True)
class PartsArtifact(_Entry):
    """A folder of Parquet parts one stage writes shard by shard (``part-<n:05d>.parquet``); other files (its
    ``quarantine-*``) may lie beside them, so readers take only the parts."""

    schema: pa.Schema = field(default_factory=pa.schema, kw_only=True)
    pattern: str = field(default="part-*.parquet", kw_only=True)

    @property
    def kind(self) -> str:
        return "parquet parts"

    def key(self, dataset: str, run_id: str) -> str:
        """The folder (``file`` is the pattern's place, not one object)."""
        return layout.run(dataset, run_id, self.stage)

    def part(self, dataset: str, run_id: str, shard: int) -> str:
        return layout.run_file(dataset, run_id, self.stage, f"part-{shard:05d}.parquet")

    def part_keys(self, store: ObjectStore, dataset: str, run_id: str) -> list[str]:
        """The parts of the run, sorted (empty if the stage wrote none)."""
        return [o.key for o in store.list(self.key(dataset, run_id), recursive=False)
                if o.key.rsplit("/", 1)[-1].startswith("part-") and o.key.endswith(".parquet")]

    def dataset(self, store: ObjectStore, dataset: str, run_id: str) -> pads.Dataset:
        return store.dataset(self.key(dataset, run_id), pattern=self.pattern)

    def write(self, store: ObjectStore, dataset: str, run_id: str, shard: int, table: pa.Table) -> str:
        if not table.schema.equals(self.schema, check_metadata=False):
            raise ArtifactError(f"{self.name}: the table's schema is not the artifact's:\n{table.schema}")
        key = self.part(dataset, run_id, shard)
        store.write_table(key, table)
        return key


class DocsArtifact(_Entry):
    """A folder of pages (Great Expectations' Data Docs) another stage copies as a whole."""

    @property
    def kind(self) -> str:
        return "html folder"

    def key(self, dataset: str, run_id: str) -> str:
        return layout.run_file(dataset, run_id, self.stage, self.file)

    def page(self, dataset: str, run_id: str, rel: str) -> str:
        return layout.run_file(dataset, run_id, self.stage, f"{self.file}/{rel}")


# The catalogue. Stage names are the DAG's task ids (orchestration.stages); ``readers`` names the stages (and CLI
# groups) that read an artifact.
ITEMS = PartsArtifact(
    "items", "deidentify", "part-*.parquet", "the de-identified item manifests, one part per collect shard",
    ("label_push", "label_wait", "label_pull", "refine", "cli label"), schema=ITEM_SCHEMA)
COLLECT_PLAN = JsonArtifact(
    "collect_plan", "collect", "plan.json", "the run's shards, its source and its source binding (if any)",
    ("collect", "validate", "publish"), shape=CollectPlan)
LABEL_ANNOTATIONS = TableArtifact(
    "label_annotations", "label_pull", "annotations.parquet", "the annotations as pulled from Label Studio",
    ("refine",), schema=ANNOTATION_SCHEMA)
LABEL_QC = TableArtifact(
    "label_qc", "label_pull", "qc.parquet", "per-item QC: agreement, review, gold and the consensus refine releases",
    ("refine",), schema=QC_SCHEMA)
LABEL_QC_SUMMARY = JsonArtifact(
    "label_qc_summary", "label_pull", "qc_summary.json",
    "dataset agreement, gold accuracy, semantic accuracy, annotator scorecards", ("cli label",), shape=QcSummary)
REVIEW_SAMPLE = JsonArtifact(
    "review_sample", "label_pull", "review_sample.json", "the review project and the items sampled into it",
    ("review_wait",), shape=ReviewSample)
RECORDS = TableArtifact(
    "records", "refine", "records.parquet", "the refined canonical records", ("validate", "publish"),
    schema_for=record_schema)
REFINE_SUMMARY = JsonArtifact(
    "refine_summary", "refine", "summary.json", "counts of refine: items in, records, quarantined, masked",
    ("validate",), shape=RefineSummary)
QUALITY = JsonArtifact(
    "quality", "validate", "quality.json", "the machine-readable quality report of the validation",
    ("gate", "publish", "cli qa"), shape=Quality)
SPLIT_CODES = TableArtifact(
    "split_codes", "validate", "splits.parquet", "each record's planned split, in record order (an index into the "
    "spec's splits); publish routes by it instead of hashing every group again", ("publish",), schema=SPLIT_SCHEMA)
REPORT = PageArtifact(
    "report", "validate", "report.html", "the QA report page of the validation", ("gate", "publish", "cli qa"))
DATA_DOCS = DocsArtifact(
    "data_docs", "validate", "data_docs", "Great Expectations' Data Docs (the report links them relatively)",
    ("publish",))
GATE_RESULT = JsonArtifact(
    "gate_result", "gate", "result.json", "the gate's outcome (what publish reads) and the quality.json it was "
    "decided on", ("publish", "cli qa"), shape=GateResult)
GATE_DECISION = JsonArtifact(
    "gate_decision", "gate", "decision.json", "the inspector's recorded decision (cli qa or Airflow HITL writes it)",
    ("gate",), shape=GateDecision)
GATE_REWORK = JsonArtifact(
    "gate_rework", "gate", "rework.json", "the items an inspector sent back for rework (the label stage re-opens "
    "them and records that here)", ("label_wait",), shape=GateRework)

Artifact = PartsArtifact | JsonArtifact | TableArtifact | PageArtifact | DocsArtifact

ARTIFACTS: dict[str, Artifact] = {a.name: a for a in (
    ITEMS, COLLECT_PLAN, LABEL_ANNOTATIONS, LABEL_QC, LABEL_QC_SUMMARY, REVIEW_SAMPLE, RECORDS, REFINE_SUMMARY,
    QUALITY, SPLIT_CODES, REPORT, DATA_DOCS, GATE_RESULT, GATE_DECISION, GATE_REWORK,
)}


def entry(name: str) -> Artifact:
    """The catalogue's entry for ``name``."""
    try:
        return ARTIFACTS[name]
    except KeyError:
        raise KeyError(f"no artifact {name!r} in the catalogue ({', '.join(ARTIFACTS)})") from None
