"""The publish gate through Airflow: a run whose blocking checks fail waits (deferred) at the gate; an inspector's
`datadam qa approve` lets publish run, `datadam qa reject` fails the run and nothing is published.

Real components: Airflow ``dag.test()`` on SQLite with the triggerer inline, the Label Studio server with
simulated annotators, storage on the local file system. The spec lives in a scratch catalog
(``$DATADAM_SCHEMAS``): a final delivery (the run plans its whole target volume) from a synthetic source with
defective items, which intake quarantines, so completeness and volume fail and block automatic approval.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipelines.cli.qa import app as qa_app
from pipelines.cli.run import ROOT, run_one
from pipelines.spec import load_catalog
from pipelines.stack import StackInfo
from pipelines.storage import ObjectStore, layout, open_store

pytestmark = pytest.mark.integration
SPEC_ID = "qa-gate-complaints"
ITEMS = 20
SPEC = f"""\
id: {SPEC_ID}
name: 민원 분류 검수 게이트 시험
name_en: Complaint classification, QA gate test
field: regional
group: reg-heritage-civic
version: "1.0"
license: CC-BY-4.0
description: >-
  Synthetic civil complaints used by the QA gate integration test; a share of the collected items is defective
  on purpose so that the run cannot be approved automatically.
modality: {{kind: text, formats: [jsonl], encodings: [utf-8], language: ko, min_chars: 20, max_chars: 4000}}
source: {{kind: synthetic, seed: 4242, defect_rate: 0.4}}
deidentify: [phone, email]
annotation: {{type: classification, labels: [교통·주차, 환경·위생, 행정·기타]}}
schema:
  thread_id: {{type: string, required: true}}
  channel: {{type: enum, values: [국민신문고, 콜센터], required: true}}
quality: {{syntactic_accuracy: 1.0, technical_conformity: 0.99, completeness: 1.0}}
splits: {{train: 0.8, validation: 0.1, test: 0.1, group_by: thread_id}}
target_volume: {ITEMS}
"""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("schemas")
    for name in ("fields.yaml", "groups.yaml"):
        shutil.copy(ROOT / "schemas" / name, root / name)
    (root / "datasets" / "regional").mkdir(parents=True)
    (root / "datasets" / "regional" / f"{SPEC_ID}.yaml").write_text(SPEC, encoding="utf-8")
    return root


@pytest.fixture
def gate_catalog(catalog: Path, monkeypatch: pytest.MonkeyPatch, stack: StackInfo) -> Path:
    # run_one passes os.environ on to Airflow and the simulator: both load this catalog.
    monkeypatch.setenv("DATADAM_SCHEMAS", str(catalog))
    assert load_catalog().get(SPEC_ID).target_volume == ITEMS
    return catalog


class Inspector(threading.Thread):
    """Waits until the run is held at the gate, then decides through the CLI, as an inspector would."""

    def __init__(self, store: ObjectStore, root: str, command: str) -> None:
        super().__init__(daemon=True)
        self.store, self.root, self.command = store, root, command
        self.pending: dict[str, Any] | None = None
        self.output = ""
        self.exit_code: int | None = None

    def run(self) -> None:
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline:
            gates = [o.key for o in self.store.list(f"runs/{SPEC_ID}") if o.key.endswith("/gate/result.json")]
            if gates and self.store.read_json(gates[0]).get("status") == "pending":
                self.pending = self.store.read_json(gates[0])
                run_dir = "/".join(gates[0].split("/")[:3])
                time.sleep(2)  # the gate has deferred: the decision arrives while it waits
                res = CliRunner().invoke(qa_app, [self.command, run_dir, "--by", "김검수",
                                                  "--note", f"{self.command} in the gate test", "--storage",
                                                  self.root])
                self.output, self.exit_code = res.output, res.exit_code
                return
            time.sleep(1)


def _run(stack: StackInfo, tmp_path: Path, command: str) -> tuple[Any, Inspector, ObjectStore]:
    root = (tmp_path / "storage").as_uri()
    store = open_store(root)
    inspector = Inspector(store, root, command)
    inspector.start()
    summary = run_one(SPEC_ID, stack=stack, storage=root, items=ITEMS, simulate=True, annotators=2,
                      error_rate=0.0, poll_s=1.0, timeout_s=600)
    inspector.join(timeout=30)
    return summary, inspector, store


def _held_at_the_gate(inspector: Inspector, summary: Any) -> None:
    log = summary.log.read_text()
    assert inspector.pending is not None, f"the run never waited at the gate; log: {summary.log}\n{log[-3000:]}"
    assert inspector.exit_code == 0, inspector.output
    assert "completeness.delivered" in inspector.pending["checks_failed"]
    assert inspector.pending["delivery"] == "final"
    assert "waiting for an inspector's decision" in log


def test_approving_a_failed_run_lets_publish_run(stack: StackInfo, gate_catalog: Path, tmp_path: Path) -> None:
    summary, inspector, store = _run(stack, tmp_path, "approve")
    _held_at_the_gate(inspector, summary)
    assert summary.state == "success", f"log: {summary.log}\n{summary.log.read_text()[-3000:]}"
    assert summary.tasks["gate"]["state"] == "success" and summary.tasks["publish"]["state"] == "success"
    version = store.read_pointer(layout.latest(SPEC_ID))
    assert version is not None
    manifest = store.read_json(f"{layout.release(SPEC_ID, version)}/manifest.json")
    assert manifest["gate"]["status"] == "approved" and manifest["gate"]["by"] == "김검수"
    assert manifest["gate"]["automatic"] is False


def test_rejecting_a_failed_run_fails_it_and_publishes_nothing(stack: StackInfo, gate_catalog: Path,
                                                              tmp_path: Path) -> None:
    summary, inspector, store = _run(stack, tmp_path, "reject")
    _held_at_the_gate(inspector, summary)
    assert summary.state == "failed"
    assert summary.tasks["gate"]["state"] == "failed"
    assert summary.tasks["publish"]["state"] != "success"
    assert store.read_pointer(layout.latest(SPEC_ID)) is None
    assert "rejected by 김검수" in summary.log.read_text()
    # `datadam run` says why, naming the task: the first failure, not the list of tasks that never ran
    assert summary.reason is not None and summary.reason.startswith("gate: "), summary.reason
    assert "rejected by 김검수" in summary.reason
