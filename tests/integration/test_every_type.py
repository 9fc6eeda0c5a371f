"""Every annotation type, and every modality among them, end to end through the real DAG with the simulator.

One ``datadam sweep`` (one Airflow process for all runs) takes one spec of each annotation type through collect,
de-identification, Label Studio (simulated annotators and reviewers), QC, refine, validate, the gate and publish.
The sweep itself is checked too (its exit code, the table's totals and its JSON summary: every run, outcomes per
annotation type and per modality); the module is the sweep's integration test, so the work is done once.
For each spec:

- the run succeeds and its release has as many rows as refine wrote records;
- every released item's label is the consensus of what the Label Studio server holds for it, read back through
  the SDK (not from label_pull's files) and computed by the project's one QC implementation
  (:func:`pipelines.label.qc.run_qc`), turned into a record by the type's converter (gold answers are a reference,
  never a vote; an item only the gold author answered releases the gold answer). Overlap items (two or more
  annotators) are counted: the module must see some.

Adding a spec: one line in ``SPECS``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from pipelines.annotations import REGISTRY
from pipelines.annotations.base import MediaFacts
from pipelines.cli import app
from pipelines.label import LabelStudioSettings, qc
from pipelines.label.client import LabelStudioClient
from pipelines.label.manifests import run_item_ids
from pipelines.label.tasks import project_title
from pipelines.refine import CONVERTERS
from pipelines.spec import DatasetSpec, load_catalog
from pipelines.stack import StackInfo
from pipelines.storage import ObjectStore, layout, open_store
from pipelines.storage.records import record_schema
from sim.specs import delete_projects

pytestmark = pytest.mark.integration

ITEMS = 4
# One spec per annotation type, the cheapest media of its type (small or no de-identification work); together
# they cover every modality. One line per spec.
SPECS = (
    "korean-emotion-faces",  # classification, image (every item overlapped by 3)
    "text-ethics-verification",  # multi_label, text (every item overlapped by 3)
    "gastroscopy-lesion-detection",  # bbox, image
    "weed-seedlings-polygon",  # polygon, image
    "colonoscopy-polyp-segmentation",  # segmentation, image
    "special-lane-polyline",  # polyline, image (faces and plates de-identified)
    "sign-language-video",  # keypoints, video
    "dialect-speech-jeju",  # transcription, audio
    "command-speech-children",  # dialogue_intent, audio
    "urban-noise-sound-events",  # temporal_events, audio
    "ecg-arrhythmia-12lead",  # timeseries_labels, timeseries
    "web-corpus-ner",  # ner, text
    "book-mrc",  # qa, text
    "book-summary-text",  # summarisation, text
    "ko-en-colloquial-parallel-corpus",  # translation, text
    "multimodal-drama-emotion",  # classification, multimodal (video + its own sound + the script line)
    "broadcast-conversation-speech",  # transcription, multimodal (video + its own sound; speakers, ADR 0029)
)


def test_the_specs_cover_every_annotation_type_and_modality() -> None:
    specs = [load_catalog().get(s) for s in SPECS]
    assert {s.annotation.type for s in specs} == set(REGISTRY)
    modalities = {s.modality.kind for s in load_catalog().specs.values()}
    assert {s.modality.kind for s in specs} >= modalities


@pytest.fixture(scope="module")
def swept(stack: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One sweep of ``SPECS`` on a fresh storage root; the sweep's JSON summary, the store and Label Studio."""
    ls = LabelStudioSettings(url=stack.ls_url, token=stack.ls_token)
    specs = [load_catalog().get(s) for s in SPECS]
    delete_projects(ls, specs)  # the simulator annotates from scratch, as on a fresh stack
    root = (tmp_path_factory.mktemp("every-type") / "storage").as_uri()
    args = ["sweep", "--items", str(ITEMS), "--storage", root, "--timeout", "300"]
    for s in SPECS:
        args += ["--only", s]
    res = CliRunner().invoke(app, args)
    summary_line = next((line for line in res.output.splitlines() if line.startswith("summary: ")), None)
    assert summary_line is not None, res.output
    doc = json.loads(Path(summary_line.removeprefix("summary: ").strip()).read_text(encoding="utf-8"))
    yield {"doc": doc, "store": open_store(root), "ls": ls, "output": res.output, "exit_code": res.exit_code}
    delete_projects(ls, specs)


def test_sweep_reports_every_run(swept: dict[str, Any]) -> None:
    """The sweep's exit code, its table's totals and its JSON summary say what each run did."""
    assert swept["exit_code"] == 0, swept["output"]
    doc = swept["doc"]
    assert doc["settings"]["specs"] == sorted(SPECS) and doc["settings"]["items"] == ITEMS
    runs = {r["spec_id"]: r for r in doc["runs"]}
    assert set(runs) == set(SPECS) and len(doc["runs"]) == len(SPECS)
    assert all(r["outcome"] == "success" for r in runs.values()), runs
    specs = [load_catalog().get(s) for s in SPECS]
    by_type = Counter(s.annotation.type for s in specs)
    by_modality = Counter(s.modality.kind for s in specs)
    assert doc["summary"]["by_annotation"] == {t: {"success": n} for t, n in sorted(by_type.items())}
    assert doc["summary"]["by_modality"] == {m: {"success": n} for m, n in sorted(by_modality.items())}
    assert doc["summary"]["specs"] == doc["summary"]["succeeded"] == len(SPECS)
    assert doc["summary"]["outcomes"] == {"success": len(SPECS)}
    # the table's title and the per-type line under it (the table's cells fold to the terminal's width)
    out = swept["output"]
    assert f"{len(SPECS)}/{len(SPECS)} succeeded in" in out, out
    per_type = next(line for line in out.splitlines() if line.startswith("per annotation type: "))
    assert per_type == "per annotation type: " + "; ".join(f"{t} {n}/{n}" for t, n in sorted(by_type.items()))


def _released(store: ObjectStore, spec_id: str) -> list[dict[str, Any]]:
    version = store.read_pointer(layout.latest(spec_id))
    assert version is not None, f"{spec_id}: nothing released"
    base = layout.release(spec_id, version)
    manifest = store.read_json(layout.release_manifest(spec_id, version))
    rows = [r for f in manifest["files"] if f["rows"] for r in store.read_table(f"{base}/{f['key']}").to_pylist()]
    assert len(rows) == manifest["rows"]["total"]
    return rows


def _server_annotations(ls: LabelStudioSettings, spec: DatasetSpec, item_ids: set[str]) -> list[qc.Ann]:
    """What the Label Studio server holds for the run's items, through the SDK, as QC reads annotations."""
    client = LabelStudioClient(ls)
    pid = client.find_project(project_title(spec))
    assert pid is not None, f"{spec.id}: no project {project_title(spec)!r} on the server"
    anns = []
    for task in client.sdk.tasks.list(project=pid, fields="all"):
        item_id = str((task.meta or {}).get("item_id"))
        if item_id not in item_ids:
            continue
        for a in task.annotations or []:
            anns.append(qc.Ann(item_id=item_id, annotation_id=int(a["id"]), annotator=str(a.get("completed_by")),
                               result=list(a.get("result") or []), ground_truth=bool(a.get("ground_truth")),
                               was_cancelled=bool(a.get("was_cancelled"))))
    return anns


def _as_released(spec: DatasetSpec, value: dict[str, Any]) -> dict[str, Any]:
    """A converter's label columns as they read back from a release (Arrow types: float32, structs ...)."""
    schema = record_schema(spec)
    return {k: pa.array([v], type=schema.field(k).type).to_pylist()[0] for k, v in value.items()}


OVERLAP_SEEN: dict[str, int] = {}


@pytest.mark.parametrize("spec_id", SPECS)
def test_release_is_the_consensus_of_label_studio(swept: dict[str, Any], spec_id: str) -> None:
    runs = {r["spec_id"]: r for r in swept["doc"]["runs"]}
    run = runs[spec_id]
    assert run["outcome"] == "success", run
    spec = load_catalog().get(spec_id)
    store: ObjectStore = swept["store"]
    run_ids = [o.key.split("/")[2] for o in store.list(f"runs/{spec_id}/") if o.key.endswith("refine/summary.json")]
    assert len(run_ids) == 1
    run_id = run_ids[0]
    refined = store.read_json(layout.run_file(spec_id, run_id, "refine", "summary.json"))
    released = {r["item_id"]: r for r in _released(store, spec_id)}
    assert run["rows"] == len(released) == refined["records"] > 0

    items = set(run_item_ids(store=store, dataset=spec_id, run_id=run_id))
    q = qc.run_qc(spec, _server_annotations(swept["ls"], spec, items))
    by_item = {r["item_id"]: r for r in q.items}
    media = {r["item_id"]: MediaFacts(r["width"], r["height"], r["duration_s"], r["text"])
             for r in store.dataset(layout.run(spec_id, run_id, "deidentify"), pattern="part-*.parquet")
             .to_table(columns=["item_id", "width", "height", "duration_s", "text"]).to_pylist()}
    labels = [f.name for f in REGISTRY[spec.annotation.type].label_fields]
    overlap = 0
    for item_id, row in released.items():
        mine = by_item.get(item_id)
        assert mine is not None and mine["consensus_result"] is not None, (item_id, mine)
        want = _as_released(spec, CONVERTERS[spec.annotation.type](spec, json.loads(mine["consensus_result"]),
                                                                    media[item_id]))
        assert {k: row[k] for k in labels} == want, item_id
        assert (row["qc_consensus"], row["qc_agreement"]) == (mine["consensus_method"], mine["agreement"])
        overlap += int(mine["n_annotations"] >= 2)
    OVERLAP_SEEN[spec_id] = overlap


def test_overlap_items_were_checked(swept: dict[str, Any]) -> None:
    """Runs after the per-spec tests (file order): some released items had two or more annotators."""
    per_type: dict[str, int] = defaultdict(int)
    for spec_id, n in OVERLAP_SEEN.items():
        per_type[load_catalog().get(spec_id).annotation.type] += n
    assert sum(per_type.values()) >= 8, dict(per_type)
