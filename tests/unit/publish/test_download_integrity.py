"""The download client against a hostile storage root: it cannot write or delete outside ``--to``.

Each attack ends with one clear error; the tests then compare every file outside ``--to`` (the storage root
included) with a snapshot taken before, and look at what is under ``--to``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli import datasets as cli_datasets
from pipelines.publish import ChecksumError, DownloadError, download, publish, read_catalog
from pipelines.publish.download import IntegrityError
from pipelines.publish.integrity import UnsafeKeyError, encode_pointer, read_latest, safe_key
from pipelines.storage import ObjectStore, layout, open_store
from tests.unit.publish.test_publish import approve
from tests.unit.validate import factories as f

pytestmark = pytest.mark.unit

DS = "sentiment-text-test"


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    s = open_store(str(tmp_path / "root"))
    spec = f.text_spec()
    approve(s, f.text_run(spec, run_id="run-1", n=60))
    assert publish(spec=spec, store=s, run_id="run-1").version == "1.0"
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep.txt").write_text("a file the download must not touch")
    return s


def _snapshot(top: Path, skip: Path) -> dict[str, str]:
    """Every path under ``top`` but ``skip``: a file's sha256, a symlink's target, or "dir"."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d != skip]
        for name in [*dirnames, *filenames]:
            p = here / name
            rel = p.relative_to(top).as_posix()
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _files_under(p: Path) -> list[str]:
    """Files and symlinks under ``p`` (symlinks not followed)."""
    return sorted(k for k, v in _snapshot(p, skip=p / "\0").items() if v != "dir") if p.exists() else []


def _manifest(store: ObjectStore, version: str = "1.0") -> dict[str, Any]:
    out: dict[str, Any] = store.read_json(f"{layout.release(DS, version)}/manifest.json")
    return out


def _write_manifest(store: ObjectStore, manifest: dict[str, Any], *, vouch: bool, version: str = "1.0") -> str:
    """Replace a release's manifest; with ``vouch`` also re-record its hash in LATEST and the catalog (an
    attacker who can write all three), so that only the client's checks of the keys stand in the way."""
    raw = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
    store.write_bytes(f"{layout.release(DS, version)}/manifest.json", raw)
    sha = hashlib.sha256(raw).hexdigest()
    if vouch:
        store.write_bytes(layout.latest(DS), encode_pointer(version, sha))
        index = read_catalog(store)
        entry = index["datasets"][DS]
        entry["manifest_sha256"] = sha
        for v in entry["versions"]:
            if v["version"] == version:
                v["manifest_sha256"] = sha
        store.write_json(layout.CATALOG_INDEX, index)
    return sha


def _add_entry(store: ObjectStore, key: str, data: bytes, *, object_key: str | None = None,
               sha: str | None = None) -> None:
    """A manifest entry (and a storage object holding ``data``) under an attacker-chosen key."""
    m = _manifest(store)
    m["documents"].append({"key": key, "size": len(data), "sha256": sha or hashlib.sha256(data).hexdigest()})
    if object_key is None:  # where the bytes sit in storage (a key with '..' cannot be a file:// object)
        object_key = f"{layout.release(DS, '1.0')}/" + ("planted.bin" if ".." in key else key.lstrip("/"))
    store.write_bytes(object_key, data)
    _write_manifest(store, m, vouch=True)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(cli_datasets.app)
    return app


def _cli_download(store: ObjectStore, to: Path, *extra: str) -> tuple[int, list[str]]:
    res = CliRunner().invoke(_app(), ["download", DS, "--to", str(to), "--storage", store.root, "--quiet", *extra])
    assert "Traceback" not in res.output
    return res.exit_code, [ln for ln in res.stderr.splitlines() if ln.strip()]


# ------------------------------------------------------------------------------------------ unsafe keys


@pytest.mark.parametrize(("key", "why"), [
    ("ABSOLUTE", "an absolute path"),
    ("../../outside/evil.txt", "not a normalised relative path"),
    ("data/../../../outside/evil.txt", "not a normalised relative path"),
    ("..\\..\\outside\\evil.txt", "backslashes"),
    ("C:/outside/evil.txt", "an absolute path"),
    ("data//evil.txt", "not a normalised relative path"),
    ("manifest.json", "a name the client keeps for itself"),
])
def test_a_key_that_could_leave_the_download_directory_is_refused(store: ObjectStore, tmp_path: Path, key: str,
                                                                   why: str) -> None:
    if key == "ABSOLUTE":
        key = (tmp_path / "outside" / "evil.txt").as_posix()
    _add_entry(store, key, b"planted by a forged manifest")
    before = _snapshot(tmp_path, skip=tmp_path / "dl")

    code, lines = _cli_download(store, tmp_path / "dl")

    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("download failed: ") and why in lines[0]
    assert _snapshot(tmp_path, skip=tmp_path / "dl") == before  # nothing written or deleted outside --to
    assert _files_under(tmp_path / "dl") == []  # and nothing inside it either: the keys are checked first


def test_keys_are_plain_relative_paths() -> None:
    assert safe_key("data/train/part-00000.parquet") == "data/train/part-00000.parquet"
    for bad in ("", "/etc/passwd", "a/../b", "./a", "a/", "a\\b", "D:x", "a\x00b", None, 7):
        with pytest.raises(UnsafeKeyError):
            safe_key(bad)


def test_a_symlink_under_to_cannot_carry_the_download_outside(store: ObjectStore, tmp_path: Path) -> None:
    to = tmp_path / "dl"
    (to / DS / "1.0").mkdir(parents=True)
    (to / DS / "1.0" / "data").symlink_to(tmp_path / "outside", target_is_directory=True)
    before = _snapshot(tmp_path, skip=to)

    with pytest.raises(IntegrityError, match=r"outside .*\(through a symlink\)"):
        download(dataset=DS, store=store, to=to)

    assert _snapshot(tmp_path, skip=to) == before
    assert _files_under(to) == ["sentiment-text-test/1.0/data"]  # only the symlink that was there


# -------------------------------------------------------------------------------------- the hash chain


def test_a_tampered_manifest_is_refused_before_anything_is_written(store: ObjectStore, tmp_path: Path) -> None:
    m = _manifest(store)
    victim = m["files"][0]
    forged = b"rows chosen by the attacker"
    store.write_bytes(f"{layout.release(DS, '1.0')}/{victim['key']}", forged)
    victim.update(size=len(forged), sha256=hashlib.sha256(forged).hexdigest())  # the file now "matches"
    _write_manifest(store, m, vouch=False)  # LATEST and the catalog still record the released manifest
    before = _snapshot(tmp_path, skip=tmp_path / "dl")

    code, lines = _cli_download(store, tmp_path / "dl")

    assert code == 1 and len(lines) == 1, lines
    assert "does not match" in lines[0] and "recorded in LATEST and catalog" in lines[0]
    assert "the manifest was changed after the release" in lines[0]
    assert _snapshot(tmp_path, skip=tmp_path / "dl") == before and _files_under(tmp_path / "dl") == []


def test_a_later_publish_does_not_launder_a_tampered_manifest(store: ObjectStore, tmp_path: Path) -> None:
    m = _manifest(store)
    m["license"] = "changed after the release"
    _write_manifest(store, m, vouch=False)
    spec = f.text_spec()
    approve(store, f.text_run(spec, run_id="run-2", n=90))
    assert publish(spec=spec, store=store, run_id="run-2").version == "1.1"  # re-syncs the catalog entry

    with pytest.raises(IntegrityError, match="recorded in catalog: the manifest was changed"):
        download(dataset=DS, store=store, to=tmp_path / "dl", version="1.0")
    assert _files_under(tmp_path / "dl") == []


def test_a_tampered_file_is_refused_and_a_file_already_there_is_kept(store: ObjectStore, tmp_path: Path) -> None:
    m = _manifest(store)
    victim = m["files"][0]
    key = f"{layout.release(DS, '1.0')}/{victim['key']}"
    raw = bytearray(store.read_bytes(key))
    raw[len(raw) // 2] ^= 0xFF
    store.write_bytes(key, bytes(raw))
    to = tmp_path / "dl"
    mine = to / DS / "1.0" / victim["key"]
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"an older local copy")  # present before the download: only verified bytes may replace it
    before = _snapshot(tmp_path, skip=to)

    with pytest.raises(ChecksumError, match="changed or corrupted"):
        download(dataset=DS, store=store, to=to)

    assert mine.read_bytes() == b"an older local copy"
    assert not list(to.rglob("*.part")) and not (to / DS / "1.0" / "manifest.json").exists()
    assert _snapshot(tmp_path, skip=to) == before


def test_a_wrong_hash_entry_does_not_delete_the_file_it_names(store: ObjectStore, tmp_path: Path) -> None:
    to = tmp_path / "dl"
    notes = to / DS / "1.0" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("the developer's own notes")
    _add_entry(store, "notes.txt", b"whatever storage holds", sha="0" * 64)  # a hash nothing can match

    with pytest.raises(ChecksumError, match=r"notes\.txt"):
        download(dataset=DS, store=store, to=to)

    assert notes.read_text() == "the developer's own notes"


@pytest.fixture
def two_versions(store: ObjectStore) -> ObjectStore:
    spec = f.text_spec()
    approve(store, f.text_run(spec, run_id="run-2", n=90))
    assert publish(spec=spec, store=store, run_id="run-2").version == "1.1"
    return store


def test_a_pointer_rolled_back_to_an_older_release_is_refused(two_versions: ObjectStore, tmp_path: Path) -> None:
    store = two_versions
    old = hashlib.sha256(store.read_bytes(f"{layout.release(DS, '1.0')}/manifest.json")).hexdigest()
    store.write_bytes(layout.latest(DS), encode_pointer("1.0", old))  # a genuine pointer, of the old release

    code, lines = _cli_download(store, tmp_path / "dl")

    assert code == 1 and len(lines) == 1 and "the pointer was rolled back or swapped" in lines[0], lines
    assert _files_under(tmp_path / "dl") == []
    ok = download(dataset=DS, store=store, to=tmp_path / "dl", version="1.0")  # asked for by name: fine
    assert ok.vouched_by == ("LATEST", "catalog")


def test_a_pointer_with_another_versions_hash_is_refused(two_versions: ObjectStore, tmp_path: Path) -> None:
    store = two_versions
    old = hashlib.sha256(store.read_bytes(f"{layout.release(DS, '1.0')}/manifest.json")).hexdigest()
    store.write_bytes(layout.latest(DS), encode_pointer("1.1", old))

    with pytest.raises(IntegrityError, match="records of its manifest's sha256 disagree"):
        download(dataset=DS, store=store, to=tmp_path / "dl")
    assert _files_under(tmp_path / "dl") == []


def test_a_pinned_manifest_hash_must_match(store: ObjectStore, tmp_path: Path) -> None:
    code, lines = _cli_download(store, tmp_path / "dl", "--manifest-sha256", "ab" * 32)
    assert code == 1 and "--manifest-sha256 says" in lines[0]
    good = read_latest(store, DS)
    assert good is not None and good.manifest_sha256 is not None
    res = download(dataset=DS, store=store, to=tmp_path / "dl", manifest_sha256=good.manifest_sha256)
    assert res.vouched_by == ("LATEST", "catalog", "--manifest-sha256")


def test_a_release_from_before_the_chain_is_read_with_a_warning_and_repaired(store: ObjectStore,
                                                                             tmp_path: Path) -> None:
    store.write_bytes(layout.latest(DS), b"1.0\n")  # what publish wrote before ADR 0008
    index = read_catalog(store)
    entry = index["datasets"][DS]
    entry.pop("manifest_sha256")
    for v in entry["versions"]:
        v.pop("manifest_sha256")
    store.write_json(layout.CATALOG_INDEX, index)

    code, lines = _cli_download(store, tmp_path / "dl")
    assert code == 0 and len(lines) == 1 and lines[0].startswith("warning: ") and "nothing vouches" in lines[0]
    assert (tmp_path / "dl" / DS / "1.0" / "manifest.json").exists()

    again = publish(spec=f.text_spec(), store=store, run_id="run-1")  # a no-op publish writes the hashes
    assert not again.created
    res = download(dataset=DS, store=store, to=tmp_path / "dl")
    assert res.vouched_by == ("LATEST", "catalog") and res.skipped == res.files


def test_an_honest_download_is_vouched_for_by_pointer_and_catalog(store: ObjectStore, tmp_path: Path) -> None:
    res = download(dataset=DS, store=store, to=tmp_path / "dl")
    raw = (res.directory / "manifest.json").read_bytes()
    assert res.manifest_sha256 == hashlib.sha256(raw).hexdigest()
    assert res.vouched_by == ("LATEST", "catalog")
    with pytest.raises(DownloadError, match="not a plain name"):
        download(dataset="../x", store=store, to=tmp_path / "dl")


def test_on_s3_the_chain_is_verified_and_an_unsafe_key_refused(s3_store: ObjectStore, tmp_path: Path) -> None:
    spec = f.text_spec()
    approve(s3_store, f.text_run(spec, run_id="run-1", n=60))
    publish(spec=spec, store=s3_store, run_id="run-1")
    ok = download(dataset=DS, store=s3_store, to=tmp_path / "ok")  # ranged GETs through boto3
    assert ok.vouched_by == ("LATEST", "catalog") and ok.files == len(_files_under(ok.directory)) - 1
    (tmp_path / "outside").mkdir()
    _add_entry(s3_store, "../../outside/evil.txt", b"planted")  # the S3 path used to skip the '..' check
    before = _snapshot(tmp_path, skip=tmp_path / "dl")

    with pytest.raises(IntegrityError, match="unsafe key"):
        download(dataset=DS, store=s3_store, to=tmp_path / "dl")

    assert _snapshot(tmp_path, skip=tmp_path / "dl") == before and _files_under(tmp_path / "dl") == []
