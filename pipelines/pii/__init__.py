"""Personal data in text, shared by the stages that meet it: collect (source text, metadata, URIs) and refine
(everything annotators typed). Rules, the name analyser and the word lists; no storage, no stage state."""

from pipelines.pii.dictionaries import load_dictionary, resolve_dictionary, spec_dictionaries
from pipelines.pii.text import ALWAYS_MASKED, PLACEHOLDERS, TEXT_RULES_VERSION, Finding, TextDeidentifier, deid_text

__all__ = [
    "ALWAYS_MASKED",
    "PLACEHOLDERS",
    "TEXT_RULES_VERSION",
    "Finding",
    "TextDeidentifier",
    "deid_text",
    "load_dictionary",
    "resolve_dictionary",
    "spec_dictionaries",
]
