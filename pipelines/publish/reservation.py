"""Reserving a release version before writing it, so two publishers never own the same version.

A publisher picks a candidate (``versions.next_version``) and creates ``releases/<ds>/.reservations/<version>.json``
with a conditional create (``ObjectStore.create_exclusive``). Only the holder writes under ``releases/<ds>/<version>/``;
the others move on to the next candidate (different content) or stop with a clear refusal (identical content
being published right now). The reservation stays after the commit: it records who published the version.

A reservation is taken over only when its holder is surely gone: it is older than ``max_age_s`` (the same rule
as staging prefixes), or it was made by the same run for the same content (an Airflow retry after a killed try,
which never runs beside the try it replaces).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from pipelines.publish.versions import next_version
from pipelines.storage import ObjectStore, StorageError, layout

RESERVATIONS = ".reservations"


class ReservationError(RuntimeError):
    """No version could be reserved (identical content is being published by another run, or too many races)."""


class AlreadyPublished(Exception):  # an outcome the caller answers, not a failure
    """The candidate version was committed meanwhile with this very content."""

    def __init__(self, version: str) -> None:
        super().__init__(version)
        self.version = version


@dataclass(frozen=True)
class Reservation:
    """A version held by one publisher.

    Attributes:
        dataset: The dataset id.
        version: The version reserved.
        token: Unique to the publisher that holds it.
        run_id: The run being published.
        content_hash: The content being published.
        reserved_at: Unix time of the reservation.
    """

    dataset: str
    version: str
    token: str
    run_id: str
    content_hash: str
    reserved_at: float

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()


def reservation_key(dataset: str, version: str) -> str:
    layout.release(dataset, version)  # checks the version is one key segment
    return layout.release_reservation(dataset, version)


def _decode(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        out = json.loads(raw)
    except ValueError:
        return {}  # unreadable: treated as a holder we cannot identify
    return out if isinstance(out, dict) else {}


def _read(store: ObjectStore, key: str) -> dict[str, Any] | None:
    try:
        return _decode(store.read_bytes(key)) if store.exists(key) else None
    except StorageError:
        return None  # removed between the check and the read


def holds(store: ObjectStore, res: Reservation) -> bool:
    """Whether ``res`` still holds its version (nobody took it over)."""
    current = _read(store, reservation_key(res.dataset, res.version))
    return current is not None and current.get("token") == res.token


def _manifest_hash(store: ObjectStore, dataset: str, version: str) -> str | None:
    """The content hash of a committed version, "" when committed without one, None when not committed."""
    key = layout.release_manifest(dataset, version)
    if not store.exists(key):
        return None
    return str(store.read_json(key).get("content_hash") or "")


def reserve(store: ObjectStore, *, dataset: str, spec_version: str, published: Iterable[str], run_id: str,
            content_hash: str, max_age_s: float, attempts: int = 50) -> Reservation:
    """Reserve the version this content gets, racing other publishers safely.

    Args:
        store: The storage root.
        dataset: The dataset id.
        spec_version: The version the spec asks for.
        published: Versions known to be published (a listing that may already be stale).
        run_id: The run being published.
        content_hash: Its content hash.
        max_age_s: Age past which another holder's reservation is taken to be dead.
        attempts: Races lost (a version taken between our create and our read-back) before giving up.

    Raises:
        AlreadyPublished: A racing publisher committed this content first (the caller answers with that version).
        ReservationError: Identical content is being published by another run now, or every attempt lost.
    """
    taken = set(published)
    lost = 0  # races lost on the same candidate; moving past a taken version is progress, not a loss
    while lost < attempts:
        candidate = next_version(spec_version, taken)
        key = reservation_key(dataset, candidate)
        mine = Reservation(dataset=dataset, version=candidate, token=uuid.uuid4().hex, run_id=run_id,
                           content_hash=content_hash, reserved_at=time.time())
        if store.create_exclusive(key, mine.encode()) or _take_over(store, key, mine, max_age_s=max_age_s):
            # Read back: an S3 emulator that checks and writes without a lock can let two creates through.
            if not holds(store, mine):
                taken.add(candidate)
                lost += 1
                continue
            committed = _manifest_hash(store, dataset, candidate)
            if committed is None:
                return mine
            if committed == content_hash:
                raise AlreadyPublished(candidate)
            taken.add(candidate)  # a version committed before reservations existed
            continue
        committed = _manifest_hash(store, dataset, candidate)
        if committed == content_hash:
            raise AlreadyPublished(candidate)
        holder = _read(store, key)
        if committed is None and holder is not None and holder.get("content_hash") == content_hash:
            age = time.time() - float(holder.get("reserved_at", 0))
            raise ReservationError(
                f"{store.uri(key)}: version {candidate} of {dataset} is being published right now by run "
                f"{holder.get('run_id')!r} with identical content (reserved {age:.0f} s ago); that release will "
                "be this content. Publish again after it finishes; a dead publisher's reservation expires after "
                f"{max_age_s / 3600:.0f} h.")
        if holder is not None or committed is not None:
            taken.add(candidate)
        else:
            lost += 1  # the holder let go between our create and our read: try the same version again
    raise ReservationError(f"{store.uri(layout.release(dataset))}: no version could be reserved: {attempts} races "
                           "lost to other publishers")


def _take_over(store: ObjectStore, key: str, mine: Reservation, *, max_age_s: float) -> bool:
    """Replace a reservation whose holder is gone (too old, or an earlier try of this run); False otherwise."""
    holder = _read(store, key)
    if holder is None or not _reclaimable(holder, mine, max_age_s=max_age_s):
        return False
    if _manifest_hash(store, mine.dataset, mine.version) is not None:
        return False  # committed: never reused, whoever reserved it

    def update(current: bytes | None) -> bytes | None:
        now = _decode(current)
        if now is None or now.get("token") == mine.token:
            return None  # gone (the caller retries the create) or already ours
        if not _reclaimable(now, mine, max_age_s=max_age_s):
            return None  # someone else got there first
        return mine.encode()

    after = _decode(store.compare_and_swap(key, update))
    return after is not None and after.get("token") == mine.token


def _reclaimable(holder: dict[str, Any], mine: Reservation, *, max_age_s: float) -> bool:
    try:
        age = time.time() - float(holder.get("reserved_at", 0))
    except (TypeError, ValueError):
        age = float("inf")
    same_try = holder.get("run_id") == mine.run_id and holder.get("content_hash") == mine.content_hash
    return age > max_age_s or same_try
