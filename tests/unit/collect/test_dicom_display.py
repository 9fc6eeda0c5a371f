"""What annotators see of a DICOM item: the windowed 8-bit image, in the DICOM pixel grid; and `datadam deid dicom`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.collect import dicom
from pipelines.spec.models import WINDOW_PRESETS, DicomOptions

pytestmark = pytest.mark.unit
runner = CliRunner()


def _ct() -> tuple[pydicom.Dataset, np.ndarray]:
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    ds = pydicom.dcmread(str(path))
    return ds, dicom.pixels(ds)[0]


def test_a_window_preset_maps_hounsfield_units_to_grey_levels() -> None:
    ds, frame = _ct()
    hu = apply_modality_lut(frame, ds)
    center, width = WINDOW_PRESETS["brain"]  # 40/80: 0 HU and below black, 80 HU and above white
    shown = dicom.render(ds, frame, window=(center, width))
    assert shown.shape == (ds.Rows, ds.Columns) and shown.dtype == np.uint8
    assert (shown[hu <= 0] == 0).all() and (shown[hu >= 80] == 255).all()
    lung = dicom.render(ds, frame, window=WINDOW_PRESETS["lung"])
    assert not np.array_equal(shown, lung)


def test_the_files_own_window_is_used_when_the_spec_names_none() -> None:
    ds, frame = _ct()
    ds.WindowCenter, ds.WindowWidth = 40, 80
    assert np.array_equal(dicom.render(ds, frame), dicom.render(ds, frame, window=(40, 80)))
    del ds.WindowCenter, ds.WindowWidth
    full = dicom.render(ds, frame)  # neither: the full range of the pixels
    assert full.min() == 0 and full.max() == 255


def test_monochrome1_is_shown_inverted() -> None:
    ds, frame = _ct()
    normal = dicom.render(ds, frame, window=(40, 400))
    ds.PhotometricInterpretation = "MONOCHROME1"
    assert np.array_equal(dicom.render(ds, frame, window=(40, 400)), 255 - normal)


def test_the_display_png_is_in_the_dicom_pixel_grid() -> None:
    ds, frame = _ct()
    png = Image.open(io.BytesIO(dicom.display_png(ds, frame, opts=DicomOptions(window="bone"))))
    assert png.size == (ds.Columns, ds.Rows) and png.mode == "L"


def test_cli_deid_dicom_writes_a_deidentified_file_and_refuses_what_is_not_dicom(tmp_path: Path) -> None:
    src = get_testdata_file("CT_small.dcm")
    assert src is not None
    out, shown = tmp_path / "out.dcm", tmp_path / "shown.png"
    res = runner.invoke(app, ["deid", "dicom", str(src), str(out), "--display", str(shown)])
    assert res.exit_code == 0, res.output
    ds = pydicom.dcmread(str(out))
    assert ds.PatientIdentityRemoved == "YES" and ds.PatientName == ""
    assert Image.open(shown).size == (ds.Columns, ds.Rows)
    audit = json.loads(res.stderr.strip().splitlines()[-1])
    assert audit["codes"] == ["113100"] and audit["facts"]["modality"] == "CT"
    text = tmp_path / "notes.txt"
    text.write_text("PATIENT: HONG GILDONG\n" * 20)
    res = runner.invoke(app, ["deid", "dicom", str(text), str(tmp_path / "x.dcm")])
    assert res.exit_code == 1 and "media.undecodable" in res.stderr and "Traceback" not in res.output
    assert not (tmp_path / "x.dcm").exists()
