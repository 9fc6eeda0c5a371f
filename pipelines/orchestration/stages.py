"""The stage table: every task of a dataset's DAG, in order, and what each one runs.

The DAG factory builds the graph from this table alone (one generic task wrapper; the three waiting stages are
operators the factory supplies); the CLI and the tests read the order from it. Nothing here imports Airflow, so
the CLI may import it; every stage module is imported inside the call that uses it, keeping DAG parsing cheap.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.spec import DatasetSpec
    from pipelines.storage import ObjectStore, S3Settings

# Caps concurrent Label Studio API calls across DAGs and workers; every stack creates it (stack/pools.py).
LABELSTUDIO_POOL = "labelstudio_api"
# The run conf's delivery kinds (docs/adr/0007): final when the run planned the spec's target volume.
DELIVERIES = ("auto", "partial", "final")


class RunConfError(ValueError):
    """The run conf asks for something that does not exist: the task fails at once with this message."""


@dataclass(frozen=True)
class StageCall:
    """One task's call of its stage: the dataset, the run, its params and conf, and the upstream stage's output."""

    spec_id: str
    run_id: str
    params: Mapping[str, Any]
    conf: Mapping[str, Any] = field(default_factory=dict)
    upstream: Any = None

    @classmethod
    def of(cls, spec_id: str, context: Mapping[str, Any], upstream: Any = None) -> StageCall:
        """The call an Airflow task context describes."""
        return cls(spec_id=spec_id, run_id=context["run_id"], params=context["params"],
                   conf=context["dag_run"].conf or {}, upstream=upstream)

    @property
    def spec(self) -> DatasetSpec:
        from pipelines.spec import load_catalog  # at run time: DAG parsing reads the parse view only (ADR 0038)

        return load_catalog().get(self.spec_id)

    @functools.cached_property
    def store(self) -> ObjectStore:
        """The run's store: the ``storage`` param, else ``$DATADAM_STORAGE`` (S3 credentials from a connection)."""
        from pipelines.orchestration.settings import open_run_store

        return open_run_store(dict(self.params))

    def stage_args(self) -> dict[str, Any]:
        """What every stage function takes: the spec, the store and the run id."""
        return {"spec": self.spec, "store": self.store, "run_id": self.run_id}


def xcom(result: Any) -> dict[str, Any]:
    """Stage results are frozen dataclasses; XCom carries them as small dicts."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    return dict(result)


def source_s3(spec: DatasetSpec) -> S3Settings | None:
    """The S3 credentials of the connection an s3 source names."""
    from pipelines.orchestration.settings import source_s3_settings

    return source_s3_settings(spec.source.connection) if spec.source.kind == "s3" else None


def collect_args(spec_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """What plan works with: the spec with the run's ``source`` param bound (the spec file and its version
    untouched, docs/adr/0018; checked here once, collect reads the planned source), the binding's record and the
    source's S3 credentials."""
    from pipelines.spec import load_catalog
    from pipelines.spec.binding import bind_source, bound_spec

    spec = load_catalog().get(spec_id)
    binding = bind_source(spec, params["source"]) if params.get("source") else None
    bound = bound_spec(spec, binding)
    return {"spec": bound, "binding": binding.record() if binding else None, "s3": source_s3(bound)}


# ------------------------------------------------------------------------------------------ what each task runs


def _plan(c: StageCall) -> list[dict[str, Any]]:
    from pipelines.collect import plan_shards

    return plan_shards(**collect_args(c.spec_id, c.params), store=c.store, run_id=c.run_id, items=c.params["items"])


def _collect(c: StageCall) -> dict[str, Any]:
    from pipelines.collect import collect_shard
    from pipelines.collect.shards import spec_as_planned

    spec = spec_as_planned(c.spec, c.store, c.run_id)
    return xcom(collect_shard(spec=spec, s3=source_s3(spec), store=c.store, run_id=c.run_id, shard=c.upstream))


def _deidentify(c: StageCall) -> dict[str, Any]:
    from pipelines.collect import deidentify_shard

    return xcom(deidentify_shard(**c.stage_args(), shard=int(c.upstream["shard"])))


def _label_push(c: StageCall) -> dict[str, Any]:
    from pipelines.label import push
    from pipelines.orchestration.settings import ls_settings

    return xcom(push(**c.stage_args(), ls=ls_settings()))


def _label_pull(c: StageCall) -> dict[str, Any]:
    from pipelines.label import pull
    from pipelines.orchestration.settings import ls_settings

    return xcom(pull(**c.stage_args(), ls=ls_settings(), project_id=int(c.upstream["project_id"])))


def _refine(c: StageCall) -> dict[str, Any]:
    from pipelines.refine import refine

    return xcom(refine(**c.stage_args()))


def _validate(c: StageCall) -> dict[str, Any]:
    from pipelines.validate import validate

    delivery = str(c.conf.get("delivery", "auto"))
    if delivery not in DELIVERIES:
        raise RunConfError(f"run conf delivery: {delivery!r} is not one of {', '.join(DELIVERIES)}")
    return xcom(validate(**c.stage_args(), delivery=delivery))  # type: ignore[arg-type]


def _publish(c: StageCall) -> dict[str, Any]:
    from pipelines.publish import publish

    return xcom(publish(**c.stage_args()))


@dataclass(frozen=True)
class Stage:
    """One task of the DAG.

    ``run`` is what a plain task calls (None: a waiting stage, an operator the factory supplies); ``input`` the
    stage whose output it takes (also an upstream edge); ``mapped`` expands it over that output, one task per
    element; ``pool`` is Airflow's (retries are the DAG's default for every stage); ``releases`` marks the task
    that emits the dataset's release Asset; ``doc`` is the task's note in Airflow's UI. Each task runs after the one
    before it in the table.
    """

    id: str
    run: Callable[[StageCall], Any] | None = None
    input: str | None = None
    mapped: bool = False
    pool: str | None = None
    releases: bool = False
    doc: str = ""


STAGES: tuple[Stage, ...] = (
    Stage("plan", _plan),
    Stage("collect", _collect, input="plan", mapped=True),
    Stage("deidentify", _deidentify, input="collect", mapped=True),
    Stage("label_push", _label_push, input="deidentify", pool=LABELSTUDIO_POOL),
    Stage("label_wait"),  # defers until annotators finish the run's Label Studio project
    Stage("label_pull", _label_pull, input="label_push", pool=LABELSTUDIO_POOL),
    Stage("review_wait"),  # defers until reviewers judged the sample label_pull queued
    Stage("review_pull", _label_pull, input="label_pull", pool=LABELSTUDIO_POOL,
          doc="label_pull again once the reviewers are done: their verdicts go into label_pull/qc.parquet."),
    Stage("refine", _refine, input="review_pull"),
    Stage("validate", _validate, input="refine"),
    Stage("gate"),  # waits while an inspector decides (docs/adr/0020)
    Stage("publish", _publish, releases=True),
)
# The DAG's task ids in order: the one place the order is written.
TASK_IDS: tuple[str, ...] = tuple(s.id for s in STAGES)
