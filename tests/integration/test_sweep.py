"""`datadam sweep` on the real stack: one spec runs end to end, one is refused at once with its reason; the table,
the JSON summary and the exit code say so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.stack import StackInfo
from pipelines.storage import layout, open_store

pytestmark = pytest.mark.integration


def test_sweep_reports_a_release_and_a_refusal(stack: StackInfo, tmp_path: Path) -> None:
    root = (tmp_path / "storage").as_uri()
    res = CliRunner().invoke(app, ["sweep", "--only", "dialect-speech-jeju", "--only",
                                   "broadcast-conversation-speech", "--items", "8", "--storage", root])
    assert res.exit_code == 1, res.output  # one of the two cannot be simulated
    summary_line = next(line for line in res.output.splitlines() if line.startswith("summary: "))
    doc = json.loads(Path(summary_line.removeprefix("summary: ").strip()).read_text(encoding="utf-8"))
    runs = {r["spec_id"]: r for r in doc["runs"]}
    assert set(runs) == {"dialect-speech-jeju", "broadcast-conversation-speech"}

    ok = runs["dialect-speech-jeju"]
    assert ok["outcome"] == "success", ok
    refused = runs["broadcast-conversation-speech"]
    assert refused["outcome"] == "refused"
    assert "no synthetic generator for modality 'multimodal'" in refused["reason"]
    assert refused["seconds"] < ok["seconds"]
    assert doc["summary"]["by_annotation"] == {"transcription": {"success": 1, "refused": 1}}

    # what the sweep calls a success is a release whose rows are the run's refined records
    store = open_store(root)
    version = store.read_pointer(layout.latest("dialect-speech-jeju"))
    assert version is not None
    manifest = store.read_json(f"{layout.release('dialect-speech-jeju', version)}/manifest.json")
    run_ids = [o.key.split("/")[2] for o in store.list("runs/dialect-speech-jeju/")
               if o.key.endswith("refine/summary.json")]
    assert len(run_ids) == 1
    refined = store.read_json(f"{layout.run('dialect-speech-jeju', run_ids[0], 'refine')}/summary.json")
    assert ok["rows"] == manifest["rows"]["total"] == refined["records"] > 0
