"""A contractor's delivery bound at run time to a shipped spec (``--source`` / the DAG's ``source`` param): the
photographs, the spec, and what a bound run must leave behind. Shared by the dag.test path
(tests/integration/test_source_binding.py) and the REST path (tests/distributed/test_source_binding_rest.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import skimage.data

from pipelines.pii.pseudonyms import Pseudonyms
from pipelines.spec import load_catalog
from pipelines.spec.catalog import default_schemas_dir
from pipelines.storage import ObjectStore, artifacts, layout

SPEC_ID = "traffic-light-state"  # png, rgb, 32x16 to 640x480; faces and licence plates are masked
# RGB photographs within 640x480 are collected; astronaut.png (512x512) is taller than the spec allows and
# camera.png is grayscale: both are quarantined, so items in = items out + quarantined is exercised too.
PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png", "camera.png")
COLLECTED = 2


def copy_photos(folder: Path) -> list[Path]:
    """The delivery: scikit-image's photographs copied into ``folder``."""
    folder.mkdir(parents=True)
    src = Path(skimage.data.__file__).parent
    return [Path(shutil.copy(src / name, folder / name)) for name in PHOTOS]


def spec_file_bytes() -> bytes:
    """The shipped spec file, byte for byte (a bound run must not touch it)."""
    return next(default_schemas_dir().glob(f"datasets/*/{SPEC_ID}.yaml")).read_bytes()


def assert_bound_release(store: ObjectStore, run_id: str, *, given: str, kind: str) -> dict[str, Any]:
    """The plan, the collect counts and the release manifest of a bound run record the binding; the manifest."""
    plan = store.read_json(artifacts.COLLECT_PLAN.key(SPEC_ID, run_id))
    assert plan["items"] == len(PHOTOS)
    assert plan["binding"]["given"] == given and plan["source"]["kind"] == kind
    counts = [store.read_json(o.key) for o in store.list(layout.run(SPEC_ID, run_id, "collect"))
              if "/summary-" in o.key]
    assert sum(c["items_in"] for c in counts) == len(PHOTOS)
    assert sum(c["items_out"] for c in counts) == COLLECTED
    assert sum(c["quarantined"] for c in counts) == len(PHOTOS) - COLLECTED

    version = store.read_pointer(layout.latest(SPEC_ID))
    assert version is not None
    manifest: dict[str, Any] = store.read_json(layout.release_manifest(SPEC_ID, version))
    assert manifest["rows"]["total"] == COLLECTED
    assert manifest["source"]["bound_at_run"] is True and manifest["source"]["kind"] == kind
    # a release names the location by its pseudonym (a contractor's path can name people); the plan keeps it
    assert manifest["source"]["binding"] == {"given": Pseudonyms.of_store(store).source(given),
                                             "source": {"kind": kind}}
    assert given not in json.dumps(manifest, ensure_ascii=False)
    assert manifest["spec"]["version"] == load_catalog().get(SPEC_ID).version
    return manifest
