"""The validated catalog's snapshot on disk, and the parse view: the few spec fields a DAG is built from.

Every process parsing ``dags/`` (the dag-processor parses each file in a fresh one; a worker parses again to run
one task) needs, per spec, only an id, a few tags and the text of the DAG's doc. So a snapshot holds two pickles
under one key: first the :class:`SpecView` of every spec (plain data: unpickling it imports nothing), then the
whole validated :class:`~pipelines.spec.catalog.Catalog` (pydantic models: unpickling it imports them). DAG parsing
reads the first only; tasks load the catalog when they run (docs/adr/0019, docs/adr/0038).

Nothing here imports pydantic, PyYAML or the spec models: a snapshot that is missing or stale is rebuilt by
:func:`pipelines.spec.catalog.load_catalog`, which validates every file (an invalid spec raises its ``SpecError``
naming the file, the field path and the bad value).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.spec.catalog import Catalog
    from pipelines.spec.models import DatasetSpec

SCHEMAS_ENV = "DATADAM_SCHEMAS"
CACHE_ENV = "DATADAM_CACHE_DIR"
# What validation depends on besides the files under schemas/: the spec package's own code.
_SPEC_CODE = tuple(sorted(Path(__file__).resolve().parent.glob("*.py")))


@dataclass(frozen=True)
class SpecView:
    """What building a spec's DAG reads, copied out of the validated spec (plain str/int/float/tuple)."""

    id: str
    name: str
    name_en: str
    version: str
    description: str
    field: str
    group: str
    modality: str
    annotation: str
    labels: tuple[str, ...]
    target_volume: int
    license: str
    deidentify: tuple[str, ...]
    syntactic_accuracy: float
    semantic_accuracy: float | None

    @classmethod
    def of(cls, spec: DatasetSpec) -> SpecView:
        from pipelines.spec.models import label_set

        q = spec.quality
        return cls(id=spec.id, name=spec.name, name_en=spec.name_en, version=str(spec.version),
                   description=spec.description, field=spec.field, group=spec.group, modality=spec.modality.kind,
                   annotation=spec.annotation.type, labels=tuple(label_set(spec.annotation)),
                   target_volume=spec.target_volume, license=spec.license, deidentify=tuple(spec.deidentify.targets),
                   syntactic_accuracy=q.syntactic_accuracy, semantic_accuracy=q.semantic_accuracy)


def default_schemas_dir() -> Path:
    """``$DATADAM_SCHEMAS``, else the catalog shipped inside the package (``pipelines/_schemas``).

    In a checkout ``pipelines/_schemas`` is a symlink to the repository's ``schemas/``; a built wheel holds a copy
    (docs/adr/0026). Either way it is found through the package, never through the checkout's layout.
    """
    env = os.environ.get(SCHEMAS_ENV)
    if env:
        return Path(env)
    return Path(str(resources.files("pipelines") / "_schemas")).resolve()


def cache_dir() -> Path:
    """``$DATADAM_CACHE_DIR``, else ``$XDG_CACHE_HOME/datadam``, else ``~/.cache/datadam``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "datadam"


def spec_files(root: Path) -> list[Path]:
    return sorted((root / "datasets").glob("*/*.yaml"))


def _pydantic_version() -> str:
    from pydantic.version import VERSION  # the version module alone: not pydantic's models

    return str(VERSION)


def snapshot_key(root: Path, paths: Iterable[Path]) -> str:
    """sha256 over every file the validated catalog depends on (path and bytes), the spec code and versions."""
    h = hashlib.sha256(f"{pickle.HIGHEST_PROTOCOL}|{_pydantic_version()}|{root}".encode())
    for p in (*_SPEC_CODE, root / "fields.yaml", root / "groups.yaml", *paths):
        try:
            data = p.read_bytes()
        except OSError:
            data = b"\x00missing"
        h.update(f"|{p}|{len(data)}|".encode())
        h.update(data)
    return h.hexdigest()


def _snapshot_path(key: str) -> Path:
    return cache_dir() / f"catalog-{key[:32]}.pickle"


def read_snapshot(key: str, *, catalog: bool) -> Any:
    """The views (or, with ``catalog``, the catalog) stored under ``key``; None when missing or not trusted.

    A snapshot writable by group or others, or owned by another user, is ignored: unpickling runs code.
    """
    path = _snapshot_path(key)
    try:
        with path.open("rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return None
            stored_key, value = pickle.load(fh)
            if catalog and stored_key == key:
                stored_key, value = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
        return None
    return value if stored_key == key else None


def write_snapshot(key: str, views: Mapping[str, SpecView], catalog: Catalog) -> None:
    """Write the views, then the catalog, atomically; a cache that cannot be written only costs the next parse."""
    path = _snapshot_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".catalog-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((key, dict(views)), fh, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.dump((key, catalog), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return


@functools.cache
def _load_views_cached(root: Path) -> Mapping[str, SpecView]:
    views = read_snapshot(snapshot_key(root, spec_files(root)), catalog=False)
    if isinstance(views, dict) and all(isinstance(v, SpecView) for v in views.values()):
        return views
    from pipelines.spec.catalog import load_catalog  # validates every file, raising SpecError; writes the snapshot

    return {sid: SpecView.of(spec) for sid, spec in load_catalog(root).specs.items()}


def load_views(root: str | Path | None = None) -> Mapping[str, SpecView]:
    """Every spec's :class:`SpecView`, by id in sorted order, without importing the spec models when the snapshot
    is current. Cached per root; :func:`pipelines.spec.catalog.reload_catalog` drops the cache."""
    return _load_views_cached(Path(root or default_schemas_dir()).resolve())
