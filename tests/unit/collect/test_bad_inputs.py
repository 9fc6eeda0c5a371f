"""A corpus of bad inputs, built here, collected through a real local source: each item gets its reason code.

Counts reconcile end to end: items listed = items de-identified + quarantined by collect + by de-identification.
"""

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
from skimage import data as skimage_data

from pipelines.collect import collect_shard, deidentify_shard, plan_shards
from pipelines.collect import reasons as R
from pipelines.collect.deid import regions_in
from pipelines.collect.sources import make_item_id
from pipelines.spec import parse_spec
from pipelines.storage import open_store
from pipelines.wav import encode_wav
from tests.unit.collect.specs import AUDIO, IMAGE, TEXT

pytestmark = pytest.mark.unit
KEPT = None


def _jpeg(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _run(spec: Any, tmp_path: Path) -> dict[str, tuple[str | None, str]]:
    """name (path below the root, or archive!/member) -> (reason or None when it reached media/, detail)."""
    store = open_store(str(tmp_path / "store"))
    outcome: dict[str, tuple[str | None, str]] = {}
    listed = passed = 0
    for shard in plan_shards(spec=spec, store=store, run_id="r1"):
        col = collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
        deid = deidentify_shard(spec=spec, store=store, run_id="r1", shard=shard["shard"])
        assert col.items_in == col.items_out + col.quarantined and deid.items_in == col.items_out
        assert deid.items_in == deid.items_out + deid.quarantined
        listed += col.items_in
        passed += deid.items_out
        for key in (col.quarantine_key, deid.quarantine_key):
            for q in store.read_table(key).to_pylist():
                outcome[_name(spec, q["source_uri"])] = (q["reason"], q["detail"])
        for r in store.read_table(deid.manifest_key).to_pylist():
            outcome[_name(spec, r["source_uri"])] = (KEPT, json.dumps(r, default=str))
    assert listed == passed + sum(1 for reason, _ in outcome.values() if reason is not None)
    assert len(outcome) == listed
    return outcome


def _name(spec: Any, uri: str) -> str:
    root = Path(spec.source.root).absolute().as_uri()
    return uri[len(root) + 1 :]


def test_bad_images_are_quarantined_item_by_item(tmp_path: Path) -> None:
    root = tmp_path / "delivery"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    astronaut = skimage_data.astronaut()
    good = _jpeg(astronaut)
    files = {
        "good.jpg": good,
        "good_copy.jpg": good,  # the same file delivered twice
        "good_small.png": _png(np.asarray(Image.fromarray(astronaut).resize((400, 400)))),  # and once resized
        "truncated.jpg": _jpeg(skimage_data.chelsea())[:9000],
        "empty.jpg": b"",
        "really_a_png.jpg": _png(skimage_data.coffee()),  # wrong extension, fine content
        "notes.jpg": "현장 메모: 3번 필지 촬영".encode(),  # wrong extension, not an image
        "panorama.jpg": _jpeg(np.full((300, 4100, 3), 90, dtype=np.uint8)),  # wider than the spec allows
        "noise.png": _png(np.random.default_rng(0).integers(0, 255, (1000, 1000, 3), dtype=np.uint8)),
        "tiny.png": _png(np.full((100, 100, 3), 200, dtype=np.uint8)),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    (outside / "secret.jpg").write_bytes(_jpeg(skimage_data.rocket()))
    os.symlink(outside / "secret.jpg", root / "link_out.jpg")
    with zipfile.ZipFile(root / "batch.zip", "w") as zf:
        zf.writestr("plot7/rocket.jpg", _jpeg(skimage_data.rocket()))
        zf.writestr("../../escape.jpg", _jpeg(skimage_data.rocket()))
    with zipfile.ZipFile(root / "bomb.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.png", b"\0" * (30 * 1024 * 1024))

    spec = parse_spec({**IMAGE, "source": {"kind": "local", "root": str(root), "follow_symlinks": True},
                       "modality": {**IMAGE["modality"], "max_width": 4000, "max_height": 4000,
                                    "max_bytes": 2_000_000}})
    out = _run(spec, tmp_path)
    assert {k: v[0] for k, v in out.items()} == {
        "good.jpg": KEPT,
        "good_copy.jpg": R.DEDUPE_EXACT,
        "good_small.png": R.DEDUPE_NEAR,
        "truncated.jpg": R.MEDIA_TRUNCATED,
        "empty.jpg": R.MEDIA_EMPTY,
        "really_a_png.jpg": KEPT,
        "notes.jpg": R.MEDIA_UNDECODABLE,
        "panorama.jpg": R.MEDIA_TOO_LARGE,
        "noise.png": R.MEDIA_OVERSIZE,
        "tiny.png": R.MEDIA_TOO_SMALL,
        "link_out.jpg": R.SOURCE_SYMLINK_ESCAPE,
        "batch.zip!/plot7/rocket.jpg": KEPT,
        "batch.zip!/../../escape.jpg": R.SOURCE_PATH_TRAVERSAL,
        "bomb.zip": R.ARCHIVE_BOMB,
    }
    good_id = make_item_id(spec.id, (root / "good.jpg").as_uri())
    assert good_id in out["good_copy.jpg"][1] and good_id in out["good_small.png"][1]
    assert json.loads(out["really_a_png.jpg"][1])["media_ext"] == "png"  # the content decides, not the name
    assert not (tmp_path / "escape.jpg").exists()


def test_bad_texts_are_quarantined_or_converted_item_by_item(tmp_path: Path) -> None:
    root = tmp_path / "texts"
    root.mkdir()
    body = "버스 정류장 안내판이 고장 나서 도착 시간을 알 수 없습니다. 수리해 주시기 바랍니다."

    def rec(text: str) -> str:
        return json.dumps({"text": text}, ensure_ascii=False)

    files = {
        "a_utf8.jsonl": rec(body).encode("utf-8"),
        "b_cp949.jsonl": rec("하수구 냄새가 심해서 창문을 열 수가 없어요. 점검 부탁드립니다.").encode("cp949"),
        "c_euckr.jsonl": rec("놀이터 그네 줄이 끊어져 있어 아이들이 다칠까 걱정됩니다.").encode("euc-kr"),
        "d_same_in_cp949.jsonl": rec(body).encode("cp949"),  # the same text, another encoding
        "e_respaced.jsonl": rec(body.replace(" ", "  ") + " !!").encode("utf-8"),
        "f_invalid_utf8.jsonl": b'{"text": "\xed\xa0\x80\xff\xfe broken ' + bytes(range(128, 160)) + b'"}',
        "g_empty.jsonl": b"",
        "h_short.jsonl": rec("네.").encode("utf-8"),
        "i_no_text_field.jsonl": json.dumps({"body": body}, ensure_ascii=False).encode("utf-8"),
        "j_notes.txt": body.encode("utf-8"),  # a format the spec does not take
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    spec = parse_spec({**TEXT, "source": {"kind": "local", "root": str(root)}})
    out = _run(spec, tmp_path)
    assert {k: v[0] for k, v in out.items()} == {
        "a_utf8.jsonl": KEPT,
        "b_cp949.jsonl": KEPT,
        "c_euckr.jsonl": KEPT,
        "d_same_in_cp949.jsonl": R.DEDUPE_EXACT,
        "e_respaced.jsonl": R.DEDUPE_NEAR,
        "f_invalid_utf8.jsonl": R.TEXT_ENCODING,
        "g_empty.jsonl": R.MEDIA_EMPTY,
        "h_short.jsonl": R.TEXT_TOO_SHORT,
        "i_no_text_field.jsonl": R.TEXT_MALFORMED,
        "j_notes.txt": R.MEDIA_FORMAT,
    }
    converted = json.loads(out["b_cp949.jsonl"][1])["text"]
    assert converted == "하수구 냄새가 심해서 창문을 열 수가 없어요. 점검 부탁드립니다."


def test_bad_audio_is_quarantined_item_by_item(tmp_path: Path) -> None:
    root = tmp_path / "audio"
    root.mkdir()
    t16 = np.arange(16000 * 2) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 220 * t16)
    ok = encode_wav(tone, sample_rate=16000)
    t44 = np.arange(44100 * 2) / 44100
    files = {
        "ok.wav": ok,
        "ok_again.wav": ok,
        "rate_44k.wav": encode_wav(0.3 * np.sin(2 * np.pi * 220 * t44), sample_rate=44100),
        "stereo.wav": encode_wav(tone, sample_rate=16000, channels=2),
        "short.wav": encode_wav(tone[:3200], sample_rate=16000),
        "silent.wav": encode_wav(np.zeros(32000), sample_rate=16000),
        "truncated.wav": encode_wav(0.2 * np.sin(2 * np.pi * 330 * t16), sample_rate=16000)[:20000],
        "really.mp3.wav": b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(2000),
        "empty.wav": b"",
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    spec = parse_spec({**AUDIO, "source": {"kind": "local", "root": str(root)}})
    out = _run(spec, tmp_path)
    assert {k: v[0] for k, v in out.items()} == {
        "ok.wav": KEPT,
        "ok_again.wav": R.DEDUPE_EXACT,
        "rate_44k.wav": R.AUDIO_SAMPLE_RATE,
        "stereo.wav": R.AUDIO_CHANNELS,
        "short.wav": R.AUDIO_TOO_SHORT,
        "silent.wav": R.AUDIO_SILENT,
        "truncated.wav": R.MEDIA_TRUNCATED,
        "really.mp3.wav": R.MEDIA_FORMAT,
        "empty.wav": R.MEDIA_EMPTY,
    }


def test_the_face_of_a_collected_photograph_is_blurred_and_the_original_stays_restricted(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    original = _jpeg(skimage_data.astronaut())
    (root / "astronaut.jpg").write_bytes(original)
    assert [r.kind for r in regions_in(original, targets=["faces"])] == ["faces"]
    spec = parse_spec({**IMAGE, "source": {"kind": "local", "root": str(root)}})
    store = open_store(str(tmp_path / "store"))
    [shard] = plan_shards(spec=spec, store=store, run_id="r1")
    collect_shard(spec=spec, store=store, run_id="r1", shard=shard)
    res = deidentify_shard(spec=spec, store=store, run_id="r1", shard=0)
    assert res.masked == {"faces": 1}
    [row] = store.read_table(res.manifest_key).to_pylist()
    assert regions_in(store.read_bytes(row["media_key"]), targets=["faces"]) == []
    holding = [o.key for o in store.list("") if store.read_bytes(o.key) == original]
    assert holding and all(k.startswith(f"restricted/{spec.id}/") for k in holding)
