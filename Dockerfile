# The datadam Airflow image: Airflow 3.3 (api-server, scheduler, dag-processor, triggerer, Celery worker)
# with the datadam package, its DAG file and the spec catalog, installed from uv.lock.
#
#   docker build -t datadam-airflow .           (docker compose builds it for every airflow-* service)
#
# Every dependency is resolved by uv.lock and installed at build time (--frozen: the lock is never
# re-resolved, so celery stays < 5.7 — celery 5.7 breaks the Celery executor of providers-celery 3.26);
# the running containers fetch nothing from the network. Label Studio's server is its own image
# (heartexlabs/label-studio): its pins clash with Airflow's (docs/adr/0001-label-studio-own-venv.md).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_FROZEN=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/datadam/.venv
WORKDIR /opt/datadam
# Third-party dependencies first: this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY pipelines ./pipelines
COPY dags ./dags
COPY schemas ./schemas
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev
# Fail the build, not the first task, if the lock ever lets celery 5.7 in (APIS.md §0.2).
RUN AIRFLOW_HOME=/tmp/airflow-build /opt/datadam/.venv/bin/python -c "\
import celery, sys; \
major, minor = (int(p) for p in celery.__version__.split('.')[:2]); \
sys.exit(f'celery {celery.__version__} breaks providers-celery; the lock must keep celery<5.7') if (major, minor) >= (5, 7) else None; \
import airflow.providers.celery.executors.celery_executor; \
from pipelines.spec import load_catalog; print(len(load_catalog().specs), 'specs')" \
    && rm -rf /tmp/airflow-build

FROM ${PYTHON_IMAGE}
# The uid the official Airflow images use, group 0 so volumes written by either are shared.
RUN useradd --uid 50000 --gid 0 --home-dir /opt/airflow --create-home --shell /bin/bash airflow \
    && mkdir -p /opt/airflow/logs \
    && chown -R 50000:0 /opt/airflow && chmod -R g+rwX /opt/airflow
COPY --from=build --chown=50000:0 /opt/datadam /opt/datadam
ENV PATH=/opt/datadam/.venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/datadam/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    DATADAM_SCHEMAS=/opt/datadam/schemas
USER 50000
WORKDIR /opt/airflow
ENTRYPOINT ["airflow"]
CMD ["version"]
