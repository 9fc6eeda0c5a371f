"""A video bbox spec end to end through the real DAG with the simulator (``datadam sweep`` on the real stack):
synthetic clips with per-frame truth, VideoRectangle tracks submitted to Label Studio, QC, refine and a release
whose rows are the refined records and carry per-keyframe boxes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.stack import StackInfo
from pipelines.storage import layout, open_store

pytestmark = pytest.mark.integration

SPEC = "livestock-behaviour-video"  # the shortest bbox clips of the catalog (10 s of 1080p at 15 fps)


def test_a_video_bbox_spec_releases_per_frame_boxes(stack: StackInfo, tmp_path: Path) -> None:
    root = (tmp_path / "storage").as_uri()
    res = CliRunner().invoke(app, ["sweep", "--only", SPEC, "--items", "3", "--storage", root])
    summary_line = next(line for line in res.output.splitlines() if line.startswith("summary: "))
    doc = json.loads(Path(summary_line.removeprefix("summary: ").strip()).read_text(encoding="utf-8"))
    run = doc["runs"][0]
    assert res.exit_code == 0 and run["outcome"] == "success", (res.output, run)

    store = open_store(root)
    version = store.read_pointer(layout.latest(SPEC))
    assert version is not None
    base = layout.release(SPEC, version)
    manifest = store.read_json(f"{base}/manifest.json")
    run_ids = [o.key.split("/")[2] for o in store.list(f"runs/{SPEC}/") if o.key.endswith("refine/summary.json")]
    assert len(run_ids) == 1
    refined = store.read_json(f"{layout.run(SPEC, run_ids[0], 'refine')}/summary.json")
    assert run["rows"] == manifest["rows"]["total"] == refined["records"] > 0

    rows = [r for f in manifest["files"] if f["rows"] for r in store.read_table(f"{base}/{f['key']}").to_pylist()]
    assert len(rows) == refined["records"]
    assert any(r["objects"] for r in rows), "no boxes released"
    for r in rows:
        for o in r["objects"]:
            assert o["frame"] >= 1 and o["t"] >= 0 and o["track"] >= 0
            assert o["x"] >= 0 and o["x"] + o["w"] <= r["media"]["width"] + 1
    # a track is followed over several keyframes, each a frame of its own
    per_track = {(r["item_id"], o["track"]): set() for r in rows for o in r["objects"]}
    for r in rows:
        for o in r["objects"]:
            per_track[(r["item_id"], o["track"])].add(o["frame"])
    assert max(len(v) for v in per_track.values()) >= 5  # 10 s at annotation_fps 1: ten keyframes
