"""The dags/ folder: one DAG per spec, ids equal spec ids, thin and cheap to parse."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipelines.orchestration.stages import TASK_IDS
from pipelines.spec import load_catalog

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_one_dag_per_spec_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == sorted(load_catalog().specs)
    assert len(dagbag.dag_ids) == 150


def test_dag_shape_tags_and_docs(dagbag) -> None:  # type: ignore[no-untyped-def]
    spec = load_catalog().get("crop-disease-open-field")
    dag = dagbag.dags[spec.id]
    order = TASK_IDS
    assert {t.task_id for t in dag.tasks} == set(order)
    for up, down in itertools.pairwise(order):
        assert down in dag.get_task(up).downstream_task_ids, f"{up} -> {down}"
    assert set(dag.tags) == {"field:agriculture", "group:agri-crop-disease", "modality:image", "annotation:bbox"}
    assert spec.name in (dag.doc_md or "")
    assert dag.get_task("collect").retries == 2
    assert dag.get_task("publish").outlets[0].name == "datadam-release-crop-disease-open-field"
    assert dag.max_active_runs == 1


def test_label_wait_and_gate_are_deferrable_operators(dagbag) -> None:  # type: ignore[no-untyped-def]
    from pipelines.orchestration.factory import GateOperator, LabelWaitOperator, ReviewWaitOperator

    dag = dagbag.dags["crop-disease-open-field"]
    assert isinstance(dag.get_task("label_wait"), LabelWaitOperator)
    assert isinstance(dag.get_task("review_wait"), ReviewWaitOperator)
    assert isinstance(dag.get_task("gate"), GateOperator)


def test_triggers_serialize_without_credentials() -> None:
    from pipelines.orchestration.triggers import LabelProgressTrigger, StorageKeyTrigger

    path, kwargs = LabelProgressTrigger(project_id=3, overlap=2, poll_interval=5).serialize()
    assert path == "pipelines.orchestration.triggers.LabelProgressTrigger"
    assert kwargs["conn_id"] == "datadam_labelstudio" and "token" not in str(kwargs).lower()
    again = LabelProgressTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    path, kwargs = LabelProgressTrigger(project_id=4, item_ids=["a", "b"]).serialize()
    assert kwargs["item_ids"] == ["a", "b"] and LabelProgressTrigger(**kwargs).serialize() == (path, kwargs)
    path, kwargs = StorageKeyTrigger(storage="s3://b/p", key="runs/x/decision.json").serialize()
    assert StorageKeyTrigger(**kwargs).serialize() == (path, kwargs)


def test_parsing_imports_no_stage_heavyweights() -> None:
    """DAG-file parsing must not import pyarrow, GX or the Label Studio SDK (STYLE.md: cheap to parse)."""
    code = textwrap.dedent(f"""
        import sys, runpy
        runpy.run_path({str(ROOT / "dags" / "datadam.py")!r})
        heavy = [m for m in ("great_expectations", "label_studio_sdk", "cv2", "pyarrow.parquet", "boto3")
                 if m in sys.modules]
        print(",".join(heavy))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1:] in ([""], []), f"heavy imports at parse time: {out.stdout}"


def _in_fresh_process(code: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_parsing_builds_dags_from_the_parse_view_without_the_spec_models(tmp_path: Path) -> None:
    """Once the catalog's snapshot is written, parsing dags/ neither validates nor imports the pydantic models
    (docs/adr/0038); the tasks load them when they run."""
    code = f"""
        import sys, runpy
        dags = runpy.run_path({str(ROOT / "dags" / "datadam.py")!r})
        loaded = [m for m in ("pipelines.spec.models", "pipelines.spec.catalog") if m in sys.modules]
        print(sum(1 for v in dags.values() if type(v).__name__ == "DAG"), ",".join(loaded) or "-")
    """
    env = {"DATADAM_CACHE_DIR": str(tmp_path / "cache")}
    assert _in_fresh_process(code, env) == "150 pipelines.spec.models,pipelines.spec.catalog"  # validates, writes
    assert _in_fresh_process(code, env) == "150 -"


def test_an_invalid_spec_is_an_import_error_naming_the_file_the_field_and_the_value(tmp_path: Path) -> None:
    """A spec changed after the snapshot was written is validated again: a bad value fails the DAG file's import."""
    schemas = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    env = {"DATADAM_CACHE_DIR": str(tmp_path / "cache"), "DATADAM_SCHEMAS": str(schemas)}
    code = f"""
        import json
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(ROOT / "dags")!r})
        print(json.dumps([len(bag.dags), sorted(bag.import_errors.values())]))
    """
    assert json.loads(_in_fresh_process(code, env)) == [150, []]
    path = schemas / "datasets" / "agriculture" / "crop-disease-open-field.yaml"
    text = path.read_text(encoding="utf-8")
    assert "\ntarget_volume:" in text
    path.write_text(text.replace("\ntarget_volume:", "\ntarget_volume: -5 #"), encoding="utf-8")
    dags, errors = json.loads(_in_fresh_process(code, env))
    assert dags == 0 and len(errors) == 1
    assert f"{path}: target_volume: " in errors[0] and "(got -5)" in errors[0], errors[0]


def test_a_user_error_fails_the_task_at_once_with_its_message() -> None:
    """A spec asking for the impossible is not retried with backoff: retries cannot make it possible."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipelines.collect.errors import CollectError
    from pipelines.orchestration.factory import _no_retry_on_user_error

    @_no_retry_on_user_error
    def plan(**context: object) -> None:
        raise CollectError("x: no synthetic generator for modality 'multimodal' yet")

    @_no_retry_on_user_error
    def flaky(**context: object) -> None:
        raise ConnectionError("Label Studio is restarting")

    with pytest.raises(AirflowFailException, match="CollectError: x: no synthetic generator"):
        plan()
    with pytest.raises(ConnectionError):  # anything else keeps its retries
        flaky()
    assert plan.__name__ == "plan"


def test_record_failure_writes_the_first_error_for_the_local_runner(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    from types import SimpleNamespace

    from airflow.sdk.exceptions import AirflowFailException

    from pipelines.orchestration.factory import record_failure
    from pipelines.orchestration.runner import FAILURES_ENV

    out = tmp_path / "failures.jsonl"
    monkeypatch.setenv(FAILURES_ENV, str(out))
    wrapped = AirflowFailException("CollectError: the source root is not a directory")
    wrapped.__cause__ = RuntimeError("inner")
    record_failure({"ti": SimpleNamespace(task_id="plan", map_index=-1), "exception": wrapped})  # type: ignore[typeddict-item]
    record_failure({"ti": SimpleNamespace(task_id="collect", map_index=2),  # type: ignore[typeddict-item]
                    "exception": ValueError("bad shard")})
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"task_id": "plan", "map_index": -1, "error": "CollectError: the source root is not a directory"},
        {"task_id": "collect", "map_index": 2, "error": "ValueError: bad shard"},
    ]


def test_the_trigger_form_binds_a_runs_source_and_plan_and_collect_use_it(dagbag, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from pipelines.orchestration.stages import collect_args as _collect_args
    from pipelines.spec import SpecError

    dag = dagbag.dags["traffic-light-state"]
    assert "source" in dag.params and dag.params["source"] is None  # the spec's own source unless set
    (tmp_path / "a.png").write_bytes(b"\x89PNG")
    args = _collect_args("traffic-light-state", {"source": str(tmp_path)})
    assert args["spec"].source.kind == "local" and args["binding"]["given"] == str(tmp_path)
    assert load_catalog().get("traffic-light-state").source.kind == "synthetic"
    assert _collect_args("traffic-light-state", {"source": None})["binding"] is None
    with pytest.raises(SpecError, match=r"^source binding: source.root: no such folder"):
        _collect_args("traffic-light-state", {"source": str(tmp_path / "missing")})


def test_every_task_runs_with_the_dag_params_and_the_serialized_dag_keeps_them(dagbag) -> None:  # type: ignore[no-untyped-def]
    """Tasks are built while the DAG holds no params (a deep copy per task was most of the parse); at run time a
    task's params are the DAG's merged with its own, and the DAG the scheduler stores still has them."""
    from airflow.sdk.definitions.param import process_params
    from airflow.serialization.serialized_objects import DagSerialization

    dag = dagbag.dags["crop-disease-open-field"]
    assert {"items", "storage"} <= set(dag.params)
    for t in dag.tasks:
        params = process_params(dag, t, {"items": 7}, suppress_exception=False)
        assert params["items"] == 7 and params["storage"] is None, t.task_id
    with pytest.raises(Exception, match="items"):
        process_params(dag, dag.get_task("collect"), {"items": 0}, suppress_exception=False)  # minimum 1
    stored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    assert {"items", "storage"} <= set(stored.params)
