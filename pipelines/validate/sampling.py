"""Sample-based characteristics (reviewers' verdicts, gold answers): how big a sample the spec asks for, and how
sure a small sample lets us be.

NIA measures semantic accuracy on a sample. A sample below its target proves a defect only when even the upper
end of its confidence interval (Wilson score, at the spec's ``sampling.confidence``) stays below the target;
otherwise the sample is too small to conclude. Validate fails the conclusive case on any run, and reports the
inconclusive one as a warning on a partial delivery (a final delivery must show the target is met).

Sample sizes follow the spec's ``quality.sampling``: ``formula`` n = z^2 p (1 - p) / e^2 with the finite
population correction, or ``aql``: the sample size of KS Q ISO 2859-1 single sampling, normal inspection, for the
lot size and inspection level (Table 1 code letters, Table 2-A sizes; the acceptance number for the AQL is not
applied: the share is compared with the target instead).
"""

from __future__ import annotations

import math

from pipelines.spec.models import Sampling

Z = {0.9: 1.6449, 0.95: 1.9600, 0.99: 2.5758}

# (largest lot size, code letter at levels I, II, III) - KS Q ISO 2859-1 Table 1.
_CODE_LETTERS: tuple[tuple[float, str, str, str], ...] = (
    (8, "A", "A", "B"), (15, "A", "B", "C"), (25, "B", "C", "D"), (50, "C", "D", "E"), (90, "C", "E", "F"),
    (150, "D", "F", "G"), (280, "E", "G", "H"), (500, "F", "H", "J"), (1200, "G", "J", "K"),
    (3200, "H", "K", "L"), (10_000, "J", "L", "M"), (35_000, "K", "M", "N"), (150_000, "L", "N", "P"),
    (500_000, "M", "P", "Q"), (math.inf, "N", "Q", "R"),
)
_SAMPLE_SIZE = {"A": 2, "B": 3, "C": 5, "D": 8, "E": 13, "F": 20, "G": 32, "H": 50, "J": 80, "K": 125, "L": 200,
                "M": 315, "N": 500, "P": 800, "Q": 1250, "R": 2000}  # Table 2-A


def required_sample(sampling: Sampling, population: int) -> int:
    """The sample size the spec's sampling plan asks for, for a population of ``population`` items."""
    if population <= 0:
        return 0
    if sampling.method == "aql":
        level = ("I", "II", "III").index(sampling.inspection_level)
        letters = next(row[1:] for row in _CODE_LETTERS if population <= row[0])
        return min(_SAMPLE_SIZE[letters[level]], population)
    z = Z[sampling.confidence]
    n0 = z * z * sampling.expected_p * (1 - sampling.expected_p) / (sampling.margin * sampling.margin)
    return min(population, math.ceil(n0 / (1 + (n0 - 1) / population)))


def wilson_interval(successes: float, n: int, confidence: float) -> tuple[float, float]:
    """The Wilson score interval of a share ``successes / n`` (well behaved for small n and shares near 1); also
    a conservative interval for the mean of ``n`` values in [0, 1] whose sum is ``successes``."""
    if n <= 0:
        return 0.0, 1.0
    z = Z.get(confidence, 1.96)
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denom = 1 + z * z / n
    return max(0.0, (centre - spread) / denom), min(1.0, (centre + spread) / denom)
