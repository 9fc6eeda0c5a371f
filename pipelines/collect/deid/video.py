"""Faces and licence plates in video: every frame searched with the image detectors, masked, re-encoded.

A clip is decoded one frame at a time, in passes. The first runs the detectors of the image path (CenterFace
for faces, see ``faces.py``) on every frame and keeps only what they found (a few integers per region); the
second masks each frame with the regions found on it and on its neighbours (``DILATION_FRAMES`` either side: a
detector misses a face on one frame now and then, rarely on three in a row) and encodes it, cutting keyframes
for annotation (``keyframe_fps``) from the masked frames; the third runs the re-check detectors (Haar cascades,
unlike CenterFace) on every frame of the new clip and on every keyframe. What the re-check finds is masked too
(on the frames ``RECHECK_DILATION_S`` around it: re-encoding makes the cascades see faces in compression
blocks, on and off for a few frames) and the last two passes repeat, at most ``MASK_ROUNDS`` times in all.

Detection runs on a copy whose long side is at most ``VIDEO_DETECT_MAX_SIDE``, upright only and without the
upscaled pass of the image path: camera frames are upright, and four turned passes per frame would cost four
times as much for faces that do not occur. CenterFace finds faces down to ~12 px at that size (~24 px in a
1080p frame, ~16 px in 720p).

OpenCV writes frames only: a masked clip has no sound track and no container metadata.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipelines.collect.deid.image import KINDS, Region, find_regions, mask_regions, recheck_regions
from pipelines.collect.video import (
    Frame,
    VideoError,
    has_personal_metadata,
    keyframe_indices,
    open_clip,
    write_clip,
)

VIDEO_DETECT_MAX_SIDE = 960
# The Haar re-check runs on every frame of every round, on a smaller copy and with coarser steps than on images
# (scaleFactor 1.2, minNeighbors 4, 30 px windows): at 640x360 that is ~0.15 s a frame on one core instead of
# ~0.35 s with the image path's steps (CenterFace at 960x540: ~0.11 s). It sees faces from ~60 px in a 720p frame
# (~90 px in 1080p); smaller ones are CenterFace's to find.
VIDEO_RECHECK_MAX_SIDE = 640
VIDEO_HAAR_PARAMS = (1.2, 4, (30, 30))
DILATION_FRAMES = 1
RECHECK_DILATION_S = 0.25  # regions a re-check finds are masked this long either side (at least DILATION_FRAMES)
MASK_ROUNDS = 4
KEYFRAME_JPEG_QUALITY = 95


@dataclass(frozen=True)
class VideoScan:
    """What the detectors found in a clip: ``(frame index, region)`` pairs, and the clip's frames and size."""

    frames: int
    fps: float
    width: int
    height: int
    regions: list[tuple[int, Region]]


def compact(regions: Iterable[tuple[int, Region]]) -> dict[str, list[list[int]]]:
    """Regions by kind as ``[frame, x, y, w, h]`` rows (the audit record's form)."""
    out: dict[str, list[list[int]]] = defaultdict(list)
    for frame, r in regions:
        out[r.kind].append([frame, r.x, r.y, r.w, r.h])
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class VideoDeid:
    """A de-identified clip: its bytes, what was found and masked, the re-check, and the keyframes cut from it."""

    data: bytes  # the original bytes when nothing had to be masked
    scan: VideoScan  # of the original
    masked_frames: int
    reencoded: bool
    keyframes: list[Path]  # JPEG files in the work directory, in keyframe order
    recheck: VideoScan | None = None  # the detectors on ``data`` when it was re-encoded: regions must be empty
    keyframes_left: list[tuple[int, Region]] = field(default_factory=list)  # detections in the keyframe files
    rounds: int = 0  # masking passes (more than one when the re-check found what the first pass had not)
    added: list[tuple[int, Region]] = field(default_factory=list)  # regions the re-checks found and masked too


def _detector(targets: Iterable[str], *, recheck: bool = False) -> Callable[[Frame], list[Region]] | None:
    """The first pass (``recheck=False``) or the re-check on one BGR frame, on a copy of at most ``*_MAX_SIDE``."""
    kinds = [k for k in KINDS if k in set(targets)]
    if not kinds:
        return None

    max_side = VIDEO_RECHECK_MAX_SIDE if recheck else VIDEO_DETECT_MAX_SIDE

    def detect(frame: Frame) -> list[Region]:
        h, w = frame.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        small = cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) \
            if scale < 1 else frame
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        found = (recheck_regions(rgb, targets=kinds, params=VIDEO_HAAR_PARAMS) if recheck
                 else find_regions(rgb, targets=kinds, rotations=(), upscale_below=0))
        if scale == 1:
            return found
        return [Region(r.kind, int(r.x / scale), int(r.y / scale), round(r.w / scale), round(r.h / scale),
                       detector=r.detector, action=r.action) for r in found]

    return detect


def scan_video(src: bytes | Path, *, ext: str, targets: Iterable[str], recheck: bool = False) -> VideoScan:
    """Run the detectors (the first pass, or the re-check) on every frame of a clip (encoded bytes or a file).

    Raises:
        VideoError: the clip cannot be opened or no frame decodes.
    """
    detect = _detector(targets, recheck=recheck)
    regions: list[tuple[int, Region]] = []
    frames, size = 0, (0, 0)
    with open_clip(src, ext=ext) as clip:
        fps = clip.info.fps
        for frame in clip.frames():
            size = (frame.shape[1], frame.shape[0])
            if detect is not None:
                regions += [(frames, r) for r in detect(frame)]
            frames += 1
    if frames == 0:
        raise VideoError("no frame decodes")
    return VideoScan(frames=frames, fps=fps, width=size[0], height=size[1], regions=regions)


def deid_video(
    data: bytes,
    *,
    ext: str,
    targets: Iterable[str],
    workdir: Path,
    keyframe_fps: float | None = None,
) -> VideoDeid:
    """Mask faces and licence plates on every frame of a clip, and re-check the result.

    The re-check runs the Haar cascades on every frame of the re-encoded clip and on every keyframe file. They
    find what CenterFace missed, and they flicker: re-encoding changes every frame a little, and a region
    can appear where nothing was found. Such regions are masked as well (from the original frames) and the
    clip is written and re-checked again, at most ``MASK_ROUNDS`` times; what the last re-check still finds
    is in ``recheck.regions`` and ``keyframes_left`` (the caller quarantines the clip).

    Args:
        data: the clip (one of ``pipelines.collect.video.CONTAINERS``).
        ext: its container; a masked clip is written in the same one.
        targets: which of ``faces`` / ``licence_plates`` to look for.
        workdir: an empty private directory for the work files (the caller removes it).
        keyframe_fps: when set, keyframes sampled at this rate are written as JPEG files into ``workdir``.

    Returns:
        The clip (the original bytes when nothing was found and it carries no camera metadata) and what was
        masked.

    Raises:
        VideoError / cv2.error: the clip cannot be decoded or written.
    """
    targets = list(targets)
    personal = has_personal_metadata(data)
    src = workdir / f"original.{ext}"
    src.write_bytes(data)
    if _detector(targets) is None and keyframe_fps is None and not personal:
        with open_clip(src) as clip:  # nothing to look for: only the declared facts, for the audit record
            info = clip.info
        scan = VideoScan(frames=info.declared_frames, fps=info.fps, width=info.width, height=info.height, regions=[])
        return VideoDeid(data=data, scan=scan, masked_frames=0, reencoded=False, keyframes=[])
    scan = scan_video(src, ext=ext, targets=targets)
    reencode = bool(scan.regions) or personal
    wanted = keyframe_indices(scan.frames, scan.fps, keyframe_fps) if keyframe_fps else []
    if not reencode and not wanted:
        return VideoDeid(data=data, scan=scan, masked_frames=0, reencoded=False, keyframes=[])
    out_path = workdir / f"masked.{ext}"
    found = list(scan.regions)
    added: list[tuple[int, Region]] = []
    recheck: VideoScan | None = None
    keyframes_left: list[tuple[int, Region]] = []
    for rounds in range(1, MASK_ROUNDS + 1):
        masked, keyframes = _write_masked(src, out_path if reencode else None, scan, found, wanted, workdir)
        recheck = scan_video(out_path, ext=ext, targets=targets, recheck=True) if reencode else None
        keyframes_left = keyframe_regions(keyframes, targets=targets)
        left = (recheck.regions if recheck is not None else []) + [(wanted[n], r) for n, r in keyframes_left]
        if not left or rounds == MASK_ROUNDS:
            break
        added += left
        # What only a re-check finds flickers on and off around the frame it was found on: mask it a while longer.
        reach = max(DILATION_FRAMES, round(scan.fps * RECHECK_DILATION_S)) - DILATION_FRAMES
        found += [(f + d, r) for f, r in left for d in range(-reach, reach + 1) if 0 <= f + d < scan.frames]
        reencode = True  # masking changes frames of the clip as well
    return VideoDeid(
        data=out_path.read_bytes() if reencode else data,
        scan=scan,
        masked_frames=masked,
        reencoded=reencode,
        keyframes=keyframes,
        recheck=recheck,
        keyframes_left=keyframes_left,
        rounds=rounds,
        added=added,
    )


def _write_masked(
    src: Path,
    out_path: Path | None,
    scan: VideoScan,
    regions: list[tuple[int, Region]],
    wanted: list[int],
    workdir: Path,
) -> tuple[int, list[Path]]:
    """Mask every frame of ``src`` (regions of the frame and its neighbours), write it to ``out_path`` (when
    given) and the ``wanted`` frames as keyframe JPEGs; returns (frames masked, keyframe files)."""
    by_frame: dict[int, list[Region]] = defaultdict(list)
    for i, r in regions:
        by_frame[i].append(r)
    slots = {frame: n for n, frame in enumerate(wanted)}
    keyframes: list[Path] = []
    masked = decoded = 0
    with ExitStack() as stack:
        clip = stack.enter_context(open_clip(src))
        write = (
            stack.enter_context(write_clip(out_path, ext=src.suffix[1:], fps=scan.fps, width=scan.width,
                                           height=scan.height))
            if out_path is not None
            else None
        )
        for i, decoded_frame in enumerate(clip.frames()):
            near = [r for j in range(i - DILATION_FRAMES, i + DILATION_FRAMES + 1) for r in by_frame.get(j, ())]
            frame = mask_regions(decoded_frame, near) if near else decoded_frame
            masked += bool(near)
            if write is not None:
                write(frame)
            if i in slots:
                path = workdir / f"keyframe-{slots[i]:05d}.jpg"
                if not cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, KEYFRAME_JPEG_QUALITY]):
                    raise VideoError(f"cannot write keyframe {slots[i]}")
                keyframes.append(path)
            decoded = i + 1
    if decoded != scan.frames or len(keyframes) != len(wanted):
        raise VideoError(f"{decoded} frames decode on the second pass, {scan.frames} on the first")
    return masked, keyframes


def keyframe_regions(paths: Iterable[Path], *, targets: Iterable[str]) -> list[tuple[int, Region]]:
    """Detections in keyframe JPEG files (the re-check): ``(keyframe index, region)`` pairs."""
    detect = _detector(targets, recheck=True)
    if detect is None:
        return []
    out: list[tuple[int, Region]] = []
    for n, path in enumerate(paths):
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise VideoError(f"cannot read keyframe {n}")
        out += [(n, r) for r in detect(np.asarray(frame, dtype=np.uint8))]
    return out


def detector_settings() -> dict[str, Any]:
    """The video-specific detection settings, for the audit record."""
    return {"detect_max_side": VIDEO_DETECT_MAX_SIDE, "recheck_max_side": VIDEO_RECHECK_MAX_SIDE,
            "recheck_haar_params": [VIDEO_HAAR_PARAMS[0], VIDEO_HAAR_PARAMS[1], list(VIDEO_HAAR_PARAMS[2])],
            "dilation_frames": DILATION_FRAMES,
            "recheck_dilation_s": RECHECK_DILATION_S, "mask_rounds": MASK_ROUNDS}
