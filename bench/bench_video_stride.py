"""Video de-identification at 720p 30 fps: the strided first pass against searching every frame, same run.

Two clips of 150 frames, 1280x720 at 30 fps, on scikit-image photographs: one without a face, one with real faces
of the repo's face set moving across it (tests/unit/collect/moving_faces.py). For each: decoding alone (the
floor), the per-frame first pass (the detector on every frame, as before), and ``deid_video`` as the stage runs it
(strided first pass; with faces also the masked clip's encoding and the Haar re-check of every frame, once per
distinct frame content over the masking rounds, ADR 0034). When the clip is re-encoded, ``deid_video`` runs first
with that reuse turned off (every frame of every round re-checked, as before): the same run's baseline. Printed:
wall seconds, frames/s, the ratio to real time (frames/s / 30; the summary line is its inverse, time / real time)
and to decoding, this process's CPU seconds (steadier than wall time on a shared machine) and their ratio to
decoding's and to the per-frame pass; how many faces the per-frame pass found that the strided pass did not mask
(must be 0); for ``deid_video`` the rounds, how many frames the re-check ran on and reused, and whether the
baseline gave the same rounds, re-check result and clip.

Run: .venv/bin/python bench/bench_video_stride.py [--clip "no face"] [--clip faces]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE, N, FPS = (1280, 720), 150, 30.0


def main() -> None:
    from _summary import ratio

    from pipelines.collect.deid import video as V
    from pipelines.collect.deid.video import DETECT_EVERY, deid_video, scan_video
    from pipelines.collect.video import open_clip
    from tests.unit.collect import moving_faces as M

    clips = {
        "no face": M.frames(N, SIZE, [], scenes={0: "coffee", 90: "rocket"}),
        "faces": M.frames(N, SIZE, [
            M.Track(M.astronaut(), 120, (0, 80), (6, 1), range(N)),
            M.Track(M.cameraman(), 90, (900, 400), (-4, -1), range(20, 130), wiggle=30),
        ], scenes={0: "coffee", 90: "rocket"}),
    }
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", choices=list(clips), action="append", help="only these clips (default: all)")
    args = ap.parse_args()
    clips = {k: v for k, v in clips.items() if not args.clip or k in args.clip}
    print(f"720p: {SIZE[0]}x{SIZE[1]}, {N} frames at {FPS:g} fps; strided pass every {DETECT_EVERY} frames")
    for name, frames in clips.items():
        with tempfile.TemporaryDirectory() as tmp:
            data = M.encode(frames, Path(tmp) / "clip.mp4", FPS)
            decoded, *decode = _timed(_count, data, open_clip)
            every, *per_frame = _timed(scan_video, data, ext="mp4", targets=["faces"])
            strided, *first = _timed(scan_video, data, ext="mp4", targets=["faces"], every=DETECT_EVERY)
            # the same run's baseline first: every round re-checks every frame, as before ADR 0034
            memo, V.RecheckMemo = V.RecheckMemo, _no_reuse(V.RecheckMemo)  # type: ignore[misc]
            try:
                plain, *before = _timed(_deid, data, deid_video, Path(tmp) / "work-before")
            finally:
                V.RecheckMemo = memo  # type: ignore[misc]
            res, *whole = _timed(_deid, data, deid_video, Path(tmp) / "work")
        missed = len(M.unmasked(every, strided))
        print(f"{name}: {len(every.regions)} faces found by the per-frame pass, {missed} not masked by the strided "
              f"pass; strided pass searched {strided.searched} of {strided.frames} frames")
        if res.reencoded:
            same = (plain.rounds, plain.recheck.regions, plain.data) == (res.rounds, res.recheck.regions, res.data)
            print(f"  deid_video: {res.rounds} round(s), re-check ran on {res.rechecked - res.recheck_reused} frames "
                  f"and reused {res.recheck_reused} (pixels already checked in an earlier round); re-checking every "
                  f"frame of every round (before): {plain.rechecked} frames, the same rounds, re-check result and "
                  f"clip: {same}")
        print(f"  {'':44s} {'wall s':>7s} {'frames/s':>9s} {'x real time':>11s} {'x decoding':>10s} {'CPU s':>7s} "
              f"{'x decoding':>10s} {'per-frame pass / this, CPU':>26s}")
        rows = [("decode only (floor)", decode), ("per-frame first pass (before ADR 0021)", per_frame),
                ("strided first pass (ADR 0021)", first)]
        if res.reencoded:
            rows.append(("deid_video, every frame re-checked each round", before))
        rows.append((f"deid_video{f', {res.rounds} round(s) + re-check' if res.reencoded else ''}", whole))
        for label, (wall, cpu) in rows:
            fps = decoded / wall
            print(f"  {label:44s} {wall:7.2f} {fps:9.1f} {fps / FPS:11.2f} {wall / decode[0]:10.1f} {cpu:7.2f} "
                  f"{cpu / decode[1]:10.1f} {per_frame[1] / cpu:26.2f}")
        gain = (f"; CPU {before[1] / whole[1]:.2f}x less, wall {before[0] / whole[0]:.2f}x less than re-checking "
                f"every frame of every round ({decoded / before[0]:.1f} frames/s)" if res.reencoded else "")
        ratio(f"video 720p de-identify, {name}: time / real time", whole[0] * FPS / decoded,
              goal=1.0 if name == "no face" else None,
              detail=f"{decoded / whole[0]:.1f} frames/s; decoding {decoded / decode[0]:.0f} frames/s "
                     f"({whole[0] / decode[0]:.0f}x); per-frame first pass {decoded / per_frame[0]:.1f} frames/s; "
                     f"{missed} of {len(every.regions)} per-frame faces not masked{gain}")


def _count(data: bytes, open_clip: Any) -> int:
    with open_clip(data, ext="mp4") as clip:
        return sum(1 for _ in clip.frames())


def _deid(data: bytes, deid_video: Any, work: Path) -> Any:
    work.mkdir()
    return deid_video(data, ext="mp4", targets=["faces"], workdir=work)


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """``fn(*args, **kwargs)``, its wall seconds and this process's CPU seconds (all threads: steadier than wall
    time on a machine others share)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t, time.process_time() - c

def _no_reuse(memo: type[Any]) -> type[Any]:
    """``RecheckMemo`` without reuse: the detectors run on every frame and keyframe of every round."""

    class NoReuse(memo):  # type: ignore[misc,valid-type]
        def _regions(self, where: str, n: int, content: Any, pixels: Any) -> Any:
            self.ran += 1
            return self.detect(pixels()) if self.detect is not None else []

    return NoReuse


if __name__ == "__main__":
    main()
