"""Video de-identification at 720p 30 fps: the strided first pass against searching every frame, same run.

Two clips of 150 frames, 1280x720 at 30 fps, on scikit-image photographs: one without a face, one with real faces
of the repo's face set moving across it (tests/unit/collect/moving_faces.py). For each: decoding alone (the
floor), the per-frame first pass (the detector on every frame, as before), and ``deid_video`` as the stage runs it
(strided first pass; with faces also the masked clip's encoding and the Haar re-check of every frame, once per
distinct frame content over the masking rounds). Printed: frames/s of each, the ratio to the per-frame pass and to
decoding, the real-time figure (frames/s / 30; the summary line is its inverse, time / real time), how many faces
the per-frame pass found that the strided pass did not mask (must be 0), and for ``deid_video`` the rounds and how
many frames the re-check ran on (and reused, for pixels a previous round had checked).

Run: .venv/bin/python bench/bench_video_stride.py [--clip "no face"] [--clip faces]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE, N, FPS = (1280, 720), 150, 30.0


def main() -> None:
    from _summary import ratio

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
            t = time.perf_counter()
            with open_clip(data, ext="mp4") as clip:
                decoded = sum(1 for _ in clip.frames())
            decode = time.perf_counter() - t
            t = time.perf_counter()
            every = scan_video(data, ext="mp4", targets=["faces"])
            per_frame = time.perf_counter() - t
            t = time.perf_counter()
            strided = scan_video(data, ext="mp4", targets=["faces"], every=DETECT_EVERY)
            first = time.perf_counter() - t
            work = Path(tmp) / "work"
            work.mkdir()
            t = time.perf_counter()
            res = deid_video(data, ext="mp4", targets=["faces"], workdir=work)
            whole = time.perf_counter() - t
        missed = len(M.unmasked(every, strided))
        print(f"{name}: {len(every.regions)} faces found by the per-frame pass, {missed} not masked by the strided "
              f"pass; strided pass searched {strided.searched} of {strided.frames} frames")
        if res.reencoded:
            print(f"  deid_video: {res.rounds} round(s), re-check ran on {res.rechecked - res.recheck_reused} frames "
                  f"and reused {res.recheck_reused} (pixels already checked in an earlier round)")
        for label, secs in [("decode only (floor)", decode), ("per-frame first pass (before)", per_frame),
                            ("strided first pass (after)", first),
                            (f"deid_video{f', {res.rounds} round(s) + re-check' if res.reencoded else ''}", whole)]:
            fps = decoded / secs
            print(f"  {label:36s} {secs:6.2f} s  {fps:7.1f} frames/s  {fps / FPS:5.2f}x real time  "
                  f"{per_frame / secs:5.2f}x the per-frame pass  {secs / decode:6.1f}x decoding")
        ratio(f"video 720p de-identify, {name}: time / real time", whole * FPS / decoded,
              goal=1.0 if name == "no face" else None,
              detail=f"{decoded / whole:.1f} frames/s; decoding {decoded / decode:.0f} frames/s "
                     f"({whole / decode:.0f}x); per-frame first pass {decoded / per_frame:.1f} frames/s; "
                     f"{missed} of {len(every.regions)} per-frame faces not masked")


if __name__ == "__main__":
    main()
