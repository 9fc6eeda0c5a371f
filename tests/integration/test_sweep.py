"""`datadam sweep` on the real stack: an audio spec and a multimodal one (video + its own audio, docs/adr/0024) run
end to end; the table, the JSON summary and the exit code say so, and each release holds the run's refined records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.label import LabelStudioSettings
from pipelines.spec import load_catalog
from pipelines.stack import StackInfo
from pipelines.storage import layout, open_store
from sim.specs import delete_projects

pytestmark = pytest.mark.integration


def test_sweep_releases_an_audio_and_a_multimodal_spec(stack: StackInfo, tmp_path: Path) -> None:
    root = (tmp_path / "storage").as_uri()
    # the simulator annotates from scratch, as on a fresh stack: a project an earlier run left on a reused stack
    # holds that run's answers (made under that run's label config)
    ls = LabelStudioSettings(url=stack.ls_url, token=stack.ls_token)
    delete_projects(ls, [load_catalog().get(s) for s in ("dialect-speech-jeju", "broadcast-conversation-speech")])
    res = CliRunner().invoke(app, ["sweep", "--only", "dialect-speech-jeju", "--only",
                                   "broadcast-conversation-speech", "--items", "8", "--storage", root])
    assert res.exit_code == 0, res.output
    summary_line = next(line for line in res.output.splitlines() if line.startswith("summary: "))
    doc = json.loads(Path(summary_line.removeprefix("summary: ").strip()).read_text(encoding="utf-8"))
    runs = {r["spec_id"]: r for r in doc["runs"]}
    assert set(runs) == {"dialect-speech-jeju", "broadcast-conversation-speech"}
    assert all(r["outcome"] == "success" for r in runs.values()), runs
    assert doc["summary"]["by_annotation"] == {"transcription": {"success": 2}}

    # what the sweep calls a success is a release whose rows are the run's refined records
    store = open_store(root)
    for spec_id, run in runs.items():
        version = store.read_pointer(layout.latest(spec_id))
        assert version is not None
        manifest = store.read_json(f"{layout.release(spec_id, version)}/manifest.json")
        run_ids = [o.key.split("/")[2] for o in store.list(f"runs/{spec_id}/")
                   if o.key.endswith("refine/summary.json")]
        assert len(run_ids) == 1
        refined = store.read_json(f"{layout.run(spec_id, run_ids[0], 'refine')}/summary.json")
        assert run["rows"] == manifest["rows"]["total"] == refined["records"] > 0
