"""The built wheel is a working library: the catalog, its JSON Schema and the DAG file ship inside the package.

The wheel is built from this checkout and installed (``--no-deps``, offline) into a fresh virtualenv outside it
whose third-party packages come from this project's venv, so the test needs no network; the CLI and the DAG folder
then run from the installed package only (docs/adr/0026).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from pipelines.spec import load_catalog
from pipelines.stack.labelstudio import find_uv

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([str(find_uv()), "build", "--wheel", "--out-dir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    (whl,) = out.glob("datadam-*.whl")
    return whl


def test_wheel_holds_the_catalog_schema_and_dags_not_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    specs = sorted(n for n in names if n.startswith("pipelines/_schemas/datasets/") and n.endswith(".yaml"))
    on_disk = sorted(f"pipelines/_schemas/{p.relative_to(ROOT / 'schemas').as_posix()}"
                     for p in (ROOT / "schemas" / "datasets").rglob("*.yaml"))
    assert specs == on_disk and len(specs) == len(load_catalog().specs) == 150
    for name in ("pipelines/_schemas/dataset-spec.schema.json", "pipelines/_schemas/fields.yaml",
                 "pipelines/_schemas/groups.yaml", "pipelines/_schemas/dictionaries/names-ko.txt",
                 "pipelines/_dags/datadam.py", "pipelines/cli/__init__.py", "sim/annotators.py"):
        assert name in names, name
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"pipelines", "sim", wheel.name.removesuffix("-py3-none-any.whl") + ".dist-info"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/tests/" in n]


def test_installed_wheel_runs_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    uv = str(find_uv())
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    subprocess.run([uv, "pip", "install", "--quiet", "--offline", "--no-deps", "--python", str(venv / "bin" / "python"),
                    str(wheel)], check=True, timeout=120)
    # The dependencies: this venv's site-packages as a plain path entry (its .pth files, among them the editable
    # install's link to the checkout, are not read from there).
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", purelib],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "_datadam_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATADAM_", "PYTHON", "AIRFLOW"))}
    env |= {"DATADAM_CACHE_DIR": str(tmp_path / "cache"), "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}

    def run(*argv: str) -> str:
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    where = run(str(venv / "bin" / "python"), "-c",
                "import pipelines, sim; from pipelines.spec import default_schemas_dir; "
                "print(pipelines.__file__); print(sim.__file__); print(default_schemas_dir())").split()
    assert all(Path(p).is_relative_to(site) for p in where), where
    assert "150 spec(s) OK" in run(str(venv / "bin" / "datadam"), "specs", "check")
    listed = json.loads(run(str(venv / "bin" / "datadam"), "specs", "list", "--format", "json"))
    assert sorted(s["id"] for s in listed["specs"]) == sorted(load_catalog().specs)
    dags = run(str(venv / "bin" / "python"), "-c",
               "from pipelines.orchestration.runner import DAGS_FOLDER; "
               "from airflow.dag_processing.dagbag import DagBag; "
               "bag = DagBag(dag_folder=str(DAGS_FOLDER)); print(DAGS_FOLDER, len(bag.dags), len(bag.import_errors))")
    folder, n_dags, n_errors = dags.split()[-3:]
    assert Path(folder).is_relative_to(site) and (n_dags, n_errors) == ("150", "0"), dags
