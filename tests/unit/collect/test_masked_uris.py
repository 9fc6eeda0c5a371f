"""Quarantine rows and state files hold source URIs with identifiers masked; the originals stay in restricted/,
where ``datadam quarantine show --originals`` finds them for a contractor."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli.deid import app as deid_app
from pipelines.cli.quarantine import app as quarantine_app
from pipelines.collect import collect_shard, deidentify_shard, plan_shards
from pipelines.spec import parse_spec
from pipelines.storage import open_store
from tests.unit.collect.specs import RUN, TEXT

pytestmark = pytest.mark.unit
BODY = "버스 정류장 안내판이 고장 나서 도착 시간을 알 수 없습니다. 수리해 주시기 바랍니다."


def test_an_identifier_in_a_file_name_stays_out_of_runs_and_state(tmp_path: Path) -> None:
    root = tmp_path / "texts"
    root.mkdir()
    (root / "민원_010-2345-6789.jsonl").write_text(json.dumps({"text": "네."}, ensure_ascii=False), "utf-8")
    (root / "ok_900101-1234568.jsonl").write_text(json.dumps({"text": BODY}, ensure_ascii=False), "utf-8")
    spec = parse_spec({**TEXT, "source": {"kind": "local", "root": str(root)}})
    store = open_store(str(tmp_path / "store"))
    for shard in plan_shards(spec=spec, store=store, run_id=RUN):
        collect_shard(spec=spec, store=store, run_id=RUN, shard=shard)
        deidentify_shard(spec=spec, store=store, run_id=RUN, shard=shard["shard"])

    def content(key: str) -> str:  # decoded values: Parquet pages may be compressed
        if key.endswith(".parquet"):
            return json.dumps(store.read_table(key).to_pylist(), ensure_ascii=False, default=str)
        return store.read_text(key)

    readable = [o.key for o in store.list("") if not o.key.startswith("restricted/")]
    assert any("/state/" in f"/{k}" for k in readable)
    leaks = [k for k in readable if k.endswith((".parquet", ".json"))
             and any(s in unquote(content(k)) for s in ("2345-6789", "1234568"))]
    assert leaks == []
    originals = [o.key for o in store.list("restricted/")]
    assert any("2345-6789" in unquote(content(k)) for k in originals if k.endswith(".parquet"))
    quarantined = [r for o in store.list(f"runs/{spec.id}") if "quarantine" in o.key
                   for r in store.read_table(o.key).to_pylist()]
    assert len(quarantined) == 1 and "%5B%EC%A0%84%ED%99%94%EB%B2%88%ED%98%B8%5D" in quarantined[0]["source_uri"]

    app = typer.Typer()
    app.add_typer(deid_app, name="deid")
    app.add_typer(quarantine_app, name="quarantine")
    res = CliRunner().invoke(app, ["quarantine", "show", RUN, "--storage", store.root, "--format", "json",
                                   "--originals"])
    assert res.exit_code == 0, res.stderr
    (example,) = [e for r in json.loads(res.stdout)[spec.id]["by_reason"] for e in r["examples"]]
    assert example["original_uri"].endswith("%EB%AF%BC%EC%9B%90_010-2345-6789.jsonl") or \
        example["original_uri"].endswith("민원_010-2345-6789.jsonl")
    plain = CliRunner().invoke(app, ["quarantine", "show", RUN, "--storage", store.root, "--format", "json"])
    assert "2345-6789" not in plain.stdout
