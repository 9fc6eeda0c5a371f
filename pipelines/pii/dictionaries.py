"""Word lists for dictionary-based de-identification (names, addresses), resolved like the spec files."""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

from pipelines.spec import default_schemas_dir
from pipelines.spec.models import DatasetSpec


def resolve_dictionary(path: str, *, schemas_dir: Path | None = None) -> Path:
    """A spec's dictionary path: absolute as given, else relative to the schemas directory (``schemas/``)."""
    p = Path(path)
    if p.is_absolute():
        return p
    return (schemas_dir or default_schemas_dir()) / p


@functools.cache
def load_dictionary(path: Path) -> tuple[str, ...]:
    """Entries of a word list: one per line, NFC; blanks, ``#`` comments and duplicates dropped."""
    seen: dict[str, None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = unicodedata.normalize("NFC", line.strip())
        if entry and not entry.startswith("#"):
            seen.setdefault(entry, None)
    return tuple(seen)


def spec_dictionaries(spec: DatasetSpec, *, schemas_dir: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The ``names`` / ``addresses`` dictionaries a spec names (only those it names)."""
    out: dict[str, tuple[str, ...]] = {}
    d = spec.deidentify
    if d.name_dictionary:
        out["names"] = load_dictionary(resolve_dictionary(d.name_dictionary, schemas_dir=schemas_dir))
    if d.address_dictionary:
        out["addresses"] = load_dictionary(resolve_dictionary(d.address_dictionary, schemas_dir=schemas_dir))
    return out
