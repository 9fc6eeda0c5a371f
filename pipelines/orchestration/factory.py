"""One Airflow DAG per dataset spec.

collect (mapped over shards) -> deidentify (mapped) -> label_push -> label_wait (deferred) -> label_pull
-> review_wait (deferred while reviewers judge the sample label_pull queued) -> review_pull -> refine -> validate
-> gate (waits while an inspector decides: docs/adr/0020) -> publish (emits the dataset's Asset).
The order, and what each task runs, is the stage table (:mod:`pipelines.orchestration.stages`); this module turns
it into a DAG: one generic task wrapper for the plain stages, operators for the three that wait.

Parse-time cost is the catalog's parse view (read from the snapshot without importing the spec models,
docs/adr/0038) and these definitions: every stage module (pyarrow, GX, the Label Studio SDK) and the validated
spec are loaded inside the task that uses them, and connections are read inside tasks only.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import DAG, Asset, BaseOperator, Context, Param, task
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import AirflowFailException

from pipelines.orchestration.runner import FAILURES_ENV
from pipelines.orchestration.settings import gate_mode, inspectors, storage_root
from pipelines.orchestration.stages import STAGES, RunConfError, Stage, StageCall, xcom
from pipelines.orchestration.triggers import LabelProgressTrigger, StorageKeyTrigger
from pipelines.spec.snapshot import SpecView, load_views

START = pendulum.datetime(2026, 1, 1, tz="UTC")
# Waiting knobs come from the run conf, not Params: every Param is deep-copied into every task at parse time,
# which made up most of the parse cost of 150 DAGs.
WAIT_DEFAULTS: dict[str, float] = {"label_poll_s": 30.0, "label_timeout_s": 7 * 24 * 3600.0,
                                   "review_timeout_s": 7 * 24 * 3600.0,
                                   "gate_poll_s": 60.0, "gate_timeout_s": 14 * 24 * 3600.0}


def _knob(context: Context, name: str) -> float:
    conf = context["dag_run"].conf or {}
    return float(conf.get(name, WAIT_DEFAULTS[name]))


SOURCE_PARAM_HELP = ("where this run's items come from, instead of the spec's source (the spec is not changed): "
                     "s3://bucket/prefix?connection=ID, file:///folder, https://host/list.txt, "
                     "/path/records.csv?text_column=body, or a source block {kind: ..., ...}; never keys")
# The gate's options in Airflow's Required Actions, and the decision each one records.
GATE_OPTIONS = {"Approve": "approved", "Reject": "rejected", "Send back for rework": "rework"}


_F = TypeVar("_F", bound=Callable[..., Any])


def _user_error_types() -> tuple[type[Exception], ...]:
    """Errors that say the spec or the source binding asks for something impossible: retrying cannot help."""
    from pipelines.collect.errors import CollectError
    from pipelines.label.config import LabelConfigError
    from pipelines.publish.versions import VersionError
    from pipelines.spec.errors import SpecError

    return (CollectError, SpecError, LabelConfigError, VersionError)


def _no_retry_on_user_error(fn: _F) -> _F:
    """A user error fails the task at once (no retries with backoff), with the error's own message."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _user_error_types() as exc:
            raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def record_failure(context: Context) -> None:
    """``on_failure_callback``: the task's final error, as one line a person can act on.

    Written to ``$DATADAM_FAILURES_FILE`` when set (the local runner reads it to say *why* a run failed) and
    logged either way.
    """
    exc = context.get("exception")
    ti = context["ti"]
    # Our own AirflowFailException messages already say what failed; anything else is named by its type.
    error = str(exc) if isinstance(exc, AirflowFailException) else (
        f"{type(exc).__name__}: {exc}" if exc is not None else "unknown")
    line = {"task_id": ti.task_id, "map_index": ti.map_index, "error": error[:2000]}
    path = os.environ.get(FAILURES_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def release_asset(spec_id: str) -> Asset:
    return Asset(name=f"datadam-release-{spec_id}", uri=f"datadam://releases/{spec_id}", group="datadam")


def doc_md(spec: SpecView) -> str:
    labels = spec.labels
    shown = ", ".join(labels[:20]) + (" ..." if len(labels) > 20 else "")
    rows = [
        ("분야 field", spec.field), ("그룹 group", spec.group), ("유형 modality", spec.modality),
        ("라벨링 유형 annotation", spec.annotation), ("클래스 labels", shown or "-"),
        ("구축량 target volume", f"{spec.target_volume:,}"), ("라이선스 licence", spec.license),
        ("비식별화 de-identify", ", ".join(spec.deidentify) or "-"),
        ("구문 정확성 syntactic", f"{spec.syntactic_accuracy:.3g}"),
        ("의미 정확성 semantic", "-" if spec.semantic_accuracy is None else f"{spec.semantic_accuracy:.3g}"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return (f"# {spec.name}\n\n*{spec.name_en}* — version {spec.version}\n\n{spec.description}\n\n"
            f"| | |\n|---|---|\n{table}\n")


class LabelWaitOperator(BaseOperator):
    """Defers until annotators finish the run's Label Studio project; no worker slot is held meanwhile."""

    def __init__(self, *, overlap: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.overlap = overlap

    def execute(self, context: Context) -> Any:
        push = context["ti"].xcom_pull(task_ids="label_push")
        self.defer(
            trigger=LabelProgressTrigger(project_id=int(push["project_id"]), overlap=self.overlap,
                                         poll_interval=_knob(context, "label_poll_s"),
                                         timeout=_knob(context, "label_timeout_s")),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        if not event or event.get("status") != "done":
            raise AirflowFailException(f"annotation did not finish in time: {event}")
        return event


class ReviewWaitOperator(BaseOperator):
    """Defers until reviewers have judged the run's review sample (queued by ``label_pull``).

    No sample (the spec samples nothing, or nothing was annotated) means nothing to wait for. On timeout the run
    goes on: semantic accuracy is measured on what was reviewed, and a sample smaller than the spec asks for is
    "not measured", which never passes, so the gate then waits for an inspector.
    """

    def __init__(self, *, spec_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec_id = spec_id

    def execute(self, context: Context) -> Any:
        from pipelines.label import review_sample

        store = StageCall.of(self.spec_id, context).store
        project_id, item_ids = review_sample(store=store, dataset=self.spec_id, run_id=context["run_id"])
        if project_id is None or not item_ids:
            return {"status": "no review sample"}
        self.log.info("waiting for reviewers: %d sampled items in review project %s", len(item_ids), project_id)
        self.defer(
            trigger=LabelProgressTrigger(project_id=project_id, overlap=1, item_ids=item_ids,
                                         poll_interval=_knob(context, "label_poll_s"),
                                         timeout=_knob(context, "review_timeout_s")),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        event = dict(event or {})
        if event.get("status") != "done":
            self.log.warning("review did not finish in time (%s): going on with what was reviewed", event)
        return event


class GateOperator(HITLOperator):
    """Publish only what passed every blocking check, or what an inspector approved.

    A run that passed goes straight through. One that failed waits for an inspector in one of two ways
    (``$DATADAM_GATE``, docs/adr/0020): ``hitl`` parks the task in Airflow's ``awaiting_input`` state (no
    worker, no triggerer) as a human-in-the-loop request that only ``$DATADAM_INSPECTORS`` may answer, in the
    UI's Required Actions or through the REST API (``datadam qa approve|reject`` does that); ``file`` defers
    until ``datadam qa`` writes the run's decision file (local ``dag.test()`` runs, which no api-server answers).
    Either way the decision is recorded in the run (gate/decision.json, gate/result.json) and from there in
    the release manifest. *Send back for rework* re-opens the failing items in the run's Label Studio project
    and fails the run.
    """

    def __init__(self, *, spec_id: str, **kwargs: Any) -> None:
        # The DAG's params arrive merged in kwargs; the note is the gate's own form field in Required Actions.
        params = ParamsDict(kwargs.pop("params", None))
        params.update(ParamsDict({"note": Param("", type="string", title="Note", source="task",
                                                description="why (recorded in the run and the release manifest)")}))
        super().__init__(
            subject=f"QA gate: {spec_id} failed a quality target",
            options=list(GATE_OPTIONS),
            # The body is written when the task runs (it needs the run's quality.json).
            body=None,
            params=params,
            **kwargs,
        )
        self.spec_id = spec_id

    def _decide(self, context: Context) -> dict[str, Any] | None:
        from pipelines.validate import gate

        call = StageCall.of(self.spec_id, context)
        store = call.store
        res = xcom(gate(**call.stage_args()))
        if res["status"] == "approved":
            return res
        if res["status"] == "rejected":
            raise AirflowFailException(f"rejected by {res.get('by')}: {res.get('note')}")
        if res["status"] == "rework":
            from pipelines.validate.gate import rework_summary

            pushed = context["ti"].xcom_pull(task_ids="label_push") or {}
            if pushed.get("project_id"):
                from pipelines.label.rework import reopen_for_rework
                from pipelines.orchestration.settings import ls_settings

                reopen_for_rework(store=store, dataset=self.spec_id, run_id=context["run_id"], ls=ls_settings(),
                                  project_id=int(pushed["project_id"]))
            raise AirflowFailException(rework_summary(store=store, dataset=self.spec_id, run_id=context["run_id"]))
        return None

    def execute(self, context: Context) -> Any:
        decided = self._decide(context)
        if decided is not None:
            return decided
        if gate_mode() == "hitl":
            return self._ask_in_airflow(context)
        from pipelines.storage import artifacts

        params = context["params"]
        key = artifacts.GATE_DECISION.key(self.spec_id, context['run_id'])
        self.log.warning("blocking checks failed: waiting for an inspector's decision at %s", key)
        self.defer(
            trigger=StorageKeyTrigger(storage=storage_root(params), key=key,
                                      poll_interval=_knob(context, "gate_poll_s"),
                                      timeout=_knob(context, "gate_timeout_s")),
            method_name="execute_complete",
        )

    def _ask_in_airflow(self, context: Context) -> Any:
        from pipelines.validate.gate import inspector_brief

        try:
            self.assigned_users = inspectors()  # type: ignore[assignment]
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from exc
        store = StageCall.of(self.spec_id, context).store
        self.body = inspector_brief(store=store, dataset=self.spec_id, run_id=context["run_id"])
        self.response_timeout = timedelta(seconds=_knob(context, "gate_timeout_s"))
        self.log.warning("blocking checks failed: waiting in Required Actions for one of the inspectors %s",
                         ", ".join(u["id"] for u in self.assigned_users or []))
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        event = event or {}
        if "chosen_options" in event or event.get("error_type"):
            return self._answered_in_airflow(context, event)
        decided = self._decide(context)
        if decided is None:
            from pipelines.validate import gate

            pending = gate(**StageCall.of(self.spec_id, context).stage_args())
            waited = "the wait timed out" if event.get("status") == "timeout" else f"the wait ended: {event}"
            raise AirflowFailException(f"{pending.note}; no decision came ({waited})")
        return decided

    def _answered_in_airflow(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        from pipelines.validate.gate import VIA_AIRFLOW, record_decision

        # A timeout resumes the task with the (absent) defaults and nobody as the respondent.
        if event.get("error_type") or event.get("timedout") or not event.get("chosen_options"):
            raise AirflowFailException(f"no inspector answered the gate in time (gate_timeout_s): {event}")
        answer = super().execute_complete(context, event)
        who = answer["responded_by_user"] or {}
        at = answer["responded_at"]
        record_decision(store=StageCall.of(self.spec_id, context).store, dataset=self.spec_id, run_id=context["run_id"],
                        decision=GATE_OPTIONS[answer["chosen_options"][0]], by=str(who.get("name") or who.get("id")),
                        note=str((answer["params_input"] or {}).get("note") or ""),
                        at=at.isoformat(timespec="seconds") if hasattr(at, "isoformat") else str(at),
                        via=VIA_AIRFLOW)
        decided = self._decide(context)
        if decided is None:  # the run was validated again while the inspector read it
            raise AirflowFailException("the run was validated again after the inspector answered; decide again")
        return decided


# The stages that wait (deferred, or parked for a person) are operators of their own; their place is the table's.
# overlap=1 is label_wait's floor for every task: label_push records each overlap-sampled task's own requirement
# (spec.annotation.overlap) in its Label Studio meta, and progress honours it per task.
_WAITING_STAGES: dict[str, Callable[[str], BaseOperator]] = {
    "label_wait": lambda spec_id: LabelWaitOperator(task_id="label_wait", overlap=1),
    "review_wait": lambda spec_id: ReviewWaitOperator(task_id="review_wait", spec_id=spec_id),
    "gate": lambda spec_id: GateOperator(task_id="gate", spec_id=spec_id),
}


def _stage_task(stage: Stage, spec_id: str, asset: Asset) -> Any:
    """The one task wrapper: a stage of the table as an Airflow task of ``spec_id``'s DAG."""
    run = stage.run
    assert run is not None

    # Only what a stage sets is passed: a mapped task keeps an explicit None (outlets=None breaks it at run time).
    options: dict[str, Any] = {}
    if stage.pool:
        options["pool"] = stage.pool
    if stage.releases:
        options["outlets"] = [asset]
    if stage.doc:
        options["doc_md"] = stage.doc
    # As @task infers it from a return annotation: a dict result is also pushed key by key.
    returns_dict = str(run.__annotations__.get("return", "")).startswith("dict")
    as_task: Callable[[Callable[..., Any]], Any] = task(task_id=stage.id, multiple_outputs=returns_dict, **options)

    def run_stage(upstream: Any = None, **context: Any) -> Any:
        try:
            result = run(StageCall.of(spec_id, context, upstream))
        except RunConfError as exc:
            raise AirflowFailException(str(exc)) from exc
        if stage.releases:
            context["outlet_events"][asset].extra = {"version": result.get("version"), "rows": result.get("rows"),
                                                     "storage": storage_root(context["params"])}
        return result

    return as_task(_no_retry_on_user_error(run_stage))


@contextlib.contextmanager
def _dag_params_after_tasks(dag: DAG) -> Iterator[None]:
    """Build the tasks while the DAG has no params, then give them back.

    Airflow deep-copies the DAG's params into every task it constructs (the largest part of building 150 DAGs of
    12 tasks), yet a task reads its params merged from the DAG's and its own at run time (``process_params``):
    a copy per task buys nothing. The DAG keeps its params; the trigger form and ``context["params"]`` see them.
    """
    params = dag.params
    object.__setattr__(dag, "params", ParamsDict())
    try:
        yield
    finally:
        object.__setattr__(dag, "params", params)


def build_dag(spec: SpecView) -> DAG:
    """The DAG of one dataset type, from its parse view (the spec's models are loaded by its tasks when they run);
    its id is the spec id."""
    spec_id = spec.id
    asset = release_asset(spec_id)
    tags = [f"field:{spec.field}", f"group:{spec.group}", f"modality:{spec.modality}", f"annotation:{spec.annotation}"]
    with DAG(
        dag_id=spec_id,
        description=f"{spec.name} ({spec.name_en})"[:200],
        schedule=None,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=tags,
        doc_md=doc_md(spec),
        default_args={
            "owner": "datadam",
            "retries": 2,
            "retry_delay": timedelta(seconds=20),
            "retry_exponential_backoff": True,
            "max_retry_delay": timedelta(minutes=10),
            "on_failure_callback": record_failure,
        },
        params={
            "items": Param(None, type=["null", "integer"], minimum=1, description="items to collect (default: source)"),
            "storage": Param(None, type=["null", "string"], description="storage root URI (default $DATADAM_STORAGE)"),
            "source": Param(None, type=["null", "string"], description=SOURCE_PARAM_HELP),
        },
    ) as dag, _dag_params_after_tasks(dag):
        done: dict[str, Any] = {}  # stage id -> its task (an XComArg for plain tasks)
        previous: Stage | None = None
        for stage in STAGES:
            if stage.run is None:
                node: Any = _WAITING_STAGES[stage.id](spec_id)
            else:
                fn = _stage_task(stage, spec_id, asset)
                upstream = done[stage.input] if stage.input else None
                node = fn.expand(upstream=upstream) if stage.mapped else fn(upstream) if stage.input else fn()
            if previous is not None and previous.id != stage.input:
                done[previous.id] >> node
            done[stage.id], previous = node, stage
    return dag


def build_dags(*, only: str | None = None) -> dict[str, DAG]:
    """Every spec's DAG, in a stable order; ``only`` builds just one (a worker running one task)."""
    views = load_views()
    return {sid: build_dag(views[sid]) for sid in sorted(views) if only in (None, sid)}
