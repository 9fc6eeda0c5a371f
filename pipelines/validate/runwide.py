"""Run-wide facts that no single batch can see: duplicate ids and contents, and the planned split of every record.

One pass over a few small columns (id, content, split columns) before the batches stream through GX writes one
narrow row per record into a DuckDB database in a temporary directory: the record's number, 64-bit hashes of its
id and content (DuckDB's ``hash``), and its split (computed per batch for hash-threshold plans) or its group and
stratum (stratified plans, ranked afterwards). Duplicates, the hash-rank of the groups and leakage are then
DuckDB queries under a ``memory_limit``, spilling to that directory: Python holds no per-record or per-group
state, so memory does not grow with the run (docs/adr/0022-run-wide-checks-in-duckdb.md). The facts of every
record come back in record order, one window per streamed batch.

A 64-bit hash collision in a run of 10^7 records has a probability of about 3e-6, and would only flag two records
for an inspector to look at.

Splits are planned exactly as publish plans them, by the shared planner (``pipelines.storage.splits``); the
stratified hash-rank is the same arithmetic as ``rank_table`` written in SQL (a unit test compares the two).
The leakage check asks "would publishing this run put the same content in two splits?".
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.spec import DatasetSpec
from pipelines.validate.checks import content_kind

NO_SPLIT = -1
MEMORY_LIMIT = "128MB"  # DuckDB's share; past it, its aggregations, joins and sorts spill to the temp directory
_THREADS = 2


def content_of(batch: pa.RecordBatch, spec: DatasetSpec) -> pa.Array | None:
    """The column that identifies a record's content: the media sha256, else the (normalised) text."""
    kind = content_kind(spec)
    if kind == "media":
        return pc.struct_field(batch.column(batch.schema.get_field_index("media")), "sha256")
    if kind == "text":
        return batch.column(batch.schema.get_field_index("text"))
    return None


@dataclass(frozen=True)
class RunWindow:
    """The run-wide facts of one batch of records (rows ``start:stop`` of the run)."""

    start: int
    stop: int
    dup_id: npt.NDArray[np.bool_]
    dup_content: npt.NDArray[np.bool_]
    leak: pa.Array  # string: the splits a record's content is planned into ("test|train"), null when one
    split_code: npt.NDArray[np.int8]
    split_names: list[str]

    def split_array(self) -> pa.Array:
        codes = self.split_code.astype(np.int64)
        return pa.array(self.split_names, pa.string()).take(pa.array(codes, mask=codes < 0))

    def splits(self) -> list[str | None]:
        out: list[str | None] = self.split_array().to_pylist()
        return out


@dataclass
class RunIndex:
    """The run's facts in DuckDB and a cursor over them in record order; a context manager (removes its files).

    Attributes:
        split_names: The planned splits (publish's order).
        split_method: Publish's split method for this spec.
        split_counts: Records per planned split.
        duplicate_ids: Distinct ids seen more than once.
        duplicate_contents: Distinct contents seen more than once.
        leaking_contents: Distinct contents planned into more than one split.
    """

    split_names: list[str]
    split_method: str
    split_counts: dict[str, int] = field(default_factory=dict)
    duplicate_ids: int = 0
    duplicate_contents: int = 0
    leaking_contents: int = 0
    _con: Any = None
    _tmp: Path | None = None
    _reader: Any = None
    _buf: pa.RecordBatch | None = None
    _pos: int = 0
    _at: int = 0

    def window(self, start: int, stop: int) -> RunWindow:
        """The facts of records ``start:stop``; windows are read in order, each after the one before."""
        if start != self._at:
            raise ValueError(f"run index read out of order: at record {self._at}, asked for {start}")
        parts: list[pa.RecordBatch] = []
        need = stop - start
        while need > 0:
            if self._buf is None or self._pos >= self._buf.num_rows:
                self._buf, self._pos = self._reader.read_next_batch(), 0
                continue
            take = min(need, self._buf.num_rows - self._pos)
            parts.append(self._buf.slice(self._pos, take))
            self._pos += take
            need -= take
        self._at = stop
        t = pa.Table.from_batches(parts, schema=self._reader.schema) if parts else None

        def col(name: str) -> pa.ChunkedArray:
            assert t is not None
            return t.column(name)

        if t is None:
            return RunWindow(start, stop, np.zeros(0, bool), np.zeros(0, bool), pa.array([], pa.string()),
                             np.zeros(0, np.int8), self.split_names)
        return RunWindow(
            start, stop,
            dup_id=col("dup_id").to_numpy().astype(bool),
            dup_content=col("dup_content").to_numpy().astype(bool),
            leak=col("leak").combine_chunks(),
            split_code=pc.fill_null(col("code"), NO_SPLIT).to_numpy().astype(np.int8),
            split_names=self.split_names,
        )  # fmt: skip

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> RunIndex:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _connect(tmp: Path) -> Any:
    import duckdb

    # In memory, but under the memory limit its tables and operators spill to the temp directory.
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = '{(tmp / 'spill').as_posix()}'")
    con.execute(f"SET threads = {_THREADS}")
    con.execute("SET preserve_insertion_order = false")
    return con


def rank_sql(dataset: str, plan: dict[str, float]) -> tuple[str, list[Any]]:
    """``splits.rank_table`` as one query over ``pairs(g, s, n)``: each group's split code, same arithmetic.

    A group joins the stratum most of its items are in (ties: the smallest); within a stratum, groups in order of
    ``hash_unit`` (ties: by key) fill the splits by item count; a group goes where the midpoint of its items falls.
    Strings compare by bytes (DuckDB's default collation), as Arrow's sort does.
    """
    bounds, acc = [], 0.0
    for r in plan.values():  # the same float additions as splits.cut_codes
        acc += r
        bounds.append(acc)
    cut = " + ".join("(p >= ?::DOUBLE)::INTEGER" for _ in bounds)
    sql = f"""
        WITH totals AS (
            SELECT g, s, n, sum(n) OVER (PARTITION BY g)::BIGINT AS total,
                   row_number() OVER (PARTITION BY g ORDER BY n DESC, s ASC) AS k
            FROM pairs),
        units AS (
            SELECT g, s, total,
                   ('0x' || left(sha256(? || g), 16))::UBIGINT::DOUBLE / 18446744073709551616.0::DOUBLE AS u
            FROM totals WHERE k = 1),
        placed AS (
            SELECT g, ((sum(total) OVER (PARTITION BY s ORDER BY u, g ROWS UNBOUNDED PRECEDING) - total)::DOUBLE
                       + total::DOUBLE / 2.0::DOUBLE)
                      / (sum(total) OVER (PARTITION BY s))::DOUBLE AS p
            FROM units)
        SELECT g, least({cut}, {len(bounds) - 1})::TINYINT AS code FROM placed"""
    return sql, [f"{dataset}\x1f", *bounds]


def build_run_index(pf: pq.ParquetFile, spec: DatasetSpec, *, batch_rows: int) -> RunIndex:
    """One pass over small columns into DuckDB; duplicates, group ranks and leaks as out-of-core queries."""
    from pipelines.storage.splits import group_key_array, new_plan, split_columns, strata_array

    plan = new_plan(spec)
    names = list(plan.plan)
    stratified = bool(plan.stratify_by)
    columns = list(dict.fromkeys(["item_id", *split_columns(spec)]))
    kind = content_kind(spec)
    if kind is not None:
        columns.append("media" if kind == "media" else "text")
    tmp = Path(tempfile.mkdtemp(prefix="datadam-runwide-"))
    index = RunIndex(split_names=names, split_method=plan.method, _tmp=tmp)
    try:
        con = index._con = _connect(tmp)
        con.execute("CREATE TABLE recs (rn BIGINT, idh UBIGINT, ch UBIGINT, g VARCHAR, s VARCHAR, code TINYINT)")
        at = 0
        for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
            n = batch.num_rows
            content = content_of(batch, spec)
            groups = group_key_array(spec, batch)
            part = pa.table({
                "rn": pa.array(np.arange(at, at + n, dtype=np.int64)),
                "id": batch.column(batch.schema.get_field_index("item_id")),
                "c": content if content is not None else pa.nulls(n, pa.string()),
                "g": groups if stratified else pa.nulls(n, pa.string()),
                "s": strata_array(spec, batch) if stratified else pa.nulls(n, pa.string()),
                "code": pa.nulls(n, pa.int8()) if stratified or not names else pa.array(plan.codes(groups)),
            })  # fmt: skip
            # A null id hashes as "" (two records without an id share one); a record without content has none.
            con.register("part", part)
            con.execute("INSERT INTO recs SELECT rn, hash(coalesce(id, '')), "
                        "CASE WHEN c IS NULL THEN NULL ELSE hash(c) END, g, s, code FROM part")
            con.unregister("part")
            at += n
        if stratified and names:
            con.execute("CREATE TABLE pairs AS SELECT g, coalesce(s, '') AS s, count(*)::BIGINT AS n "
                        "FROM recs GROUP BY g, coalesce(s, '')")
            sql, params = rank_sql(spec.id, plan.plan)
            con.execute(f"CREATE TABLE grp AS {sql}", params)
            con.execute("CREATE VIEW coded AS SELECT r.rn, r.idh, r.ch, grp.code FROM recs r "
                        "LEFT JOIN grp ON r.g = grp.g")
        else:
            con.execute("CREATE VIEW coded AS SELECT rn, idh, ch, code FROM recs")
        con.execute("CREATE TABLE split_names (code TINYINT, name VARCHAR)")
        if names:
            con.executemany("INSERT INTO split_names VALUES (?, ?)", list(enumerate(names)))
        con.execute("CREATE TABLE dup_id AS SELECT idh FROM recs GROUP BY idh HAVING count(*) > 1")
        con.execute("CREATE TABLE dup_c AS SELECT ch FROM recs WHERE ch IS NOT NULL GROUP BY ch HAVING count(*) > 1")
        # Only content seen twice can sit in two splits: look at those records only.
        con.execute("CREATE TABLE leak AS SELECT c.ch, array_to_string(list_sort(list(DISTINCT sn.name)), '|') "
                    "AS label FROM coded c JOIN dup_c USING (ch) JOIN split_names sn USING (code) "
                    "GROUP BY c.ch HAVING count(DISTINCT c.code) > 1")
        index.duplicate_ids = _count(con, "dup_id")
        index.duplicate_contents = _count(con, "dup_c")
        index.leaking_contents = _count(con, "leak")
        counts = dict(con.execute("SELECT code, count(*) FROM coded WHERE code >= 0 GROUP BY code").fetchall())
        index.split_counts = {name: int(counts.get(i, 0)) for i, name in enumerate(names)}
        index._reader = con.sql(
            "SELECT c.rn, d.idh IS NOT NULL AS dup_id, dc.ch IS NOT NULL AS dup_content, l.label AS leak, c.code "
            "FROM coded c LEFT JOIN dup_id d ON c.idh = d.idh LEFT JOIN dup_c dc ON c.ch = dc.ch "
            "LEFT JOIN leak l ON c.ch = l.ch ORDER BY c.rn").to_arrow_reader(max(1, batch_rows))
    except BaseException:
        index.close()
        raise
    return index


def _count(con: Any, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def describe(index: RunIndex) -> dict[str, Any]:
    """The split plan's summary for quality.json."""
    return {"method": index.split_method, "records": index.split_counts,
            "duplicate_ids": index.duplicate_ids, "duplicate_contents": index.duplicate_contents,
            "leaking_contents": index.leaking_contents}
