"""The strided first pass on video misses no face that searching every frame finds.

Real faces (the repo's face set: tests/data/faces) move across real photographs at several sizes and speeds, on
straight and swinging paths, enter and leave the frame, and cross a scene cut. Each clip is scanned twice: every
frame at full resolution (960x540 is within ``VIDEO_DETECT_MAX_SIDE``: the detector sees every pixel), and the
way ``deid_video`` scans now; every box of the first must lie inside what the second masks on that frame (its
regions and its neighbours', padded as ``mask_regions`` pads them). ``pytest -s`` prints the figures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pipelines.collect.deid.video import DETECT_EVERY, VIDEO_DETECT_MAX_SIDE, scan_video
from tests.unit.collect import moving_faces as M

pytestmark = pytest.mark.unit

SIZE = (960, 540)
N = 48


def _sizes_and_speeds() -> list[np.ndarray]:
    return M.frames(N, SIZE, [
        M.Track(M.astronaut(), 40, (0, 20), (2, 0), range(N)),  # small and slow
        M.Track(M.astronaut(), 80, (880, 150), (-12, 1), range(N)),  # 12 px a frame: 96 px between searches
        M.Track(M.astronaut(), 160, (0, 300), (24, -2), range(N)),  # 24 px a frame, big
        M.Track(M.cameraman(), 64, (420, 40), (0, 6), range(N), wiggle=40),  # profile, swinging path
    ])


def _enter_leave_and_cut() -> list[np.ndarray]:
    return M.frames(N, SIZE, [
        M.Track(M.astronaut(), 64, (-60, 60), (14, 0), range(13, 40)),  # enters at 13, leaves at 40
        M.Track(M.cameraman(), 100, (300, 250), (5, 0), range(N), wiggle=60),
        *[M.Track(M.lfw(i), 36, (80 + 120 * i, 440), (1, -1), range(5 + 3 * i, N)) for i in range(6)],  # small
    ], scenes={0: "coffee", 27: "rocket"})


def _steady() -> list[np.ndarray]:
    return M.frames(N, SIZE, [
        M.Track(M.astronaut(), 120, (0, 40), (8, 2), range(N)),
        M.Track(M.astronaut(), 150, (760, 300), (-5, -1), range(N), wiggle=20),
    ])


CLIPS: dict[str, Callable[[], list[np.ndarray]]] = {"sizes_and_speeds": _sizes_and_speeds,
                                                    "enter_leave_and_cut": _enter_leave_and_cut,
                                                    "steady": _steady}


@pytest.mark.parametrize("name", list(CLIPS))
def test_the_strided_scan_masks_every_face_the_per_frame_scan_finds(name: str, tmp_path: Path) -> None:
    assert max(SIZE) <= VIDEO_DETECT_MAX_SIDE  # the reference searches each frame at full resolution
    data = M.encode(CLIPS[name](), tmp_path / "clip.mp4")
    every = scan_video(data, ext="mp4", targets=["faces"])
    strided = scan_video(data, ext="mp4", targets=["faces"], every=DETECT_EVERY)
    assert every.searched == every.frames == strided.frames == N
    missed = M.unmasked(every, strided)
    faces_per_frame = len(every.regions) / N
    print(f"\n{name}: {len(every.regions)} faces found searching all {N} frames ({faces_per_frame:.1f} a frame), "
          f"strided search ran on {strided.searched} frames, {len(missed)} of those faces not masked")
    assert faces_per_frame >= 2  # the clip has faces the detector finds (two or more tracks), on (nearly) every frame
    assert missed == []  # where the detector flickers (small faces, a profile) the scan searches most frames
    if name == "steady":  # faces it is sure of are carried between searches
        assert strided.searched <= N // 2 and any(r.detector == "carried" for _, r in strided.regions)


def test_a_clip_without_faces_is_searched_every_k_th_frame_and_at_a_cut(tmp_path: Path) -> None:
    data = M.encode(M.frames(N, SIZE, [], scenes={0: "coffee", 20: "rocket"}), tmp_path / "clip.mp4")
    scan = scan_video(data, ext="mp4", targets=["faces"], every=DETECT_EVERY)
    assert scan.regions == []
    # frames 0, 8, 16, 19 and 20 (both sides of the cut), 28, 36, 44, and the last one
    assert scan.searched == len({0, 19, 20, N - 1, *range(0, 20, DETECT_EVERY), *range(20, N, DETECT_EVERY)})
