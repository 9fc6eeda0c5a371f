"""Validate a run's refined records with GX suites built from the spec; the publish gate.

``validate`` measures every NIA quality characteristic the spec sets a target for (GX suites built from the
spec, streamed over the run's records) and writes quality.json, the QA report, GX's result and Data Docs under
``runs/<ds>/<run>/validate/``; ``gate`` approves a run automatically when every blocking check passed, else by an
inspector's ``record_decision`` (``datadam qa approve|reject``); docs/adr/0007 says what blocks a run.
Importing this package does not import great_expectations (DAG parsing stays cheap).
"""

from pipelines.validate.checks import CHARACTERISTICS, Check, plan_checks
from pipelines.validate.gate import Decision, GateError, GateResult, current_decision, gate, record_decision
from pipelines.validate.stage import ValidationError, ValidationResult, validate

__all__ = [
    "CHARACTERISTICS",
    "Check",
    "Decision",
    "GateError",
    "GateResult",
    "ValidationError",
    "ValidationResult",
    "current_decision",
    "gate",
    "plan_checks",
    "record_decision",
    "validate",
]
