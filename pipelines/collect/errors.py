"""The error the collect stage raises when it cannot run at all (as opposed to quarantining one item)."""

from __future__ import annotations


class CollectError(RuntimeError):
    """The spec asks for something this stage cannot do (unknown source kind, unsupported modality ...)."""
