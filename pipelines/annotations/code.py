"""What an annotation type's module provides: :class:`TypeCode`, the per-type code the stages call.

Each module under ``pipelines/annotations/types/`` defines one :class:`TypeCode` per type it owns (a family
module such as ``geometry`` owns several), and the type's registry line (:mod:`pipelines.annotations.registry`)
points to it. The stages' tables (``BUILDERS`` of ``label/config.py``, ``CONVERTERS`` of ``refine/convert.py``,
QC's ``extract`` / ``agreement`` / ``consensus`` / ``consensus_result`` and ``results.from_truth`` of ``label``) are
views of the registry: they hold no per-type code of their own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from pipelines.annotations.base import MediaFacts
from pipelines.annotations.measures import Consensus
from pipelines.spec.models import DatasetSpec

Result = Sequence[Mapping[str, Any]]
Builder = Callable[[DatasetSpec, ET.Element, str], None]
Converter = Callable[[DatasetSpec, list[dict[str, Any]], MediaFacts], dict[str, Any]]
Extract = Callable[[Result], Any]
Agreement = Callable[[Any, Any], float]
ConsensusOf = Callable[[Sequence[Any], float, bool], Consensus]
ConsensusResult = Callable[[Sequence[Result], Consensus], "list[dict[str, Any]] | None"]
FromTruth = Callable[..., "list[dict[str, Any]] | None"]

# The pieces every type must have: without one, a spec of the type cannot be labelled, checked or released.
REQUIRED_PIECES: tuple[str, ...] = ("build", "extract", "agreement", "consensus", "convert")


@dataclass(frozen=True)
class TypeCode:
    """One annotation type's code, as the stages call it.

    Attributes:
        build: Adds the type's Label Studio controls to a config's ``<View>`` (``(spec, view, to_name)``); raises
            :class:`~pipelines.annotations.lsconfig.LabelConfigError` where the type cannot be expressed.
        extract: The value QC compares, from one annotation's result regions (None for an empty answer).
        agreement: How far two non-empty values agree, in [0, 1] (QC handles empty answers).
        consensus: The consensus of two or more values, given their mean pairwise agreement and whether the
            values are video tracks.
        convert: One (consensus) result -> the type's label columns, raising ``InvalidLabel`` with a reason code.
        consensus_result: The consensus as result regions; None: the consensus is always one annotation's whole
            answer (``Consensus.source``), which QC copies.
        from_truth: The result a perfect annotator submits for a source's known answer (``truth``), called as
            ``from_truth(truth, to_name=, size=, text=, rate_hz=)``; None: no gold tasks or simulated answers.
    """

    build: Builder
    extract: Extract
    agreement: Agreement
    consensus: ConsensusOf
    convert: Converter
    consensus_result: ConsensusResult | None = None
    from_truth: FromTruth | None = None


def missing_pieces(code: TypeCode | None) -> list[str]:
    """The required pieces a type's code lacks (all of them without code), by name."""
    return [p for p in REQUIRED_PIECES if not callable(getattr(code, p, None))]


def family(
    name: str,
    *,
    build: Builder,
    convert: Converter,
    extract: Callable[..., Any],
    agreement: Callable[..., float],
    consensus: Callable[..., Consensus],
    consensus_result: Callable[..., list[dict[str, Any]] | None] | None = None,
    from_truth: Callable[..., list[dict[str, Any]] | None] | None = None,
) -> TypeCode:
    """The :class:`TypeCode` of type ``name`` from a family module's functions that take the type name first
    (``extract(t, result)``, ``agreement(t, a, b)``, ``consensus(t, values, agree, tracks)``,
    ``consensus_result(t, results, c)``, ``from_truth(t, truth, **kw)``): one implementation per family, as QC
    had it."""
    return TypeCode(
        build=build,
        extract=partial(extract, name),
        agreement=partial(agreement, name),
        consensus=partial(consensus, name),
        convert=convert,
        consensus_result=partial(consensus_result, name) if consensus_result is not None else None,
        from_truth=partial(from_truth, name) if from_truth is not None else None,
    )
