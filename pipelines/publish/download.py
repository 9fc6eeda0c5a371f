"""Download one version of a release, verified: what ``datadam download`` runs.

The manifest is the list of what to fetch and what each file must hash to. Files are fetched in parallel into
``<to>/<dataset>/<version>/`` (the release's own layout, so ``load_dataset(<that dir>)`` reads the card's
configs), each first as ``<name>.part``:

- an existing ``.part`` is resumed from its size (a ranged GET on S3, a seek on disk), hashing what is there;
- the finished file's size and sha256 must match the manifest, else the ``.part`` is deleted and the download
  fails naming the file and both hashes — a tampered or corrupt object never lands under its real name;
- a file already present with the right size and hash is skipped;
- ``manifest.json`` is written last: its presence says the local copy is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipelines.storage import ObjectStore, layout

CHUNK = 1024 * 1024
WORKERS = 4


class DownloadError(RuntimeError):
    """The release cannot be downloaded (unknown dataset, version or split; storage unreachable)."""


class ChecksumError(DownloadError):
    """A downloaded file's size or sha256 differs from the manifest's; nothing was kept under its name."""


class TransferProgress(Protocol):
    """Hooks the CLI implements with rich progress bars (all optional in practice: see ``NoProgress``)."""

    def start(self, key: str, total: int, done: int) -> None: ...

    def advance(self, key: str, n: int) -> None: ...

    def finish(self, key: str) -> None: ...


class NoProgress:
    def start(self, key: str, total: int, done: int) -> None:
        pass

    def advance(self, key: str, n: int) -> None:
        pass

    def finish(self, key: str) -> None:
        pass


@dataclass(frozen=True)
class DownloadResult:
    """What a download did.

    Attributes:
        dataset: The dataset id.
        version: The version downloaded (resolved from LATEST when none was asked for).
        directory: ``<to>/<dataset>/<version>``.
        files: Files in the local copy (data and documents, manifest excluded).
        bytes: Their total size.
        transferred: Bytes read from storage by this call.
        skipped: Files already present and verified.
        resumed: Files continued from a ``.part`` left by an interrupted download.
    """

    dataset: str
    version: str
    directory: Path
    files: int
    bytes: int
    transferred: int
    skipped: int
    resumed: int


def resolve_version(store: ObjectStore, dataset: str, version: str | None) -> str:
    """``version``, or the one ``releases/<dataset>/LATEST`` names."""
    if version is not None:
        return version
    latest = store.read_pointer(layout.latest(dataset))
    if latest is None:
        raise DownloadError(f"{store.uri(layout.latest(dataset))}: {dataset!r} has no release "
                            "(see `datadam datasets list`)")
    return latest


def read_manifest(store: ObjectStore, dataset: str, version: str) -> tuple[dict[str, Any], bytes]:
    key = f"{layout.release(dataset, version)}/manifest.json"
    if not store.exists(key):
        raise DownloadError(f"{store.uri(key)}: {dataset!r} has no release {version!r}")
    raw = store.read_bytes(key)
    out: dict[str, Any] = json.loads(raw)
    return out, raw


def _sha_of(path: Path, h: Any | None = None) -> Any:
    h = h or hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h


def _chunks(store: ObjectStore, key: str, offset: int) -> Iterator[bytes]:
    """The object's bytes from ``offset`` on."""
    if store.scheme == "s3":
        s3_key = f"{store.prefix}/{key}" if store.prefix else key
        obj = store.boto.get_object(Bucket=store.bucket, Key=s3_key, Range=f"bytes={offset}-")
        yield from obj["Body"].iter_chunks(CHUNK)
        return
    with open(store.path(key), "rb") as f:
        f.seek(offset)
        while chunk := f.read(CHUNK):
            yield chunk


def _fetch(store: ObjectStore, key: str, entry: dict[str, Any], target: Path, progress: TransferProgress
           ) -> tuple[str, int]:
    """One file: skip if verified, else (resume and) stream into ``.part``, verify, rename.

    Returns:
        ("skipped" | "resumed" | "fetched", bytes transferred).
    """
    size, sha = int(entry["size"]), str(entry["sha256"])
    if target.exists():
        if target.stat().st_size == size and _sha_of(target).hexdigest() == sha:
            progress.start(key, size, size)
            progress.finish(key)
            return "skipped", 0
        target.unlink()  # stale or damaged local copy: fetch again
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    if offset > size:
        part.unlink()
        offset = 0
    h = _sha_of(part) if offset else hashlib.sha256()
    progress.start(key, size, offset)
    moved = 0
    if offset < size:
        try:
            with part.open("ab") as out:
                for chunk in _chunks(store, key, offset):
                    out.write(chunk)
                    h.update(chunk)
                    moved += len(chunk)
                    progress.advance(key, len(chunk))
                out.flush()
                os.fsync(out.fileno())
        except FileNotFoundError as exc:
            raise DownloadError(f"{store.uri(key)}: listed in the manifest but missing from storage") from exc
    got_size = part.stat().st_size
    got = h.hexdigest()
    if got_size != size or got != sha:
        part.unlink()
        raise ChecksumError(
            f"{store.uri(key)}: sha256 {got} ({got_size} bytes) does not match the manifest's {sha} ({size} bytes); "
            "the object in storage was changed or corrupted. The partial file was removed; nothing was kept "
            "under its name.")
    os.replace(part, target)
    progress.finish(key)
    return ("resumed" if offset else "fetched"), moved


def plan(manifest: dict[str, Any], split: str | None) -> list[dict[str, Any]]:
    """The files to fetch: the data files of ``split`` (all splits when None) and every document."""
    splits = sorted({f["split"] for f in manifest["files"]})
    if split is not None and split not in splits:
        raise DownloadError(f"{manifest['dataset']} {manifest['version']} has no split {split!r}; splits: {splits}")
    files = [f for f in manifest["files"] if split is None or f["split"] == split]
    return files + list(manifest.get("documents", []))


def download(*, dataset: str, store: ObjectStore, to: Path, version: str | None = None, split: str | None = None,
             workers: int = WORKERS, progress: TransferProgress | None = None) -> DownloadResult:
    """Download one version (all splits or one) into ``<to>/<dataset>/<version>/``, verifying every file.

    Args:
        dataset: The dataset id.
        store: The storage root holding ``releases/``.
        to: Local directory; the copy goes to ``<to>/<dataset>/<version>``.
        version: A released version; None for the one LATEST names.
        split: ``train``, ``validation`` or ``test``; None for all.
        workers: Files transferred at once.
        progress: Progress hooks (rich bars in the CLI).

    Raises:
        DownloadError: Unknown dataset, version or split, or an object missing from storage.
        ChecksumError: A file differs from the manifest (named in the message; its partial file removed).
    """
    progress = progress or NoProgress()
    version = resolve_version(store, dataset, version)
    manifest, raw = read_manifest(store, dataset, version)
    files = plan(manifest, split)
    prefix = layout.release(dataset, version)
    root = to / dataset / version
    counts = {"skipped": 0, "resumed": 0, "fetched": 0}
    moved = 0
    errors: list[BaseException] = []
    done_manifest = root / "manifest.json"
    if done_manifest.exists():
        done_manifest.unlink()  # the completion marker goes only after every file is verified again
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="download") as pool:
        futures = {pool.submit(_fetch, store, f"{prefix}/{f['key']}", f, root / f["key"], progress): f
                   for f in sorted(files, key=lambda f: -int(f["size"]))}
        for fut in as_completed(futures):
            try:
                outcome, n = fut.result()
            except (DownloadError, OSError) as exc:
                errors.append(exc)
                continue
            counts[outcome] += 1
            moved += n
    if errors:
        checksum = [e for e in errors if isinstance(e, ChecksumError)]
        first = checksum[0] if checksum else errors[0]
        more = f" (and {len(errors) - 1} more failed file(s))" if len(errors) > 1 else ""
        if isinstance(first, DownloadError):
            raise type(first)(f"{first}{more}") from first
        raise DownloadError(f"{first}{more}") from first
    tmp = done_manifest.with_name("manifest.json.part")
    tmp.write_bytes(raw)
    os.replace(tmp, done_manifest)
    return DownloadResult(dataset=dataset, version=version, directory=root, files=len(files),
                          bytes=sum(int(f["size"]) for f in files), transferred=moved, skipped=counts["skipped"],
                          resumed=counts["resumed"])


def verify_local(directory: Path) -> list[str]:
    """Problems of a local copy against its manifest (empty when every listed file is present and intact)."""
    mpath = directory / "manifest.json"
    if not mpath.exists():
        return [f"{mpath}: missing (the download did not finish)"]
    manifest = json.loads(mpath.read_bytes())
    problems = []
    for f in [*manifest["files"], *manifest.get("documents", [])]:
        p = directory / f["key"]
        if not p.exists():
            continue  # a split that was not downloaded
        if p.stat().st_size != int(f["size"]) or _sha_of(p).hexdigest() != f["sha256"]:
            problems.append(f"{p}: differs from the manifest")
    return problems
