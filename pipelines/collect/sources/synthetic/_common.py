"""Seeding and small Korean-text helpers shared by the synthetic generators."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def item_rng(seed: int, index: int, stream: str) -> np.random.Generator:
    """A generator that depends only on (seed, item index, stream name).

    One stream per concern (meta column, image, defect ...) keeps items reproducible whatever the shard
    layout, and adding a column to a spec does not change the pixels of every item.
    """
    return np.random.default_rng([seed, index, zlib.crc32(stream.encode())])


def choice(rng: np.random.Generator, values: Sequence[T]) -> T:
    return values[int(rng.integers(len(values)))]


def weighted_choice(rng: np.random.Generator, values: Sequence[T], weights: Sequence[float]) -> T:
    w = np.asarray(weights, dtype=float)
    if w.sum() <= 0:
        return choice(rng, values)
    return values[int(rng.choice(len(values), p=w / w.sum()))]


def has_batchim(word: str) -> bool:
    """Whether the last syllable of a Korean word ends in a consonant (picks 을/를, 이/가 ...)."""
    for ch in reversed(word):
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            return code % 28 != 0
        if ch.isdigit():
            return ch in "013678"  # 영, 일, 삼, 육, 칠, 팔
        if ch.isalpha():
            return False
    return False


def josa(word: str, with_batchim: str, without: str) -> str:
    """``word`` followed by the right particle form, e.g. ``josa("화재", "을", "를") == "화재를"``."""
    return word + (with_batchim if has_batchim(word) else without)
