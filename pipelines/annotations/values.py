"""The canonical Arrow value types of annotation labels (pixels, seconds, character offsets).

A record's label columns are built from these (:data:`pipelines.annotations.REGISTRY`); ``refine`` writes them,
``validate`` and ``publish`` read them.
"""

from __future__ import annotations

import pyarrow as pa

BOX = pa.struct([("label", pa.string()), ("x", pa.float64()), ("y", pa.float64()),
                 ("w", pa.float64()), ("h", pa.float64())])
POINT = pa.struct([("x", pa.float64()), ("y", pa.float64())])
SHAPE = pa.struct([("label", pa.string()), ("points", pa.list_(POINT))])
KEYPOINT = pa.struct([("name", pa.string()), ("x", pa.float64()), ("y", pa.float64()), ("visible", pa.int8())])
POSE = pa.struct([("label", pa.string()), ("keypoints", pa.list_(KEYPOINT))])
MASK = pa.struct([("label", pa.string()), ("rle", pa.list_(pa.int32())), ("width", pa.int32()),
                  ("height", pa.int32())])
SEGMENT = pa.struct([("start", pa.float64()), ("end", pa.float64()), ("text", pa.string()),
                     ("speaker", pa.string()), ("dialect", pa.string())])
SPAN = pa.struct([("label", pa.string()), ("start", pa.int32()), ("end", pa.int32()), ("text", pa.string())])
QA_PAIR = pa.struct([("question", pa.string()), ("answer", pa.string()), ("answer_start", pa.int32())])
EVENT = pa.struct([("label", pa.string()), ("start", pa.float64()), ("end", pa.float64())])
TURN = pa.struct([("speaker", pa.string()), ("text", pa.string()), ("intent", pa.string())])

# Video geometry: per-keyframe boxes of tracks (``track``, Label Studio's 1-based ``frame``, ``t`` in seconds), and
# polygons / poses drawn on keyframe images (``frame``: the keyframe's position in ``meta.frames``).
VIDEO_BOX = pa.struct([*BOX, ("track", pa.int32()), ("frame", pa.int32()), ("t", pa.float64())])
VIDEO_SHAPE = pa.struct([*SHAPE, ("frame", pa.int32())])
VIDEO_POSE = pa.struct([*POSE, ("frame", pa.int32())])
