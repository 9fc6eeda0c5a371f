"""Release versions the way the programme numbers them: ``1.0-beta`` -> ``1.0`` -> ``1.1`` -> ``1.2`` ...

A version is ``MAJOR.MINOR[.PATCH][-(alpha|beta|rc)[N]]``. A pre-release sorts before its final version
(``1.0-beta < 1.0``). The spec names the version a release should carry; when that version (or a later one)
is already out, new content gets the next version: the final of a pre-release (``1.0-beta`` -> ``1.0``), else
the next minor (``1.0`` -> ``1.1``). A published version is never reused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:-(alpha|beta|rc)(\d*))?$")
_STAGE_RANK = {"alpha": 0, "beta": 1, "rc": 2, None: 3}


class VersionError(ValueError):
    """A version string the programme's scheme does not allow."""


def parse_version(version: str) -> tuple[int, int, int, int, int]:
    """The sort key of a version: (major, minor, patch, stage, stage number); a final release has stage 3.

    Raises:
        VersionError: Not ``MAJOR.MINOR[.PATCH][-(alpha|beta|rc)[N]]``.
    """
    m = _VERSION_RE.match(version.strip())
    if not m:
        raise VersionError(f"{version!r} is not a release version (e.g. 1.0-beta, 1.0, 1.1, 2.0.1)")
    major, minor, patch, stage, num = m.groups()
    return int(major), int(minor), int(patch or 0), _STAGE_RANK[stage], int(num or 0)


def version_key(version: str) -> tuple[int, ...]:
    """Sort key; strings that are not versions sort first (they are never chosen as the newest)."""
    try:
        return parse_version(version)
    except VersionError:
        return (-1,)


def is_prerelease(version: str) -> bool:
    return parse_version(version)[3] < _STAGE_RANK[None]


def next_minor(version: str) -> str:
    """1.0 -> 1.1; 1.0.3 -> 1.1; 2.0-beta1 -> 2.1."""
    major, minor, *_ = parse_version(version)
    return f"{major}.{minor + 1}"


def final_of(version: str) -> str:
    """The final version a pre-release leads to: 1.0-beta -> 1.0; 1.0.2-rc1 -> 1.0.2."""
    major, minor, patch, _, _ = parse_version(version)
    return f"{major}.{minor}.{patch}" if patch else f"{major}.{minor}"


def next_version(spec_version: str, published: Iterable[str]) -> str:
    """The version new content gets.

    The spec's version when it is newer than everything published (the contractor bumped it, e.g. to 2.0);
    otherwise the successor of the newest release: its final version if it is a pre-release, else the next minor.
    """
    out = [v for v in published if version_key(v) != (-1,)]
    if not out:
        return spec_version
    newest = max(out, key=parse_version)
    if parse_version(spec_version) > parse_version(newest):
        return spec_version
    return final_of(newest) if is_prerelease(newest) else next_minor(newest)
