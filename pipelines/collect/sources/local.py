"""Files under a directory of the collecting machine (``source: {kind: local, root, glob}``).

``glob`` is matched with ``fnmatch`` against the path relative to ``root`` (``*`` also crosses folders;
``**/`` may match no folder at all). Symbolic links are quarantined as ``source.symlink`` unless
``follow_symlinks`` is set; a followed link whose target lies outside the root is quarantined as
``source.symlink_escape``. Reads re-check the target (the tree may change between planning and collecting).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from pipelines.collect import reasons as R
from pipelines.collect.errors import CollectError
from pipelines.collect.reasons import Reject
from pipelines.collect.sources.listing import Entry, ListingSource, ext_of
from pipelines.spec.models import DatasetSpec
from pipelines.spec.models import LocalSource as LocalConfig
from pipelines.storage.store import ObjectStore, S3Settings


def read_limited(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a file; more is ``media.oversize``."""
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Reject(R.MEDIA_OVERSIZE, f"{path.name}: more than {limit} bytes")
    return data


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (resolved) lies under ``root`` (resolved)."""
    return path == root or root in path.parents


class LocalCollector(ListingSource):
    """Files under ``root`` matching ``glob``, sorted by relative path."""

    kind: ClassVar[str] = "local"

    def __init__(self, *, spec: DatasetSpec, store: ObjectStore, run_id: str | None = None,
                 s3: S3Settings | None = None) -> None:
        super().__init__(spec=spec, store=store, run_id=run_id, s3=s3)
        assert isinstance(spec.source, LocalConfig)
        self.config: LocalConfig = spec.source
        self.root = Path(self.config.root).expanduser()
        if ".." in Path(self.config.glob).parts or Path(self.config.glob).is_absolute():
            raise CollectError(f"{spec.id}: source.glob {self.config.glob!r} must stay inside source.root")

    def _matches(self, rel: str) -> bool:
        pattern = self.config.glob
        return fnmatch.fnmatch(rel, pattern) or (pattern.startswith("**/") and fnmatch.fnmatch(rel, pattern[3:]))

    def entries(self) -> Iterator[Entry]:
        if not self.root.is_dir():
            raise CollectError(f"{self.spec.id}: source.root {str(self.root)!r} is not a directory")
        real_root = self.root.resolve()
        yield from self._walk(self.root, real_root, visited={real_root})

    def _walk(self, folder: Path, real_root: Path, *, visited: set[Path]) -> Iterator[Entry]:
        try:
            children = sorted(os.scandir(folder), key=lambda d: d.name)
        except OSError as exc:
            rel = folder.relative_to(self.root).as_posix()
            yield self._entry(folder, reject=R.SOURCE_UNAVAILABLE, detail=f"{rel}: {exc}")
            return
        for child in children:
            path = Path(child.path)
            rel = path.relative_to(self.root).as_posix()
            if child.is_symlink():
                target = path.resolve()
                if not self.config.follow_symlinks:
                    if self._matches(rel) or target.is_dir():
                        yield self._entry(path, reject=R.SOURCE_SYMLINK,
                                          detail=f"{rel} is a symbolic link; the source does not follow links")
                    continue
                if not inside(target, real_root):
                    yield self._entry(path, reject=R.SOURCE_SYMLINK_ESCAPE,
                                      detail=f"{rel} links outside the source root")
                    continue
                if target.is_dir():
                    if target not in visited:  # a link back up the tree would loop forever
                        yield from self._walk(path, real_root, visited=visited | {target})
                    continue
            elif child.is_dir(follow_symlinks=False):
                yield from self._walk(path, real_root, visited=visited)
                continue
            if not child.is_file() or not self._matches(rel):
                continue
            st = child.stat()
            yield self._entry(path, size=st.st_size, fingerprint=f"size={st.st_size};mtime_ns={st.st_mtime_ns}")

    def _entry(self, path: Path, *, size: int | None = None, fingerprint: str | None = None,
               reject: str | None = None, detail: str | None = None) -> Entry:
        rel = path.relative_to(self.root).as_posix()
        return Entry(uri=path.absolute().as_uri(), locator=rel, ext=ext_of(rel), size=size, fingerprint=fingerprint,
                     reject=reject, detail=detail)

    def fetch(self, entry: Entry) -> bytes:
        path = self.root / entry.locator
        real_root = self.root.resolve()
        if ".." in Path(entry.locator).parts:
            raise Reject(R.SOURCE_PATH_TRAVERSAL, f"{entry.locator} leaves the source root")
        # every component is checked, not only the last: a folder swapped for a link after planning must not win
        probe = self.root
        for part in Path(entry.locator).parts:
            probe = probe / part
            if probe.is_symlink():
                if not self.config.follow_symlinks:
                    raise Reject(R.SOURCE_SYMLINK, f"{entry.locator}: {part} is a symbolic link")
                if not inside(probe.resolve(), real_root):
                    raise Reject(R.SOURCE_SYMLINK_ESCAPE, f"{entry.locator} links outside the source root")
        return read_limited(path, self.limit_for(entry))
