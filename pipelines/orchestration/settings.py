"""Where tasks get their settings: Airflow connections (read inside tasks only) and the environment.

Connections:
- ``datadam_s3`` (conn_type aws): login/password = access key/secret, extra ``endpoint_url``, ``region_name``.
- ``datadam_labelstudio`` (conn_type http): host, port, schema (http/https), password = API token.
- ``datadam_ls_media_s3`` (conn_type aws, optional): Label Studio's own key, limited by the object store to
  ``media/*`` read; without it Label Studio gets no S3 key and tasks carry presigned URLs (ADR 0013).
The storage root comes from the run's ``storage`` param, else ``$DATADAM_STORAGE``.

How the gate waits for an inspector (docs/adr/0020): ``$DATADAM_GATE`` = ``hitl`` on a deployment with an
api-server (Airflow's human-in-the-loop task, answered by ``$DATADAM_INSPECTORS`` only), else ``file`` (the
decision file ``datadam qa`` writes; what a local ``dag.test()`` run uses, having no api-server to answer it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

if TYPE_CHECKING:
    from airflow.sdk.definitions.connection import Connection

    from pipelines.label.client import LabelStudioSettings
    from pipelines.storage import ObjectStore, S3Settings

S3_CONN_ID = "datadam_s3"
LS_CONN_ID = "datadam_labelstudio"
LS_MEDIA_S3_CONN_ID = "datadam_ls_media_s3"
GATE_ENV = "DATADAM_GATE"
INSPECTORS_ENV = "DATADAM_INSPECTORS"
GATE_MODES = ("file", "hitl")


def _s3_from_conn(conn: Connection) -> S3Settings:
    from pipelines.storage import S3Settings

    extra: dict[str, Any] = conn.extra_dejson or {}
    return S3Settings(
        endpoint_url=extra.get("endpoint_url") or None,
        access_key=conn.login or None,
        secret_key=conn.password or None,
        region=extra.get("region_name") or "us-east-1",
    )


def s3_settings(conn_id: str = S3_CONN_ID) -> S3Settings:
    """S3 settings from the Airflow connection; the standard AWS environment when there is none."""
    from pipelines.storage import S3Settings

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return S3Settings.from_env()
    return _s3_from_conn(conn)


def source_s3_settings(conn_id: str) -> S3Settings:
    """S3 settings of the connection an s3 source names; the storage's (or the environment's) for ``datadam_s3``.

    Raises:
        SourceBindingError: the source names a connection that does not exist.
    """
    if conn_id == S3_CONN_ID:
        return s3_settings(conn_id)
    try:
        return _s3_from_conn(BaseHook.get_connection(conn_id))
    except AirflowNotFoundException:
        from pipelines.spec.binding import binding_error

        raise binding_error("source.connection", conn_id,
                            "no such Airflow connection (create it with the contractor's key)") from None


def _ls_from_conn(conn: Connection) -> LabelStudioSettings:
    from pipelines.label.client import LabelStudioSettings

    scheme = conn.schema or "http"
    port = f":{conn.port}" if conn.port else ""
    if not conn.host or not conn.password:
        raise ValueError(f"connection {conn.conn_id!r} needs host and password (the Label Studio API token)")
    return LabelStudioSettings(url=f"{scheme}://{conn.host}{port}", token=conn.password)


def ls_settings(conn_id: str = LS_CONN_ID) -> LabelStudioSettings:
    """Label Studio's settings, with its own media key when ``datadam_ls_media_s3`` exists."""
    import dataclasses

    settings = _ls_from_conn(BaseHook.get_connection(conn_id))
    try:
        media = BaseHook.get_connection(LS_MEDIA_S3_CONN_ID)
    except AirflowNotFoundException:
        return settings
    return dataclasses.replace(settings, media_s3=_s3_from_conn(media))


async def als_settings(conn_id: str = LS_CONN_ID) -> LabelStudioSettings:
    """The same, for triggers (the triggerer's event loop must not block)."""
    return _ls_from_conn(await BaseHook.aget_connection(conn_id))


def storage_root(params: dict[str, Any] | None) -> str:
    """A task's storage root: the run's ``storage`` param, else ``$DATADAM_STORAGE``; no fallback."""
    from pipelines.storage.root import storage_root as resolve

    return resolve((params or {}).get("storage"), missing="pass the 'storage' param")


def open_run_store(params: dict[str, Any] | None) -> ObjectStore:
    from pipelines.storage import open_store

    root = storage_root(params)
    return open_store(root, s3=s3_settings() if root.startswith("s3://") else None)


def gate_mode() -> str:
    """``hitl`` or ``file`` (the default), from ``$DATADAM_GATE``.

    Raises:
        ValueError: Any other value (a typo must not silently fall back to the other kind of gate).
    """
    mode = os.environ.get(GATE_ENV, "").strip().lower() or "file"
    if mode not in GATE_MODES:
        raise ValueError(f"${GATE_ENV}={mode!r}: expected one of {', '.join(GATE_MODES)}")
    return mode


def inspectors() -> list[dict[str, str]]:
    """The users who may answer the gate, as Airflow's HITL ``assigned_users`` (``{"id", "name"}``).

    ``$DATADAM_INSPECTORS`` is a comma-separated list of ``id`` or ``id:name``; the id is what the auth
    manager calls the user (SimpleAuthManager: the username; FAB: the numeric user id).

    Raises:
        ValueError: None configured: without assigned users any user with edit rights on the DAG could answer.
    """
    found = []
    for entry in os.environ.get(INSPECTORS_ENV, "").split(","):
        uid, _, name = entry.strip().partition(":")
        if uid:
            found.append({"id": uid, "name": name.strip() or uid})
    if not found:
        raise ValueError(f"${INSPECTORS_ENV} names no inspector: the gate would let any DAG editor answer")
    return found
