"""Values for a spec's schema columns and labels, drawn to the spec's planned shares."""

from __future__ import annotations

import re
import string
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from pipelines.collect.sources.synthetic._common import choice, item_rng, weighted_choice
from pipelines.spec.models import (
    BoolColumn,
    DatasetSpec,
    DateColumn,
    DatetimeColumn,
    EnumColumn,
    FloatColumn,
    IntColumn,
    MultiLabel,
    StringColumn,
)

# Items are grouped in windows of GROUP_WINDOW consecutive indices, each window drawing from GROUP_POOL ids:
# a group (speaker, plot, drive ...) has ~GROUP_WINDOW / GROUP_POOL items, whatever the total or shard layout.
GROUP_WINDOW = 40
GROUP_POOL = 8
OPTIONAL_NULL_SHARE = 0.03

_CLASSES = {"d": string.digits, "w": string.ascii_letters + string.digits + "_"}


_GOLDEN = 0.6180339887498949  # 1/phi: the additive recurrence with the most even coverage of [0, 1)


def _quantile_pick(values: list[str], weights: list[float], *, seed: int, index: int, stream: str) -> str:
    """The value whose cumulative-share interval holds the index-th point of a low-discrepancy sequence.

    Over any n consecutive items each value's count is within ~1 of n x share, so a small demo run still
    contains every planned class and the diversity checks measure the annotators, not sampling noise.
    Depends only on (seed, stream, index): independent of how items are sharded.
    """
    total = float(sum(weights))
    if total <= 0:
        weights, total = [1.0] * len(values), float(len(values))
    offset = float(np.random.default_rng([seed, zlib.crc32(stream.encode())]).random())
    u = (offset + index * _GOLDEN) % 1.0
    acc = 0.0
    for value, w in zip(values, weights, strict=True):
        acc += w / total
        if u < acc:
            return value
    return values[-1]


def planned_label(spec: DatasetSpec, *, seed: int, index: int) -> str:
    """Item ``index``'s class, spread evenly by the planned ``label`` shares (else uniformly)."""
    labels = spec.labels
    shares = spec.planned_shares.get("label") or {}
    return _quantile_pick(labels, [shares.get(v, 0.0) if shares else 1.0 for v in labels],
                          seed=seed, index=index, stream="label")


def sample_label(spec: DatasetSpec, rng: np.random.Generator) -> str:
    """A class name drawn by the planned ``label`` shares, else uniformly."""
    labels = spec.labels
    shares = spec.planned_shares.get("label")
    if shares:
        return weighted_choice(rng, labels, [shares.get(v, 0.0) for v in labels])
    return choice(rng, labels)


def sample_labels(spec: DatasetSpec, a: MultiLabel, rng: np.random.Generator) -> list[str]:
    """Distinct class names for one multi-label item (at most 3), drawn by planned shares without replacement."""
    hi = min(a.max_labels or 3, 3, len(spec.labels))
    lo = max(1, min(a.min_labels, hi))
    n = int(rng.integers(lo, hi + 1))
    chosen: list[str] = []
    for _ in range(20 * n):
        label = sample_label(spec, rng)
        if label not in chosen:
            chosen.append(label)
        if len(chosen) == n:
            break
    return chosen


def sample_meta(spec: DatasetSpec, *, seed: int, index: int) -> dict[str, Any]:
    """Values of every schema column for one item (JSON-ready: dates as ISO strings)."""
    out: dict[str, Any] = {}
    for name, col in spec.columns.items():
        rng = item_rng(seed, index, f"meta:{name}")
        if not col.required and rng.random() < OPTIONAL_NULL_SHARE:
            out[name] = None
            continue
        out[name] = _value(spec, name, col, rng, seed=seed, index=index)
    return out


def _value(spec: DatasetSpec, name: str, col: Any, rng: np.random.Generator, *, seed: int, index: int) -> Any:
    if isinstance(col, EnumColumn):
        shares = spec.planned_shares.get(name)
        if shares:
            return _quantile_pick(list(col.values), [shares.get(v, 0.0) for v in col.values],
                                  seed=seed, index=index, stream=f"meta:{name}")
        return choice(rng, col.values)
    if isinstance(col, IntColumn):
        lo, hi = _bounds(col.min, col.max, 0, 100)
        return int(rng.integers(int(lo), int(hi) + 1))
    if isinstance(col, FloatColumn):
        lo, hi = _bounds(col.min, col.max, 0.0, 100.0)
        return round(float(rng.uniform(lo, hi)), 3)
    if isinstance(col, BoolColumn):
        return bool(rng.random() < 0.5)
    if isinstance(col, DateColumn):
        return (_epoch(spec) + timedelta(days=int(rng.integers(730)))).isoformat()
    if isinstance(col, DatetimeColumn):
        start = datetime.combine(_epoch(spec), datetime.min.time(), tzinfo=UTC)
        return (start + timedelta(seconds=int(rng.integers(730 * 86_400)))).isoformat()
    if isinstance(col, StringColumn):
        group = (index // GROUP_WINDOW) * GROUP_POOL + int(rng.integers(GROUP_POOL))
        return group_string(name, col, seed=seed, group=group)
    raise TypeError(f"no synthetic values for column type {type(col).__name__}")


def _bounds(lo: float | None, hi: float | None, default_lo: float, default_hi: float) -> tuple[float, float]:
    span = default_hi - default_lo
    if lo is None and hi is None:
        return default_lo, default_hi
    if lo is None:
        assert hi is not None
        return float(hi) - span, float(hi)
    if hi is None:
        return float(lo), float(lo) + span
    return float(lo), float(hi)


def _epoch(spec: DatasetSpec) -> date:
    # Collected over the two years up to the build year, as the programme's sets were.
    return date(spec.built_year - 1, 1, 1)


def group_string(name: str, col: StringColumn, *, seed: int, group: int) -> str:
    """The value of a string column for a group number: matches the column's pattern when it has one."""
    rng = np.random.default_rng([seed, group, len(name), *name.encode()])
    if col.pattern:
        value = generate_from_pattern(col.pattern, rng)
        if value is not None and re.fullmatch(col.pattern, value):
            return value[: col.max_length]
    prefix = "".join(part[:1] for part in name.split("_")).upper() or "G"
    return f"{prefix}-{group:06d}"[: col.max_length]


_TOKEN_RE = re.compile(r"(?P<anchor>[\^$])|\\(?P<esc>.)|\[(?P<cls>[^\]]+)\]|(?P<lit>[^\\\[\]{}()*+?|^$.])")
_QUANT_RE = re.compile(r"\{(\d+)(?:,(\d*))?\}|[?*+]")


def generate_from_pattern(pattern: str, rng: np.random.Generator) -> str | None:
    """A string matching a simple regex (anchors, literals, ``\\d``, ``[A-Z0-9]`` classes, ``{m,n}``/``?*+``).

    Returns None for anything richer (groups, alternation); the caller then falls back to a plain id.
    """
    out: list[str] = []
    pos = 0
    while pos < len(pattern):
        m = _TOKEN_RE.match(pattern, pos)
        if m is None:
            return None
        pos = m.end()
        if m.group("anchor"):
            continue
        alphabet = _alphabet(m)
        if alphabet is None:
            return None
        lo = hi = 1
        q = _QUANT_RE.match(pattern, pos)
        if q is not None:
            pos = q.end()
            if q.group(0) == "?":
                lo, hi = 0, 1
            elif q.group(0) == "*":
                lo, hi = 0, 3
            elif q.group(0) == "+":
                lo, hi = 1, 3
            else:
                lo = int(q.group(1))
                hi = lo if q.group(2) is None else (int(q.group(2)) if q.group(2) else lo + 3)
        n = int(rng.integers(lo, hi + 1))
        out.extend(alphabet[int(rng.integers(len(alphabet)))] for _ in range(n))
    return "".join(out)


def _alphabet(m: re.Match[str]) -> str | None:
    esc = m.group("esc")
    if esc is not None:
        return _CLASSES.get(esc, esc)
    if m.group("lit") is not None:
        return m.group("lit")
    cls = m.group("cls")
    if cls is None or cls.startswith("^"):
        return None
    chars: list[str] = []
    i = 0
    while i < len(cls):
        if cls[i] == "\\" and i + 1 < len(cls):
            chars.extend(_CLASSES.get(cls[i + 1], cls[i + 1]))
            i += 2
        elif i + 2 < len(cls) and cls[i + 1] == "-":
            chars.extend(chr(c) for c in range(ord(cls[i]), ord(cls[i + 2]) + 1))
            i += 3
        else:
            chars.append(cls[i])
            i += 1
    return "".join(chars) or None
