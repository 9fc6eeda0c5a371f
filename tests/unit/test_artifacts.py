"""The artifact catalogue (pipelines/storage/artifacts.py): every entry round-trips through a real ``file://`` store in
its own schema or shape, and refuses what is not."""

from __future__ import annotations

import re
import types
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from pipelines.spec import load_catalog
from pipelines.storage import artifacts, open_store
from pipelines.storage.records import record_schema

pytestmark = pytest.mark.unit
RUN = "manual__2026-01-01T00:00:00+00:00"


def _value(t: pa.DataType) -> Any:
    """One valid value of an Arrow type (a tiny row for a round trip)."""
    if pa.types.is_struct(t):
        return {t.field(i).name: _value(t.field(i).type) for i in range(t.num_fields)}
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        n = t.list_size if pa.types.is_fixed_size_list(t) else 1
        return [_value(t.value_type)] * n
    if pa.types.is_map(t):
        return [(_value(t.key_type), _value(t.item_type))]
    if pa.types.is_boolean(t):
        return True
    if pa.types.is_integer(t):
        return 1
    if pa.types.is_floating(t):
        return 0.5
    if pa.types.is_timestamp(t):
        return datetime(2026, 1, 1, tzinfo=UTC)
    if pa.types.is_date(t):
        return datetime(2026, 1, 1).date()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return b"x"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "x"
    if pa.types.is_dictionary(t):
        return _value(t.value_type)
    raise AssertionError(f"no sample value for {t}")


def _row(schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([{f.name: _value(f.type) for f in schema}], schema=schema)


def _doc(shape: type) -> dict[str, Any]:
    samples: dict[Any, Any] = {str: "x", int: 1, float: 0.5, bool: True}

    def one(hint: Any) -> Any:
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            return one(next(h for h in typing.get_args(hint) if h is not type(None)))
        base = typing.get_origin(hint) or hint
        return samples.get(base, base() if base in (dict, list) else "x")

    return {k: one(h) for k, h in typing.get_type_hints(shape).items()}


@pytest.mark.parametrize("spec_id", ["book-mrc", "breast-cancer-mammography-segmentation",
                                     "broadcast-conversation-speech"])  # plain, DICOM, multimodal records
def test_each_table_artifact_round_trips_in_its_schema_and_refuses_another(tmp_path: Path, spec_id: str) -> None:
    store = open_store(str(tmp_path))
    spec = load_catalog().get(spec_id)
    tables = [a for a in artifacts.ARTIFACTS.values() if isinstance(a, artifacts.TableArtifact)]
    assert {a.name for a in tables} == {"label_annotations", "label_qc", "records", "split_codes"}
    for art in tables:
        schema = art.schema_of(spec)
        table = _row(schema)
        if art.schema is not None:
            key = art.write(store, spec.id, RUN, table)
        else:  # the records: streamed by refine in the spec's schema
            with art.writer(store, spec, RUN) as w:
                w.write_table(table)
            key = art.key(spec.id, RUN)
        assert key == art.key(spec.id, RUN) and art.exists(store, spec.id, RUN)
        back = art.read(store, spec.id, RUN)
        assert back.schema.equals(schema, check_metadata=False), art.name
        assert back.to_pylist() == table.to_pylist(), art.name
        wrong = table.drop_columns([schema.names[-1]])
        with pytest.raises(artifacts.ArtifactError, match=art.name):
            art.write(store, spec.id, RUN, wrong, spec=spec)


def test_records_schema_is_the_specs() -> None:
    spec = load_catalog().get("book-mrc")
    with pytest.raises(artifacts.ArtifactError, match="depends on the spec"):
        artifacts.RECORDS.schema_of()
    assert artifacts.RECORDS.schema_of(spec).equals(record_schema(spec))


def test_each_json_artifact_round_trips_in_its_shape_and_refuses_a_broken_one(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    docs = [a for a in artifacts.ARTIFACTS.values() if isinstance(a, artifacts.JsonArtifact)]
    assert len(docs) == 8
    for art in docs:
        assert art.shape is not dict, f"{art.name} has no shape"
        doc = _doc(art.shape)
        assert art.read_if_exists(store, "ds", RUN) is None
        art.write(store, "ds", RUN, {**doc, "extra": "kept"})
        assert art.read(store, "ds", RUN) == {**doc, "extra": "kept"}
        first = next(iter(doc))
        with pytest.raises(artifacts.ArtifactError, match=f"missing '{first}'"):
            art.write(store, "ds", RUN, {k: v for k, v in doc.items() if k != first})
        typed = next(k for k, v in doc.items() if isinstance(v, (int, str)) and not isinstance(v, bool))
        with pytest.raises(artifacts.ArtifactError, match=f"'{typed}' is list"):
            art.write(store, "ds", RUN, {**doc, typed: []})
    with pytest.raises(artifacts.ArtifactError, match="not a JSON object"):
        artifacts.QUALITY.write(store, "ds", RUN, [1])


def test_add_keeps_what_the_writer_wrote(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    doc = _doc(artifacts.GATE_REWORK.shape)
    artifacts.GATE_REWORK.write(store, "ds", RUN, doc)
    out = artifacts.GATE_REWORK.add(store, "ds", RUN, reopened={"tasks": 2})
    assert out == {**doc, "reopened": {"tasks": 2}} == artifacts.GATE_REWORK.read(store, "ds", RUN)


def test_item_parts_and_data_docs(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    items = artifacts.ITEMS
    for shard in (1, 0):
        items.write(store, "ds", RUN, shard, _row(items.schema))
    store.write_table(f"{items.key('ds', RUN)}/quarantine-00000.parquet", pa.table({"x": [1]}))  # not a part
    assert [k.rsplit("/", 1)[-1] for k in items.part_keys(store, "ds", RUN)] == ["part-00000.parquet",
                                                                                  "part-00001.parquet"]
    assert items.dataset(store, "ds", RUN).count_rows() == 2
    with pytest.raises(artifacts.ArtifactError, match="items"):
        items.write(store, "ds", RUN, 2, pa.table({"x": [1]}))
    page = artifacts.DATA_DOCS.page("ds", RUN, "index.html")
    assert page.startswith(artifacts.DATA_DOCS.key("ds", RUN) + "/")
    assert artifacts.REPORT.write(store, "ds", RUN, "<p>ok</p>") == artifacts.REPORT.key("ds", RUN)
    assert artifacts.REPORT.read(store, "ds", RUN) == "<p>ok</p>"


def test_entry_by_name() -> None:
    assert artifacts.entry("label_qc") is artifacts.LABEL_QC
    with pytest.raises(KeyError, match="no artifact 'qc'"):
        artifacts.entry("qc")


def test_the_architecture_doc_lists_every_artifact_as_catalogued() -> None:
    """docs/architecture.md's table names each entry with its key, writing stage and readers, as the code has them."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = {const: (key, stage, readers.strip()) for const, key, stage, readers in
            re.findall(r"^\| `([A-Z_]+)` \| `([^`]+)` \| ([a-z_]+) \| ([^|]+) \|", text, re.M)}
    entries = {n: getattr(artifacts, n) for n in dir(artifacts) if n.isupper() and n != "ARTIFACTS"
               and isinstance(getattr(artifacts, n), artifacts.Artifact)}
    assert set(rows) == set(entries)
    for const, art in entries.items():
        key = art.key("DS", "RUN").removeprefix("runs/DS/RUN/")
        if isinstance(art, artifacts.PartsArtifact):
            key += "/part-*.parquet"
        assert rows[const] == (key, art.stage, ", ".join(art.readers)), const
