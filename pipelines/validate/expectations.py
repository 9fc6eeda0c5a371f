"""datadam's own GX expectations, for what GX has no expectation for.

Each subclasses a built-in map expectation and fixes its meaning with pydantic field defaults (GX 1.x builds
expectation configs from pydantic fields), so GX computes the counts, ``mostly`` and the unexpected rows as it
does for its own, and the frames in ``frames.py`` supply the derived column each one reads (a span's text
matches its document, a shape's distance outside its image, a record's content seen in another split ...).
Each is tested both ways in tests/unit/validate/test_expectations.py.

Imports great_expectations: loaded only by ``_gx.py``, never at DAG parse time.
"""

from __future__ import annotations

from typing import Any

import great_expectations.expectations as gxe

# GX's expectation classes are loaded lazily by its package; typed as Any here so mypy takes them as bases.
_InSet: Any = getattr(gxe, "ExpectColumnValuesToBeInSet")  # noqa: B009
_Between: Any = getattr(gxe, "ExpectColumnValuesToBeBetween")  # noqa: B009
_PairEqual: Any = getattr(gxe, "ExpectColumnPairValuesToBeEqual")  # noqa: B009
_Null: Any = getattr(gxe, "ExpectColumnValuesToBeNull")  # noqa: B009
_TRUE_ONLY: Any = (True,)


class ExpectSpanTextToMatchSource(_InSet):  # type: ignore[misc]
    """A span's (entity, extractive answer) text is exactly the document's text at its offsets.

    Reads ``span_ok``: ``text[start:end] == span_text``, computed per span by ``frames.py``.
    """

    column: str = "span_ok"
    value_set: Any = _TRUE_ONLY
    description: str = "span text equals the document text at its offsets"


class ExpectGeometryInsideMedia(_Between):  # type: ignore[misc]
    """A shape (polygon, polyline, keypoint) lies inside its image.

    Reads ``outside_px``: how far (pixels) the shape's farthest point lies outside the image; 0 when inside.
    """

    column: str = "outside_px"
    min_value: Any = None
    max_value: Any = 0.0
    description: str = "geometry inside the image"


class ExpectLabelledKeypointsPlaced(_InSet):  # type: ignore[misc]
    """A keypoint flagged visible or occluded has coordinates; one flagged not-labelled has none.

    Reads ``placement_ok``, computed per keypoint by ``frames.py``.
    """

    column: str = "placement_ok"
    value_set: Any = _TRUE_ONLY
    description: str = "keypoint coordinates agree with its visibility flag"


class ExpectMaskRleToCoverMask(_PairEqual):  # type: ignore[misc]
    """A mask's run lengths add up to width x height (else it cannot be decoded to its image)."""

    column_A: str = "rle_pixels"
    column_B: str = "mask_pixels"
    description: str = "mask RLE covers the whole mask"


class ExpectNoDuplicateInRun(_Null):  # type: ignore[misc]
    """No record repeats another's id or content anywhere in the run.

    Reads ``dup_item_id`` / ``dup_content``: the record's id when another record of the run has the same id or
    content (found from run-wide hashes before the batches stream), else null. Every member of a duplicate
    group is unexpected, as in ``ExpectColumnValuesToBeUnique`` on the whole frame.
    """

    column: str = "dup_content"
    description: str = "no duplicate in the run"


class ExpectNoSplitLeakage(_Null):  # type: ignore[misc]
    """No content (media file or text) is planned into two splits.

    Reads ``leak_splits``: for a record whose content also occurs under another planned split, the splits
    involved (``test|train``), else null. Splits are planned with publish's own split functions.
    """

    column: str = "leak_splits"
    description: str = "identical content never in two splits"


class ExpectShareAtLeast(_Between):  # type: ignore[misc]
    """A run-level share (volume delivered, items delivered, mean agreement) reaches the spec's target."""

    column: str = "share"
    min_value: Any = 1.0
    max_value: Any = None
    description: str = "share reaches its target"


class ExpectSharesWithinTolerance(_Between):  # type: ignore[misc]
    """Every value of a planned dimension (class, region, age band ...) is within tolerance of its planned share.

    Runs on a ``shares:<dimension>`` frame: one row per planned or observed value, ``abs_deviation`` =
    |actual share - planned share| (a value the plan does not name has planned share 0).
    """

    column: str = "abs_deviation"
    min_value: Any = None
    max_value: Any = 0.05
    description: str = "shares within the spec's tolerance"


class ExpectBaselineMetric(_Between):  # type: ignore[misc]
    """The baseline model's metric on the test split reaches the spec's validity target (학습모델 유효성).

    ``min_value`` for metrics where higher is better, ``max_value`` for error rates (CER, WER, MAE ...).
    """

    column: str = "value"
    min_value: Any = None
    max_value: Any = None
    description: str = "baseline metric reaches the validity target"


CUSTOM: dict[str, type[Any]] = {cls.__name__: cls for cls in (
    ExpectSpanTextToMatchSource, ExpectGeometryInsideMedia, ExpectLabelledKeypointsPlaced, ExpectMaskRleToCoverMask,
    ExpectNoDuplicateInRun, ExpectNoSplitLeakage, ExpectShareAtLeast, ExpectSharesWithinTolerance,
    ExpectBaselineMetric,
)}
