"""Local directories, zip archives and JSONL/CSV record files as sources: real files in tmp_path."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipelines.collect import CollectError, collect_shard, make_source, plan_shards
from pipelines.collect import reasons as R
from pipelines.collect.sources import make_item_id
from pipelines.collect.sources.archive import list_members, read_member
from pipelines.collect.sources.records import decode_lines
from pipelines.spec import parse_spec
from pipelines.storage import layout, open_store
from pipelines.storage.store import ObjectStore
from tests.unit.collect.specs import AUDIO, IMAGE, TEXT

pytestmark = pytest.mark.unit


def _png(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _spec(base: dict[str, Any], source: dict[str, Any], **changes: Any) -> Any:
    return parse_spec({**base, "source": source, **changes})


def _collect_all(spec: Any, store: ObjectStore, run: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    for shard in plan_shards(spec=spec, store=store, run_id=run):
        res = collect_shard(spec=spec, store=store, run_id=run, shard=shard)
        assert res.items_in == res.items_out + res.quarantined
        rows += store.read_table(res.manifest_key).to_pylist()
        quarantine += store.read_table(res.quarantine_key).to_pylist()
    return rows, quarantine


def _by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["source_uri"].rsplit("/", 1)[-1]: r for r in rows}


# ------------------------------------------------------------------------------------------------ local


def test_local_files_are_collected_in_name_order_with_provenance(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    (root / "plot-b").mkdir(parents=True)
    (root / "plot-a").mkdir()
    for i, rel in enumerate(["plot-b/2.png", "plot-a/1.png", "plot-a/notes.txt"]):
        (root / rel).write_bytes(_png(i) if rel.endswith(".png") else b"field notes")
    spec = _spec(IMAGE, {"kind": "local", "root": str(root), "glob": "**/*.png"})
    store = open_store(str(tmp_path / "store"))
    rows, quarantine = _collect_all(spec, store, "r1")
    assert quarantine == []
    assert [r["source_uri"] for r in rows] == [(root / "plot-a/1.png").as_uri(), (root / "plot-b/2.png").as_uri()]
    for r in rows:
        assert r["item_id"] == make_item_id(spec.id, r["source_uri"])
        assert r["collector"].startswith("datadam-local/") and r["license"] == spec.license
        assert r["original_sha256"] and r["collected_at"] is not None
        assert store.exists(layout.restricted(spec.id, f"{r['original_sha256']}.png"))


def test_symlinks_are_refused_unless_followed_and_never_outside_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.png").write_bytes(_png(1))
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "real.png").write_bytes(_png(2))
    os.symlink(outside / "secret.png", root / "escape.png")
    os.symlink(outside, root / "escape-dir")
    os.symlink(root / "sub" / "real.png", root / "inside.png")
    os.symlink(root, root / "sub" / "loop")  # a link back up the tree must not loop
    store = open_store(str(tmp_path / "store"))

    followed = _spec(IMAGE, {"kind": "local", "root": str(root), "follow_symlinks": True})
    rows, quarantine = _collect_all(followed, store, "follow")
    reasons = {q["source_uri"].rsplit("/", 1)[-1]: q["reason"] for q in quarantine}
    assert reasons == {"escape.png": R.SOURCE_SYMLINK_ESCAPE, "escape-dir": R.SOURCE_SYMLINK_ESCAPE,
                       "real.png": R.DEDUPE_EXACT}  # inside.png (listed first) and sub/real.png are one picture
    assert set(_by_name(rows)) == {"inside.png"}

    not_followed = _spec(IMAGE, {"kind": "local", "root": str(root)})
    rows, quarantine = _collect_all(not_followed, open_store(str(tmp_path / "store2")), "plain")
    assert {q["source_uri"].rsplit("/", 1)[-1]: q["reason"] for q in quarantine} == {
        "escape.png": R.SOURCE_SYMLINK, "escape-dir": R.SOURCE_SYMLINK, "inside.png": R.SOURCE_SYMLINK,
        "loop": R.SOURCE_SYMLINK}
    assert set(_by_name(rows)) == {"real.png"}


def test_a_link_planted_after_planning_is_refused_when_collecting(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.png").write_bytes(_png(1))
    (tmp_path / "secret.png").write_bytes(_png(2))
    spec = _spec(IMAGE, {"kind": "local", "root": str(root), "follow_symlinks": True})
    store = open_store(str(tmp_path / "store"))
    [shard] = plan_shards(spec=spec, store=store, run_id="r1")
    (root / "a.png").unlink()
    os.symlink(tmp_path / "secret.png", root / "a.png")
    res = collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
    assert res.reasons == {R.SOURCE_SYMLINK_ESCAPE: 1}


def test_a_glob_that_climbs_out_of_the_root_is_refused(tmp_path: Path) -> None:
    spec = _spec(IMAGE, {"kind": "local", "root": str(tmp_path), "glob": "../**/*.png"})
    with pytest.raises(CollectError, match=r"inside source\.root"):
        make_source(spec=spec, store=open_store(str(tmp_path / "store")), run_id="r1")


def test_files_over_the_size_limit_are_refused_without_reading_them(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "big.png").write_bytes(_png(1, (640, 480)))
    (root / "ok.png").write_bytes(_png(2))
    spec = _spec(IMAGE, {"kind": "local", "root": str(root)},
                 modality={**IMAGE["modality"], "max_bytes": 300_000})
    rows, quarantine = _collect_all(spec, open_store(str(tmp_path / "store")), "r1")
    assert [(q["source_uri"].rsplit("/", 1)[-1], q["reason"]) for q in quarantine] == [("big.png", R.MEDIA_OVERSIZE)]
    assert set(_by_name(rows)) == {"ok.png"}


# ----------------------------------------------------------------------------------------------- archives


def _zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_members_become_items_and_unsafe_names_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "batch.zip").write_bytes(
        _zip({"plot/1.png": _png(1), "../../etc/evil.png": _png(2), "/abs.png": _png(3), "C:/win.png": _png(4)})
    )
    spec = _spec(IMAGE, {"kind": "local", "root": str(root)})
    rows, quarantine = _collect_all(spec, open_store(str(tmp_path / "store")), "r1")
    assert [r["source_uri"].split("batch.zip", 1)[1] for r in rows] == ["!/plot/1.png"]
    assert sorted(q["reason"] for q in quarantine) == [R.SOURCE_PATH_TRAVERSAL] * 3
    assert not (tmp_path / "etc").exists()  # nothing is ever extracted to disk


def test_zip_bombs_are_refused_whole(tmp_path: Path) -> None:
    ratio_bomb = _zip({"zeros.bin": b"\0" * (40 * 1024 * 1024)})
    assert len(ratio_bomb) < 100_000
    with pytest.raises(R.Reject) as exc:
        list_members(ratio_bomb)
    assert exc.value.reason == R.ARCHIVE_BOMB and "expands" in exc.value.detail

    many = _zip({f"f{i}.txt": b"x" for i in range(10_001)}, compression=zipfile.ZIP_STORED)
    with pytest.raises(R.Reject, match="10001 entries"):
        list_members(many)

    with pytest.raises(R.Reject) as exc:
        list_members(b"PK\x03\x04 not really a zip")
    assert exc.value.reason == R.ARCHIVE_UNDECODABLE


def test_a_member_that_lies_about_its_size_is_cut_at_the_limit() -> None:
    data = _zip({"a.bin": os.urandom(5000)}, compression=zipfile.ZIP_STORED)
    assert len(read_member(data, "a.bin", limit=5000)) == 5000
    with pytest.raises(R.Reject) as exc:
        read_member(data, "a.bin", limit=4999)
    assert exc.value.reason == R.MEDIA_OVERSIZE


def test_an_archive_is_fetched_and_parsed_once_and_every_shard_reads_the_copy_the_run_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.collect.sources import archive

    opened: list[int] = []
    real_open = archive.open_archive
    monkeypatch.setattr(archive, "open_archive", lambda src: opened.append(1) or real_open(src))
    root = tmp_path / "root"
    root.mkdir()
    members = {f"plot/{i:03d}.png": _png(i, (64, 48)) for i in range(40)}
    (root / "batch.zip").write_bytes(_zip(members, compression=zipfile.ZIP_STORED))
    spec = _spec(IMAGE, {"kind": "local", "root": str(root)})
    store = open_store(str(tmp_path / "store"))
    source = make_source(spec=spec, store=store, run_id="r1")
    assert source.plan_size() == 40 and len(opened) == 1  # listed once
    held = [o.key for o in store.list(layout.restricted_run(spec.id, "r1", "collect")) if "/archives/" in o.key]
    assert len(held) == 1 and held[0].endswith(".zip")

    # the delivery changes after planning: shards read the archive the listing was made from, not the new one
    (root / "batch.zip").write_bytes(_zip({"other.png": _png(99)}))
    got: dict[str, bytes] = {}
    for start in range(0, 40, 16):  # three shards, each its own task
        shard = make_source(spec=spec, store=store, run_id="r1")
        got.update((i.source_uri.split("!/", 1)[1], i.data) for i in shard.items(start=start, count=16))
    assert got == members
    assert len(opened) == 1 + 3  # one open per shard, not one per member


# ------------------------------------------------------------------------------------------------ records


def test_jsonl_records_carry_text_and_metadata_in_any_korean_encoding(tmp_path: Path) -> None:
    lines = [
        {"id": "c-1", "body": "불법 주차 차량 때문에 아침마다 골목을 지나갈 수 없습니다.", "channel": "콜센터"},
        {"id": "c-2", "body": "공원 화장실 청소가 안 되어 있어 냄새가 심합니다. 확인해 주세요.", "channel": "방문"},
        {"id": "c-3", "channel": "방문"},  # no text
    ]
    body = b"\n".join(json.dumps(x, ensure_ascii=False).encode("utf-8") for x in lines)
    body += b"\n" + json.dumps({"id": "c-4", "body": "쓰레기 무단 투기가 계속됩니다. 단속을 요청합니다."},
                               ensure_ascii=False).encode("cp949")  # one legacy line in a UTF-8 file
    body += b"\n\xff\xfe\xfa not text at all\n{broken json\n"
    path = tmp_path / "complaints.jsonl"
    path.write_bytes(body)
    spec = _spec(TEXT, {"kind": "records", "path": str(path), "format": "jsonl", "id_column": "id",
                        "text_column": "body"})
    rows, quarantine = _collect_all(spec, open_store(str(tmp_path / "store")), "r1")
    texts = {r["source_uri"].rsplit("#", 1)[1]: r for r in rows}
    assert set(texts) == {"c-1", "c-2", "c-4"}
    assert texts["c-4"]["text"] == "쓰레기 무단 투기가 계속됩니다. 단속을 요청합니다."
    assert json.loads(texts["c-1"]["meta"])["channel"] == "콜센터"
    assert sorted(q["reason"] for q in quarantine) == [R.TEXT_ENCODING, R.TEXT_MALFORMED, R.TEXT_MALFORMED]


def test_a_metadata_value_that_is_not_of_its_columns_type_quarantines_its_record_with_the_column_named(
        tmp_path: Path) -> None:
    # kept, "not-a-date" stopped refine with a traceback, and "12개" in an int column became a silent null
    texts = ["불법 주차 차량 때문에 아침마다 골목을 지나갈 수 없습니다.",
             "공원 화장실 청소가 안 되어 있어 냄새가 심합니다.",
             "가로등이 밤새 꺼져 있어 아이들이 다니기 위험합니다.", "쓰레기 무단 투기가 계속되니 단속을 요청합니다.",
             "도로 파손이 심각하여 차량 통행에 지장이 있습니다."]
    lines = [
        {"id": "ok-1", "thread_id": "t1", "channel": "방문", "received_at": "2026-11-02T09:30:00+09:00"},
        {"id": "ok-2", "thread_id": "t2", "channel": "방문", "received_at": ""},  # missing: validate's to measure
        {"id": "bad-date", "thread_id": "t3", "channel": "방문", "received_at": "not-a-date"},
        {"id": "bad-type", "thread_id": {"nested": 1}, "channel": "방문"},
        {"id": "bad-phone", "thread_id": "t5", "channel": "방문", "received_at": "010-2345-6789"},
    ]
    lines = [{**x, "body": t} for x, t in zip(lines, texts, strict=True)]
    path = tmp_path / "complaints.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "utf-8")
    spec = _spec(TEXT, {"kind": "records", "path": str(path), "format": "jsonl", "id_column": "id",
                        "text_column": "body"})
    rows, quarantine = _collect_all(spec, open_store(str(tmp_path / "store")), "r1")
    assert sorted(r["source_uri"].rsplit("#", 1)[1] for r in rows) == ["ok-1", "ok-2"]
    assert json.loads(next(r for r in rows if r["source_uri"].endswith("ok-2"))["meta"])["received_at"] is None
    details = sorted(q["detail"] for q in quarantine)
    assert [q["reason"] for q in quarantine] == [R.META_INVALID] * 3
    assert details == ["line 3: column 'received_at': 'not-a-date' is not a date and time (ISO 8601, e.g. "
                       "2026-12-06T09:30:00+09:00)",
                       "line 4: column 'thread_id': \"{'nested': 1}\" is not text",
                       "line 5: column 'received_at': '[전화번호]' is not a date and time (ISO 8601, e.g. "
                       "2026-12-06T09:30:00+09:00)"]


@pytest.mark.parametrize(("column", "value", "typed"), [
    ({"type": "int"}, "1,234", 1234), ({"type": "int"}, "12.0", 12), ({"type": "int"}, 7, 7),
    ({"type": "int"}, "12개", None), ({"type": "int"}, 2.5, None), ({"type": "int"}, True, None),
    ({"type": "float"}, "36.5", 36.5), ({"type": "float"}, "nan", None), ({"type": "float"}, "삼십", None),
    ({"type": "bool"}, "예", True), ({"type": "bool"}, "0", False), ({"type": "bool"}, "maybe", None),
    ({"type": "date"}, "2026-12-06", "2026-12-06"), ({"type": "date"}, "2026-13-01", None),
    ({"type": "date"}, 20261206, None), ({"type": "datetime"}, "2026-12-06 09:30", "2026-12-06 09:30"),
    ({"type": "string"}, 2020, 2020), ({"type": "string"}, ["a"], None),
])
def test_each_column_type_reads_what_it_should_and_refuses_the_rest(column: dict[str, Any], value: Any,
                                                                   typed: Any) -> None:
    from pipelines.collect.sources.records import BadValue, coerce

    spec = _spec(TEXT, {"kind": "synthetic"}, schema={**TEXT["schema"], "v": column})
    record = {"thread_id": "t", "channel": "방문", "v": value}
    if typed is None:
        with pytest.raises(BadValue, match=r"^column 'v': "):
            coerce(spec, record)
    else:
        assert coerce(spec, record)["v"] == typed


def test_a_utf16_excel_export_is_read_and_utf16_without_a_mark_is_refused_line_by_line(tmp_path: Path) -> None:
    csv_text = ("id,text\r\n1,가로등이 밤새 꺼져 있어 위험합니다 빨리 고쳐주세요\r\n"
                "2,도로 파손 신고합니다 사진 첨부하니 확인 바랍니다\r\n")
    marked, unmarked = tmp_path / "marked.csv", tmp_path / "unmarked.csv"
    marked.write_bytes(b"\xff\xfe" + csv_text.encode("utf-16-le"))
    unmarked.write_bytes(csv_text.encode("utf-16-le"))
    modality = {**TEXT["modality"], "formats": ["csv"]}
    rows, quarantine = _collect_all(_spec(TEXT, {"kind": "records", "path": str(marked), "format": "csv",
                                                 "id_column": "id"}, modality=modality),
                                    open_store(str(tmp_path / "s1")), "r1")
    assert quarantine == [] and [r["text"][:3] for r in rows] == ["가로등", "도로 "]
    lines, encoding = decode_lines(unmarked.read_bytes(), "auto")
    assert encoding is None and lines and all(text is None for _, text in lines)  # NULs everywhere: not text


def test_a_cp949_csv_export_is_decoded_whole_with_quoted_newlines(tmp_path: Path) -> None:
    csv_text = ('id,text,channel\r\n1,"도로 파손 신고합니다.\r\n사진 첨부합니다, 확인 바랍니다.",방문\r\n'
                '2,가로등이 밤새 꺼져 있어 위험합니다 빨리 고쳐주세요,콜센터\r\n')
    path = tmp_path / "export.csv"
    path.write_bytes(csv_text.encode("cp949"))
    assert decode_lines(path.read_bytes(), "auto")[1] == "cp949"
    spec = _spec(TEXT, {"kind": "records", "path": str(path), "format": "csv", "id_column": "id"},
                 modality={**TEXT["modality"], "formats": ["csv"]})
    rows, quarantine = _collect_all(spec, open_store(str(tmp_path / "store")), "r1")
    assert quarantine == []
    assert [r["text"] for r in rows] == ["도로 파손 신고합니다.\n사진 첨부합니다, 확인 바랍니다.",
                                          "가로등이 밤새 꺼져 있어 위험합니다 빨리 고쳐주세요"]


def test_media_records_resolve_paths_inside_their_folder_only(tmp_path: Path) -> None:
    folder = tmp_path / "delivery"
    (folder / "wav").mkdir(parents=True)
    from pipelines.wav import encode_wav

    t = np.arange(16000 * 2) / 16000
    (folder / "wav" / "a.wav").write_bytes(encode_wav(0.3 * np.sin(2 * np.pi * 220 * t), sample_rate=16000))
    (tmp_path / "other.wav").write_bytes(encode_wav(0.3 * np.sin(2 * np.pi * 330 * t), sample_rate=16000))
    os.symlink(tmp_path / "other.wav", folder / "wav" / "link.wav")
    records = [
        {"file": "wav/a.wav", "transcript": "제 번호는 010-1234-5678 입니다", "speaker_id": "JJ00001", "age": "71"},
        {"file": "../other.wav", "transcript": "안녕하세요", "speaker_id": "JJ00002"},
        {"file": str(tmp_path / "other.wav"), "transcript": "안녕하세요", "speaker_id": "JJ00003"},
        {"file": "wav/link.wav", "transcript": "안녕하세요", "speaker_id": "JJ00004"},
    ]
    (folder / "meta.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    spec = _spec(AUDIO, {"kind": "records", "path": str(folder / "meta.jsonl"), "format": "jsonl",
                         "id_column": "speaker_id", "media_column": "file", "text_column": "transcript"})
    rows, quarantine = _collect_all(spec, open_store(str(tmp_path / "store")), "r1")
    [row] = rows
    assert row["text"] == "제 번호는 010-1234-5678 입니다" and json.loads(row["meta"])["age"] == 71
    assert row["sample_rate"] == 16000 and row["media_key"].startswith(f"restricted/{spec.id}/")
    assert sorted(q["reason"] for q in quarantine) == [
        R.SOURCE_PATH_TRAVERSAL, R.SOURCE_PATH_TRAVERSAL, R.SOURCE_SYMLINK_ESCAPE]


def test_records_of_a_format_the_spec_does_not_accept_fail_early(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("text\nhello\n")
    spec = _spec(TEXT, {"kind": "records", "path": str(path), "format": "csv"})  # TEXT accepts jsonl only
    with pytest.raises(CollectError, match="records in csv"):
        make_source(spec=spec, store=open_store(str(tmp_path / "store")), run_id="r1")


# -------------------------------------------------------------------------------------------- incremental


def test_a_rerun_collects_only_new_items_and_ids_are_stable(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    for i in range(3):
        (root / f"{i}.png").write_bytes(_png(i))
    spec = _spec(IMAGE, {"kind": "local", "root": str(root)})
    store = open_store(str(tmp_path / "store"))
    first, _ = _collect_all(spec, store, "r1")
    again, _ = _collect_all(spec, store, "r1")  # the same run again: the same items
    assert [r["item_id"] for r in again] == [r["item_id"] for r in first]

    (root / "3.png").write_bytes(_png(3))
    (root / "4.png").write_bytes(b"not a png")
    second, quarantine = _collect_all(spec, store, "r2")
    assert [r["source_uri"].rsplit("/", 1)[-1] for r in second] == ["3.png"]
    assert [q["reason"] for q in quarantine] == [R.MEDIA_UNDECODABLE]
    assert second[0]["item_id"] == make_item_id(spec.id, (root / "3.png").as_uri())

    third, quarantine = _collect_all(spec, store, "r3")  # nothing new; the refused file is not retried
    assert third == [] and quarantine == []


def test_a_broken_csv_record_is_quarantined_alone_with_its_line(tmp_path: Path) -> None:
    big = "가" * 200_000  # over the csv module's field limit (131,072 characters)
    csv_text = ("id,text,channel\n"
                "1,가로등이 밤새 꺼져 있어 위험합니다 빨리 고쳐주세요,콜센터\n"
                '2,"도로 파손 신고합니다. 사진 첨부합니다,방문\n'  # the quote is never closed
                "3,공원 화장실 청소가 안 되어 있어 냄새가 심합니다,방문\n"
                f"4,{big},방문\n"
                '5,"여러 줄로 나누어\n쓴 민원입니다 확인 부탁드립니다",콜센터\n'  # a quoted field on two lines: fine
                "6,쓰레기 무단 투기가 계속됩니다,방문,추가,열\n"  # more fields than the header
                "7,불법 주차 차량 때문에 골목을 지나갈 수 없습니다,콜센터\n")
    path = tmp_path / "complaints.csv"
    path.write_text(csv_text, encoding="utf-8")
    spec = _spec(TEXT, {"kind": "records", "path": str(path), "format": "csv", "id_column": "id"},
                 modality={**TEXT["modality"], "formats": ["csv"]})
    rows, quarantine = _collect_all(spec, open_store(str(tmp_path / "store")), "r1")  # asserts in = out + q
    assert {r["source_uri"].rsplit("#", 1)[1]: r["text"] for r in rows} == {
        "1": "가로등이 밤새 꺼져 있어 위험합니다 빨리 고쳐주세요",
        "3": "공원 화장실 청소가 안 되어 있어 냄새가 심합니다",
        "5": "여러 줄로 나누어\n쓴 민원입니다 확인 부탁드립니다",
        "7": "불법 주차 차량 때문에 골목을 지나갈 수 없습니다"}
    got = sorted((q["detail"].split(":", 1)[0], q["reason"]) for q in quarantine)
    assert got == [("line 3", R.TEXT_MALFORMED), ("line 5", R.TEXT_TOO_LONG), ("line 8", R.TEXT_MALFORMED)]
    details = " ".join(q["detail"] for q in quarantine)
    assert "not closed" in details and "131,072 characters" in details and "5 fields, the header has 3" in details


# ---------------------------------------------------------------------------------------------- parquet


def test_parquet_records_carry_text_or_media_and_their_metadata(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.spec.binding import bind_source, bound_spec

    folder = tmp_path / "delivery"
    folder.mkdir()
    body = "주차 단속 차량이 골목을 막고 있어 통행이 어렵습니다. 조치 부탁드립니다."
    pq.write_table(pa.table({"doc": ["c-1", "c-2", "c-3"], "body": [body, body.replace("주차", "쓰레기"), None],
                             "thread_id": ["t1", "t2", "t3"], "channel": ["콜센터", "방문", "콜센터"]}),
                   folder / "complaints.parquet")
    text = bound_spec(parse_spec(TEXT), bind_source(parse_spec(TEXT),
                                                    f"{folder / 'complaints.parquet'}?text_column=body&id_column=doc"))
    rows, quarantine = _collect_all(text, open_store(str(tmp_path / "s1")), "r1")
    assert [r["source_uri"].rsplit("#", 1)[1] for r in rows] == ["c-1", "c-2"]
    assert rows[0]["text"] == body and json.loads(rows[0]["meta"])["channel"] == "콜센터"
    assert [(q["reason"], q["source_uri"].rsplit("#", 1)[1]) for q in quarantine] == [(R.TEXT_MALFORMED, "c-3")]

    (folder / "a.png").write_bytes(_png(1))
    pq.write_table(pa.table({"file": ["a.png", "../outside.png"]}), folder / "photos.parquet")
    photos = f"{folder / 'photos.parquet'}?media_column=file"
    image = bound_spec(parse_spec(IMAGE), bind_source(parse_spec(IMAGE), photos))
    rows, quarantine = _collect_all(image, open_store(str(tmp_path / "s2")), "r1")
    assert len(rows) == 1 and rows[0]["width"] == 320
    assert [q["reason"] for q in quarantine] == [R.SOURCE_PATH_TRAVERSAL]  # the folder's safeguards hold


def test_a_file_that_is_not_parquet_is_refused_as_one_record(tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    spec = _spec(TEXT, {"kind": "records", "path": str(tmp_path / "broken.parquet"), "format": "parquet"})
    rows, quarantine = _collect_all(spec, open_store(str(tmp_path / "s")), "r1")
    assert rows == [] and [q["reason"] for q in quarantine] == [R.TEXT_MALFORMED]
    assert "not a readable Parquet file" in quarantine[0]["detail"]
