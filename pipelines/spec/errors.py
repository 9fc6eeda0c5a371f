"""The one error a misconfigured spec raises: file, field path, bad value, what is allowed."""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def format_path(loc: tuple[str | int, ...]) -> str:
    """Render a pydantic-style location as ``annotation.labels[2]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


# Bounded in depth and items as well as length: repr() of a value built from shared references (a YAML alias
# bomb, or any deeply nested input) would otherwise walk every path before it could be cut short.
_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxtuple = _REPR.maxlist = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 6
_REPR.maxstring = _REPR.maxother = 60


def _short(value: Any, limit: int = 80) -> str:
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class SpecIssue:
    """One problem in one spec file."""

    file: str
    path: str
    value: Any
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message} (got {_short(self.value)})"


class SpecError(ValueError):
    """A spec (or the catalog) is invalid. ``issues`` holds every problem found, one line each."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        if not issues:
            raise ValueError("SpecError needs at least one issue")
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    @classmethod
    def single(cls, file: str | Path, path: str, value: Any, message: str) -> SpecError:
        return cls([SpecIssue(str(file), path, value, message)])
