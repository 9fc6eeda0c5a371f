"""The run-wide index in DuckDB plans the same splits as publish's planner, whatever the batch size."""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from pipelines.storage.splits import rank_table
from pipelines.validate.runwide import rank_sql

pytestmark = pytest.mark.unit

PLAN = {"train": 0.8, "validation": 0.1, "test": 0.1}


def _pairs(seed: int) -> pa.Table:
    """(group, stratum, items) rows with ties in a group's strata, an empty stratum and non-ASCII keys."""
    rnd = random.Random(seed)
    strata = ["", "교통", "환경", "Zeta", "alpha", "é"]
    g, s, n = [], [], []
    for i in range(3_000):
        key = rnd.choice([f"thread_id=T{i:05d}", f"speaker={i}번", f"item_id=c{i}"])
        for stratum in rnd.sample(strata, rnd.randint(1, 3)):
            g.append(key)
            s.append(stratum)
            n.append(rnd.choice([1, 1, 2, 3, 7]))  # equal counts: the tie goes to the smallest stratum
    return pa.table({"g": pa.array(g, pa.string()), "s": pa.array(s, pa.string()), "n": pa.array(n, pa.int64())})


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("plan", [PLAN, {"train": 0.7, "test": 0.3}])
def test_the_sql_hash_rank_equals_publishs_rank_table(seed: int, plan: dict[str, float]) -> None:
    pairs = _pairs(seed)
    groups, codes = rank_table("ds-rank", pairs, plan)
    want = dict(zip(groups.to_pylist(), codes.tolist(), strict=True))

    con = duckdb.connect()
    con.register("pairs", pairs)
    sql, params = rank_sql("ds-rank", plan)
    got = dict(con.execute(sql, params).fetchall())

    assert got == want
    # every split of the plan is used, so the comparison covers each cut
    assert set(np.unique(codes).tolist()) == set(range(len(plan)))
