"""Face detection cost: CenterFace (the first pass) against the Haar cascades it replaced, per image and per frame.

The baseline, measured in the same run, is the frontal Haar cascade the image path used before (at most 2048 px,
as it ran). The astronaut photograph is scaled to 1920x1080 for the photo figures and to 1280x720 for the video
figures; a 720p clip of ``--frames`` frames goes through ``scan_video`` (the first pass of video
de-identification) and through the re-check.

Run: .venv/bin/python bench/bench_faces.py [--frames 24] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _best(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # the first call builds the network for the input size
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import cv2
    import numpy as np
    from PIL import Image
    from skimage import data as skimage_data

    from pipelines.collect.deid import deid_image, scan_video
    from pipelines.collect.deid import faces as F
    from pipelines.collect.video import write_clip

    photo = cv2.resize(skimage_data.astronaut(), (1920, 1080), interpolation=cv2.INTER_CUBIC)
    gray = cv2.equalizeHist(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY))
    frontal = cv2.CascadeClassifier(f"{cv2.data.haarcascades}haarcascade_frontalface_default.xml")
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="JPEG", quality=92)
    jpeg = buf.getvalue()
    rows = {
        "1080p photo: Haar frontal (the old first pass)": _best(
            lambda: frontal.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24)), args.repeat),
        "1080p photo: CenterFace upright only": _best(
            lambda: F.centerface(photo, rotations=(), upscale_below=0), args.repeat),
        "1080p photo: CenterFace upright + 1.25x small-face pass": _best(
            lambda: F.centerface(photo, rotations=()), args.repeat),
        "1080p photo: CenterFace, all passes (+ 3 turned)": _best(lambda: F.centerface(photo), args.repeat),
        "1080p photo: Haar re-check (3 cascades)": _best(lambda: F.haar(photo), args.repeat),
        "1080p photo: deid_image end to end (JPEG)": _best(lambda: deid_image(jpeg, targets=["faces"]), args.repeat),
    }
    frame = cv2.cvtColor(cv2.resize(skimage_data.astronaut(), (1280, 720)), cv2.COLOR_RGB2BGR)
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        with write_clip(clip, ext="mp4", fps=24.0, width=1280, height=720) as write:
            for i in range(args.frames):
                write(np.roll(frame, 4 * i, axis=1))
        for label, recheck in (("first pass (CenterFace, 960 px)", False), ("re-check (Haar, 640 px)", True)):
            t = time.perf_counter()
            scan = scan_video(clip, ext="mp4", targets=["faces"], recheck=recheck)
            dt = time.perf_counter() - t
            rows[f"720p video, {label}: s/frame ({scan.frames / dt:.1f} fps)"] = dt / scan.frames
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (figures grow with it)")
    base = rows["1080p photo: Haar frontal (the old first pass)"]
    for label, seconds in rows.items():
        print(f"{label:70s} {seconds:7.3f} s  ({seconds / base:4.1f}x the old first pass)")


if __name__ == "__main__":
    main()
