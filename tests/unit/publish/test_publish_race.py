"""Two publishers at once: a version is reserved before it is written, and nobody overwrites a release.

The races are made deterministic by pausing publisher A inside its write (after it reserved its version)
until publisher B has finished: both computed the same candidate version from the same (empty) listing.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipelines.publish import PublishError, PublishResult, download, publish, read_catalog
from pipelines.publish import release as release_mod
from pipelines.publish.integrity import read_latest
from pipelines.publish.reservation import Reservation, ReservationError, reservation_key, reserve
from pipelines.storage import ObjectStore, layout, open_store
from pipelines.storage.cas import create_exclusive
from tests.unit.publish.test_publish import approve
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit

DS = "sentiment-text-test"
HOUR = 3600.0


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return open_store(str(tmp_path / "root"))


def _race(monkeypatch: pytest.MonkeyPatch, first: Callable[[], PublishResult], second: Callable[[], Any]
          ) -> tuple[PublishResult | BaseException, Any]:
    """Run ``first`` until it has reserved its version and starts writing, run ``second`` to its end, then let
    ``first`` finish. Returns both outcomes (a result or the exception raised)."""
    original = release_mod._write_splits
    a_writing, b_done = threading.Event(), threading.Event()

    def paused(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "publisher-a":
            a_writing.set()
            assert b_done.wait(120), "publisher B never finished"
        return original(*args, **kwargs)

    monkeypatch.setattr(release_mod, "_write_splits", paused)
    out: dict[str, Any] = {}

    def run(name: str, fn: Callable[[], Any]) -> None:
        try:
            out[name] = fn()
        except BaseException as exc:  # reported to the test, which asserts on it
            out[name] = exc

    a = threading.Thread(target=run, args=("a", first), name="publisher-a")
    a.start()
    while not a_writing.wait(0.05):  # polls only to notice that A failed before writing; no timing decides
        assert a.is_alive(), f"publisher A stopped before writing: {out.get('a')!r}"
    run("b", second)
    b_done.set()
    a.join(120)
    return out["a"], out["b"]


def _verified_rows(store: ObjectStore, version: str, to: Path) -> int:
    got = download(dataset=DS, store=store, to=to, version=version)
    manifest = json.loads((got.directory / "manifest.json").read_bytes())
    return int(manifest["rows"]["total"])


def test_two_publishers_of_different_content_get_two_versions(store: ObjectStore, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    spec = f.text_spec()
    approve(store, f.text_run(spec, run_id="run-1", n=60))
    approve(store, f.text_run(spec, run_id="run-2", n=90))

    a, b = _race(monkeypatch, lambda: publish(spec=spec, store=store, run_id="run-1"),
                 lambda: publish(spec=spec, store=store, run_id="run-2"))

    assert isinstance(a, PublishResult) and isinstance(b, PublishResult), (a, b)
    assert (a.version, a.created, b.version, b.created) == ("1.0", True, "1.1", True)
    # Each release is whole and is its own content: A's files were not overwritten or deleted by B.
    assert _verified_rows(store, "1.0", tmp_path / "dl") == 60
    assert _verified_rows(store, "1.1", tmp_path / "dl") == 90
    latest = read_latest(store, DS)
    assert latest is not None and latest.version == "1.1"  # A finished last but LATEST never goes back
    assert [v["version"] for v in read_catalog(store)["datasets"][DS]["versions"]] == ["1.0", "1.1"]
    assert not store.list(f"{layout.release(DS)}/.staging")


def test_a_publisher_of_the_same_content_is_refused_while_the_first_writes(store: ObjectStore, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch
                                                                            ) -> None:
    spec = f.text_spec()
    approve(store, f.text_run(spec, run_id="run-1", n=60))
    approve(store, f.text_run(spec, run_id="run-1b", n=60))  # the same records, approved in another run

    a, b = _race(monkeypatch, lambda: publish(spec=spec, store=store, run_id="run-1"),
                 lambda: publish(spec=spec, store=store, run_id="run-1b"))

    assert isinstance(a, PublishResult) and (a.version, a.created) == ("1.0", True)
    assert isinstance(b, PublishError)
    assert "being published right now by run 'run-1' with identical content" in str(b)
    assert _verified_rows(store, "1.0", tmp_path / "dl") == 60
    assert not store.exists(f"{layout.release(DS, '1.1')}/manifest.json")
    again = publish(spec=spec, store=store, run_id="run-1b")  # after A finished: the same release, nothing new
    assert (again.version, again.created) == ("1.0", False)


def test_a_stale_listing_cannot_overwrite_a_committed_version(store: ObjectStore,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    spec = f.text_spec()
    approve(store, f.text_run(spec, run_id="run-1", n=60))
    approve(store, f.text_run(spec, run_id="run-2", n=90))
    first = publish(spec=spec, store=store, run_id="run-1")
    v10 = {o.key: hashlib.sha256(store.read_bytes(o.key)).hexdigest() for o in store.list(first.prefix)}
    monkeypatch.setattr(release_mod, "list_releases", lambda *_a, **_k: {})  # sees no release: picks 1.0 again

    second = publish(spec=spec, store=store, run_id="run-2")

    assert (second.version, second.created) == ("1.1", True)
    assert {o.key: hashlib.sha256(store.read_bytes(o.key)).hexdigest() for o in store.list(first.prefix)} == v10


# ---------------------------------------------------------------------------------------- reservations


def _reserve(store: ObjectStore, run_id: str, content: str, published: tuple[str, ...] = ()) -> Reservation:
    return reserve(store, dataset=DS, spec_version="1.0", published=published, run_id=run_id,
                   content_hash=content, max_age_s=6 * HOUR)


def test_reservations_hand_out_each_version_once(store: ObjectStore) -> None:
    a = _reserve(store, "run-1", "aaa")
    b = _reserve(store, "run-2", "bbb")
    assert (a.version, b.version) == ("1.0", "1.1")
    with pytest.raises(ReservationError, match="identical content"):
        _reserve(store, "run-3", "aaa")  # A is alive and publishing this content
    retry = _reserve(store, "run-1", "aaa")  # a retry of A's run after A's try was killed takes its version over
    assert retry.version == "1.0" and retry.token != a.token
    assert json.loads(store.read_bytes(reservation_key(DS, "1.0")))["token"] == retry.token


def test_versions_held_by_others_do_not_use_up_the_attempts(store: ObjectStore) -> None:
    for i in range(5):
        _reserve(store, f"run-{i}", f"content-{i}")
    late = reserve(store, dataset=DS, spec_version="1.0", published=(), run_id="run-9", content_hash="other",
                   max_age_s=6 * HOUR, attempts=2)  # only lost races count, not versions others hold
    assert late.version == "1.5"


def test_a_dead_publishers_reservation_expires(store: ObjectStore) -> None:
    dead = Reservation(dataset=DS, version="1.0", token="dead", run_id="run-0", content_hash="zzz",
                       reserved_at=0.0)
    assert create_exclusive(store, reservation_key(DS, "1.0"), dead.encode())
    assert not create_exclusive(store, reservation_key(DS, "1.0"), b"other")  # an O_EXCL-style create
    assert _reserve(store, "run-1", "aaa").version == "1.0"  # older than the age limit: taken over


# ------------------------------------------------------------------------------------------ S3 (moto)


def test_reservations_and_manifests_are_conditional_creates_on_s3(s3_store: ObjectStore) -> None:
    a = _reserve(s3_store, "run-1", "aaa")
    b = _reserve(s3_store, "run-2", "bbb")
    assert (a.version, b.version) == ("1.0", "1.1")
    key = f"{layout.release(DS, '1.0')}/manifest.json"
    assert create_exclusive(s3_store, key, b"first")
    assert not create_exclusive(s3_store, key, b"second")  # PutObject IfNoneMatch='*' refused the overwrite
    assert s3_store.read_bytes(key) == b"first"


def test_two_publishers_on_s3_get_two_versions(s3_store: ObjectStore, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    spec = f.text_spec()
    approve(s3_store, f.text_run(spec, run_id="run-1", n=60))
    approve(s3_store, f.text_run(spec, run_id="run-2", n=90))

    a, b = _race(monkeypatch, lambda: publish(spec=spec, store=s3_store, run_id="run-1"),
                 lambda: publish(spec=spec, store=s3_store, run_id="run-2"))

    assert isinstance(a, PublishResult) and isinstance(b, PublishResult), (a, b)
    assert (a.version, b.version) == ("1.0", "1.1")
    assert _verified_rows(s3_store, "1.0", tmp_path / "dl") == 60
    assert _verified_rows(s3_store, "1.1", tmp_path / "dl") == 90
    latest = read_latest(s3_store, DS)
    assert latest is not None and latest.version == "1.1"
