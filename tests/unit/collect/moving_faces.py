"""Clips of real faces moving across real photographs, for the strided video scan's test and its benchmark.

The faces are those of the repo's face set (tests/data/faces: the astronaut, the cameraman, LFW crops, all read
from the installed scikit-image wheel); the backgrounds are scikit-image photographs without people.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from skimage import data as skimage_data

from pipelines.collect.deid.image import Region, _padded
from pipelines.collect.deid.video import VideoScan, frame_regions

GROUND_TRUTH = json.loads((Path(__file__).parents[2] / "data" / "faces" / "ground_truth.json").read_text())


@dataclass(frozen=True)
class Track:
    """One face: its picture (BGR), its height in pixels, where it starts, how it moves, and when it is there."""

    face: np.ndarray
    height: int
    start: tuple[float, float]
    velocity: tuple[float, float]  # pixels per frame
    frames: range
    wiggle: float = 0.0  # amplitude in pixels of a sideways swing with a period of 16 frames (a path not straight)


def _head(photo: np.ndarray, box: list[int]) -> np.ndarray:
    """The face of the ground truth with some head and shoulders around it, BGR."""
    x, y, w, h = box
    crop = photo[max(0, y - h // 3): y + h + h // 3, max(0, x - w // 3): x + w + w // 3]
    rgb = crop if crop.ndim == 3 else cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB)
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def astronaut() -> np.ndarray:
    return _head(skimage_data.astronaut(), GROUND_TRUTH["photos"]["astronaut"]["faces"][0])


def cameraman() -> np.ndarray:
    return _head(skimage_data.camera(), GROUND_TRUTH["photos"]["camera"]["faces"][0])


def lfw(i: int) -> np.ndarray:
    """LFW crop ``i`` (0-99 are faces), BGR."""
    crops = skimage_data.lfw_subset()
    return np.asarray(cv2.cvtColor((crops[i] * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR))


def background(name: str, size: tuple[int, int]) -> np.ndarray:
    photo = getattr(skimage_data, name)()
    return np.asarray(cv2.resize(cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), size, interpolation=cv2.INTER_AREA))


def frames(n: int, size: tuple[int, int], tracks: list[Track], *, scenes: dict[int, str] | None = None
           ) -> list[np.ndarray]:
    """``n`` BGR frames of ``size``: the background of the latest scene (frame -> photograph name; a scene cut
    where it changes) with each track's face pasted where it is on that frame (clipped at the edges)."""
    scenes = scenes or {0: "coffee"}
    backs = {name: background(name, size) for name in set(scenes.values())}
    out = []
    w, h = size
    for i in range(n):
        scene = scenes[max(k for k in scenes if k <= i)]
        f = backs[scene].copy()
        for t in tracks:
            if i not in t.frames:
                continue
            k = i - t.frames.start
            face = cv2.resize(t.face, (round(t.height * t.face.shape[1] / t.face.shape[0]), t.height),
                              interpolation=cv2.INTER_AREA)
            x = round(t.start[0] + t.velocity[0] * k + t.wiggle * np.sin(2 * np.pi * k / 16))
            y = round(t.start[1] + t.velocity[1] * k)
            fx0, fy0 = max(0, -x), max(0, -y)
            x0, y0 = max(0, x), max(0, y)
            x1, y1 = min(w, x + face.shape[1]), min(h, y + face.shape[0])
            if x1 > x0 and y1 > y0:
                f[y0:y1, x0:x1] = face[fy0: fy0 + y1 - y0, fx0: fx0 + x1 - x0]
        out.append(f)
    return out


def encode(frames_: list[np.ndarray], path: Path, fps: float = 30.0) -> bytes:
    """The frames as an MP4 (mp4v) file's bytes."""
    h, w = frames_[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    for f in frames_:
        writer.write(f)
    writer.release()
    return path.read_bytes()


def unmasked(every: VideoScan, strided: VideoScan) -> list[tuple[int, Region]]:
    """The boxes the per-frame scan (``every``) found that the strided scan's mask does not wholly cover: its
    regions on that frame and its neighbours, padded as ``mask_regions`` pads them."""
    masked = frame_regions(strided.regions)
    out = []
    for i, r in every.regions:
        cover = np.zeros((every.height, every.width), dtype=bool)
        for m in masked(i):
            x0, y0, x1, y1 = _padded(m, every.width, every.height)
            cover[y0:y1, x0:x1] = True
        if not cover[r.y: r.y + r.h, r.x: r.x + r.w].all():
            out.append((i, r))
    return out
