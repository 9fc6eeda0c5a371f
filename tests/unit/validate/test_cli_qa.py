"""`datadam qa show|approve|reject`: on real validated runs in tmp_path storage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from pipelines.cli.qa import app as qa_app
from pipelines.storage import ObjectStore, open_store
from pipelines.validate import gate, validate
from tests.unit.validate import families as F

pytestmark = pytest.mark.unit
RUN_ID = "manual__2026-11-23T01:02:03+00:00"
SAFE = "manual__2026-11-23T01_02_03_00_00"


@pytest.fixture
def root(tmp_path: Any) -> str:
    return (tmp_path / "root").as_uri()


def _store(root: str) -> ObjectStore:
    return open_store(root)


def _validated(root: str, *, type_: str = "classification", bad: bool = True) -> F.Family:
    fam = F.family(type_)
    rows = fam.rows()
    if bad:
        rows[3]["label" if type_ == "classification" else "qc_review"] = "분노"
    store = _store(root)
    F.write_run(store, fam, rows, run_id=RUN_ID)
    validate(spec=fam.spec, store=store, run_id=RUN_ID, data_docs=False)
    return fam


def _cli(*args: str) -> Any:
    return CliRunner().invoke(qa_app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})


def test_show_prints_every_characteristic_and_the_verdict(root: str) -> None:
    _validated(root)
    res = _cli("show", f"runs/classification-family/{SAFE}", "--storage", root)
    assert res.exit_code == 0, res.output
    for word in ("구문 정확성", "Syntactic accuracy", "통계적 다양성", "불합격 FAIL", "syntactic.label_in_set",
                 "needs an inspector's decision", "report.html"):
        assert word in res.output, word
    data = json.loads(_cli("show", RUN_ID, "--storage", root, "--json").output)
    assert data["dataset"] == "classification-family" and data["run_id"] == RUN_ID
    assert data["checks_failed"] == ["syntactic.label_in_set"] and data["decision"] is None


def test_approve_by_run_path_lets_the_gate_approve(root: str) -> None:
    fam = _validated(root)
    store = _store(root)
    assert gate(spec=fam.spec, store=store, run_id=RUN_ID).status == "pending"
    uri = f"{root}/runs/classification-family/{SAFE}/validate/report.html"  # the location the run printed
    res = _cli("approve", uri, "--by", "김검수", "--note", "one label typo, known issue", "--storage", root)
    assert res.exit_code == 0, res.output
    g = gate(spec=fam.spec, store=store, run_id=RUN_ID)
    assert (g.status, g.by, g.note, g.automatic) == ("approved", "김검수", "one label typo, known issue", False)
    shown = json.loads(_cli("show", RUN_ID, "-d", fam.spec.id, "--storage", root, "--json").output)
    assert shown["decision"]["decision"] == "approved" and shown["decision"]["applies_to_current_report"]
    assert shown["gate"]["status"] == "approved"


def test_reject_by_run_id_and_dataset(root: str) -> None:
    fam = _validated(root, bad=False)  # even a run whose checks passed can be rejected
    res = _cli("reject", RUN_ID, "--dataset", fam.spec.id, "--by", "박검수", "--note", "blurred samples",
               "--storage", root)
    assert res.exit_code == 0, res.output
    assert gate(spec=fam.spec, store=_store(root), run_id=RUN_ID).status == "rejected"


def test_errors_exit_2_with_the_reason(root: str) -> None:
    res = _cli("show", "no-such-run", "--storage", root)
    assert res.exit_code == 2 and "no run 'no-such-run'" in res.output
    _validated(root)
    _validated(root, type_="bbox")  # the same run id now exists for two datasets
    res = _cli("approve", RUN_ID, "--by", "김검수", "--note", "x", "--storage", root)
    assert res.exit_code == 2 and "several datasets" in res.output
    res = _cli("approve", RUN_ID, "-d", "classification-family", "--by", " ", "--note", "x", "--storage", root)
    assert res.exit_code == 2 and "inspector's name" in res.output
    res = _cli("show", "runs/classification-family/other-run", "--storage", root)
    assert res.exit_code == 2 and "has not been validated" in res.output
    res = _cli("approve", RUN_ID, "-d", "classification-family", "--storage", root)
    assert res.exit_code != 0  # --by and --note are required
