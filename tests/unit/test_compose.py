"""docker-compose.yml, Dockerfile and .env.example checked statically against the code's settings.

There is no Docker engine on the build machines, so nothing here runs a container. Instead every name the
containers must agree on is read from where the code defines it: the connection ids and the storage
variable (pipelines/orchestration/settings.py), the settings the production-like stack gives every Airflow
process (pipelines/stack/production.py), Label Studio's environment (pipelines/stack/labelstudio.py) and
version (stack/labelstudio.in), the pool (pipelines/stack/pools.py, pipelines/orchestration/factory.py), the
uv and celery pins (Makefile, pyproject.toml, uv.lock).
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from pipelines.stack import labelstudio, pools, production
from pipelines.stack.core import StackInfo
from pipelines.stack.state import Secrets, StackPaths, repo_root
from pipelines.storage.root import STORAGE_ENV

pytestmark = pytest.mark.unit

ROOT = repo_root()
AIRFLOW_SERVICES = {
    "airflow-init": None,
    "airflow-apiserver": None,
    "airflow-scheduler": ["scheduler", "--skip-serve-logs"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer"],
    "airflow-worker": ["celery", "worker"],
}
ONE_SHOT = {"airflow-init", "minio-init"}
# Settings of production_env that only make sense for processes on one machine's loopback.
LOCAL_ONLY = {
    "AIRFLOW_HOME",  # the image's ENV
    "AIRFLOW__CORE__DAGS_FOLDER",  # the image's ENV
    "AIRFLOW__API__HOST",  # the api-server's --host
    "AIRFLOW__API__PORT",  # the api-server's --port
    "AIRFLOW__API__WORKERS",  # one uvicorn worker on a 2-core machine; the image keeps Airflow's default
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL",  # a slower re-parse for a 2-core machine
    "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL",  # Airflow's default (30 s), stated locally for status
}
_VAR = re.compile(r"\$\{([A-Za-z0-9_]+)(?::([?-])([^${}]*))?\}")


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$``, innermost first."""
    while True:

        def sub(m: re.Match[str]) -> str:
            name, op, arg = m.group(1), m.group(2), m.group(3)
            if env.get(name):
                return env[name]
            if op == "-":
                return arg
            raise KeyError(f"${{{name}}} is not set: {arg}")

        new = _VAR.sub(sub, value.replace("$$", "\0"))
        if new == value.replace("$$", "\0"):
            return new.replace("\0", "$")
        value = new.replace("\0", "$$")


def _env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines())
    return {k.strip(): v.strip() for k, v in (p for p in pairs if len(p) == 2) if not k.startswith("#")}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return dict(compose["services"])


@pytest.fixture(scope="module")
def airflow_env(services: dict[str, Any]) -> dict[str, str]:
    """The environment every airflow-* container gets, interpolated with .env.example's values."""
    raw = services["airflow-worker"]["environment"]
    return {k: _interpolate(str(v), _env_example()) for k, v in raw.items()}


def _constants(path: Path) -> dict[str, str]:
    """Module-level string constants of a source file (read without importing Airflow)."""
    tree = ast.parse(path.read_text())
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    out[target.id] = node.value.value
    return out


def _local_production_env() -> dict[str, str]:
    stack = StackInfo(
        home=Path("/tmp/h"),
        ls_url="http://127.0.0.1:18080",
        ls_token="t" * 40,
        s3_endpoint="http://127.0.0.1:15000",
        s3_access_key="AK",
        s3_secret_key="SK",
        airflow_home=Path("/tmp/h/airflow"),
    )
    return production.production_env(
        paths=StackPaths(Path("/tmp/h")),
        stack=stack,
        secrets=Secrets.generate(),
        cfg=production.ProductionConfig(),
        api_port=18081,
    )


# --- topology -------------------------------------------------------------------------------------


def test_compose_runs_every_component_of_the_production_topology(services: dict[str, Any]) -> None:
    assert set(services) == {
        "postgres",
        "redis",
        "minio",
        "minio-init",
        "labelstudio",
        *AIRFLOW_SERVICES,
    }
    images = {services[name].get("image") for name in AIRFLOW_SERVICES}
    assert len(images) == 1 and next(iter(images)).startswith("datadam-airflow:")
    assert all(services[name]["build"] == "." for name in AIRFLOW_SERVICES), (
        "built from this repo's Dockerfile"
    )
    for name, command in AIRFLOW_SERVICES.items():
        if command is not None:
            assert services[name]["command"] == command, name
    assert "exec airflow api-server --host 0.0.0.0 --port 8080" in services["airflow-apiserver"]["command"][0]


def test_workers_scale_with_docker_compose_scale(services: dict[str, Any]) -> None:
    worker = services["airflow-worker"]
    # A fixed container name or a published port would make `--scale airflow-worker=N` fail.
    assert "container_name" not in worker and "ports" not in worker
    assert not any("container_name" in svc for svc in services.values())
    assert "--celery-hostname" not in worker["command"], "each replica's own hostname names its Celery node"


def test_every_long_running_service_has_a_healthcheck_and_one_shots_do_not_restart(
    services: dict[str, Any],
) -> None:
    for name, svc in services.items():
        if name in ONE_SHOT:
            assert svc.get("restart") == "no", name
        else:
            assert svc["healthcheck"]["test"], name
            assert svc.get("restart") == "unless-stopped", name


def test_airflow_waits_for_its_backends_and_the_one_shot_setup(services: dict[str, Any]) -> None:
    for name in set(AIRFLOW_SERVICES) - {"airflow-init"}:
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert deps["minio-init"]["condition"] == "service_completed_successfully", name
    assert "airflow-init" not in services["airflow-init"]["depends_on"]


def test_volumes_keep_every_stateful_service(compose: dict[str, Any], services: dict[str, Any]) -> None:
    mounts = {name: [v.split(":")[0] for v in svc.get("volumes", [])] for name, svc in services.items()}
    assert mounts["postgres"] == ["postgres-data"]
    assert mounts["redis"] == ["redis-data"]
    assert mounts["minio"] == ["minio-data"]
    assert mounts["labelstudio"] == ["labelstudio-data"]
    assert all(mounts[name] == ["airflow-logs"] for name in AIRFLOW_SERVICES)
    assert set(compose["volumes"]) == {
        "postgres-data",
        "redis-data",
        "minio-data",
        "labelstudio-data",
        "airflow-logs",
    }


# --- Airflow settings against the code ------------------------------------------------------------


def test_airflow_settings_match_the_production_like_stack(airflow_env: dict[str, str]) -> None:
    local = _local_production_env()
    missing = set(local) - set(airflow_env) - LOCAL_ONLY
    assert not missing, f"production_env sets {sorted(missing)}, docker-compose.yml does not"
    assert airflow_env["AIRFLOW__CORE__EXECUTOR"] == local["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    scheme = urlsplit(local["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).scheme
    assert (
        urlsplit(airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).scheme == scheme == "postgresql+psycopg"
    )
    assert (
        airflow_env["AIRFLOW__CELERY__RESULT_BACKEND"]
        == "db+" + airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    )
    assert airflow_env["AIRFLOW__CELERY__BROKER_URL"] == f"redis://redis:6379/{production.REDIS_DB}"
    for key in ("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"):
        assert airflow_env[key] == local[key], key


def test_execution_api_url_points_at_the_api_server_container(
    services: dict[str, Any], airflow_env: dict[str, str]
) -> None:
    url = urlsplit(airflow_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert (url.hostname, url.path) == ("airflow-apiserver", "/execution/")
    published = [p.rsplit(":", 1)[1] for p in services["airflow-apiserver"]["ports"]]
    assert published == [str(url.port)] == ["8080"]


def test_shared_secrets_are_the_same_variable_in_every_airflow_service(services: dict[str, Any]) -> None:
    keys = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY")
    for key in keys:
        values = {str(services[name]["environment"][key]) for name in AIRFLOW_SERVICES}
        assert len(values) == 1 and next(iter(values)).startswith("${"), key


def test_connections_are_the_ones_the_tasks_read(
    services: dict[str, Any], airflow_env: dict[str, str]
) -> None:
    settings = _constants(ROOT / "pipelines" / "orchestration" / "settings.py")
    s3_var = f"AIRFLOW_CONN_{settings['S3_CONN_ID'].upper()}"
    ls_var = f"AIRFLOW_CONN_{settings['LS_CONN_ID'].upper()}"
    s3, ls = json.loads(airflow_env[s3_var]), json.loads(airflow_env[ls_var])
    # The same shape the local stack exports (pipelines.stack.core.StackInfo.airflow_env).
    local = _local_production_env()
    assert set(s3) == set(json.loads(local[s3_var])) and set(ls) == set(json.loads(local[ls_var]))
    assert s3["conn_type"] == "aws" and s3["login"] and s3["password"]
    assert urlsplit(s3["extra"]["endpoint_url"]).hostname == "minio"
    assert urlsplit(s3["extra"]["endpoint_url"]).port == 9000
    assert (ls["conn_type"], ls["host"], ls["port"], ls["schema"]) == ("http", "labelstudio", 8080, "http")
    assert services["labelstudio"]["ports"][0].endswith(":8080")
    # The token Airflow sends is the one Label Studio presets for its admin.
    raw_ls = str(services["airflow-worker"]["environment"][ls_var])
    assert "${LABEL_STUDIO_API_TOKEN" in raw_ls
    assert services["labelstudio"]["environment"]["LABEL_STUDIO_USER_TOKEN"] == "${LABEL_STUDIO_API_TOKEN}"
    # ... and MinIO gets the key pair Airflow uses, on the bucket DATADAM_STORAGE names.
    init = services["minio-init"]["environment"]
    assert (init["DATADAM_S3_ACCESS_KEY"], init["DATADAM_S3_SECRET_KEY"]) == (
        "${DATADAM_S3_ACCESS_KEY}",
        "${DATADAM_S3_SECRET_KEY}",
    )
    assert airflow_env[STORAGE_ENV] == f"s3://{_env_example()['DATADAM_BUCKET']}"
    assert "mc mb --ignore-existing" in services["minio-init"]["command"][0]


def test_label_studio_gets_its_own_key_that_minio_limits_to_reading_media(
    services: dict[str, Any], airflow_env: dict[str, str]
) -> None:
    settings = _constants(ROOT / "pipelines" / "orchestration" / "settings.py")
    raw = services["airflow-worker"]["environment"]
    media_var = f"AIRFLOW_CONN_{settings['LS_MEDIA_S3_CONN_ID'].upper()}"
    s3_var = f"AIRFLOW_CONN_{settings['S3_CONN_ID'].upper()}"
    media = json.loads(airflow_env[media_var])
    assert media["conn_type"] == "aws" and urlsplit(media["extra"]["endpoint_url"]).hostname == "minio"
    # a key of its own: never the variable the pipeline's key comes from
    assert "${DATADAM_LS_MEDIA_ACCESS_KEY" in str(raw[media_var]) and "DATADAM_S3_ACCESS_KEY" not in str(raw[media_var])
    assert "${DATADAM_S3_ACCESS_KEY" in str(raw[s3_var])
    command = services["minio-init"]["command"][0]
    attach = re.search(r"mc admin policy attach local (\S+) --user \"\$\$DATADAM_LS_MEDIA_ACCESS_KEY\"", command)
    assert attach, "minio-init attaches no policy to Label Studio's key"
    created = re.search(rf"mc admin policy create local {attach.group(1)} (\S+)", command)
    assert created, "the policy attached to Label Studio's key is not created by minio-init"
    policy_doc = re.search(rf"cat > {re.escape(created.group(1))} <<(\w+)\n(.*?)\n\1\n", command, re.S)
    assert policy_doc
    policy = json.loads(policy_doc.group(2).replace("$$DATADAM_BUCKET", "datadam"))
    granted = {(a, r) for st in policy["Statement"] if st["Effect"] == "Allow" for a in st["Action"]
               for r in st["Resource"]}
    # read-only, and only objects under media/: no restricted/ originals, runs or releases
    assert granted == {("s3:GetObject", "arn:aws:s3:::datadam/media/*"), ("s3:ListBucket", "arn:aws:s3:::datadam")}
    listing = next(st for st in policy["Statement"] if "s3:ListBucket" in st["Action"])
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["media/*"]}}


def test_labelstudio_runs_the_pinned_server_on_postgres_with_the_local_stacks_settings(
    services: dict[str, Any],
) -> None:
    ls = services["labelstudio"]
    pinned = re.search(r"label-studio==([\d.]+)", (ROOT / "stack" / "labelstudio.in").read_text())
    assert pinned and ls["image"] == f"heartexlabs/label-studio:{pinned.group(1)}"
    env = {k: str(v) for k, v in ls["environment"].items()}
    assert env["DJANGO_DB"] == "default"
    assert {"POSTGRE_NAME", "POSTGRE_USER", "POSTGRE_PASSWORD", "POSTGRE_HOST", "POSTGRE_PORT"} <= set(env)
    assert env["POSTGRE_HOST"] == "postgres" and env["POSTGRE_PORT"] == "5432"
    local = labelstudio.server_env(StackPaths(Path("/tmp/h")), Secrets.generate(), 18080)
    shared = {
        "LABEL_STUDIO_USERNAME",
        "LABEL_STUDIO_PASSWORD",
        "LABEL_STUDIO_USER_TOKEN",
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK",
        "LATEST_VERSION_CHECK",
        "SECRET_KEY",
        "LABEL_STUDIO_HOST",
    }
    assert shared <= set(local) and shared <= set(env)
    for flag in (
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK",
        "LATEST_VERSION_CHECK",
    ):
        assert env[flag] == local[flag], flag


def test_postgres_creates_label_studios_database_on_first_start(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    (mount,) = services["postgres"]["configs"]
    assert mount["target"].startswith("/docker-entrypoint-initdb.d/")
    script = _interpolate(compose["configs"][mount["source"]]["content"], {})
    ls = services["labelstudio"]["environment"]
    assert f"CREATE DATABASE {ls['POSTGRE_NAME']} OWNER {ls['POSTGRE_USER']};" in script
    assert (
        "$LABEL_STUDIO_DB_PASSWORD" in script
        and "LABEL_STUDIO_DB_PASSWORD" in services["postgres"]["environment"]
    )


def test_pool_is_created_with_the_name_the_dag_factory_uses(services: dict[str, Any]) -> None:
    factory = _constants(ROOT / "pipelines" / "orchestration" / "stages.py")  # the stage table the DAG is built from
    assert factory["LABELSTUDIO_POOL"] == pools.LABELSTUDIO_POOL == "labelstudio_api"
    script = services["airflow-init"]["command"][0]
    assert "airflow db migrate" in script
    assert f"airflow pools set {pools.LABELSTUDIO_POOL} " in script


# --- image ----------------------------------------------------------------------------------------


def test_dockerfile_installs_the_project_from_the_lock_only() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "COPY pyproject.toml uv.lock" in text
    syncs = re.findall(r"uv sync [^\n]*", text)
    assert syncs and all("--frozen" in s and "--no-dev" in s for s in syncs)
    assert "pip install" not in text and "uv pip install" not in text
    make_uv = re.search(r"UV_VERSION := ([\d.]+)", (ROOT / "Makefile").read_text())
    assert make_uv and f"ghcr.io/astral-sh/uv:{make_uv.group(1)}" in text, "the same uv as the Makefile"
    python = re.search(r"python:(3\.\d+)-slim", text)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python and python.group(1) == "3.11" and ">=3.11" in requires
    for folder in ("pipelines", "dags", "schemas"):
        assert f"COPY {folder} ./{folder}" in text
    assert "DATADAM_SCHEMAS=/opt/datadam/schemas" in text
    assert "AIRFLOW__CORE__DAGS_FOLDER=/opt/datadam/dags" in text


def test_celery_stays_below_5_7_in_the_pins_the_lock_and_the_image_build() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(re.fullmatch(r"celery>=5\.5,\s*<5\.7", dep) for dep in project["dependencies"])
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (celery,) = [p for p in lock["package"] if p["name"] == "celery"]
    major, minor = (int(x) for x in celery["version"].split(".")[:2])
    assert (major, minor) < (5, 7), f"uv.lock resolves celery {celery['version']}"
    (airflow,) = [p for p in lock["package"] if p["name"] == "apache-airflow"]
    assert airflow["version"].startswith("3.3.")
    text = (ROOT / "Dockerfile").read_text()
    assert "import airflow.providers.celery.executors.celery_executor" in text, (
        "the build imports the executor"
    )
    assert "(5, 7)" in text


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "**"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for sources in re.findall(r"^COPY (?!--from)([^\n]+) \S+$", (ROOT / "Dockerfile").read_text(), re.M):
        copied |= set(sources.split())
    assert copied == allowed


# --- secrets ----------------------------------------------------------------------------------------


def test_env_example_defines_every_variable_compose_requires_and_no_real_secret() -> None:
    text = (ROOT / "docker-compose.yml").read_text().replace("$$", "")
    required = {m.group(1) for m in _VAR.finditer(text) if m.group(2) != "-"}
    env = _env_example()
    assert required <= set(env), f"missing in .env.example: {sorted(required - set(env))}"
    secret = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|ACCESS_KEY|ROOT_USER")
    assert {k: v for k, v in env.items() if secret.search(k) and v != "change-me"} == {}
    # Every interpolation resolves (no ${...} left) once the variables are set.
    _interpolate((ROOT / "docker-compose.yml").read_text(), env)


def test_interpolation_follows_compose_rules() -> None:
    env = {"A": "x"}
    assert _interpolate("${A}-${B:-d}-$${A}", env) == "x-d-${A}"
    assert _interpolate("${C:-http://h:${D:-8080}}", env) == "http://h:8080"
    with pytest.raises(KeyError, match="set B"):
        _interpolate("${B:?set B}", env)
