"""`datadam download` against the stack's real S3 endpoint: credentials from the environment, parallel, resume,
sha256 verification of a tampered object."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli import datasets as cli_datasets
from pipelines.publish import ChecksumError, download, publish
from pipelines.stack import StackInfo
from pipelines.storage import ObjectStore
from pipelines.validate import gate, validate
from tests.unit.validate import factories as f

pytestmark = pytest.mark.integration


@pytest.fixture
def released(s3_store: ObjectStore) -> dict[str, Any]:
    spec = f.bbox_spec()
    run = f.bbox_run(s3_store, spec, n=60, plots=20)
    run.write(s3_store)
    assert validate(spec=spec, store=s3_store, run_id="run-1", data_docs=False).success
    assert gate(spec=spec, store=s3_store, run_id="run-1").status == "approved"
    res = publish(spec=spec, store=s3_store, run_id="run-1", row_group_rows=10, part_bytes=2_000)
    return {"spec": spec, "res": res, "manifest": s3_store.read_json(res.manifest_key)}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_the_cli_downloads_from_s3_with_credentials_from_the_environment(
        s3_store: ObjectStore, released: dict[str, Any], stack: StackInfo, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in stack.s3_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATADAM_STORAGE", s3_store.root)
    app = typer.Typer()
    app.add_typer(cli_datasets.app)
    runner = CliRunner()
    ds = released["manifest"]["dataset"]

    listed = runner.invoke(app, ["datasets", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [e["id"] for e in json.loads(listed.stdout)] == [ds]
    got = runner.invoke(app, ["download", ds, "--to", str(tmp_path), "--workers", "6"])
    assert got.exit_code == 0, got.output

    local = tmp_path / ds / "1.0"
    m = released["manifest"]
    assert len(m["files"]) > 4  # several parts: the transfers really run in parallel
    for e in [*m["files"], *m["documents"]]:
        assert _sha(local / e["key"]) == e["sha256"]
    assert json.loads((local / "manifest.json").read_bytes()) == m


def test_resume_from_a_part_file_uses_a_ranged_get(s3_store: ObjectStore, released: dict[str, Any],
                                                   tmp_path: Path) -> None:
    m = released["manifest"]
    big = max(m["files"], key=lambda e: e["size"])
    data = s3_store.read_bytes(f"{released['res'].prefix}/{big['key']}")
    target = tmp_path / m["dataset"] / "1.0" / big["key"]
    target.parent.mkdir(parents=True)
    third = len(data) // 3
    (target.parent / (target.name + ".part")).write_bytes(data[:third])

    res = download(dataset=m["dataset"], store=s3_store, to=tmp_path, split=big["split"])

    assert res.resumed == 1 and res.transferred == res.bytes - third
    assert _sha(target) == big["sha256"]


def test_a_tampered_s3_object_is_rejected_and_nothing_half_written_stays(
        s3_store: ObjectStore, released: dict[str, Any], tmp_path: Path) -> None:
    m = released["manifest"]
    victim = m["files"][0]
    key = f"{released['res'].prefix}/{victim['key']}"
    raw = bytearray(s3_store.read_bytes(key))
    raw[-100] ^= 0x01
    s3_store.write_bytes(key, bytes(raw))

    with pytest.raises(ChecksumError, match=victim["sha256"]) as err:
        download(dataset=m["dataset"], store=s3_store, to=tmp_path, workers=6)
    assert s3_store.uri(key) in str(err.value)
    local = tmp_path / m["dataset"] / "1.0"
    assert not (local / victim["key"]).exists() and not list(local.rglob("*.part"))
    assert not (local / "manifest.json").exists()
