"""The one error the local stack raises when a service cannot be installed, started or reached."""

from __future__ import annotations


class StackError(RuntimeError):
    """A stack service could not be installed, started, reached or authenticated.

    The message names the service and ends with the tail of its log (secrets redacted), so a failing
    test or CLI run shows why without anyone opening ``.datadam/logs``.
    """
