"""Download one version of a release, verified: what ``datadam download`` runs.

The manifest is the list of what to fetch and what each file must hash to. Files are fetched in parallel into
``<to>/<dataset>/<version>/`` (the release's own layout, so ``load_dataset(<that dir>)`` reads the card's
configs), each first as ``<name>.part``:

- an existing ``.part`` is resumed from its size (a ranged GET on S3, a seek on disk), hashing what is there;
- the finished file's size and sha256 must match the manifest, else the ``.part`` is deleted and the download
  fails naming the file and both hashes — a tampered or corrupt object never lands under its real name;
- a file already present with the right size and hash is skipped; one that differs is replaced only by
  verified bytes (never removed first);
- ``manifest.json`` is written last: its presence says the local copy is complete.

Nothing in a manifest is trusted until the hash chain holds (``integrity``): ``LATEST`` and the catalog record
the manifest's sha256, and every key must be a plain relative path that stays under ``<to>`` (symlinks resolved).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipelines.publish.integrity import UnsafeKeyError, read_latest, safe_key, safe_segment, sha256_hex
from pipelines.publish.versions import version_key
from pipelines.storage import ObjectStore, StorageError, layout

CHUNK = 1024 * 1024
WORKERS = 4


class DownloadError(RuntimeError):
    """The release cannot be downloaded (unknown dataset, version or split; storage unreachable)."""


class IntegrityError(DownloadError):
    """The hash chain LATEST -> manifest -> files does not hold, or the manifest is unsafe; nothing was written."""


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
        manifest_sha256: sha256 of the manifest the files were verified against.
        vouched_by: What recorded that hash (``LATEST``, ``catalog``, ``--manifest-sha256``); empty for a
            release published before the hash chain (its manifest was read unverified).
    """

    dataset: str
    version: str
    directory: Path
    files: int
    bytes: int
    transferred: int
    skipped: int
    resumed: int
    manifest_sha256: str = ""
    vouched_by: tuple[str, ...] = ()


def read_manifest(store: ObjectStore, dataset: str, version: str) -> tuple[dict[str, Any], bytes]:
    """The manifest of a version and its raw bytes (not yet checked against the hash chain)."""
    try:
        key = layout.release_manifest(dataset, version)
        if not store.exists(key):
            raise DownloadError(f"{store.uri(key)}: {dataset!r} has no release {version!r}")
        raw = store.read_bytes(key)
        out = json.loads(raw)
    except (ValueError, StorageError) as exc:
        raise DownloadError(f"{dataset} {version}: the manifest cannot be read ({exc})") from exc
    if not isinstance(out, dict):
        raise IntegrityError(f"{store.uri(key)}: not a release manifest")
    return out, raw


@dataclass(frozen=True)
class TrustedManifest:
    """A manifest checked against the hash chain.

    Attributes:
        version: The version it describes.
        manifest: Its parsed content, every key checked by ``integrity.safe_key``.
        raw: Its bytes.
        sha256: Their sha256.
        vouched_by: What recorded that sha256 (``LATEST``, ``catalog``, ``--manifest-sha256``); empty for a
            release published before the chain existed.
    """

    version: str
    manifest: dict[str, Any]
    raw: bytes
    sha256: str
    vouched_by: tuple[str, ...]


def _catalog_record(store: ObjectStore, dataset: str) -> dict[str, Any] | None:
    """The dataset's catalog entry, or None when the catalog has none (it may lag LATEST; it is derived)."""
    if not store.exists(layout.CATALOG_INDEX):
        return None
    try:
        entry = json.loads(store.read_bytes(layout.CATALOG_INDEX)).get("datasets", {}).get(dataset)
    except (ValueError, AttributeError) as exc:
        raise IntegrityError(f"{store.uri(layout.CATALOG_INDEX)}: not a catalog ({exc})") from exc
    return entry if isinstance(entry, dict) else None


def trusted_manifest(store: ObjectStore, dataset: str, version: str | None, *,
                     manifest_sha256: str | None = None) -> TrustedManifest:
    """Resolve the version and return its manifest once the chain pointer -> manifest holds.

    The manifest's sha256 must equal what ``LATEST`` (when it names this version), the catalog record of the
    version and ``manifest_sha256`` (a hash the developer got elsewhere) say; these must agree with each other,
    and ``LATEST`` must not name an older version than the catalog's latest (a pointer rolled back). A release
    published before the chain existed has no recorded hash: it is read, and ``vouched_by`` is empty.

    Raises:
        IntegrityError: A hash differs, the records disagree, or the manifest is malformed or lists an unsafe key.
        DownloadError: No such dataset or version.
    """
    try:
        safe_segment(dataset, what="dataset id")
    except ValueError as exc:
        raise DownloadError(str(exc)) from exc
    try:
        pointer = read_latest(store, dataset)
    except ValueError as exc:
        raise IntegrityError(f"{store.uri(layout.latest(dataset))}: not a release pointer ({exc})") from exc
    via_pointer = version is None
    if version is None:
        if pointer is None:
            raise DownloadError(f"{store.uri(layout.latest(dataset))}: {dataset!r} has no release "
                                "(see `datadam datasets list`)")
        version = pointer.version
    try:
        safe_segment(version, what="version")
    except ValueError as exc:
        raise DownloadError(f"{dataset}: {exc}") from exc
    entry = _catalog_record(store, dataset)
    recorded: dict[str, str] = {}
    if pointer is not None and pointer.version == version and pointer.manifest_sha256:
        recorded["LATEST"] = pointer.manifest_sha256
    if entry is not None:
        listed = {str(v.get("version")): v.get("manifest_sha256") for v in entry.get("versions", [])
                  if isinstance(v, dict)}
        if listed.get(version):
            recorded["catalog"] = str(listed[version])
        cat_latest = str(entry.get("latest") or "")
        if via_pointer and pointer is not None and cat_latest \
                and version_key(cat_latest) > version_key(pointer.version):
            raise IntegrityError(f"{store.uri(layout.latest(dataset))} names {pointer.version} but the catalog "
                                 f"already lists {cat_latest} as the latest release: the pointer was rolled back "
                                 "or swapped. Nothing was downloaded")
    if manifest_sha256:
        recorded["--manifest-sha256"] = manifest_sha256.strip().lower()
    if len(set(recorded.values())) > 1:
        said = ", ".join(f"{k} says {v}" for k, v in recorded.items())
        raise IntegrityError(f"{dataset} {version}: the records of its manifest's sha256 disagree ({said}): one "
                             "of them was changed or swapped. Nothing was downloaded")
    manifest, raw = read_manifest(store, dataset, version)
    got = sha256_hex(raw)
    if recorded and got != next(iter(recorded.values())):
        mkey = layout.release_manifest(dataset, version)
        raise IntegrityError(f"{store.uri(mkey)}: sha256 {got} does not match the {next(iter(recorded.values()))} "
                             f"recorded in {' and '.join(recorded)}: the manifest was changed after the release, "
                             "or the pointer swapped. Nothing was downloaded")
    _check_manifest(manifest, dataset=dataset, version=version)
    return TrustedManifest(version=version, manifest=manifest, raw=raw, sha256=got, vouched_by=tuple(recorded))


def _check_manifest(manifest: dict[str, Any], *, dataset: str, version: str) -> None:
    """The manifest is this release's and every entry is a safe key with a size and a sha256."""
    where = f"{dataset} {version}: the manifest"
    if manifest.get("dataset") != dataset or manifest.get("version") != version:
        raise IntegrityError(f"{where} describes {manifest.get('dataset')!r} {manifest.get('version')!r}: "
                             "it was copied from another release. Nothing was downloaded")
    files, docs = manifest.get("files"), manifest.get("documents", [])
    if not isinstance(files, list) or not isinstance(docs, list):
        raise IntegrityError(f"{where} has no list of files")
    seen: set[str] = set()
    for e in [*files, *docs]:
        if not isinstance(e, dict):
            raise IntegrityError(f"{where} lists a file entry that is not an object")
        try:
            key = safe_key(e.get("key"))
        except UnsafeKeyError as exc:
            raise IntegrityError(f"{where} lists an unsafe key {exc}; refusing to download anything") from exc
        if key in _RESERVED_NAMES or key.endswith(".part") or key in seen:
            raise IntegrityError(f"{where} lists {key!r} twice or under a name the client keeps for itself; "
                                 "refusing to download anything")
        seen.add(key)
        size, sha = e.get("size"), e.get("sha256")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0 or not isinstance(sha, str) \
                or not _HEX64.match(sha):
            raise IntegrityError(f"{where} gives {key!r} no valid size and sha256")


_RESERVED_NAMES = frozenset({"manifest.json", "manifest.json.part"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _sha_of(path: Path, h: Any | None = None) -> Any:
    h = h or hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h


def _fetch(store: ObjectStore, key: str, entry: dict[str, Any], target: Path, progress: TransferProgress
           ) -> tuple[str, int]:
    """One file: skip if verified, else (resume and) stream into ``.part``, verify, rename over the target.

    A file already at ``target`` is never removed before the new bytes are verified: on a mismatch only the
    ``.part`` this client wrote goes, and the file stays as it was.

    Returns:
        ("skipped" | "resumed" | "fetched", bytes transferred).
    """
    size, sha = int(entry["size"]), str(entry["sha256"])
    if target.is_file() and not target.is_symlink() and target.stat().st_size == size \
            and _sha_of(target).hexdigest() == sha:
        progress.start(key, size, size)
        progress.finish(key)
        return "skipped", 0
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.is_file() and not part.is_symlink() else 0
    if offset > size:
        offset = 0  # longer than the file can be: start it again (the open below truncates)
    h = _sha_of(part) if offset else hashlib.sha256()
    progress.start(key, size, offset)
    moved = 0
    # O_NOFOLLOW: a symlink planted at the .part name is refused rather than written through.
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if offset else os.O_TRUNC)
    try:
        with os.fdopen(os.open(part, flags, 0o644), "ab" if offset else "wb") as out:
            if offset < size:
                for chunk in store.read_from(key, offset, chunk=CHUNK):
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
        part.unlink()  # ours: written by this client (this call or the interrupted one it resumed)
        raise ChecksumError(
            f"{store.uri(key)}: sha256 {got} ({got_size} bytes) does not match the manifest's {sha} ({size} bytes); "
            "the object in storage was changed or corrupted. The partial file was removed; nothing was kept "
            "under its name.")
    os.replace(part, target)
    progress.finish(key)
    return ("resumed" if offset else "fetched"), moved


def _inside(base: Path, key: str) -> Path:
    """``base / key``, once it is sure to stay under ``base`` with every existing symlink resolved."""
    target = base / key
    real = target.resolve()
    if not real.is_relative_to(base):
        raise IntegrityError(f"{key!r} resolves to {real}, outside {base} (through a symlink); refusing to "
                             "download anything")
    return target


def plan(manifest: dict[str, Any], split: str | None) -> list[dict[str, Any]]:
    """The files to fetch: the data files of ``split`` (all splits when None) and every document."""
    splits = sorted({str(f.get("split")) for f in manifest["files"]})
    if split is not None and split not in splits:
        raise DownloadError(f"{manifest['dataset']} {manifest['version']} has no split {split!r}; splits: {splits}")
    files = [f for f in manifest["files"] if split is None or f.get("split") == split]
    return files + list(manifest.get("documents", []))


def download(*, dataset: str, store: ObjectStore, to: Path, version: str | None = None, split: str | None = None,
             workers: int = WORKERS, progress: TransferProgress | None = None,
             manifest_sha256: str | None = None) -> DownloadResult:
    """Download one version (all splits or one) into ``<to>/<dataset>/<version>/``, verifying every file.

    The chain is checked before anything is written: ``LATEST`` / the catalog -> the manifest's sha256 ->
    every key is a plain relative path that stays under ``<to>`` (symlinks resolved). Then each file is fetched
    to a ``.part`` beside its target, verified, and renamed over it; nothing that was there before is removed.

    Args:
        dataset: The dataset id.
        store: The storage root holding ``releases/``.
        to: Local directory; the copy goes to ``<to>/<dataset>/<version>``.
        version: A released version; None for the one LATEST names.
        split: ``train``, ``validation`` or ``test``; None for all.
        workers: Files transferred at once.
        progress: Progress hooks (rich bars in the CLI).
        manifest_sha256: The manifest's sha256 as the developer got it elsewhere (a paper, a site); must match.

    Raises:
        IntegrityError: The hash chain does not hold or the manifest names an unsafe key (nothing written).
        DownloadError: Unknown dataset, version or split, or an object missing from storage.
        ChecksumError: A file differs from the manifest (named in the message; its partial file removed).
    """
    progress = progress or NoProgress()
    trusted = trusted_manifest(store, dataset, version, manifest_sha256=manifest_sha256)
    version, manifest, raw = trusted.version, trusted.manifest, trusted.raw
    files = plan(manifest, split)
    try:
        base = to.resolve()
        _inside(base, f"{dataset}/{version}")  # before mkdir, which would follow a symlinked <to>/<dataset>
        (base / dataset / version).mkdir(parents=True, exist_ok=True)
        real_root = _inside(base, f"{dataset}/{version}").resolve()
        targets = [(f, _inside(real_root, f["key"])) for f in files]
    except OSError as exc:
        raise DownloadError(f"{to}: cannot write the download there ({exc.strerror or exc})") from exc
    root = to / dataset / version
    counts = {"skipped": 0, "resumed": 0, "fetched": 0}
    moved = 0
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="download") as pool:
        futures = {pool.submit(_fetch, store, layout.release_file(dataset, version, f['key']), f, target, progress): f
                   for f, target in sorted(targets, key=lambda ft: -int(ft[0]["size"]))}
        for fut in as_completed(futures):
            try:
                outcome, n = fut.result()
            except (DownloadError, OSError, StorageError) as exc:
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
    done_manifest = real_root / "manifest.json"  # written last: its presence says the copy is complete
    tmp = done_manifest.with_name("manifest.json.part")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644), "wb") as out:
        out.write(raw)
    os.replace(tmp, done_manifest)
    return DownloadResult(dataset=dataset, version=version, directory=root, files=len(files),
                          bytes=sum(int(f["size"]) for f in files), transferred=moved, skipped=counts["skipped"],
                          resumed=counts["resumed"], manifest_sha256=trusted.sha256,
                          vouched_by=trusted.vouched_by)


def verify_local(directory: Path) -> list[str]:
    """Problems of a local copy against its manifest (empty when every listed file is present and intact)."""
    mpath = directory / "manifest.json"
    if not mpath.exists():
        return [f"{mpath}: missing (the download did not finish)"]
    manifest = json.loads(mpath.read_bytes())
    problems = []
    for f in [*manifest["files"], *manifest.get("documents", [])]:
        try:
            p = _inside(directory.resolve(), safe_key(f.get("key")))
        except (UnsafeKeyError, IntegrityError) as exc:
            problems.append(f"{mpath}: {exc}")
            continue
        if not p.exists():
            continue  # a split that was not downloaded
        if p.stat().st_size != int(f["size"]) or _sha_of(p).hexdigest() != f["sha256"]:
            problems.append(f"{p}: differs from the manifest")
    return problems
