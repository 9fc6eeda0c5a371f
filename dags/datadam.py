"""One DAG per dataset-type spec in schemas/datasets/. Everything else lives in pipelines.orchestration."""

import os

from airflow.sdk import get_parsing_context

from pipelines.orchestration.factory import build_dags

# A worker parsing this file to run one task builds only that task's DAG; so does the local runner
# (`datadam run`), which names its DAG in DATADAM_ONLY_DAG because dag.test() parses the whole folder.
globals().update(build_dags(only=get_parsing_context().dag_id or os.environ.get("DATADAM_ONLY_DAG") or None))
