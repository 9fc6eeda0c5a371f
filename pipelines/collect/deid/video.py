"""Faces and licence plates in video: frames searched with the image detectors, masked, re-encoded.

A clip is decoded one frame at a time, in passes. The first runs the detectors of the image path (CenterFace
for faces, see ``faces.py``) on every ``DETECT_EVERY``-th frame, on both sides of a scene cut, and on every frame
between two searched frames that disagree (a face came, went, moved far, or scored just under the threshold on
either), and carries what two agreeing searches found over the frames between them (the box spanning both
positions); it keeps only the regions (a few integers each; at most ``DETECT_EVERY`` decoded frames are held). The
second masks each frame with the regions of it and of its neighbours (``DILATION_FRAMES`` either side: a detector
misses a face on one frame now and then, rarely on three in a row) and encodes it, cutting keyframes for
annotation (``keyframe_fps``) from the masked frames; the third runs the re-check detectors (Haar cascades,
unlike CenterFace) on every frame of the new clip and on every keyframe. What the re-check finds is masked too
(on the frames ``RECHECK_DILATION_S`` around it: re-encoding makes the cascades see faces in compression
blocks, on and off for a few frames) and the last two passes repeat, at most ``MASK_ROUNDS`` times in all; a
later round runs the re-check only on the frames whose decoded pixels changed and reuses the rest (``RecheckMemo``,
docs/adr/0034-video-recheck-once-per-frame-content.md).
docs/adr/0021-video-first-pass-searches-every-eighth-frame.md has the choice and how it was checked against
searching every frame.

Detection runs on a copy whose long side is at most ``VIDEO_DETECT_MAX_SIDE``, upright only and without the
upscaled pass of the image path: camera frames are upright, and four turned passes per frame would cost four
times as much for faces that do not occur. CenterFace finds faces down to ~12 px at that size (~24 px in a
1080p frame, ~16 px in 720p).

OpenCV writes frames only: a masked clip has no sound track and no container metadata.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from pipelines.collect.deid.faces import CENTERFACE_THRESHOLD, centerface
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
# The first pass searches every DETECT_EVERY-th frame, both sides of a scene cut (grey 64x36 thumbnails of two
# frames differing by more than SCENE_CUT_DIFF on average, of 255), and every frame between two searched ones that
# disagree. Between two that agree (as many regions of each kind, each with a partner of about its size, heights
# within CARRY_SIZE_RATIO, centres at most CARRY_REACH box sizes further apart than touching boxes) a region
# covers the box spanning it and its partner, grown by CARRY_MARGIN of that box each side for a
# path that is not straight. tests/unit/collect/test_video_stride.py checks it against searching every frame.
DETECT_EVERY = 8
SCENE_CUT_DIFF = 30.0
THUMB_SIZE = (64, 36)
CARRY_REACH = 1.0
CARRY_SIZE_RATIO = 1.5
CARRY_MARGIN = 0.1
# A face CenterFace scores between WEAK_THRESHOLD and its threshold on a searched frame is not masked, but the
# frames on either side are all searched: the detector flickers on small faces and profiles, and a face found on
# the frames between two searches but on neither would otherwise be missed.
WEAK_THRESHOLD = 0.1
WEAK = "centerface_weak"
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
    searched: int = 0  # frames the detectors ran on (``frames`` when every frame was searched)


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
    rechecked: int = 0  # frames and keyframes the re-check detectors ran on, over all rounds
    recheck_reused: int = 0  # those whose pixels a previous round had re-checked already (its result reused)


def _detector(
    targets: Iterable[str], *, recheck: bool = False, weak: bool = False
) -> Callable[[Frame], list[Region]] | None:
    """The first pass (``recheck=False``) or the re-check on one BGR frame, on a copy of at most ``*_MAX_SIDE``.

    ``weak=True`` (the strided first pass) also returns faces CenterFace scores from ``WEAK_THRESHOLD`` up to its
    own threshold, as regions of detector ``WEAK``: not masked, but a sign that the frames around may hold a face.
    """
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
        if recheck:
            found = recheck_regions(rgb, targets=kinds, params=VIDEO_HAAR_PARAMS)
        elif weak and "faces" in kinds:
            found = [Region("faces", b.x, b.y, b.w, b.h, b.detector if b.score >= CENTERFACE_THRESHOLD else WEAK)
                     for b in centerface(rgb, threshold=WEAK_THRESHOLD, rotations=(), upscale_below=0)]
            found += find_regions(rgb, targets=[k for k in kinds if k != "faces"]) if len(kinds) > 1 else []
        else:
            found = find_regions(rgb, targets=kinds, rotations=(), upscale_below=0)
        if scale == 1:
            return found
        return [Region(r.kind, int(r.x / scale), int(r.y / scale), round(r.w / scale), round(r.h / scale),
                       detector=r.detector, action=r.action) for r in found]

    return detect


def scan_video(
    src: bytes | Path, *, ext: str, targets: Iterable[str], recheck: bool = False, every: int = 1
) -> VideoScan:
    """Run the detectors (the first pass, or the re-check) on a clip (encoded bytes or a file).

    ``every=1`` searches every frame (the re-check, and the reference the strided first pass is measured
    against); ``every=k`` searches every k-th frame, the frames on either side of a scene cut and, wherever two
    searched frames disagree (not as many regions of each kind, or a region without a nearby partner of about
    its size on the other) or either holds a weak face (a score from ``WEAK_THRESHOLD``), every frame between
    them. Between two searched frames that agree, each region covers
    the box spanning it and its partner (``detector="carried"``).

    Raises:
        VideoError: the clip cannot be opened or no frame decodes.
    """
    detect = _detector(targets, recheck=recheck, weak=every > 1)
    found: dict[int, list[Region]] = {}
    unsure: set[int] = set()  # searched frames with a weak face
    carried: list[tuple[int, Region]] = []
    frames, size = 0, (0, 0)

    def search(i: int, frame: Frame) -> None:
        regions = detect(frame) if detect is not None else []
        found[i] = [r for r in regions if r.detector != WEAK]
        if len(found[i]) < len(regions):
            unsure.add(i)

    def bridge(a: int, b: int, buffered: dict[int, Frame]) -> None:
        """Cover the frames strictly between searched frames ``a`` and ``b``, searching more of them if needed."""
        if b - a <= 1:
            return
        spans = None if a in unsure or b in unsure else _spans(found[a], found[b])
        if spans is not None:
            carried.extend((f, r) for f in range(a + 1, b) for r in spans)
            return
        for m in range(a + 1, b):
            search(m, buffered[m])

    with open_clip(src, ext=ext) as clip:
        fps = clip.info.fps
        last = -1  # the last searched frame
        buffered: dict[int, Frame] = {}  # frames after ``last``, kept until the next searched frame covers them
        prev_thumb: NDArray[np.float32] | None = None
        for i, frame in enumerate(clip.frames()):
            size = (frame.shape[1], frame.shape[0])
            frames = i + 1
            if every <= 1:
                search(i, frame)
                continue
            thumb = _thumb(frame)
            cut = prev_thumb is not None and float(np.abs(thumb - prev_thumb).mean()) > SCENE_CUT_DIFF
            prev_thumb = thumb
            if cut and i - 1 > last:  # the last frame before the cut is searched, and nothing is carried over it
                search(i - 1, buffered[i - 1])
                bridge(last, i - 1, buffered)
                last, buffered = i - 1, {}
            buffered[i] = frame
            if last < 0 or cut or i - last >= every:
                search(i, frame)
                if last >= 0:
                    bridge(last, i, buffered)
                last, buffered = i, {}
        if every > 1 and frames - 1 > last >= 0:
            search(frames - 1, buffered[frames - 1])
            bridge(last, frames - 1, buffered)
    if frames == 0:
        raise VideoError("no frame decodes")
    regions = [(i, r) for i in sorted(found) for r in found[i]] + carried
    return VideoScan(frames=frames, fps=fps, width=size[0], height=size[1],
                     regions=sorted(regions, key=lambda fr: fr[0]), searched=len(found))


def _thumb(frame: Frame) -> NDArray[np.float32]:
    """A small grey copy of a frame, for the scene-cut test."""
    small = cv2.resize(frame, THUMB_SIZE, interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), dtype=np.float32)


def _near(a: Region, b: Region) -> bool:
    """Same kind, heights within CARRY_SIZE_RATIO, the centres at most CARRY_REACH box sizes further apart than
    touching boxes."""
    reach = max(a.w, a.h, b.w, b.h) * CARRY_REACH
    return (a.kind == b.kind and max(a.h, b.h) <= CARRY_SIZE_RATIO * min(a.h, b.h)
            and abs((a.x + a.w / 2) - (b.x + b.w / 2)) <= (a.w + b.w) / 2 + reach
            and abs((a.y + a.h / 2) - (b.y + b.h / 2)) <= (a.h + b.h) / 2 + reach)


def _spans(before: list[Region], after: list[Region]) -> list[Region] | None:
    """The boxes covering the frames between two searched frames, or None when they disagree (a region on
    either one without a near partner on the other, or not as many of a kind: something came, went, or moved
    too far to pair)."""
    if sorted(r.kind for r in before) != sorted(r.kind for r in after) \
            or any(not any(_near(a, b) for b in after) for a in before) \
            or any(not any(_near(a, b) for a in before) for b in after):
        return None
    out = []
    for a in before:
        for b in after:
            if _near(a, b):
                x0, y0 = min(a.x, b.x), min(a.y, b.y)
                x1, y1 = max(a.x + a.w, b.x + b.w), max(a.y + a.h, b.y + b.h)
                mx, my = round((x1 - x0) * CARRY_MARGIN), round((y1 - y0) * CARRY_MARGIN)
                out.append(Region(a.kind, max(0, x0 - mx), max(0, y0 - my), x1 - x0 + 2 * mx, y1 - y0 + 2 * my,
                                  detector="carried", action=a.action))
    return out


def frame_regions(regions: Iterable[tuple[int, Region]]) -> Callable[[int], list[Region]]:
    """What is masked on frame ``i``: the regions of that frame and of ``DILATION_FRAMES`` either side."""
    by_frame: dict[int, list[Region]] = defaultdict(list)
    for i, r in regions:
        by_frame[i].append(r)
    return lambda i: [r for j in range(i - DILATION_FRAMES, i + DILATION_FRAMES + 1) for r in by_frame.get(j, ())]


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
    clip is written and re-checked again (a frame whose pixels a previous round checked keeps that result), at most
    ``MASK_ROUNDS`` times; what the last re-check still finds
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
    scan = scan_video(src, ext=ext, targets=targets, every=DETECT_EVERY)
    reencode = bool(scan.regions) or personal
    wanted = keyframe_indices(scan.frames, scan.fps, keyframe_fps) if keyframe_fps else []
    if not reencode and not wanted:
        return VideoDeid(data=data, scan=scan, masked_frames=0, reencoded=False, keyframes=[])
    out_path = workdir / f"masked.{ext}"
    found = list(scan.regions)
    added: list[tuple[int, Region]] = []
    recheck: VideoScan | None = None
    keyframes_left: list[tuple[int, Region]] = []
    memo = RecheckMemo(targets)  # the re-check's result per frame's pixels, kept across rounds
    for rounds in range(1, MASK_ROUNDS + 1):
        masked, keyframes = _write_masked(src, out_path if reencode else None, scan, found, wanted, workdir)
        recheck = memo.clip(out_path, ext=ext) if reencode else None
        keyframes_left = memo.keyframes(keyframes)
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
        rechecked=memo.ran + memo.reused,
        recheck_reused=memo.reused,
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
    near_frame = frame_regions(regions)
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
            near = near_frame(i)
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


class RecheckMemo:
    """The re-check (Haar cascades, plates) of a masked clip's frames and keyframe files, round after round.

    A later round masks a few more regions and writes the clip again; the frames it did not change decode to
    the same pixels as before (the encoder and decoder are deterministic), and a detector given the same pixels
    finds the same regions. Each frame's decoded pixels (a keyframe file's bytes) are keyed by their BLAKE2b
    digest with the frame index; what the re-check found on them is reused when the same pixels come again, and
    the detectors run on every frame whose pixels differ. Nothing is skipped: every frame of every round is
    re-checked, once per distinct content. Held: one digest and a few regions per frame.
    """

    def __init__(self, targets: Iterable[str]) -> None:
        self.detect = _detector(targets, recheck=True)
        self.seen: dict[tuple[str, int, bytes], list[Region]] = {}
        self.ran = self.reused = 0

    def _regions(self, where: str, n: int, content: bytes | memoryview, pixels: Callable[[], Frame]
                 ) -> list[Region]:
        key = (where, n, hashlib.blake2b(content, digest_size=16).digest())
        if key in self.seen:
            self.reused += 1
        else:
            self.seen[key] = self.detect(pixels()) if self.detect is not None else []
            self.ran += 1
        return self.seen[key]

    def clip(self, path: Path, *, ext: str) -> VideoScan:
        """The re-check of every frame of a clip (what ``scan_video(recheck=True)`` returns)."""
        regions: list[tuple[int, Region]] = []
        frames, size = 0, (0, 0)
        with open_clip(path, ext=ext) as clip:
            fps = clip.info.fps
            for i, frame in enumerate(clip.frames()):
                size, frames = (frame.shape[1], frame.shape[0]), i + 1
                pixels = np.ascontiguousarray(frame)
                regions += [(i, r) for r in self._regions("frame", i, pixels.data, functools.partial(_same, pixels))]
        if frames == 0:
            raise VideoError("no frame decodes")
        return VideoScan(frames=frames, fps=fps, width=size[0], height=size[1], regions=regions, searched=frames)

    def keyframes(self, paths: Iterable[Path]) -> list[tuple[int, Region]]:
        """The re-check of keyframe JPEG files: ``(keyframe index, region)`` pairs (as ``keyframe_regions``)."""
        out: list[tuple[int, Region]] = []
        for n, path in enumerate(paths):
            jpeg = path.read_bytes()
            out += [(n, r) for r in self._regions("keyframe", n, jpeg, functools.partial(_decode_keyframe, jpeg, n))]
        return out


def _same(frame: Frame) -> Frame:
    return frame


def _decode_keyframe(jpeg: bytes, n: int) -> Frame:
    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        raise VideoError(f"cannot read keyframe {n}")
    return np.asarray(frame, dtype=np.uint8)


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
            "dilation_frames": DILATION_FRAMES, "detect_every": DETECT_EVERY, "scene_cut_diff": SCENE_CUT_DIFF,
            "carry_reach": CARRY_REACH, "carry_size_ratio": CARRY_SIZE_RATIO,
            "carry_margin": CARRY_MARGIN, "weak_threshold": WEAK_THRESHOLD,
            "recheck_dilation_s": RECHECK_DILATION_S, "mask_rounds": MASK_ROUNDS}
