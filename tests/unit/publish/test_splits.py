"""The vectorised split planning and content hashing give what the per-row definitions give, bit for bit."""

from __future__ import annotations

import hashlib
import random
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from pipelines.publish.content import ContentHash, column_hashes
from pipelines.spec import DatasetSpec
from pipelines.spec.models import BBox, MultiLabel
from pipelines.storage import splits
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit

PLAN = {"train": 0.8, "validation": 0.1, "test": 0.1}


def _spec(annotation: Any = None, **split_fields: Any) -> DatasetSpec:
    base = f.text_spec()
    update: dict[str, Any] = {"splits": base.splits.model_copy(update=split_fields)}
    if annotation is not None:
        update["annotation"] = annotation
    return base.model_copy(update=update)


def _unit(dataset: str, key: str) -> float:
    """The published definition of a group's position: the first 8 bytes of a SHA-256, over 2**64."""
    return int.from_bytes(hashlib.sha256(f"{dataset}\x1f{key}".encode()).digest()[:8], "big") / 2.0**64


def _reference_rank(dataset: str, members: Counter[tuple[str, str | None]], plan: dict[str, float]
                    ) -> dict[str, str]:
    """Hash-rank within stratum, one group at a time, as releases before the vectorised planner were cut."""
    strata_of: dict[str, Counter[str]] = defaultdict(Counter)
    for (group, stratum), n in members.items():
        strata_of[group]["" if stratum is None else stratum] += n
    by_stratum: dict[str, list[tuple[float, str, int]]] = defaultdict(list)
    for group, counts in strata_of.items():
        top = max(counts.values())
        stratum = min(s for s, n in counts.items() if n == top)
        by_stratum[stratum].append((_unit(dataset, group), group, sum(counts.values())))
    out: dict[str, str] = {}
    for groups in by_stratum.values():
        groups.sort()
        total, seen = sum(n for _, _, n in groups), 0
        for _, group, n in groups:
            out[group] = splits._cut((seen + n / 2.0) / total, plan)
            seen += n
    return out


def test_hash_units_equal_the_per_key_definition() -> None:
    rng = random.Random(3)
    keys = ["", "plot=7", "item_id=None", "가나다", "🙂", "x" * 300] + [
        "".join(chr(rng.randint(32, 0xD7FF)) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    got = splits.hash_units("ds-1", pa.array(keys))
    assert got.tolist() == [_unit("ds-1", k) for k in keys]


def test_group_keys_and_threshold_splits_match_the_per_row_definition() -> None:
    spec = _spec(group_by="speaker_age", stratify_by=None)
    ages = [None if i % 5 == 0 else i % 17 for i in range(400)]
    batch = pa.RecordBatch.from_pydict({"item_id": [f"it-{i}" for i in range(400)], "speaker_age": ages})
    keys = splits.group_keys(spec, batch)
    assert keys == [f"item_id=it-{i}" if a is None else f"speaker_age={a}" for i, a in enumerate(ages)]
    plan = splits.new_plan(spec)
    codes = plan.codes(splits.group_key_array(spec, batch))
    assert [list(plan.plan)[c] for c in codes] == [splits._cut(_unit(spec.id, k), plan.plan) for k in keys]


def test_stratified_plan_over_batches_matches_the_per_group_hash_rank() -> None:
    rng = random.Random(11)
    rows = [(f"g{rng.randint(0, 150)}", rng.choice([None, "", "a", "b", "가"])) for _ in range(2000)]
    counts = splits.GroupCounts()
    for start in range(0, len(rows), 97):  # batch by batch, a group spread over many batches and strata
        part = rows[start:start + 97]
        counts.add(pa.array([g for g, _ in part]), pa.array([s for _, s in part], pa.string()))
    plan = splits.SplitPlan(dataset="ds", plan=PLAN, group_by="g", stratify_by="s")
    plan.rank(counts)
    expected = _reference_rank("ds", Counter(rows), PLAN)
    groups = sorted(expected)
    assert [list(PLAN)[c] for c in plan.codes(pa.array(groups))] == [expected[g] for g in groups]
    assert splits.rank_groups("ds", Counter(rows), PLAN) == expected


def test_stratified_codes_are_the_same_by_hash_table_and_by_dict() -> None:
    rng = random.Random(5)
    rows = [(f"g{rng.randint(0, 400)}", rng.choice(["a", "b", "가"])) for _ in range(3000)]
    counts = splits.GroupCounts()
    counts.add(pa.array([g for g, _ in rows]), pa.array([s for _, s in rows]))
    plan = splits.SplitPlan(dataset="ds", plan=PLAN, group_by="g", stratify_by="s")
    plan.rank(counts)
    keys = [g for g, _ in rows]
    whole = plan.codes(pa.array(keys))  # many keys: Arrow's index_in
    one_by_one = np.concatenate([plan.codes(pa.array([k])) for k in keys])  # a key at a time: the dict
    assert whole.tolist() == one_by_one.tolist()
    assert [plan.split_of(k) for k in keys[:50]] == [list(PLAN)[c] for c in whole[:50]]
    with pytest.raises(KeyError):
        plan.codes(pa.array(["never-ranked"] * 1000))


def test_list_labels_stratum_is_the_most_frequent_label_ties_to_the_smallest() -> None:
    spec = _spec(MultiLabel(labels=["a", "b", "c"]), stratify_by="label")
    labels = [["b", "a", "b"], ["c", "a"], [], None, [None, "c"], ["b", "a", "a", "b"]]
    batch = pa.RecordBatch.from_pydict({"labels": pa.array(labels, pa.list_(pa.string()))})
    assert splits.strata(spec, batch) == ["b", "a", None, None, "c", "a"]
    obj = pa.struct([("label", pa.string())])
    boxes = pa.array([[{"label": v} for v in row] if row is not None else None for row in labels], pa.list_(obj))
    box_batch = pa.RecordBatch.from_pydict({"objects": boxes})
    assert splits.strata(_spec(BBox(labels=["a", "b", "c"]), stratify_by="label"), box_batch) == \
        ["b", "a", None, None, "c", "a"]


def test_string_hashes_are_pandas_hashes_of_the_python_strings() -> None:
    from pandas.util import hash_array

    values = ["가", "a", "", "é", "x" * 50] * 200 + [f"v{i}" for i in range(1000)]  # few distinct, then many
    for chunk in (values[:1000], values[1000:], values):  # the distinct-value path and the per-row path
        expected = hash_array(np.array(chunk, dtype=object), categorize=False)
        assert column_hashes(pa.array(chunk)).tolist() == expected.tolist()


def test_content_hash_of_a_fixed_table_is_unchanged() -> None:
    # Computed by the row-wise implementation: releases published before keep their identity.
    table = f.text_run(f.text_spec(), n=1200).table()  # batches long enough for the distinct-value path
    h = ContentHash("ctx")
    for batch in table.to_batches(max_chunksize=600):
        h.update(batch)
    assert h.hexdigest() == GOLDEN_TEXT_1200


GOLDEN_TEXT_1200 = "11b40ff02f9cc6810c8fc7756b3b9690f277eafdfccc051f9946de735c653708"
