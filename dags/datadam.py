"""One DAG per dataset-type spec in schemas/datasets/. Everything else lives in pipelines.orchestration."""

from airflow.sdk import get_parsing_context

from pipelines.orchestration.factory import build_dags

# A worker parsing this file to run one task builds only that task's DAG.
globals().update(build_dags(only=get_parsing_context().dag_id))
