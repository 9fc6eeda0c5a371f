"""DICOM de-identification (PS3.15 Annex E): real sample files and synthetic hospital exports in, and every
output read back: no attribute of the profile keeps its original value, no private tag is left, UIDs map the same
way in every run, burned-in text is masked or quarantined as the spec says."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from pipelines.collect import collect_shard, deidentify_shard, plan_shards
from pipelines.collect import dicom as dicom_intake
from pipelines.collect import reasons as R
from pipelines.collect.deid.dicom import date_shift_days, deid_dicom, find_text_regions, identifier_pattern
from pipelines.collect.deid.dicom_profile import BASIC, ROWS, actions, basic_action
from pipelines.collect.reasons import Reject
from pipelines.collect.shards import part_key
from pipelines.collect.sources.synthetic.dicom import describe, make_dicom
from pipelines.label import write_qc
from pipelines.label.push import _task
from pipelines.publish import open_dataset, publish
from pipelines.publish.release import dataset_metadata
from pipelines.refine import refine
from pipelines.spec.models import DatasetSpec, DicomOptions
from pipelines.storage import artifacts, layout, open_store
from pipelines.storage.schemas import ANNOTATION_SCHEMA, now
from pipelines.storage.store import ObjectStore
from pipelines.validate import gate, validate
from tests.unit.collect.specs import IMAGE, RUN, make

pytestmark = pytest.mark.unit

KEY = bytes(range(32))
SAMPLES = ("CT_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm",
           "MR_small_bigendian.dcm", "JPGExtended.dcm", "SC_rgb_jpeg_gdcm.dcm", "examples_ybr_color.dcm",
           "693_J2KI.dcm")
# The tag profile on its own: pixels are searched only when flagged (the scan of every file has its own tests).
ALL = DicomOptions(modalities=["CT", "MR", "US", "OT", "NM"], max_frames=40, bits_stored=[8, 12, 14, 16],
                   photometric=["MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422"], burned_in_scan="flagged")


def sample(name: str) -> bytes:
    path = get_testdata_file(name)
    assert path is not None
    with open(str(path), "rb") as f:
        return f.read()


def read(data: bytes) -> Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def _gray(seed: int, size: tuple[int, int] = (320, 256)) -> Image.Image:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(90, 160, size[0], dtype=np.float64)[None, :].repeat(size[1], axis=0)
    return Image.fromarray((ramp + rng.normal(0, 2, (size[1], size[0]))).astype(np.uint8), mode="L")


def synthetic(*, burned_in: bool, opts: DicomOptions = ALL, patient: int = 0, start: int = 0) -> tuple[int, bytes]:
    """The first synthetic file from ``start`` on with (or without) burned-in text, as (index, bytes)."""
    for index in range(start, start + 400):
        data = make_dicom(_gray(index), opts=opts, seed=11, index=index, patient_index=patient)
        if describe(data)["burned_in"] == burned_in:
            return index, data
    raise AssertionError("no such synthetic file in 400 draws")


def elements(ds: Dataset, where: str = "") -> Iterator[tuple[str, Any]]:
    """(path, element) of every element, sequences walked."""
    for elem in ds:
        path = f"{where}{elem.keyword or elem.tag}"
        yield path, elem
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                yield from elements(item, f"{path}[{i}].")


def assert_profile_applied(original: bytes, output: bytes, *, options: list[str] | None = None) -> None:
    """What a reviewer checks: each profile attribute is gone, empty, or changed; no private tag is left."""
    table = actions(options or [])
    before, after = read(original), read(output)
    after_values = {path: str(e.value) for path, e in elements(after) if e.VR != "SQ"}
    for path, elem in elements(before):
        if elem.VR == "SQ" or elem.value in (None, "", b"") or elem.tag.is_private:
            continue
        action = table.get(int(elem.tag))
        is_instance_uid = elem.VR == "UI" and pydicom.uid.UID(str(elem.value)).name == str(elem.value)
        if action in ("X", "Z", "D", "U") or is_instance_uid:
            assert after_values.get(path) != str(elem.value), f"{path} keeps its original value {elem.value!r}"
    private = [path for path, e in elements(after) if e.tag.is_private]
    assert private == [], f"private tags left: {private[:5]}"
    assert after.PatientIdentityRemoved == "YES"
    assert after.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert after.file_meta.MediaStorageSOPInstanceUID == after.SOPInstanceUID
    assert "SourceApplicationEntityTitle" not in after.file_meta


# ------------------------------------------------------------------------------------------ the profile


def test_the_profile_table_names_real_attributes() -> None:
    from pydicom.datadict import keyword_for_tag

    assert len(ROWS) == 653  # every row of PS3.15 2026d Table E.1-1 that has a fixed tag
    # where pydicom knows the tag, the table's keyword is pydicom's (a mistyped tag shows here)
    wrong = [(f"{t:08X}", r.keyword) for t, r in ROWS.items() if keyword_for_tag(t) not in ("", r.keyword)]
    assert wrong == []
    assert sum(1 for t in ROWS if keyword_for_tag(t) == "") == 26  # newer than pydicom 3.0's dictionary
    assert {basic_action(code) for code in BASIC.values()} == {"X", "Z", "D", "U"}
    assert {a for r in ROWS.values() for a in r.options.values()} == {"K", "C"}


# (keyword, Basic Profile code as printed, then the resolved action under: no option, retain_long_modified_dates,
# retain_patient_chars, clean_descriptors, retain_device_identity) -- read off PS3.15 2026d Table E.1-1.
PINNED = [
    ("PatientName", "Z", "Z", "Z", "Z", "Z", "Z"),
    ("PatientID", "Z/D", "Z", "Z", "Z", "Z", "Z"),
    ("PatientBirthDate", "Z", "Z", "Z", "Z", "Z", "Z"),  # no option keeps the birth date
    ("PatientSex", "Z", "Z", "Z", "K", "Z", "Z"),
    ("PatientAge", "X", "X", "X", "K", "X", "X"),
    ("PatientWeight", "X", "X", "X", "K", "X", "X"),
    ("PatientSexNeutered", "X/Z", "X", "X", "K", "X", "X"),
    ("Allergies", "X", "X", "X", "C", "C", "X"),
    ("AdditionalPatientHistory", "X", "X", "X", "X", "C", "X"),  # a descriptor, not a characteristic
    ("LastMenstrualDate", "X", "X", "C", "X", "X", "X"),  # a date, not a characteristic
    ("AccessionNumber", "Z", "Z", "Z", "Z", "Z", "Z"),
    ("StudyDate", "Z", "Z", "C", "Z", "Z", "Z"),
    ("StudyTime", "Z", "Z", "C", "Z", "Z", "Z"),
    ("SeriesDate", "X/D", "X", "C", "X", "X", "X"),
    ("AcquisitionDateTime", "X/Z/D", "X", "C", "X", "X", "X"),
    ("ContentDate", "Z/D", "Z", "C", "Z", "Z", "Z"),
    ("InstanceCreationTime", "X/Z/D", "X", "C", "X", "X", "X"),
    ("DateOfLastCalibration", "X", "X", "C", "X", "X", "K"),
    ("Date", "D", "D", "C", "D", "D", "D"),
    ("StudyDescription", "X", "X", "X", "X", "C", "X"),
    ("SeriesDescription", "X", "X", "X", "X", "C", "X"),
    ("ProtocolName", "X/D", "X", "X", "X", "C", "X"),
    ("ContrastBolusAgent", "Z/D", "Z", "Z", "Z", "C", "Z"),
    ("ImageComments", "X", "X", "X", "X", "C", "X"),
    ("InstitutionName", "X/Z/D", "X", "X", "X", "X", "X"),  # only Retain Institution Identity keeps it
    ("InstitutionAddress", "X", "X", "X", "X", "X", "X"),
    ("ReferringPhysicianName", "Z", "Z", "Z", "Z", "Z", "Z"),
    ("PerformingPhysicianName", "X", "X", "X", "X", "X", "X"),
    ("OperatorsName", "X/Z/D", "X", "X", "X", "X", "X"),
    ("StationName", "X/Z/D", "X", "X", "X", "X", "K"),
    ("DeviceSerialNumber", "X/Z/D", "X", "X", "X", "X", "K"),
    ("StationAETitle", "X", "X", "X", "X", "X", "C"),  # an AE title is cleaned, not kept
    ("DetectorID", "X/D", "X", "X", "X", "X", "K"),
    ("StudyInstanceUID", "U", "U", "U", "U", "U", "U"),
    ("SOPInstanceUID", "U", "U", "U", "U", "U", "U"),
    ("DigitalSignatureUID", "U", "U", "U", "U", "U", "U"),
    ("ReferencedImageSequence", "X/Z/U*", "U", "U", "U", "U", "U"),
    ("ReferencedPerformedProcedureStepSequence", "X/Z/D", "X", "X", "X", "X", "X"),
    ("ContentSequence", "D", "D", "D", "D", "D", "D"),
    ("GraphicAnnotationSequence", "D", "D", "D", "D", "D", "D"),
    ("IconImageSequence", "X", "X", "X", "X", "X", "X"),
    ("VerifyingOrganization", "D", "D", "D", "D", "D", "D"),
]
OPTION_ORDER = [[], ["retain_long_modified_dates"], ["retain_patient_chars"], ["clean_descriptors"],
                ["retain_device_identity"]]


@pytest.mark.parametrize("row", PINNED, ids=[r[0] for r in PINNED])
def test_pinned_rows_resolve_to_the_standards_action_under_each_option(row: tuple[str, ...]) -> None:
    from pydicom.datadict import tag_for_keyword

    keyword, printed, *expected = row
    tag = tag_for_keyword(keyword)
    assert tag is not None and ROWS[tag].keyword == keyword and ROWS[tag].basic == printed
    assert [actions(opts)[tag] for opts in OPTION_ORDER] == expected


def test_two_options_naming_one_row_differently_resolve_to_the_more_protective() -> None:
    from pydicom.datadict import tag_for_keyword

    both = actions(["retain_device_identity", "retain_long_modified_dates"])
    assert both[tag_for_keyword("DateOfLastCalibration")] == "C"  # device K, modified dates C
    assert both[tag_for_keyword("DeviceSerialNumber")] == "K"
    assert both[tag_for_keyword("StudyDate")] == "C"


@pytest.mark.parametrize("name", SAMPLES)
def test_pydicom_samples_keep_no_profile_attribute_and_no_private_tag(name: str) -> None:
    data = sample(name)
    res = deid_dicom(data, opts=ALL, secret=KEY)
    assert_profile_applied(data, res.data)
    out = read(res.data)
    # the pixels are the original's, in the original transfer syntax
    assert out.file_meta.TransferSyntaxUID == read(data).file_meta.TransferSyntaxUID
    assert np.array_equal(out.pixel_array, read(data).pixel_array)
    assert res.frames == int(read(data).get("NumberOfFrames") or 1)


def test_a_synthetic_hospital_export_loses_names_ids_dates_and_the_private_block() -> None:
    _, data = synthetic(burned_in=False)
    before = read(data)
    res = deid_dicom(data, opts=ALL, secret=KEY)
    assert_profile_applied(data, res.data)
    out = read(res.data)
    text = " ".join(str(e.value) for _, e in elements(out) if e.VR in ("PN", "LO", "SH", "LT", "ST", "CS", "DA"))
    family = str(before.PatientName).split("^")[0]
    for original in (family, before.PatientID, before.PatientBirthDate, before.AccessionNumber,
                     before.InstitutionName, before.OtherPatientIDs):
        assert str(original) not in text
    assert "StudyDescription" not in out and out.StudyDate == "" and out.PatientName == ""
    assert out.LongitudinalTemporalInformationModified == "REMOVED"
    assert (out.Manufacturer, out.BodyPartExamined) == (before.Manufacturer, before.BodyPartExamined)  # kept
    assert res.facts["modality"] == before.Modality and res.facts["rows"] == before.Rows


def test_options_keep_what_they_name_and_say_so_in_the_code_sequence() -> None:
    opts = ALL.model_copy(update={"profile_options": ["retain_long_modified_dates", "retain_patient_chars",
                                                      "clean_descriptors", "retain_device_identity"]})
    _, first = synthetic(burned_in=False, opts=opts, patient=7)
    _, second = synthetic(burned_in=False, opts=opts, patient=7, start=50)
    outs = [read(deid_dicom(d, opts=opts, secret=KEY).data) for d in (first, second)]
    befores = [read(first), read(second)]
    shift = date_shift_days(KEY, str(befores[0].PatientID))
    assert -3650 <= shift <= -365
    for before, out in zip(befores, outs, strict=True):
        assert out.StudyDate != before.StudyDate and out.StudyDate  # shifted, not removed
        moved = (np.datetime64(f"{out.StudyDate[:4]}-{out.StudyDate[4:6]}-{out.StudyDate[6:]}")
                 - np.datetime64(f"{before.StudyDate[:4]}-{before.StudyDate[4:6]}-{before.StudyDate[6:]}"))
        assert moved.astype(int) == shift  # one patient: one shift
        assert (out.PatientSex, out.PatientAge) == (before.PatientSex, before.PatientAge)
        assert out.DeviceSerialNumber == before.DeviceSerialNumber
        family = str(before.PatientName).split("^")[0]
        assert out.StudyDescription.startswith(before.Modality) and family not in out.StudyDescription
        assert "[REMOVED]" in out.StudyDescription
        assert out.LongitudinalTemporalInformationModified == "MODIFIED"
        codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
        assert codes == ["113100", "113107", "113108", "113105", "113109"]
        assert out.PatientName == "" and out.PatientID == ""  # options never keep the identity
        assert_profile_applied(dicom_bytes(before), dicom_bytes(out), options=list(opts.profile_options))


def dicom_bytes(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


def test_identifiers_match_as_words_not_inside_other_words() -> None:
    pattern = identifier_pattern(["LEE", "김민준"])
    assert pattern is not None
    assert pattern.search("SLEEVE FRACTURE") is None and pattern.search("KNEE") is None
    assert pattern.search("follow-up for Lee") and pattern.search("김민준님 추적검사")


def test_a_safe_listed_private_tag_stays_and_the_others_go() -> None:
    opts = ALL.model_copy(update={"safe_private_tags": ["0009,1004"]})
    out = read(deid_dicom(sample("CT_small.dcm"), opts=opts, secret=KEY).data)
    private = {str(e.tag): e.value for _, e in elements(out) if e.tag.is_private}
    assert private == {"(0009,0010)": "GEMS_IDEN_01", "(0009,1004)": "HiSpeed CT/i"}
    assert "113111" in [item.CodeValue for item in out.DeidentificationMethodCodeSequence]


def test_a_bare_dataset_without_meta_header_comes_out_as_a_part_10_file() -> None:
    ds = read(sample("MR_small.dcm"))
    ds.preamble = None
    del ds.file_meta
    buf = io.BytesIO()
    ds.save_as(buf, implicit_vr=True, little_endian=True, enforce_file_format=False)
    out = deid_dicom(buf.getvalue(), opts=ALL, secret=KEY).data
    assert out[128:132] == b"DICM"
    assert_profile_applied(sample("MR_small.dcm"), out)


# ----------------------------------------------------------------------------------------------- UIDs


def test_the_same_uid_maps_to_the_same_new_uid_and_another_key_maps_it_elsewhere() -> None:
    data = sample("CT_small.dcm")
    one, two = (read(deid_dicom(data, opts=ALL, secret=KEY).data) for _ in range(2))
    other = read(deid_dicom(data, opts=ALL, secret=bytes(32)).data)
    for kw in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
        assert one[kw].value == two[kw].value != other[kw].value
        assert str(one[kw].value).startswith("2.25.") and len(str(one[kw].value)) <= 64
        assert one[kw].value != read(data)[kw].value
    assert one.SOPClassUID == read(data).SOPClassUID  # a UID the standard defines stays


# ------------------------------------------------------------------------------------------- burned in


def test_burned_in_text_is_quarantined_when_the_spec_says_so() -> None:
    _, data = synthetic(burned_in=True)
    with pytest.raises(Reject) as exc:
        deid_dicom(data, opts=ALL, secret=KEY)  # burned_in defaults to quarantine
    assert exc.value.reason == R.PII_BURNED_IN


def test_burned_in_text_is_masked_when_the_spec_says_so() -> None:
    _, data = synthetic(burned_in=True)
    before = read(data)
    shown = dicom_intake.render(before, dicom_intake.pixels(before)[0])
    found = find_text_regions(shown)
    assert len(found) == 2  # the name/ID line and the dates line
    res = deid_dicom(data, opts=ALL.model_copy(update={"burned_in": "mask"}), secret=KEY)
    out = read(res.data)
    assert out.BurnedInAnnotation == "NO"
    assert "113101" in [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    after = dicom_intake.render(out, dicom_intake.pixels(out)[0])
    assert find_text_regions(after) == []
    for r in found:  # where the text was, the display is one flat colour now
        patch = after[r.y:r.y + r.h, r.x:r.x + r.w]
        assert patch.max() == patch.min()
    # the display image annotators get is the masked one, in the DICOM pixel grid
    shown_png = np.asarray(Image.open(io.BytesIO(res.display)))
    assert shown_png.shape == (out.Rows, out.Columns) and np.array_equal(shown_png, after)
    assert res.audit["burned_in"]["regions"]


def test_real_ultrasound_text_is_masked_where_the_institution_name_was() -> None:
    data = sample("examples_jpeg2k.dcm")  # a GE ultrasound with the site name and IDs burned in, top left
    ds = read(data)
    ds.BurnedInAnnotation = "YES"
    res = deid_dicom(dicom_bytes(ds), opts=ALL.model_copy(update={"burned_in": "mask"}), secret=KEY)
    out = read(res.data)
    before = dicom_intake.render(ds, dicom_intake.pixels(ds)[0])
    after = dicom_intake.render(out, dicom_intake.pixels(out)[0])
    site = (slice(24, 40), slice(18, 170))  # "BAPTIST MED CTR"
    assert before[site].max() > 200 and after[site].max() < 30
    assert out.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian  # re-encoded after masking
    assert out.PhotometricInterpretation == "RGB"


def test_text_in_an_unflagged_file_is_found_when_the_spec_scans_all_files() -> None:
    _, data = synthetic(burned_in=True)
    ds = read(data)
    ds.BurnedInAnnotation = "NO"  # an export that does not say what its pixels show
    unflagged = dicom_bytes(ds)
    assert deid_dicom(unflagged, opts=ALL, secret=KEY).regions == []  # "flagged": the export's word is taken
    assert DicomOptions().burned_in_scan == "all"  # the default searches every file
    with pytest.raises(Reject) as exc:
        deid_dicom(unflagged, opts=ALL.model_copy(update={"burned_in_scan": "all"}), secret=KEY)
    assert exc.value.reason == R.PII_BURNED_IN and "not flagged" in exc.value.detail
    res = deid_dicom(unflagged, opts=ALL.model_copy(update={"burned_in_scan": "all", "burned_in": "mask"}),
                     secret=KEY)
    assert len(res.regions) == 2 and res.audit["burned_in"]["flagged"] is False
    # a clean unflagged file passes the scan untouched
    _, clean = synthetic(burned_in=False)
    assert deid_dicom(clean, opts=ALL.model_copy(update={"burned_in_scan": "all"}), secret=KEY).regions == []


def test_a_flagged_file_without_findable_text_is_quarantined_not_passed() -> None:
    _, data = synthetic(burned_in=False)
    ds = read(data)
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(Reject) as exc:
        deid_dicom(dicom_bytes(ds), opts=ALL.model_copy(update={"burned_in": "mask"}), secret=KEY)
    assert exc.value.reason == R.PII_BURNED_IN and "no text" in exc.value.detail


# ------------------------------------------------------------------------------------- the whole stage

DICOM_SPEC = {
    "id": "chest-xray-dicom-test",
    "field": "healthcare",
    "modality": {"kind": "image", "formats": ["dicom"], "min_width": 96, "min_height": 96, "color": "grayscale",
                 "dicom": {"modalities": ["CT", "DX", "MG"], "burned_in": "mask", "max_frames": 3,
                           "profile_options": ["retain_long_modified_dates"]}},
    "source": {"kind": "synthetic", "seed": 5, "items": 24, "defect_rate": 0.0},
    "deidentify": [],
}


def _run(store: ObjectStore, run_id: str) -> list[dict[str, Any]]:
    return deidentified(make(IMAGE, **DICOM_SPEC), store, run_id)


def deidentified(spec: DatasetSpec, store: ObjectStore, run_id: str) -> list[dict[str, Any]]:
    """Collect and de-identify a run, shard by shard (counts reconcile); the de-identified item rows."""
    rows: list[dict[str, Any]] = []
    for s in plan_shards(spec=spec, store=store, run_id=run_id):
        collect_shard(spec=spec, store=store, run_id=run_id, shard=s)
        res = deidentify_shard(spec=spec, store=store, run_id=run_id, shard=s["shard"])
        assert res.items_in == res.items_out + res.quarantined
        rows += store.read_table(part_key(spec.id, run_id, "deidentify", s["shard"])).to_pylist()
    return rows


def test_the_stage_writes_deidentified_dicom_and_a_display_image_with_the_same_uids_every_run(tmp_path: Any) -> None:
    store = open_store(str(tmp_path))
    spec = make(IMAGE, **DICOM_SPEC)
    first, second = _run(store, RUN), _run(store, RUN.replace("00:00:00", "01:00:00"))
    assert len(first) == 24 and store.exists(layout.restricted(spec.id, "deid", "dicom.key"))
    uids = {}
    for run_rows in (first, second):
        for row in run_rows:
            assert row["media_key"].startswith(f"media/{spec.id}/") and row["media_ext"] == "dcm"
            out = read(store.read_bytes(row["media_key"]))
            original = store.read_bytes(layout.restricted(spec.id, f"{row['original_sha256']}.dcm"))
            assert_profile_applied(original, store.read_bytes(row["media_key"]), options=["retain_long_modified_dates"])
            uids.setdefault(row["item_id"], set()).add((out.StudyInstanceUID, out.SOPInstanceUID))
            meta = json.loads(row["meta"])
            png = Image.open(io.BytesIO(store.read_bytes(meta["display"])))
            assert png.size == (out.Columns, out.Rows) == (row["width"], row["height"])
            assert meta["dicom"]["modality"] in ("CT", "DX", "MG")
            task = _task(spec, row, lambda key: f"/data/{key}", gold=False)
            assert task["data"]["image"] == f"/data/{meta['display']}"  # annotators get the PNG
            audit = json.loads(row["deid"])
            assert audit["dicom"]["profile"].startswith("DICOM PS3.15")
    assert all(len(v) == 1 for v in uids.values())  # the same new UIDs in both runs
    studies: dict[str, set[str]] = {}
    for row in first:  # synthetic items 4k..4k+3 are one patient's study: one new StudyInstanceUID
        idx = int(row["source_uri"].rsplit("/", 1)[1])
        studies.setdefault(str(idx // 4), set()).add(next(iter(uids[row["item_id"]]))[0])
    assert all(len(v) == 1 for v in studies.values()) and len(studies) == 6


# ---------------------------------------------------------------------------------- refine and the card


def test_a_release_carries_deidentified_dicom_and_its_columns_and_every_file_passes_the_profile(
        tmp_path: Any) -> None:
    """collect -> de-identify -> (annotations) -> refine -> validate -> gate -> publish, then a developer's read."""
    store = open_store(str(tmp_path))
    spec = make(IMAGE, **DICOM_SPEC)
    rows = _run(store, RUN)
    anns = []
    for i, row in enumerate(rows):
        box = {"from_name": "label", "to_name": "image", "type": "rectanglelabels",
               "original_width": row["width"], "original_height": row["height"],
               "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 0,
                         "rectanglelabels": [spec.labels[i % len(spec.labels)]]}}
        anns.append({"item_id": row["item_id"], "task_id": i, "project_id": 1, "annotation_id": i,
                     "annotator": "a@x", "result": json.dumps([box]), "ground_truth": False,
                     "was_cancelled": False, "lead_time_s": 1.0, "created_at": now(), "updated_at": now(),
                     "role": "annotate"})
    artifacts.LABEL_ANNOTATIONS.write(store, spec.id, RUN, pa.Table.from_pylist(anns, schema=ANNOTATION_SCHEMA))
    write_qc(spec=spec, store=store, run_id=RUN, rows=anns)  # label_pull's QC: the consensus refine releases
    assert refine(spec=spec, store=store, run_id=RUN).records == len(rows)
    assert validate(spec=spec, store=store, run_id=RUN, data_docs=False).success
    assert gate(spec=spec, store=store, run_id=RUN).status == "approved"
    release = publish(spec=spec, store=store, run_id=RUN)
    table = open_dataset(spec.id, storage=store).to_table()
    assert table.num_rows == len(rows) == release.rows
    # releases name originals only by a keyed digest; the way back lives in restricted/ (refine's provenance map)
    provenance = {r["item_id"]: r["original_sha256"] for r in store.read_table(
        f"{layout.restricted_run(spec.id, RUN, 'refine')}/provenance.parquet").to_pylist()}
    for rec in table.to_pylist():
        released = rec["image"]["bytes"]
        assert rec["original_sha256"] != provenance[rec["item_id"]]
        original = store.read_bytes(layout.restricted(spec.id, f"{provenance[rec['item_id']]}.dcm"))
        assert_profile_applied(original, released, options=["retain_long_modified_dates"])
        ds = read(released)  # a developer's pydicom reads the released bytes
        d = rec["dicom"]
        assert ds.Modality == d["modality"] in ("CT", "DX", "MG") and d["body_part"] and d["manufacturer"]
        assert d["pixel_spacing_mm"] and d["frames"] == int(ds.get("NumberOfFrames") or 1)
        assert d["display_key"].startswith(f"media/{spec.id}/") and d["display_key"].endswith(".png")
        assert rec["objects"][0]["x"] == pytest.approx(ds.Columns * 0.1)  # boxes in the DICOM pixel grid
    card = store.read_text(f"{release.prefix}/README.md")
    assert "Annex E" in card and "Retain Longitudinal Temporal Information with Modified Dates" in card
    md = dataset_metadata(spec)["dicom"]
    assert md["options"] == ["retain_long_modified_dates"] and md["burned_in"] == "mask"
