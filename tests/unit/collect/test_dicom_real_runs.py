"""Real DICOM files (the samples pydicom ships) through a whole run, on storage: a folder of several transfer
syntaxes collected, de-identified, annotated, refined, validated and published, every released file read back;
and a real multi-frame ultrasound annotated frame by frame, its regions mapped back to frame index and DICOM
pixel grid."""

from __future__ import annotations

import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from pipelines.collect import dicom as dicom_intake
from pipelines.label import write_qc
from pipelines.label.config import label_config
from pipelines.label.push import _task
from pipelines.label.tasks import FRAMES, target_kind
from pipelines.publish import open_dataset, publish
from pipelines.refine import refine
from pipelines.spec import parse_spec
from pipelines.spec.models import DatasetSpec
from pipelines.storage import artifacts, layout, open_store
from pipelines.storage.schemas import ANNOTATION_SCHEMA, now
from pipelines.storage.store import ObjectStore
from pipelines.validate import gate, validate
from tests.unit.collect.specs import IMAGE, RUN
from tests.unit.collect.test_dicom_deid import assert_profile_applied, deidentified

pytestmark = pytest.mark.unit

# One real file per transfer syntax: explicit VR LE, implicit VR LE, explicit big endian, RLE, JPEG baseline,
# JPEG extended, JPEG lossless (SV1), JPEG-LS lossless, JPEG 2000 lossless and lossy, deflated. pydicom ships some
# images in several syntaxes (MR_small, the SC_rgb test card): those are one image, and dedupe keeps the first.
TRANSFER_SYNTAX_SAMPLES = {
    "CT_small.dcm": "1.2.840.10008.1.2.1",
    "SC_rgb_jpeg_dcmd.dcm": "1.2.840.10008.1.2",
    "ExplVR_BigEnd.dcm": "1.2.840.10008.1.2.2",
    "MR_small_RLE.dcm": "1.2.840.10008.1.2.5",
    "SC_rgb_dcmtk_+eb+cr.dcm": "1.2.840.10008.1.2.4.50",
    "JPGExtended.dcm": "1.2.840.10008.1.2.4.51",
    "SC_rgb_jpeg_gdcm.dcm": "1.2.840.10008.1.2.4.70",
    "MR_small_jpeg_ls_lossless.dcm": "1.2.840.10008.1.2.4.80",
    "MR_small_jp2klossless.dcm": "1.2.840.10008.1.2.4.90",
    "JPEG2000.dcm": "1.2.840.10008.1.2.4.91",
    "image_dfl.dcm": "1.2.840.10008.1.2.1.99",
}
MULTI_FRAME = "examples_ybr_color.dcm"  # a real 30-frame ultrasound loop, JPEG baseline, YBR_FULL_422


def _spec(root: Path, *, dataset: str, dicom: dict[str, Any], annotation: dict[str, Any]) -> DatasetSpec:
    d = copy.deepcopy(IMAGE)
    d.update(id=dataset, field="healthcare", source={"kind": "local", "root": str(root)}, deidentify=[],
             annotation=annotation, schema={}, splits={"train": 0.8, "validation": 0.1, "test": 0.1})
    d.pop("planned_shares", None)
    d["modality"] = {"kind": "image", "formats": ["dicom"], "min_width": 48, "min_height": 48, "dicom": dicom}
    return parse_spec(d)


def _folder(tmp_path: Path, names: list[str]) -> Path:
    root = tmp_path / "hospital-export"
    root.mkdir()
    for name in names:
        path = get_testdata_file(name)
        assert path is not None, name
        shutil.copy(str(path), root / name)
    return root


def _annotate(spec: DatasetSpec, store: ObjectStore, results: dict[str, list[list[dict[str, Any]]]]) -> None:
    """What label_pull writes: each item's submitted Label Studio results (one list per annotator)."""
    anns = []
    for i, (item_id, per_annotator) in enumerate(sorted(results.items())):
        for j, result in enumerate(per_annotator):
            anns.append({"item_id": item_id, "task_id": i, "project_id": 1, "annotation_id": i * 10 + j,
                         "annotator": f"a{j}@x", "result": json.dumps(result), "ground_truth": False,
                         "was_cancelled": False, "lead_time_s": 1.0, "created_at": now(), "updated_at": now(),
                         "role": "annotate"})
    artifacts.LABEL_ANNOTATIONS.write(store, spec.id, RUN, pa.Table.from_pylist(anns, schema=ANNOTATION_SCHEMA))
    write_qc(spec=spec, store=store, run_id=RUN, rows=anns)  # label_pull's QC: the consensus refine releases


def _box(label: str, row: dict[str, Any], x: float, y: float, w: float, h: float,
         frame: int | None = None) -> dict[str, Any]:
    region: dict[str, Any] = {
        "from_name": "label", "to_name": FRAMES if frame is not None else "image", "type": "rectanglelabels",
        "original_width": row["width"], "original_height": row["height"],
        "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}}
    if frame is not None:
        region["item_index"] = frame  # what Label Studio stores on a region drawn on an image list
    return region


def _publish(spec: DatasetSpec, store: ObjectStore) -> list[dict[str, Any]]:
    assert validate(spec=spec, store=store, run_id=RUN, data_docs=False).success
    assert gate(spec=spec, store=store, run_id=RUN).status == "approved"
    publish(spec=spec, store=store, run_id=RUN)
    return list(open_dataset(spec.id, storage=store).to_table().to_pylist())


def test_a_folder_of_several_transfer_syntaxes_is_released_with_no_profile_attribute_and_no_private_tag(
        tmp_path: Path) -> None:
    root = _folder(tmp_path, list(TRANSFER_SYNTAX_SAMPLES))
    for name, syntax in TRANSFER_SYNTAX_SAMPLES.items():  # the folder really holds those syntaxes
        assert pydicom.dcmread(root / name, stop_before_pixels=True).file_meta.TransferSyntaxUID == syntax, name
    store = open_store(str(tmp_path / "store"))
    spec = _spec(root, dataset="hospital-export-dicom-test", annotation={"type": "bbox", "labels": ["lesion"]},
                 dicom={"modalities": ["CT", "MR", "OT", "US", "NM", "XA", "RF", "CR", "DX"],
                        "bits_stored": [8, 12, 16], "photometric": ["MONOCHROME1", "MONOCHROME2", "RGB",
                                                                     "YBR_FULL", "YBR_FULL_422"],
                        "burned_in_scan": "flagged", "max_frames": 1})
    rows = deidentified(spec, store, RUN)
    dupes = store.dataset(layout.run(spec.id, RUN, "collect"), pattern="quarantine-*.parquet").to_table().to_pylist()
    assert {q["reason"] for q in dupes} <= {"dedupe.exact", "dedupe.near"}, dupes  # nothing else refused
    assert len(rows) + len(dupes) == len(TRANSFER_SYNTAX_SAMPLES)
    _annotate(spec, store, {r["item_id"]: [[_box("lesion", r, 10, 10, 20, 20)]] for r in rows})
    assert refine(spec=spec, store=store, run_id=RUN).records == len(rows)
    released = _publish(spec, store)
    assert len(released) == len(rows)
    provenance = {r["item_id"]: r["original_sha256"] for r in store.read_table(
        f"{layout.restricted_run(spec.id, RUN, 'refine')}/provenance.parquet").to_pylist()}
    syntaxes = set()
    for rec in released:
        original = store.read_bytes(layout.restricted(spec.id, f"{provenance[rec['item_id']]}.dcm"))
        assert_profile_applied(original, rec["image"]["bytes"])  # every profile attribute changed, no private tag
        ds = pydicom.dcmread(io.BytesIO(rec["image"]["bytes"]))
        syntaxes.add(str(ds.file_meta.TransferSyntaxUID))
        assert rec["dicom"]["transfer_syntax"] == str(ds.file_meta.TransferSyntaxUID)
        # the pixels a developer decodes are the original's
        assert np.array_equal(ds.pixel_array, pydicom.dcmread(io.BytesIO(original)).pixel_array)
    # released files keep their transfer syntax: uncompressed, RLE, JPEG and JPEG 2000 among them
    assert len(syntaxes) >= 6 and {"1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.51"} <= syntaxes, syntaxes
    assert any(s.startswith("1.2.840.10008.1.2.4.9") for s in syntaxes), syntaxes


def test_a_real_multi_frame_ultrasound_is_annotated_frame_by_frame_and_maps_back(tmp_path: Path) -> None:
    root = _folder(tmp_path, [MULTI_FRAME])
    store = open_store(str(tmp_path / "store"))
    spec = _spec(root, dataset="us-loop-frames-test", annotation={"type": "bbox", "labels": ["nodule", "cyst"]},
                 dicom={"modalities": ["US"], "bits_stored": [8], "photometric": ["YBR_FULL_422"],
                        "burned_in_scan": "flagged", "max_frames": 40})
    [row] = deidentified(spec, store, RUN)
    meta = json.loads(row["meta"])
    out = pydicom.dcmread(io.BytesIO(store.read_bytes(row["media_key"])))
    frames = dicom_intake.pixels(out)
    assert frames.shape[0] == 30 == len(meta["frames"]) and meta["display"] == meta["frames"][0]
    # what annotators see: every frame's display image, in frame order, in the DICOM pixel grid
    for i in (0, 7, 29):
        shown = np.asarray(Image.open(io.BytesIO(store.read_bytes(meta["frames"][i]))))
        assert np.array_equal(shown, dicom_intake.render(out, frames[i]))
    assert len(set(meta["frames"])) > 1  # the loop moves: frames differ
    # the task: one image list over the frames; regions go to it
    assert target_kind(spec) == FRAMES
    config = label_config(spec)
    assert 'valueList="$frames"' in config and 'toName="frames"' in config and 'name="image"' not in config
    task = _task(spec, row, lambda key: f"/data/{key}", gold=False)
    assert task["data"][FRAMES] == [f"/data/{k}" for k in meta["frames"]]
    # two annotators draw on frames 3 and 17 (Label Studio's item_index); label_pull's consensus keeps what both
    # drew, and refine releases it frame by frame
    a = [_box("nodule", row, 25, 50, 10, 10, frame=3), _box("cyst", row, 60, 20, 12.5, 25, frame=17)]
    b = [_box("nodule", row, 25.2, 50.1, 10, 10, frame=3), _box("cyst", row, 60, 20, 12.5, 25, frame=17)]
    _annotate(spec, store, {row["item_id"]: [a, b]})
    assert refine(spec=spec, store=store, run_id=RUN).records == 1
    [rec] = _publish(spec, store)
    objects, region_frames = rec["objects"], rec["dicom"]["region_frames"]
    assert sorted(zip(region_frames, [o["label"] for o in objects], strict=True)) == [(3, "nodule"), (17, "cyst")]
    cyst = objects[region_frames.index(17)]
    # percent of the frame -> DICOM pixels: Columns x Rows = 320 x 240
    assert (out.Columns, out.Rows) == (320, 240)
    assert (cyst["x"], cyst["y"], cyst["w"], cyst["h"]) == (192.0, 48.0, 40.0, 60.0)
    assert rec["dicom"]["frames"] == 30 and rec["dicom"]["frame_keys"] == meta["frames"]
    # a reader gets the frame a region was drawn on back from the released DICOM by its index
    ds = pydicom.dcmread(io.BytesIO(rec["image"]["bytes"]))
    y, x, h, w = int(cyst["y"]), int(cyst["x"]), int(cyst["h"]), int(cyst["w"])
    seen = np.asarray(Image.open(io.BytesIO(store.read_bytes(rec["dicom"]["frame_keys"][17]))))[y:y + h, x:x + w]
    from_dicom = dicom_intake.render(ds, dicom_intake.pixels(ds)[17])[y:y + h, x:x + w]
    assert seen.shape[:2] == (60, 40) and np.array_equal(seen, from_dicom)
    assert not np.array_equal(from_dicom, dicom_intake.render(ds, dicom_intake.pixels(ds)[3])[y:y + h, x:x + w])
