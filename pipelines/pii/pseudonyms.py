"""Stable pseudonyms for what names a person or an original: annotators, source URIs, original digests.

A pseudonym is an HMAC-SHA256 under one per-deployment secret kept in ``restricted/_deployment/pseudonym.key``
(created on first use; never published, like everything under ``restricted/``). The same input gets the same
pseudonym in every run and release of the deployment, so agreement per annotator, ``group_by: source_uri`` and
duplicate checks by digest still work; without the secret nobody can test a guess (a plain hash of an e-mail can
be reversed by hashing a list of e-mails). The contractor, who can read ``restricted/``, finds the original in the
map files written beside the secret's users (refine writes ``restricted/<ds>/runs/<run>/refine/provenance.parquet``
and ``annotators.parquet``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from pipelines.storage import ObjectStore, layout

KEY = layout.restricted("_deployment", "pseudonym.key")
ANNOTATOR_PREFIX = "ann-"
SOURCE_PREFIX = "src-"


def deployment_key(store: ObjectStore) -> bytes:
    """The deployment's secret: read, or created on first use (then read back, so racing creators converge on
    the one that landed)."""
    if not store.exists(KEY):
        store.write_text(KEY, secrets.token_hex(32) + "\n")
    return bytes.fromhex(store.read_text(KEY).strip())


@dataclass(frozen=True)
class Pseudonyms:
    """Keyed pseudonyms; build one per stage run with :meth:`of_store`."""

    key: bytes

    @classmethod
    def of_store(cls, store: ObjectStore) -> Pseudonyms:
        return cls(deployment_key(store))

    def _mac(self, domain: str, value: str) -> str:
        return hmac.new(self.key, f"{domain}\n{value}".encode(), hashlib.sha256).hexdigest()

    def annotator(self, who: str) -> str:
        """``ann-`` + 16 hex digits for a Label Studio user (e-mail compared case-insensitively)."""
        if who.startswith(ANNOTATOR_PREFIX) and "@" not in who:
            return who  # already a pseudonym (a re-run of refine on its own output)
        return ANNOTATOR_PREFIX + self._mac("annotator", who.strip().lower())[:16]

    def source(self, uri: str) -> str:
        """``src-`` + 24 hex digits for a source URI: equal URIs stay equal (``group_by: source_uri``)."""
        return SOURCE_PREFIX + self._mac("source", uri)[:24]

    def digest(self, sha256: str) -> str:
        """A keyed stand-in for the digest of an original: equal originals stay equal, the original stays unnamed."""
        return self._mac("original", sha256)
