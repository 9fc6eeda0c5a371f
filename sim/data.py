"""A de-identified run written directly to storage, with ground truth, for demos and tests of the label stage.

It writes what ``deidentify`` writes (``runs/<ds>/<run>/deidentify/part-NNNNN.parquet`` in ``ITEM_SCHEMA``
with content-addressed ``media/<ds>/<sha256>.<ext>``), so label tests do not depend on the collect stage.
Images are objects drawn on a plain background; audio is tones with a Korean transcript as truth; text is
Korean sentences that mention their label most of the time.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import struct
import wave
from typing import Any

from pipelines.label.tasks import media_kind, object_kinds
from pipelines.spec.models import DatasetSpec
from pipelines.storage import artifacts, layout
from pipelines.storage.schemas import ITEM_SCHEMA, dumps, now, rows_to_table
from pipelines.storage.store import ObjectStore

IMAGE_SIZE = (160, 120)
SAMPLE_RATE = 16_000
_WORDS = ["오늘", "날씨가", "정말", "좋네요", "내일", "시장에", "가서", "배추를", "사야", "합니다", "우리",
          "마을은", "바다가", "가깝습니다", "버스가", "늦게", "왔어요"]


def _item_id(spec: DatasetSpec, seed: int, i: int) -> str:
    return hashlib.sha256(f"{spec.id}:{seed}:{i}".encode()).hexdigest()[:20]


def _image(rng: random.Random, labels: list[str], w: int, h: int) -> tuple[bytes, list[dict[str, Any]]]:
    import cv2
    import numpy as np

    bg = [rng.randint(200, 250) for _ in range(3)]
    img = np.full((h, w, 3), bg, dtype=np.uint8)
    objects: list[dict[str, Any]] = []
    taken: list[tuple[int, int, int, int]] = []
    for _ in range(rng.randint(1, 3)):
        for _attempt in range(20):
            bw, bh = rng.randint(w // 8, w // 3), rng.randint(h // 8, h // 3)
            x, y = rng.randint(2, w - bw - 2), rng.randint(2, h - bh - 2)
            # keep objects apart (a gap of 4 px) so a contour detector sees them as separate
            if all(x + bw + 4 < tx or tx + tw + 4 < x or y + bh + 4 < ty or ty + th + 4 < y
                   for tx, ty, tw, th in taken):
                break
        else:
            continue
        taken.append((x, y, bw, bh))
        color = tuple(rng.randint(0, 120) for _ in range(3))
        cv2.rectangle(img, (x, y), (x + bw - 1, y + bh - 1), color, thickness=-1)
        objects.append({"label": rng.choice(labels), "x": x, "y": y, "w": bw, "h": bh})
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return bytes(buf), objects


def _audio(rng: random.Random) -> tuple[bytes, float, dict[str, Any]]:
    words = rng.sample(_WORDS, rng.randint(3, 6))
    half = max(1, len(words) // 2)
    parts = [" ".join(words[:half]), " ".join(words[half:])] if len(words) > 1 else [words[0]]
    duration = round(0.6 * len(parts) + 0.2 * len(words), 2)
    n = int(duration * SAMPLE_RATE)
    freq = rng.choice([220.0, 330.0, 440.0])
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * t / SAMPLE_RATE)))
                      for t in range(n))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(SAMPLE_RATE)
        wf.writeframes(frames)
    step = duration / len(parts)
    segments = [{"start": round(k * step, 3), "end": round((k + 1) * step, 3), "text": p}
                for k, p in enumerate(parts)]
    return buf.getvalue(), duration, {"transcript": " ".join(parts), "segments": segments}


def _text(rng: random.Random, labels: list[str]) -> tuple[str, str]:
    label = rng.choice(labels)
    filler = " ".join(rng.sample(_WORDS, 4))
    # Most items mention their label (a keyword model gets a real signal); some do not, some mislead.
    r = rng.random()
    mention = label if r < 0.75 else (rng.choice(labels) if r < 0.85 else "")
    return f"{filler} {mention} {rng.choice(_WORDS)}.".replace("  ", " "), label


def _truth(spec: DatasetSpec, rng: random.Random, label: str | None, objects: list[dict[str, Any]] | None,
           audio: dict[str, Any] | None) -> dict[str, Any]:
    t = spec.annotation.type
    if t == "bbox":
        return {"objects": objects or []}
    if t == "polygon":  # the drawn rectangles, as polygons
        return {"polygons": [{"label": o["label"], "points": [
            {"x": o["x"], "y": o["y"]}, {"x": o["x"] + o["w"], "y": o["y"]},
            {"x": o["x"] + o["w"], "y": o["y"] + o["h"]}, {"x": o["x"], "y": o["y"] + o["h"]}]}
            for o in objects or []]}
    if t == "transcription":
        return audio or {"transcript": "", "segments": []}
    if t == "multi_label":
        k = rng.randint(1, min(2, len(spec.labels)))
        return {"labels": sorted(rng.sample(spec.labels, k))}
    return {"label": label or rng.choice(spec.labels)}


def write_demo_run(
    *, spec: DatasetSpec, store: ObjectStore, run_id: str, items: int = 12, seed: int = 0, shards: int = 1,
    start: int = 0,
) -> list[str]:
    """Write ``items`` de-identified items (``start``.. in the seeded sequence) as a run; return their ids.

    The same ``spec``/``seed``/index always yields the same item id and media, so two runs can share items.
    """
    kind = media_kind(spec)
    has_text = "text" in object_kinds(spec)
    w = max(IMAGE_SIZE[0], getattr(spec.modality, "min_width", 0))
    h = max(IMAGE_SIZE[1], getattr(spec.modality, "min_height", 0))
    per_shard: list[list[dict[str, Any]]] = [[] for _ in range(shards)]
    ids: list[str] = []
    labels = spec.labels or ["item"]
    for i in range(start, start + items):
        rng = random.Random(f"{spec.id}:{seed}:{i}")
        item_id = _item_id(spec, seed, i)
        shard = i % shards
        row: dict[str, Any] = {
            "item_id": item_id, "dataset": spec.id, "shard": shard, "source_uri": f"synthetic://{spec.id}/{seed}/{i}",
            "meta": "{}", "collected_at": now(), "license": spec.license, "collector": "sim.data/1",
            "deid": json.dumps({"actions": [], "tool": "sim.data/1"}),
        }
        objects = audio_truth = None
        label: str | None = None
        data: bytes | None = None
        ext = ""
        if kind == "image":
            data, objects = _image(rng, labels, w, h)
            ext = "png"
            row.update(width=w, height=h)
        elif kind == "audio":
            data, duration, audio_truth = _audio(rng)
            ext = "wav"
            row.update(duration_s=duration, sample_rate=SAMPLE_RATE, channels=1)
        if has_text:
            row["text"], label = _text(rng, labels)
        if data is not None:
            sha = hashlib.sha256(data).hexdigest()
            key = layout.media(spec.id, sha, ext)
            store.write_bytes(key, data)
            row.update(media_key=key, media_sha256=sha, original_sha256=sha, media_ext=ext)
        row["truth"] = dumps(_truth(spec, rng, label, objects, audio_truth))
        per_shard[shard].append(row)
        ids.append(item_id)
    for shard, rows in enumerate(per_shard):
        if rows:
            artifacts.ITEMS.write(store, spec.id, run_id, shard, rows_to_table(rows, ITEM_SCHEMA))
    return ids
