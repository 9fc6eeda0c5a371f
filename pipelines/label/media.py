"""How annotation media reach Label Studio, scoped to the dataset's de-identified ``media/<ds>/`` and nothing else.

Label Studio resolves any ``s3://`` URI of a bucket its project storages can read, for any task, and its
``/tasks/<id>/resolve/?fileuri=`` endpoint takes the URI from the request, not from the task: whoever can open a
task can ask for any object that Label Studio's key reaches. So the scope is the key's, not the task's
(see docs/adr/0013-label-studio-media-scope.md):

- ``file://``: a Local Files storage on ``media/<ds>`` only; Label Studio serves nothing outside such a path.
- ``s3://`` with no dedicated key (default): Label Studio gets **no** S3 credential. Each task carries a presigned
  GET URL of its own media object, signed by the pipeline (at most 7 days, SigV4's ceiling). Any datadam S3
  storage an older push left on the project (it held the pipeline's bucket-wide key) is removed.
- ``s3://`` with ``LabelStudioSettings.media_s3`` (a key the object store limits to ``media/*`` read): Label
  Studio's own S3 storage on ``media/<ds>``, presigning on each view (no expiry for long-running projects).
  The pipeline's own key is refused there.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from pipelines.label.client import LabelStudioClient, LabelStudioError, LabelStudioSettings
from pipelines.spec.models import DatasetSpec
from pipelines.storage.store import ObjectStore

PRESIGN_MAX_S = 7 * 24 * 3600  # SigV4 refuses longer presigned URLs


class MediaScopeError(LabelStudioError):
    """Media would reach Label Studio from outside ``media/<ds>/`` or with the pipeline's own key.

    Attributes:
        reason: A stable reason code (``label.media_out_of_scope``, ``label.media_key_is_pipeline_key``).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def media_prefix(spec: DatasetSpec) -> str:
    """The only storage prefix whose objects Label Studio may be given: ``media/<ds>/``."""
    return f"media/{spec.id}/"


def in_scope(spec: DatasetSpec, key: str) -> bool:
    """Whether ``key`` is a plain key (no ``..``, ``.``, empty segment or backslash) under ``media/<ds>/``."""
    return key.startswith(media_prefix(spec)) and "\\" not in key and all(
        p not in ("", ".", "..") for p in key.split("/"))


def check_media_key(spec: DatasetSpec, key: str) -> str:
    """Return ``key`` if it is a plain key under ``media/<ds>/``.

    Raises:
        MediaScopeError: ``label.media_out_of_scope`` for anything else (``restricted/``, ``..``, another dataset).
    """
    if not in_scope(spec, key):
        raise MediaScopeError("label.media_out_of_scope", f"{key!r} is not a de-identified media key of {spec.id}")
    return key


def presigned_media_url(*, store: ObjectStore, spec: DatasetSpec, ttl_s: int) -> Callable[[str], str]:
    """``media key -> presigned GET URL`` of that one object (s3:// stores), refusing keys outside ``media/<ds>/``.

    Signed offline with the pipeline's key; the URL grants that object only, for ``ttl_s`` seconds.
    """
    if not 0 < ttl_s <= PRESIGN_MAX_S:
        raise MediaScopeError("label.media_url_ttl", f"ttl_s={ttl_s}: presigned URLs live 1 s .. 7 days (SigV4)")

    def presigned_url(key: str) -> str:
        return store.presigned_get(check_media_key(spec, key), expires_s=ttl_s)

    return presigned_url


def media_url_builder(
    *, client: LabelStudioClient, project_id: int, store: ObjectStore, spec: DatasetSpec, ls: LabelStudioSettings
) -> Callable[[str], str]:
    """Connect the project to the dataset's media (as the module docstring says) and return
    ``media key -> URL Label Studio can show``; the returned function refuses keys outside ``media/<ds>/``.

    Raises:
        MediaScopeError: if ``ls.media_s3`` is the pipeline's own key.
        LabelStudioError: if Label Studio refuses the storage connection.
    """
    prefix = media_prefix(spec).rstrip("/")
    if store.is_local:
        root = store.local_path(prefix)
        # Label Studio validates that a local storage path exists; an all-text run may not have made it yet.
        root.mkdir(parents=True, exist_ok=True)
        client.ensure_local_storage(project_id, path=str(root))

        def local_url(key: str) -> str:
            # LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=/ on the stack: ``d`` is the absolute path minus its "/".
            return "/data/local-files/?d=" + quote(str(store.local_path(check_media_key(spec, key))).lstrip("/"),
                                                   safe="/")

        return local_url

    if ls.media_s3 is None:
        # No credential for Label Studio at all; remove any an older push gave it.
        client.drop_s3_storages(project_id)
        return presigned_media_url(store=store, spec=spec, ttl_s=ls.media_url_ttl_s)

    if not ls.media_s3.access_key or ls.media_s3.access_key == store.s3_settings.access_key:
        raise MediaScopeError(
            "label.media_key_is_pipeline_key",
            "Label Studio's media key must be its own key limited to media/* (read-only), not the pipeline's key; "
            "unset it to hand Label Studio presigned URLs instead",
        )
    bucket, key_prefix = store.s3_object(prefix)
    client.ensure_s3_storage(project_id, bucket=bucket, prefix=key_prefix, s3=ls.media_s3)

    def s3_url(key: str) -> str:
        check_media_key(spec, key)
        bucket, s3_key = store.s3_object(key)
        return f"s3://{bucket}/{s3_key}"

    return s3_url
