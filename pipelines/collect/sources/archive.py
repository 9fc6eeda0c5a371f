"""Zip archives, expanded safely: a source lists their members as items instead of the archive itself.

Refused as a whole (``archive.bomb``): more than ``MAX_ENTRIES`` members, more than ``MAX_TOTAL_BYTES``
declared uncompressed, or a member whose compression ratio exceeds ``MAX_RATIO`` (real photos, audio and text
compress far less; a zip bomb compresses a million to one). Refused per member: names with ``..``, absolute or
drive paths (``source.path_traversal``) and symbolic links (``source.symlink``). Extraction never trusts the
declared sizes: it stops reading at the limit.
"""

from __future__ import annotations

import contextlib
import io
import stat
import zipfile
from dataclasses import dataclass
from typing import IO

from pipelines.collect import reasons as R
from pipelines.collect.reasons import Reject

MAX_ENTRIES = 10_000
MAX_TOTAL_BYTES = 4 * 1024**3
MAX_RATIO = 200.0
_RATIO_FLOOR = 1024 * 1024  # tiny members may compress well (blank text, empty CSV): ratio applies above 1 MiB


@dataclass(frozen=True)
class Member:
    """One file inside an archive, or the reason it is refused."""

    name: str
    size: int
    reject: str | None = None
    detail: str | None = None


def is_zip(name: str, head: bytes = b"") -> bool:
    """Whether a file is a zip archive to expand (by extension, or by signature when the head is given)."""
    return name.lower().endswith(".zip") or head.startswith(b"PK\x03\x04")


def unsafe_name(name: str) -> bool:
    """Whether a member name could leave the folder it is extracted to."""
    n = name.replace("\\", "/")
    return n.startswith("/") or (len(n) > 1 and n[1] == ":") or ".." in n.split("/")


def open_archive(source: bytes | IO[bytes]) -> zipfile.ZipFile:
    """A zip archive opened once: its central directory is parsed here, members are then read at their offsets.

    ``source`` is the archive's bytes or a seekable file (the copy a run holds in storage).

    Raises:
        Reject: ``archive.undecodable`` when it is not a readable zip.
    """
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise Reject(R.ARCHIVE_UNDECODABLE, f"not a readable zip archive: {exc}") from None


def list_members(data: bytes) -> list[Member]:
    """The members of a zip archive, in archive order.

    Raises:
        Reject: ``archive.undecodable`` (not a readable zip) or ``archive.bomb`` (limits exceeded).
    """
    with open_archive(data) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > MAX_ENTRIES:
            raise Reject(R.ARCHIVE_BOMB, f"{len(infos)} entries > {MAX_ENTRIES}")
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_BYTES:
            raise Reject(R.ARCHIVE_BOMB, f"{total} bytes uncompressed > {MAX_TOTAL_BYTES}")
        out: list[Member] = []
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > _RATIO_FLOOR and ratio > MAX_RATIO:
                raise Reject(R.ARCHIVE_BOMB, f"{info.filename!r} expands {ratio:.0f}:1 (limit {MAX_RATIO:.0f}:1)")
            if unsafe_name(info.filename):
                out.append(Member(info.filename, info.file_size, R.SOURCE_PATH_TRAVERSAL,
                                  f"archive member name {info.filename!r} leaves the archive"))
            elif stat.S_ISLNK(info.external_attr >> 16):
                out.append(Member(info.filename, info.file_size, R.SOURCE_SYMLINK,
                                  f"archive member {info.filename!r} is a symbolic link"))
            else:
                out.append(Member(info.filename, info.file_size))
        return out


def read_member(archive: bytes | zipfile.ZipFile, name: str, *, limit: int) -> bytes:
    """The bytes of one member, reading at most ``limit`` bytes whatever the archive declares.

    ``archive`` is best an archive :func:`open_archive` opened once for many members: given bytes, the whole
    central directory is parsed again for this one member.

    Raises:
        Reject: ``media.oversize`` past the limit, ``archive.bomb`` when it inflates beyond its ratio,
            ``archive.undecodable`` when the member is corrupt or missing.
    """
    try:
        with contextlib.ExitStack() as stack:
            zf = archive if isinstance(archive, zipfile.ZipFile) else stack.enter_context(open_archive(archive))
            info = zf.getinfo(name)
            with zf.open(info) as f:
                out = f.read(limit + 1)
    except Reject:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise Reject(R.ARCHIVE_UNDECODABLE, f"member {name!r}: {type(exc).__name__}: {exc}") from None
    if len(out) > limit:
        raise Reject(R.MEDIA_OVERSIZE, f"member {name!r} has more than {limit} bytes")
    if len(out) > _RATIO_FLOOR and len(out) / max(info.compress_size, 1) > MAX_RATIO:
        raise Reject(R.ARCHIVE_BOMB, f"member {name!r} inflates beyond {MAX_RATIO:.0f}:1")
    return out
