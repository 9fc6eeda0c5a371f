"""One object-store API over ``file://`` and ``s3://`` roots.

Reads and writes go through ``pyarrow.fs`` (so Parquet streams without temp copies); large uploads and
downloads of single objects go through boto3's managed transfer (multipart, parallel). Keys are always
``/``-separated and relative to the store's root, e.g. ``runs/<dataset>/<run>/collect/part-0000.parquet``.
"""

from __future__ import annotations

import builtins
import contextlib
import fnmatch
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

MB = 1024 * 1024


class StorageError(RuntimeError):
    """A storage URI or operation failed; the message names the URI."""


@dataclass(frozen=True)
class S3Settings:
    """How to reach an S3-compatible endpoint. Built from an Airflow connection or the environment, never code."""

    endpoint_url: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    region: str = "us-east-1"
    session_token: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> S3Settings:
        """Standard AWS variables; ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` for MinIO-style endpoints."""
        e = os.environ if env is None else env
        return cls(
            endpoint_url=e.get("AWS_ENDPOINT_URL_S3") or e.get("AWS_ENDPOINT_URL") or None,
            access_key=e.get("AWS_ACCESS_KEY_ID") or None,
            secret_key=e.get("AWS_SECRET_ACCESS_KEY") or None,
            region=e.get("AWS_DEFAULT_REGION") or e.get("AWS_REGION") or "us-east-1",
            session_token=e.get("AWS_SESSION_TOKEN") or None,
        )

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return f"S3Settings(endpoint_url={self.endpoint_url!r}, region={self.region!r}, access_key=***)"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


def boto_client(s3: S3Settings, *, timeout: float = 60.0, attempts: int = 8) -> S3Client:
    """A boto3 client for an S3-compatible endpoint: the one place its settings are chosen.

    Path-style addressing (``<bucket>.127.0.0.1`` does not resolve, MinIO defaults to it); checksums only when
    required, because boto3 >= 1.36 sends flexible checksums by default and MinIO/Ceph and other S3-compatible
    stores reject them; adaptive retries.
    """
    import boto3
    from botocore.config import Config

    cfg = Config(
        s3={"addressing_style": "path"},
        # Explicit: requests already sign with SigV4, but presigned URLs fall back to SigV2 without it.
        signature_version="s3v4",
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": attempts, "mode": "adaptive"},
        max_pool_connections=32,
        connect_timeout=min(timeout, 10.0),
        read_timeout=timeout,
    )
    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        aws_session_token=s3.session_token,
        region_name=s3.region,
        config=cfg,
    )


class ObjectTooLarge(StorageError):
    """An object is larger than the caller's limit (the message names it and the limit)."""


@dataclass(frozen=True)
class Transfer:
    """The one S3 managed-transfer setting: multipart above ``chunk_bytes``, in parts of that size, parallel.

    Used by uploads, downloads and server-side moves. Large parts keep the part count low (S3 allows 10,000 per
    object; a 512 MB file is 8 parts of 64 MB); S3 wants parts of at least 5 MB.
    """

    chunk_bytes: int = 64 * MB
    concurrency: int = 8

    def config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=self.chunk_bytes, multipart_chunksize=self.chunk_bytes,
                              max_concurrency=self.concurrency, use_threads=True)


class S3Reader:
    """Reads objects of buckets that are not a storage root (an ``s3`` or ``records`` source's own bucket).

    Same endpoint settings and client options as the store; the client is made on first use.
    """

    def __init__(self, s3: S3Settings) -> None:
        self._s3 = s3
        self._client: S3Client | None = None

    @property
    def _boto(self) -> S3Client:
        if self._client is None:
            self._client = boto_client(self._s3)
        return self._client

    def list(self, bucket: str, prefix: str) -> Iterator[tuple[str, int, str]]:
        """(key, size, etag without quotes) of every object under ``prefix``, in S3's key order (UTF-8 binary)."""
        pages = self._boto.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                yield obj["Key"], int(obj.get("Size", 0)), obj.get("ETag", "").strip('"')

    def get_limited(self, bucket: str, key: str, *, limit: int, chunk: int = MB) -> bytes:
        """An object's bytes, streamed, at most ``limit``.

        Raises:
            ObjectTooLarge: the object is (or turns out to be while streaming) larger than ``limit``.
        """
        obj = self._boto.get_object(Bucket=bucket, Key=key)
        if obj.get("ContentLength", 0) > limit:
            obj["Body"].close()
            raise ObjectTooLarge(f"s3://{bucket}/{key}: {obj['ContentLength']} bytes > {limit}")
        buf = bytearray()
        body = obj["Body"]
        try:
            for part in body.iter_chunks(chunk):
                buf += part
                if len(buf) > limit:
                    raise ObjectTooLarge(f"s3://{bucket}/{key}: more than {limit} bytes")
        finally:
            body.close()
        return bytes(buf)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


@contextlib.contextmanager
def _replacing(target: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temp path beside ``target``, renamed over it when the block completes and removed if it fails.

    Readers see the old file or the new one, never a part (a local write made as atomic as an S3 PUT).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}{suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class ObjectStore:
    """A storage root (``file:///abs/dir`` or ``s3://bucket/prefix``) and the operations the stages need."""

    def __init__(self, root: str, *, s3: S3Settings | None = None) -> None:
        parsed = urlparse(root)
        self.root = root.rstrip("/")
        self.scheme = parsed.scheme or "file"
        self._s3 = s3 or S3Settings.from_env()
        self._boto: S3Client | None = None
        fs: pafs.FileSystem
        if self.scheme == "file":
            base = Path(parsed.path if parsed.scheme else root).resolve()
            base.mkdir(parents=True, exist_ok=True)
            self.root = base.as_uri()
            self._base = base.as_posix()
            fs = pafs.LocalFileSystem()
            self.bucket = ""
            self.prefix = ""
        elif self.scheme == "s3":
            if not parsed.netloc:
                raise StorageError(f"{root}: an s3:// root needs a bucket")
            self.bucket = parsed.netloc
            self.prefix = parsed.path.strip("/")
            self._base = f"{self.bucket}/{self.prefix}".rstrip("/")
            fs = self._s3_filesystem()
        else:
            raise StorageError(f"{root}: unsupported storage scheme {self.scheme!r} (use file:// or s3://)")
        self.fs = fs

    def __repr__(self) -> str:
        return f"ObjectStore({self.root!r})"

    # ----------------------------------------------------------------------------------------- helpers
    def _s3_filesystem(self) -> pafs.S3FileSystem:
        kw: dict[str, Any] = {"region": self._s3.region, "request_timeout": 60, "connect_timeout": 10}
        if self._s3.access_key:
            kw.update(access_key=self._s3.access_key, secret_key=self._s3.secret_key,
                      session_token=self._s3.session_token)
        if self._s3.endpoint_url:
            # pyarrow ignores AWS_ENDPOINT_URL; it wants host:port plus a scheme (apache/arrow#13238).
            ep = urlparse(self._s3.endpoint_url)
            kw.update(endpoint_override=ep.netloc, scheme=ep.scheme or "https")
        return pafs.S3FileSystem(**kw)

    @property
    def s3_settings(self) -> S3Settings:
        """The S3 settings this store was opened with (e.g. to give Label Studio a storage connection)."""
        return self._s3

    @property
    def is_local(self) -> bool:
        """A ``file://`` root (its keys are files on this host, see ``local_path``)."""
        return self.scheme == "file"

    def holds_s3(self, bucket: str, key: str) -> bool:
        """``s3://bucket/key`` lies inside this (s3://) storage root."""
        inside_prefix = not self.prefix or key == self.prefix or key.startswith(f"{self.prefix}/")
        return self.scheme == "s3" and bucket == self.bucket and inside_prefix

    def overlaps_s3(self, bucket: str, prefix: str) -> bool:
        """The folder ``s3://bucket/prefix`` lies inside this storage root or holds it."""
        around = prefix.rstrip("/")
        holds_store = not around or self.prefix == around or self.prefix.startswith(f"{around}/")
        return self.holds_s3(bucket, prefix) or (self.scheme == "s3" and bucket == self.bucket and holds_store)

    @property
    def boto(self) -> S3Client:
        """The raw boto3 client of an s3:// root: private to ``pipelines/storage`` (tests/unit/storage ban it
        elsewhere in the package; tests use it to look at the bucket behind the store's back)."""
        if self.scheme != "s3":
            raise StorageError(f"{self.root}: boto3 is only for s3:// roots")
        if self._boto is None:
            self._boto = boto_client(self._s3)
        return self._boto

    def path(self, key: str) -> str:
        """The filesystem path of a key (for ``self.fs`` / pyarrow)."""
        key = key.lstrip("/")
        if ".." in key.split("/"):
            raise StorageError(f"{key!r}: '..' is not allowed in a storage key")
        return f"{self._base}/{key}" if key else self._base

    def _s3_key(self, key: str) -> str:
        """The S3 object key of a store key: the one place the root's prefix is put in front."""
        return f"{self.prefix}/{key.lstrip('/')}" if self.prefix else key.lstrip("/")

    def s3_object(self, key: str) -> tuple[str, str]:
        """(bucket, S3 object key) of a store key on an s3:// root: for a service given its own S3 access."""
        if self.scheme != "s3":
            raise StorageError(f"{self.root}: not an s3:// storage root")
        return self.bucket, self._s3_key(key)

    def uri(self, key: str) -> str:
        return f"{self.root}/{key.lstrip('/')}"

    def local_path(self, key: str) -> Path:
        """The local file of a key (file:// roots only); used for serving media to Label Studio."""
        if self.scheme != "file":
            raise StorageError(f"{self.root}: not a local storage root")
        return Path(self.path(key))

    def presigned_get(self, key: str, *, expires_s: int) -> str:
        """A URL that reads this one object, without credentials, for ``expires_s`` seconds (s3:// roots only).

        Signed offline with this store's key: whoever holds the URL can read that object and nothing else.
        """
        if self.scheme != "s3":
            raise StorageError(f"{self.root}: presigned URLs are only for s3:// roots")
        self.path(key)  # refuses '..'
        return self.boto.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._s3_key(key)}, ExpiresIn=expires_s
        )

    def ensure_bucket(self) -> None:
        """Create the bucket of an s3:// root when missing (local stacks, tests)."""
        if self.scheme != "s3":
            return
        try:
            self.boto.head_bucket(Bucket=self.bucket)
        except Exception:
            self.boto.create_bucket(Bucket=self.bucket)

    # ------------------------------------------------------------------------------------------ basics
    def exists(self, key: str) -> bool:
        return bool(self.fs.get_file_info(self.path(key)).type == pafs.FileType.File)

    def size(self, key: str) -> int:
        info = self.fs.get_file_info(self.path(key))
        if info.type != pafs.FileType.File:
            raise StorageError(f"{self.uri(key)}: no such object")
        return int(info.size)

    def read_bytes(self, key: str) -> bytes:
        try:
            with self.fs.open_input_stream(self.path(key)) as f:
                return bytes(f.read())
        except FileNotFoundError as exc:
            raise StorageError(f"{self.uri(key)}: no such object") from exc

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write one object. On file:// the write is atomic (temp file + rename), as an S3 PUT is."""
        if self.scheme == "file":
            with _replacing(Path(self.path(key))) as tmp, tmp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            return
        self.boto.put_object(Bucket=self.bucket, Key=self._s3_key(key), Body=data)

    def sha256(self, key: str) -> str:
        """sha256 of an object, streamed in 8 MB chunks (memory does not grow with the object)."""
        h = hashlib.sha256()
        with self.open_input(key) as f:
            while chunk := f.read(8 * MB):
                h.update(chunk)
        return h.hexdigest()

    def read_text(self, key: str) -> str:
        return self.read_bytes(key).decode("utf-8")

    def write_text(self, key: str, text: str) -> None:
        self.write_bytes(key, text.encode("utf-8"))

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_bytes(key))

    def write_json(self, key: str, obj: Any) -> None:
        self.write_bytes(key, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode())

    @contextlib.contextmanager
    def open_input(self, key: str) -> Iterator[IO[bytes]]:
        with self.fs.open_input_file(self.path(key)) as f:
            yield f

    def list(self, prefix: str = "", *, recursive: bool = True) -> list[ObjectInfo]:
        """Objects under ``prefix`` (a folder-like key), sorted by key. Temp files of atomic writes are hidden."""
        base = self.path(prefix.rstrip("/"))
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=recursive, allow_not_found=True))
        except FileNotFoundError:
            return []
        cut = len(self._base) + 1
        out = [
            ObjectInfo(key=i.path[cut:], size=int(i.size))
            for i in infos
            if i.type == pafs.FileType.File and not i.base_name.endswith(".tmp")
        ]
        return sorted(out, key=lambda o: o.key)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete_file(self.path(key))

    def delete_prefix(self, prefix: str) -> None:
        if not prefix.strip("/"):
            raise StorageError("refusing to delete the whole storage root")
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete_dir(self.path(prefix.rstrip("/")))

    # ----------------------------------------------------------------------------------------- parquet
    def write_table(self, key: str, table: pa.Table, **kwargs: Any) -> None:
        """Write a Parquet file (zstd by default) atomically: a reader sees the old file or the new one."""
        kwargs.setdefault("compression", "zstd")
        if self.scheme == "file":
            with _replacing(Path(self.path(key))) as tmp:
                pq.write_table(table, tmp.as_posix(), **kwargs)
            return
        pq.write_table(table, self.path(key), filesystem=self.fs, **kwargs)

    @contextlib.contextmanager
    def parquet_writer(self, key: str, schema: pa.Schema, **kwargs: Any) -> Iterator[pq.ParquetWriter]:
        """Stream record batches into one Parquet object; it appears only when complete.

        file:// writes a temp file and renames it; S3 completes a multipart upload on close (atomic for readers).
        """
        kwargs.setdefault("compression", "zstd")
        if self.scheme == "file":
            with _replacing(Path(self.path(key))) as tmp, pq.ParquetWriter(tmp.as_posix(), schema, **kwargs) as writer:
                yield writer
            return
        with self.fs.open_output_stream(self.path(key)) as sink, pq.ParquetWriter(sink, schema, **kwargs) as writer:
            yield writer

    def read_table(self, key: str, *, columns: builtins.list[str] | None = None) -> pa.Table:
        try:
            return pq.read_table(self.path(key), filesystem=self.fs, columns=columns)
        except FileNotFoundError as exc:
            raise StorageError(f"{self.uri(key)}: no such object") from exc

    def dataset(self, prefix: str, *, pattern: str = "*.parquet") -> ds.Dataset:
        """A pyarrow Dataset over the Parquet files under ``prefix`` whose names match ``pattern``.

        Streams; nothing is loaded up front. Stage folders hold several kinds of file (``part-*``, ``quarantine-*``),
        so readers name the kind they want.
        """
        files = [o.key for o in self.list(prefix) if fnmatch.fnmatch(o.key.rsplit("/", 1)[-1], pattern)]
        return ds.dataset([self.path(k) for k in files], format="parquet", filesystem=self.fs)

    # --------------------------------------------------------------------------------------- transfers
    def upload_file(self, local: Path, key: str, *, transfer: Transfer | None = None) -> None:
        """Copy a local file in; multipart and parallel on S3 (``transfer``, default ``Transfer()``)."""
        if self.scheme == "file":
            with _replacing(Path(self.path(key))) as tmp:
                shutil.copyfile(local, tmp)
            return
        self.boto.upload_file(str(local), self.bucket, self._s3_key(key), Config=(transfer or Transfer()).config())

    def download_file(self, key: str, local: Path, *, transfer: Transfer | None = None) -> None:
        """Copy an object out to ``local`` (written to a temp name, renamed when complete)."""
        with _replacing(local, ".part") as tmp:
            if self.scheme == "file":
                shutil.copyfile(self.path(key), tmp)
            else:
                self.boto.download_file(self.bucket, self._s3_key(key), str(tmp),
                                        Config=(transfer or Transfer()).config())

    def move(self, src: str, dst: str, *, transfer: Transfer | None = None) -> None:
        """Rename on a filesystem; on S3 a managed (multipart above the threshold) server-side copy, then a delete.

        A single CopyObject stops at 5 GB; the managed copy uses UploadPartCopy in ``transfer``'s part size.
        """
        if self.scheme == "file":
            target = Path(self.path(dst))
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path(src), target)
            return
        self.boto.copy({"Bucket": self.bucket, "Key": self._s3_key(src)}, self.bucket, self._s3_key(dst),
                       Config=(transfer or Transfer()).config())
        self.boto.delete_object(Bucket=self.bucket, Key=self._s3_key(src))

    def read_from(self, key: str, offset: int, *, chunk: int = 8 * MB) -> Iterator[bytes]:
        """The object's bytes from ``offset`` on, in chunks of at most ``chunk`` (a ranged GET on S3)."""
        if self.scheme == "s3":
            obj = self.boto.get_object(Bucket=self.bucket, Key=self._s3_key(key), Range=f"bytes={offset}-")
            yield from obj["Body"].iter_chunks(chunk)
            return
        with open(self.path(key), "rb") as f:
            f.seek(offset)
            while part := f.read(chunk):
                yield part

    # ------------------------------------------------------------------------------ conditional writes
    def create_exclusive(self, key: str, data: bytes) -> bool:
        """Create ``key`` holding ``data`` unless an object has that key (see ``pipelines.storage.cas``)."""
        from pipelines.storage import cas

        return cas.create_exclusive(self, key, data)

    def compare_and_swap(self, key: str, update: Callable[[bytes | None], bytes | None], *,
                         attempts: int = 40) -> bytes | None:
        """Apply ``update`` to the object at ``key`` without losing a concurrent update (``pipelines.storage.cas``)."""
        from pipelines.storage import cas

        return cas.compare_and_swap(self, key, update, attempts=attempts)

    # ------------------------------------------------------------------------------------ atomic commit
    def commit_pointer(self, key: str, value: str) -> None:
        """Write a small pointer object (``LATEST``) last, after everything it points at is complete.

        Readers resolve the pointer first and only ever see a fully written target: a release exists or it does not.
        """
        self.write_bytes(key, (value.strip() + "\n").encode())

    def read_pointer(self, key: str) -> str | None:
        """The value a pointer names: its first line (later lines, e.g. a release's manifest sha256, are extra)."""
        if not self.exists(key):
            return None
        lines = self.read_text(key).strip().splitlines()
        return lines[0].strip() if lines else None


def open_store(root: str, *, s3: S3Settings | None = None) -> ObjectStore:
    """Open a storage root URI. A bare path is taken as a local directory."""
    if "://" not in root:
        root = Path(root).resolve().as_uri()
    return ObjectStore(root, s3=s3)
