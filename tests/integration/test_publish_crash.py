"""Crash consistency: SIGKILL the publisher at random points, many times; readers only ever see a complete release.

A release of 1.0 exists; a second run (different content, big enough that publishing takes seconds) is
published in a child process that is killed with SIGKILL after a random delay, 18 times (12 spread over the
whole publish, 6 aimed at its tail). After every kill a reader resolves LATEST and checks the release it names
against its manifest (every file's size and sha256, the row count through ``open_dataset``): it must be 1.0 or
1.1, complete. When a kill landed after the commit, the harness puts the store back to "1.0 only" so the next
kill again hits the middle. Finally an unkilled run finishes the release and leaves no staging behind.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.publish import open_dataset, publish, read_catalog, sync_dataset
from pipelines.storage import ObjectStore, layout, open_store
from pipelines.validate import gate, record_decision, validate
from tests.unit.validate import factories as f

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KILLS = 12
TAIL_KILLS = 6
BIG = 60_000
_CHILD = """
import sys
from pipelines.publish import publish
from pipelines.storage import open_store
from tests.unit.validate import factories as f
print("start", flush=True)
# Small parts and row groups: staging fills part by part, so kills also land while files are uploaded/moved.
publish(spec=f.text_spec(), store=open_store(sys.argv[1]), run_id="run-2", part_bytes=64 * 1024,
        row_group_rows=2000)
print("done", flush=True)
"""


def _approve(store: ObjectStore, run: f.Run) -> None:
    run.write(store)
    validate(spec=run.spec, store=store, run_id=run.run_id, data_docs=False)
    if gate(spec=run.spec, store=store, run_id=run.run_id).status != "approved":
        # A synthetic run far beyond the spec's planned volume: an inspector signs it off, as in production.
        record_decision(store=store, dataset=run.spec.id, run_id=run.run_id, decision="approved",
                        by="crash-test", note="synthetic load for the crash test")
        assert gate(spec=run.spec, store=store, run_id=run.run_id).status == "approved"


def _reader_sees_a_complete_release(store: ObjectStore, ds: str, rows: dict[str, int]) -> str:
    """What a developer's client does: LATEST -> manifest -> every file verified; returns the version."""
    version = store.read_pointer(layout.latest(ds))
    assert version in rows, f"LATEST names {version!r}"
    prefix = layout.release(ds, version)
    manifest = store.read_json(f"{prefix}/manifest.json")
    for e in [*manifest["files"], *manifest["documents"]]:
        raw = store.read_bytes(f"{prefix}/{e['key']}")
        assert (len(raw), hashlib.sha256(raw).hexdigest()) == (e["size"], e["sha256"]), e["key"]
    assert manifest["rows"]["total"] == rows[version]
    assert open_dataset(ds, storage=store).count_rows() == rows[version]
    entry = read_catalog(store)["datasets"].get(ds)
    if entry is not None:  # the catalog may lag LATEST (it is derived), but never names a missing release
        assert store.exists(f"{layout.release(ds, entry['latest'])}/manifest.json")
    return version


def _phase(store: ObjectStore, ds: str) -> str:
    if store.read_pointer(layout.latest(ds)) == "1.1":
        return "committed"
    if store.exists(f"{layout.release(ds, '1.1')}/manifest.json"):
        return "manifest-written"
    if store.list(layout.release(ds, "1.1")):
        return "moving-or-documents"
    if store.list(f"{layout.release(ds)}/.staging"):
        return "staging"
    return "before-writing"


def _child(root: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", _CHILD, root], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigkill_at_random_points_never_exposes_a_partial_release(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "root"))
    spec = f.text_spec()
    ds = spec.id
    _approve(store, f.text_run(spec, n=600))
    assert publish(spec=spec, store=store, run_id="run-1").version == "1.0"
    _approve(store, f.text_run(spec, run_id="run-2", n=BIG))
    rows = {"1.0": 600, "1.1": BIG}

    # How long an unkilled publish takes in a child (from its imports done), then undo it.
    probe = _child(store.root)
    assert probe.stdout is not None
    assert probe.stdout.readline() == b"start\n"
    t0 = time.perf_counter()
    _, err = probe.communicate(timeout=300)
    took = time.perf_counter() - t0
    assert probe.returncode == 0, err.decode()[-2000:]
    assert _reader_sees_a_complete_release(store, ds, rows) == "1.1"
    store.delete_prefix(layout.release(ds, "1.1"))
    store.commit_pointer(layout.latest(ds), "1.0")
    sync_dataset(store, ds)

    rng = random.Random(7)
    # Stratified delays cover [0, took] evenly (plain uniform draws bunch up); then extra kills aimed at the tail,
    # where the short phases (moving parts, writing the manifest, committing LATEST) are.
    delays = [took * (i + rng.random()) / KILLS for i in range(KILLS)]
    delays += [took * rng.uniform(0.6, 1.05) for _ in range(TAIL_KILLS)]
    phases = []
    for delay in delays:
        proc = _child(store.root)
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"start\n"  # imports done: the delay falls inside publish
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        phases.append(_phase(store, ds))
        _reader_sees_a_complete_release(store, ds, rows)
        if phases[-1] == "committed":  # put the store back so the next kill lands mid-publish again
            store.delete_prefix(layout.release(ds, "1.1"))
            store.commit_pointer(layout.latest(ds), "1.0")
            sync_dataset(store, ds)
            assert _reader_sees_a_complete_release(store, ds, rows) == "1.0"
    print(f"publish took {took:.2f} s; phases at kill: {phases}")
    mid = {"staging", "moving-or-documents", "manifest-written"}
    # The kills really landed inside the publish (how many phases each hits depends on the machine's timing).
    assert set(phases) & mid, phases

    # the next run finishes: a complete 1.1, listed in the catalog, no staging left behind
    res = publish(spec=spec, store=store, run_id="run-2")
    assert res.version == "1.1"
    assert _reader_sees_a_complete_release(store, ds, rows) == "1.1"
    assert read_catalog(store)["datasets"][ds]["latest"] == "1.1"
    assert store.list(f"{layout.release(ds)}/.staging") == []
    assert sorted(store.read_json(res.manifest_key)["files"][0]) == ["key", "row_groups", "rows", "sha256", "size",
                                                                     "split"]
