"""The download client on file:// roots: verification, resume, tampering, splits, and the CLI around it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli import datasets as cli_datasets
from pipelines.publish import ChecksumError, DownloadError, download, publish
from pipelines.publish.download import verify_local
from pipelines.storage import ObjectStore, open_store
from tests.unit.publish.test_publish import approve
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


@pytest.fixture
def released(store: ObjectStore) -> dict[str, Any]:
    spec = f.bbox_spec()
    approve(store, f.bbox_run(store, spec, n=60, plots=20))
    res = publish(spec=spec, store=store, run_id="run-1", row_group_rows=10, part_bytes=20_000)
    return {"spec": spec, "res": res, "manifest": store.read_json(res.manifest_key)}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_a_download_is_the_release_byte_for_byte(store: ObjectStore, released: dict[str, Any],
                                                 tmp_path: Path) -> None:
    m = released["manifest"]
    res = download(dataset=m["dataset"], store=store, to=tmp_path / "dl")

    assert res.version == "1.0" and res.directory == tmp_path / "dl" / m["dataset"] / "1.0"
    listed = [*m["files"], *m["documents"]]
    assert res.files == len(listed) and res.bytes == res.transferred == sum(e["size"] for e in listed)
    for e in listed:
        assert _sha(res.directory / e["key"]) == e["sha256"]
    assert json.loads((res.directory / "manifest.json").read_bytes()) == m
    assert not list(res.directory.rglob("*.part"))
    assert verify_local(res.directory) == []

    again = download(dataset=m["dataset"], store=store, to=tmp_path / "dl")
    assert (again.skipped, again.transferred) == (len(listed), 0)  # verified local files are not fetched again


def test_one_split_only(store: ObjectStore, released: dict[str, Any], tmp_path: Path) -> None:
    m = released["manifest"]
    res = download(dataset=m["dataset"], store=store, to=tmp_path, split="train")
    got = sorted(p.relative_to(res.directory).as_posix() for p in (res.directory / "data").rglob("*.parquet"))
    assert got == sorted(e["key"] for e in m["files"] if e["split"] == "train") and len(got) > 1
    with pytest.raises(DownloadError, match=r"no split 'dev'; splits: \['test', 'train', 'validation'\]"):
        download(dataset=m["dataset"], store=store, to=tmp_path, split="dev")
    with pytest.raises(DownloadError, match=r"has no release '9\.9'"):
        download(dataset=m["dataset"], store=store, to=tmp_path, version="9.9")
    with pytest.raises(DownloadError, match="'nope' has no release"):
        download(dataset="nope", store=store, to=tmp_path)


def test_an_interrupted_download_resumes_from_its_part_file(store: ObjectStore, released: dict[str, Any],
                                                            tmp_path: Path) -> None:
    m = released["manifest"]
    big = max(m["files"], key=lambda e: e["size"])
    data = store.read_bytes(f"{released['res'].prefix}/{big['key']}")
    target = tmp_path / m["dataset"] / "1.0" / big["key"]
    target.parent.mkdir(parents=True)
    half = len(data) // 2
    (target.parent / (target.name + ".part")).write_bytes(data[:half])  # what a killed download leaves

    res = download(dataset=m["dataset"], store=store, to=tmp_path)

    assert res.resumed == 1
    total = sum(e["size"] for e in [*m["files"], *m["documents"]])
    assert res.transferred == total - half  # only the rest of that file was read
    assert _sha(target) == big["sha256"]


def test_a_tampered_object_fails_clearly_and_leaves_no_half_written_file(store: ObjectStore,
                                                                         released: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    m = released["manifest"]
    victim = next(e for e in m["files"] if e["split"] == "train")
    key = f"{released['res'].prefix}/{victim['key']}"
    raw = bytearray(store.read_bytes(key))
    raw[len(raw) // 2] ^= 0xFF  # same size, one byte flipped
    store.write_bytes(key, bytes(raw))

    with pytest.raises(ChecksumError) as err:
        download(dataset=m["dataset"], store=store, to=tmp_path)

    msg = str(err.value)
    assert victim["key"] in msg and victim["sha256"] in msg and "changed or corrupted" in msg
    local = tmp_path / m["dataset"] / "1.0"
    assert not (local / victim["key"]).exists()
    assert not list(local.rglob("*.part"))
    assert not (local / "manifest.json").exists()  # the copy is not marked complete
    others = [e for e in m["files"] if e["key"] != victim["key"]]
    assert all(_sha(local / e["key"]) == e["sha256"] for e in others)  # the rest is kept for the retry


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(cli_datasets.app)
    return app


def test_the_cli_lists_searches_shows_and_downloads(store: ObjectStore, released: dict[str, Any],
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = released["manifest"]["dataset"]
    runner = CliRunner()
    monkeypatch.setenv("DATADAM_STORAGE", store.root)  # storage from the environment

    listed = runner.invoke(_app(), ["datasets", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [e["id"] for e in json.loads(listed.stdout)] == [ds]
    found = runner.invoke(_app(), ["datasets", "search", "crop disease", "--field", "agriculture",
                                   "--format", "json"])
    assert found.exit_code == 0 and [e["id"] for e in json.loads(found.stdout)] == [ds]
    table = runner.invoke(_app(), ["datasets", "list"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and ds in table.stdout and "pass" in table.stdout
    missing = runner.invoke(_app(), ["datasets", "search", "no-such-words"])
    assert missing.exit_code == 1 and "no dataset matches" in missing.stdout
    info = runner.invoke(_app(), ["datasets", "info", ds])
    assert info.exit_code == 0, info.output
    for needle in ("데이터 영역", "achieved", f"datadam download {ds} --version 1.0 --storage {store.root}"):
        assert needle in info.stdout

    got = runner.invoke(_app(), ["download", ds, "--split", "train", "--to", str(tmp_path / "cli")])
    assert got.exit_code == 0, got.output
    assert "bytes verified" in got.stdout and (tmp_path / "cli" / ds / "1.0" / "manifest.json").exists()
    # not a terminal: no bars, a plain progress line (one at the end at least) on stderr
    done = [line for line in got.stderr.splitlines() if line.startswith(f"download {ds} 1.0: ")]
    assert done and "bytes (100%)" in done[-1] and "done in" in done[-1] and "\x1b[" not in got.stderr

    bad = runner.invoke(_app(), ["download", ds, "--version", "7.7", "--to", str(tmp_path / "cli"),
                                 "--storage", store.root])
    assert bad.exit_code == 1 and "has no release '7.7'" in bad.output
