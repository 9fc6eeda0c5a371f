"""Read-modify-write of one small object without losing a concurrent writer's update (compare-and-swap).

- ``s3://``: optimistic. Read the object and its ETag, compute the new bytes, ``PutObject`` with ``IfMatch`` (or
  ``IfNoneMatch='*'`` when it did not exist); a 412/409 means someone else wrote in between: re-read and redo.
  S3, MinIO and moto's server implement these conditional writes.
- ``file://``: an exclusive ``flock`` on a lock file beside the object serialises writers on this host; the write
  itself is a temp file + rename (``ObjectStore.write_bytes``), so readers never see a torn file. Several hosts
  writing one file:// root over NFS are not supported (flock over NFS is not reliable): use S3 there.

``create_exclusive`` is the other primitive: write an object only if no object has that key (an O_EXCL-style
create: ``os.link`` of a complete temp file on file://, ``PutObject`` with ``IfNoneMatch='*'`` on S3). Releases
reserve a version and commit a manifest with it, so two publishers can never both own one version.

The update function must be idempotent and return ``None`` when the current bytes already hold its change;
after each write the object is read back and the function asked again, so an update lost to a store whose
conditional check is not atomic (moto checks and writes without a lock) is retried rather than lost silently.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pipelines.storage.store import ObjectStore, StorageError

Update = Callable[[bytes | None], bytes | None]


class ConflictError(StorageError):
    """The object kept changing under us for every attempt."""


@contextlib.contextmanager
def _file_lock(store: ObjectStore, key: str) -> Iterator[None]:
    target = Path(store.path(key))
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.with_name(f".{target.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _s3_read(store: ObjectStore, key: str) -> tuple[bytes | None, str | None]:
    from botocore.exceptions import ClientError

    try:
        obj = store.boto.get_object(Bucket=store.bucket, Key=store._s3_key(key))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None, None
        raise
    return obj["Body"].read(), str(obj["ETag"])


_CONTENT_TYPES = {"html": "text/html; charset=utf-8", "json": "application/json", "md": "text/markdown"}


def _s3_conditional_put(store: ObjectStore, key: str, data: bytes, etag: str | None) -> bool:
    """True when written; False when the precondition failed (someone else wrote first)."""
    from botocore.exceptions import ClientError

    # A browser opening the site from the bucket renders a page only when it is served as text/html.
    ctype = _CONTENT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")
    try:
        if etag is None:
            store.boto.put_object(Bucket=store.bucket, Key=store._s3_key(key), Body=data, IfNoneMatch="*",
                                  ContentType=ctype)
        else:
            store.boto.put_object(Bucket=store.bucket, Key=store._s3_key(key), Body=data, IfMatch=etag,
                                  ContentType=ctype)
    except ClientError as exc:
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if err.get("Code") in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey") or status in (409, 412):
            return False
        raise
    return True


def create_exclusive(store: ObjectStore, key: str, data: bytes) -> bool:
    """Create the object at ``key`` holding ``data`` unless an object already has that key.

    On file:// the bytes go to a temp file first and are ``os.link``-ed to the key: the link fails if the key
    exists, and a reader never sees a half-written object (an ``O_EXCL`` open would expose an empty file).

    Returns:
        True when this call created it; False when the key was already taken (nothing was written).
    """
    if store.is_local:
        target = Path(store.path(key))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}-{random.getrandbits(64):016x}.tmp")
        try:
            with tmp.open("xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, target)
            except FileExistsError:
                return False
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return _s3_conditional_put(store, key, data, None)


def compare_and_swap(store: ObjectStore, key: str, update: Update, *, attempts: int = 40) -> bytes | None:
    """Apply ``update`` to the object at ``key`` so that no concurrent update is lost.

    Args:
        store: The storage root.
        key: The object (small: it is read whole).
        update: current bytes (None when absent) -> new bytes, or None when nothing needs to change.
        attempts: Conflicts tolerated before giving up.

    Returns:
        The object's bytes after our change is in (what was read, when nothing had to change).

    Raises:
        ConflictError: Every attempt lost a race.
    """
    if store.is_local:
        with _file_lock(store, key):
            current = store.read_bytes(key) if store.exists(key) else None
            new = update(current)
            if new is None:
                return current
            store.write_bytes(key, new)
            return new
    delay = 0.02
    for _ in range(attempts):
        current, etag = _s3_read(store, key)
        new = update(current)
        if new is None:
            return current
        if _s3_conditional_put(store, key, new, etag):
            after, _ = _s3_read(store, key)
            if update(after) is None:  # our change is visible: done
                return after
        time.sleep(delay * (1 + random.random()))  # back off with jitter so racing writers spread out
        delay = min(delay * 2, 1.0)
    raise ConflictError(f"{store.uri(key)}: still changing after {attempts} attempts; another writer is too busy")
