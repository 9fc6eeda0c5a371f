"""The re-check of a masked clip, round after round: a result is reused only for pixels it was computed on.

``deid_video`` writes the clip again when a re-check found something, and re-checks it again. ``RecheckMemo``
runs the Haar cascades once per distinct frame content (frame index and a digest of the decoded pixels) and
reuses the result when a later round decodes the very same pixels. These tests compare it with the plain
re-check of every frame (``scan_video(recheck=True)``) on real faces: the same regions, and the detectors run on
exactly the frames whose pixels changed.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skimage_data

from pipelines.collect.deid.image import mask_regions
from pipelines.collect.deid.video import RecheckMemo, deid_video, keyframe_regions, scan_video
from pipelines.collect.video import keyframe_indices, open_clip, write_clip

pytestmark = pytest.mark.unit

N = 12


def _frames() -> list[np.ndarray]:
    """A real face (the astronaut) drifting across a grey 480x360 frame."""
    face = cv2.cvtColor(cv2.resize(skimage_data.astronaut(), (256, 256)), cv2.COLOR_RGB2BGR)
    out = []
    for i in range(N):
        f = np.full((360, 480, 3), 120, dtype=np.uint8)
        f[40:296, 20 + 8 * i : 276 + 8 * i] = face
        out.append(f)
    return out


def _write(frames: list[np.ndarray], path: Path) -> Path:
    with write_clip(path, ext="mp4", fps=10.0, width=480, height=360) as write:
        for f in frames:
            write(f)
    return path


def _decoded(path: Path) -> list[np.ndarray]:
    with open_clip(path, ext="mp4") as clip:
        return list(clip.frames())


def test_a_second_round_re_checks_exactly_the_frames_whose_pixels_changed(tmp_path: Path) -> None:
    frames = _frames()
    first = _write(frames, tmp_path / "a.mp4")
    reference = scan_video(first, ext="mp4", targets=["faces"], recheck=True)
    assert len({f for f, _ in reference.regions}) >= N // 2  # Haar finds the unmasked face on most frames
    memo = RecheckMemo(["faces"])
    assert memo.clip(first, ext="mp4").regions == reference.regions and (memo.ran, memo.reused) == (N, 0)
    assert memo.clip(first, ext="mp4").regions == reference.regions and (memo.ran, memo.reused) == (N, N)

    # a later round masks the face on frames 7-11: the clip is written again
    face = next(r for f, r in reference.regions if f == max(f for f, _ in reference.regions))
    masked = [mask_regions(f, [face]) if i >= 7 else f for i, f in enumerate(frames)]
    second = _write(masked, tmp_path / "b.mp4")
    changed = sum(not np.array_equal(a, b) for a, b in zip(_decoded(first), _decoded(second), strict=True))
    again = memo.clip(second, ext="mp4")
    assert again.regions == scan_video(second, ext="mp4", targets=["faces"], recheck=True).regions
    assert again.regions != reference.regions  # the masked frames were looked at again
    assert 5 <= changed < N and memo.ran == N + changed and memo.reused == N + N - changed


def test_keyframe_files_are_re_checked_once_per_content(tmp_path: Path) -> None:
    paths = []
    for n, f in enumerate(_frames()[:3]):
        paths.append(tmp_path / f"k{n}.jpg")
        cv2.imwrite(str(paths[-1]), f)
    memo = RecheckMemo(["faces"])
    reference = keyframe_regions(paths, targets=["faces"])
    assert reference and memo.keyframes(paths) == reference and memo.keyframes(paths) == reference
    assert (memo.ran, memo.reused) == (3, 3)
    cv2.imwrite(str(paths[1]), np.full((360, 480, 3), 120, dtype=np.uint8))  # the face gone from keyframe 1
    assert memo.keyframes(paths) == keyframe_regions(paths, targets=["faces"]) != reference
    assert (memo.ran, memo.reused) == (4, 5)


def test_deid_video_reports_the_re_check_of_every_frame_of_what_it_wrote(tmp_path: Path) -> None:
    data = _write(_frames(), tmp_path / "clip.mp4").read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    res = deid_video(data, ext="mp4", targets=["faces"], workdir=work, keyframe_fps=2.0)
    assert res.reencoded and res.recheck is not None
    out = tmp_path / "out.mp4"
    out.write_bytes(res.data)
    assert res.recheck.regions == scan_video(out, ext="mp4", targets=["faces"], recheck=True).regions == []
    assert res.keyframes_left == keyframe_regions(res.keyframes, targets=["faces"]) == []
    per_round = N + len(keyframe_indices(N, 10.0, 2.0))
    assert res.rechecked == res.rounds * per_round and 0 <= res.recheck_reused < res.rechecked
