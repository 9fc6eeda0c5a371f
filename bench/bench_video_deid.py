"""Where a synthetic video spec's run spends its time: drawing and encoding a clip against de-identifying it.

One clip of the spec (its minimum size, frame rate and duration) is generated, then de-identified as the deid stage
does (``deid_video`` with the spec's targets and keyframe rate) under cProfile; printed: seconds per phase, the
ratio deid / generate (the baseline, measured in the same run), seconds per frame and the share of the face
detector's network forward pass.

Run: .venv/bin/python bench/bench_video_deid.py [--spec livestock-behaviour-video]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from pipelines.collect.deid.video import deid_video
    from pipelines.collect.sources.synthetic.video import make_video
    from pipelines.spec import load_catalog
    from pipelines.spec.models import KEYFRAME_TYPES, SyntheticSource, VideoModality

    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default="livestock-behaviour-video")
    args = ap.parse_args()
    spec = load_catalog().get(args.spec)
    mod = spec.modality
    assert isinstance(mod, VideoModality) and isinstance(spec.source, SyntheticSource)
    t0 = time.perf_counter()
    data, ext, _ = make_video(spec, mod, seed=spec.source.seed, index=0)
    generate = time.perf_counter() - t0
    keyframe_fps = mod.annotation_fps if spec.annotation.type in KEYFRAME_TYPES else None
    prof = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        prof.enable()
        res = deid_video(data, ext=ext, targets=list(spec.deidentify.targets), workdir=Path(tmp),
                         keyframe_fps=keyframe_fps)
        prof.disable()
        deid = time.perf_counter() - t1
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    forward = sum(v[3] for k, v in stats.items() if k[2] == "<method 'forward' of 'cv2.dnn.Net' objects>")
    frames = res.scan.frames
    print(f"{spec.id}: {mod.min_width}x{mod.min_height} {frames} frames, targets {list(spec.deidentify.targets)}")
    print(f"  generate (baseline)  {generate:7.1f} s")
    print(f"  de-identify          {deid:7.1f} s  = {deid / generate:.1f}x generate, {deid / frames:.3f} s/frame")
    print(f"  detector forward     {forward:7.1f} s  = {100 * forward / deid:.0f} % of de-identify")


if __name__ == "__main__":
    main()
