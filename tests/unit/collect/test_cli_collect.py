"""`datadam deid text|image` and `datadam quarantine show`, run through typer's runner on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from PIL import Image
from skimage import data as skimage_data
from typer.testing import CliRunner

from pipelines.cli.deid import app as deid_app
from pipelines.cli.quarantine import app as quarantine_app
from pipelines.collect import collect_shard, deidentify_shard, plan_shards
from pipelines.collect.deid import regions_in
from pipelines.storage import open_store
from tests.unit.collect.specs import RUN, TEXT, make

pytestmark = pytest.mark.unit


@pytest.fixture
def app() -> typer.Typer:
    a = typer.Typer()
    a.add_typer(deid_app, name="deid")
    a.add_typer(quarantine_app, name="quarantine")
    return a


def test_deid_text_masks_stdin_to_stdout_and_reports_findings_to_stderr(app: typer.Typer) -> None:
    sample = "담당자 김민준 씨 연락처는 010-1234-5678, 메일은 minjun.kim@naver.com 입니다.\n주민번호 900101-1234568\n"
    res = CliRunner().invoke(app, ["deid", "text", "--report", "json"], input=sample)
    assert res.exit_code == 0, res.stderr
    assert res.stdout == "담당자 [이름] 씨 연락처는 [전화번호], 메일은 [이메일] 입니다.\n주민번호 [주민등록번호]\n"
    report = json.loads(res.stderr)
    assert [(f["kind"], f["line"]) for f in report["findings"]] == [
        ("names", 1), ("phone", 1), ("email", 1), ("rrn", 2)]
    assert "010-1234-5678" not in res.stderr  # the report says where and what kind, never the value


def test_deid_text_takes_a_spec_s_targets(app: typer.Typer) -> None:
    res = CliRunner().invoke(app, ["deid", "text", "--spec", "dialect-speech-jeju", "--report", "none"],
                             input="김민준 010-1234-5678")
    assert res.exit_code == 0 and res.stdout == "김민준 [전화번호]"  # names are not among that spec's targets
    bad = CliRunner().invoke(app, ["deid", "text", "--targets", "phone,faces"], input="x")
    assert bad.exit_code == 2 and "unknown target" in bad.stderr


def test_deid_image_masks_the_face_and_writes_the_result(app: typer.Typer, tmp_path: Path) -> None:
    src, dst = tmp_path / "in.jpg", tmp_path / "out.jpg"
    Image.fromarray(skimage_data.astronaut()).save(src, format="JPEG", quality=92)
    res = CliRunner().invoke(app, ["deid", "image", str(src), str(dst)])
    assert res.exit_code == 0, res.stderr
    assert "1 region(s) masked" in res.stderr and "faces" in res.stderr
    assert regions_in(dst.read_bytes(), targets=["faces"]) == []
    (tmp_path / "notes.jpg").write_text("not an image")
    bad = CliRunner().invoke(app, ["deid", "image", str(tmp_path / "notes.jpg"), str(tmp_path / "x.jpg")])
    assert bad.exit_code == 2 and not (tmp_path / "x.jpg").exists()


def test_quarantine_show_counts_by_stage_and_reason_with_examples(app: typer.Typer, tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = make(TEXT, source={"items": 80, "defect_rate": 0.3})
    collected = 0
    for shard in plan_shards(spec=spec, store=store, run_id=RUN):
        collected += collect_shard(spec=spec, store=store, run_id=RUN, shard=shard).quarantined
        deidentify_shard(spec=spec, store=store, run_id=RUN, shard=shard["shard"])
    assert collected > 0
    res = CliRunner().invoke(app, ["quarantine", "show", RUN, "--storage", store.root, "--format", "json"])
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)[spec.id]
    assert report["total"] == collected and report["stages"]["collect"]["items_in"] == 80
    assert sum(r["count"] for r in report["by_reason"]) == collected
    assert all(r["stage"] == "collect" and 1 <= len(r["examples"]) <= 3 for r in report["by_reason"])
    table = CliRunner().invoke(app, ["quarantine", "show", RUN, "--storage", store.root, "--dataset", spec.id])
    assert table.exit_code == 0 and "text.encoding" in table.stdout
    none = CliRunner().invoke(app, ["quarantine", "show", "no-such-run", "--storage", store.root])
    assert none.exit_code == 1


def test_quarantine_show_reads_later_stages_too(app: typer.Typer, tmp_path: Path) -> None:
    from pipelines.storage.schemas import QUARANTINE_SCHEMA, now, rows_to_table

    store = open_store(str(tmp_path))
    rows = [{"item_id": "i1", "stage": "refine", "reason": "label.invalid", "detail": "box outside", "at": now()}]
    store.write_table("runs/some-dataset/r9/refine/quarantine.parquet", rows_to_table(rows, QUARANTINE_SCHEMA))
    res = CliRunner().invoke(app, ["quarantine", "show", "r9", "--storage", store.root, "--format", "json"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["some-dataset"]["by_reason"][0]["reason"] == "label.invalid"
