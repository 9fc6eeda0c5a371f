"""The hash chain a release's integrity rests on, and the checks on names read from storage.

``releases/<ds>/LATEST`` names the current version and the sha256 of its ``manifest.json``; the catalog records
the manifest sha256 of every version; the manifest records every file's size and sha256. A reader that starts
from the pointer (or a version and the catalog) can verify each step before it trusts the next one::

    LATEST ("1.1" + manifest sha256) -> manifest.json (its sha256) -> data/... (each file's sha256)

Everything a manifest or a pointer says is untrusted input until that chain holds: keys are checked to be plain
relative paths before they are joined to a local directory (``safe_key``).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass

from pipelines.storage import ObjectStore, layout

POINTER_HASH = "sha256"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_DRIVE = re.compile(r"^[A-Za-z]:")
# A version or dataset id becomes one directory name on the developer's disk.
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


class UnsafeKeyError(ValueError):
    """A key from a manifest that could land outside the download directory."""


@dataclass(frozen=True)
class Pointer:
    """What ``releases/<ds>/LATEST`` says.

    Attributes:
        version: The current version.
        manifest_sha256: sha256 of that version's ``manifest.json``; None in pointers written before the chain
            existed (releases published by datadam before ADR 0008).
    """

    version: str
    manifest_sha256: str | None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode_pointer(version: str, manifest_sha256: str) -> bytes:
    """``<version>\\nsha256 <hex>\\n``: the first line stays what older readers (``read_pointer``) expect."""
    return f"{version}\n{POINTER_HASH} {manifest_sha256}\n".encode()


def decode_pointer(raw: bytes) -> Pointer:
    """Parse a pointer; a bare version (an older pointer) has no manifest hash.

    Raises:
        ValueError: Not a pointer this code wrote (unknown lines, a malformed hash or version).
    """
    lines = [ln.strip() for ln in raw.decode("utf-8", errors="replace").splitlines() if ln.strip()]
    if not lines:
        raise ValueError("the pointer is empty")
    version = safe_segment(lines[0], what="version")
    digest: str | None = None
    for line in lines[1:]:
        name, _, value = line.partition(" ")
        if name != POINTER_HASH or not _HEX64.match(value.strip()) or digest is not None:
            raise ValueError(f"unexpected line in the pointer: {line[:80]!r}")
        digest = value.strip()
    return Pointer(version=version, manifest_sha256=digest)


def read_latest(store: ObjectStore, dataset: str) -> Pointer | None:
    """The dataset's ``LATEST`` pointer, or None when nothing was released.

    Raises:
        ValueError: The pointer is malformed.
    """
    key = layout.latest(dataset)
    if not store.exists(key):
        return None
    return decode_pointer(store.read_bytes(key))


def safe_segment(value: str, *, what: str) -> str:
    """``value`` when it can be one directory name (a dataset id or a version), else ValueError."""
    if not isinstance(value, str) or not _SEGMENT.match(value) or value in {".", ".."} or ".." in value:
        raise ValueError(f"{what} {str(value)[:80]!r} is not a plain name")
    return value


def safe_key(key: object) -> str:
    """A manifest key that is a plain relative POSIX path, returned unchanged.

    Refused: anything but a non-empty string; absolute paths; drive letters (``C:``); backslashes; NUL and other
    control characters; ``.`` / ``..`` / empty segments (the key must equal its ``posixpath.normpath``).

    Raises:
        UnsafeKeyError: Naming the key and why.
    """
    if not isinstance(key, str) or not key:
        raise UnsafeKeyError(f"{key!r}: a key must be a non-empty string")
    shown = repr(key[:120])
    if any(ord(c) < 32 or c == "\x7f" for c in key):
        raise UnsafeKeyError(f"{shown}: control characters in a key")
    if "\\" in key:
        raise UnsafeKeyError(f"{shown}: backslashes in a key (it would be a path separator on Windows)")
    if key.startswith("/") or _DRIVE.match(key):
        raise UnsafeKeyError(f"{shown}: an absolute path")
    if any(part in {"", ".", ".."} for part in key.split("/")) or posixpath.normpath(key) != key:
        raise UnsafeKeyError(f"{shown}: not a normalised relative path ('..', '.' or empty segments)")
    return key
