"""QC statistics against values worked out by hand on small fixtures (the derivations are in the comments)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pipelines.label import qc, results
from pipelines.label.qc import Ann, Box, Pose, Segment, Shape, Verdict
from sim.specs import demo_spec

pytestmark = pytest.mark.unit


def test_krippendorff_alpha_nominal_matches_the_coincidence_matrix_by_hand() -> None:
    # units (a,a) (a,b) (b,b) (b,b): o_aa=2, o_ab=o_ba=1, o_bb=4; n_a=3, n_b=5, n=8
    # alpha = 1 - (n-1) * (o_ab+o_ba) / (n_a n_b + n_b n_a) = 1 - 7*2/30 = 16/30
    units = [["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"]]
    assert qc.krippendorff_alpha(units) == pytest.approx(16 / 30)
    # a single-rated unit adds nothing pairable; missing values (None) are dropped
    assert qc.krippendorff_alpha([*units, ["a"], ["b", None]]) == pytest.approx(16 / 30)
    assert qc.krippendorff_alpha([["a", "a"], ["a", "a"]]) is None  # no variation: undefined, not 1


def test_fleiss_kappa_matches_the_formula_by_hand() -> None:
    # P_i = 1, 0, 1, 1 -> P = 3/4; p_a = 3/8, p_b = 5/8 -> P_e = 34/64; kappa = (3/4 - 34/64) / (1 - 34/64) = 7/15
    units = [["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"]]
    assert qc.fleiss_kappa(units) == pytest.approx(7 / 15)
    # kappa needs equal rater counts: the 3-rater unit is set aside, the 2-rater units (the mode) are used
    assert qc.fleiss_kappa([*units, ["a", "b", "b"]]) == pytest.approx(7 / 15)


def test_fleiss_kappa_equals_statsmodels_on_random_ratings() -> None:
    import random

    from statsmodels.stats.inter_rater import fleiss_kappa as reference  # type: ignore[import-untyped,unused-ignore]

    rng = random.Random(3)
    for raters in (2, 3, 5):
        units = [[rng.choice("abcd") for _ in range(raters)] for _ in range(200)]
        cats = sorted({v for u in units for v in u})
        table = [[u.count(c) for c in cats] for u in units]
        assert qc.fleiss_kappa(units) == pytest.approx(reference(table, method="fleiss"), abs=1e-12)


def test_multilabel_alpha_averages_the_binary_alpha_of_each_label() -> None:
    units = [[frozenset({"x"}), frozenset({"x"})], [frozenset({"x", "y"}), frozenset({"y"})],
             [frozenset(), frozenset({"y"})], [frozenset({"y"}), frozenset({"y"})]]
    # label x: (T,T) (T,F) (F,F) (F,F) -> the same table as the nominal case above: 16/30
    # label y: (F,F) (T,T) (F,T) (T,T) -> o_FF=2, o_TT=4, o_FT=o_TF=1 -> 16/30 as well
    assert qc.multilabel_alpha(units, ["x", "y", "z"]) == pytest.approx(16 / 30)  # z never chosen: left out


def test_box_f1_is_iou_matched() -> None:
    a = [Box("cat", 0, 0, 10, 10), Box("cat", 50, 50, 10, 10)]
    # 10x10 vs 10x12 at the same origin: IoU = 100 / 120 = 0.83 (match); the second pair does not overlap
    b = [Box("cat", 0, 0, 10, 12), Box("cat", 80, 80, 10, 10)]
    assert qc.box_iou(a[0], b[0]) == pytest.approx(100 / 120)
    assert qc.matched_f1(a, b, qc.box_iou) == pytest.approx(2 * 1 / 4)
    # same geometry, other label: no match
    assert qc.matched_f1([Box("dog", 0, 0, 10, 10)], [Box("cat", 0, 0, 10, 10)], qc.box_iou) == 0.0
    # IoU 0.45 (10x10 vs shifted by 3.8: inter 62, union 138) is below the 0.5 threshold
    assert qc.matched_f1([Box("c", 0, 0, 10, 10)], [Box("c", 3.8, 0, 10, 10)], qc.box_iou) == 0.0
    assert qc.matched_f1([], [], qc.box_iou) == 1.0


def test_box_matching_is_optimal_not_greedy() -> None:
    # 10-wide boxes shifted by d have IoU (10-d)/(10+d): >= 0.5 up to d = 3.3. Greedy takes the best pair
    # a0-b0 (d=1) and leaves a1-b1 (d=5) unmatched; the optimal matching pairs a0-b1 and a1-b0 (d=2 each).
    a = [Box("c", 0, 0, 10, 10), Box("c", 3, 0, 10, 10)]
    b = [Box("c", 1, 0, 10, 10), Box("c", -2, 0, 10, 10)]
    assert qc.matched_f1(a, b, qc.box_iou) == 1.0


def test_polygon_iou_uses_the_true_area() -> None:
    square = Shape("c", ((0, 0), (10, 0), (10, 10), (0, 10)), closed=True)
    triangle = Shape("c", ((0, 0), (10, 0), (0, 10)), closed=True)  # half the square
    assert qc.shape_iou(square, triangle) == pytest.approx(0.5)
    assert qc.agreement("polygon", [square], [triangle]) == 1.0  # IoU 0.5 is a match
    other_frame = Shape("c", square.points, closed=True, frame=1)
    assert qc.shape_iou(square, other_frame) == 0.0


def test_oks_by_hand() -> None:
    # area 100x100 = 1e4, sigma 0.05 -> k = 0.1: exp(-d^2 / (2 * 1e4 * 0.01)) = exp(-d^2 / 200)
    # d1 = 0 -> 1; d2^2 = 200 ln 2 -> 0.5; OKS = (1 + 0.5) / 2
    d = math.sqrt(200 * math.log(2))
    ref = Pose("p", 1e4, {"head": (50.0, 50.0), "hand": (20.0, 20.0)})
    got = Pose("p", 1e4, {"head": (50.0, 50.0), "hand": (20.0 + d, 20.0)})
    assert qc.oks(got, ref) == pytest.approx(0.75)
    # a keypoint only one annotator marked is a miss: (1 + 0.5 + 0) / 3
    more = Pose("p", 1e4, {**got.points, "foot": (1.0, 1.0)})
    assert qc.oks(more, ref) == pytest.approx(1.5 / 3)
    # two objects vs one: the unmatched one counts 0 -> (0.75 + 0) / 2
    far = Pose("p", 1e4, {"head": (900.0, 900.0)})
    assert qc.pose_agreement([got, far], [ref]) == pytest.approx(0.75 / 2)


def test_cer_and_wer_by_hand() -> None:
    assert qc.cer("가나다라", "가나다마") == pytest.approx(1 / 4)
    assert qc.cer("오늘 날씨", "오늘날씨") == 0.0  # spaces do not count, as Korean ASR reports CER
    assert qc.wer("a b c d", "a b x d") == pytest.approx(1 / 4)
    # symmetric agreement: CER(ref=4 chars, 1 edit) = 1/4, CER(ref=3 chars, 1 edit) = 1/3 -> 1 - (1/4+1/3)/2
    assert qc.text_agreement("가나다라", "가나다") == pytest.approx(1 - (1 / 4 + 1 / 3) / 2)
    assert qc.cer("", "") == 0.0 and qc.cer("", "x") == 1.0 and qc.cer("x", "") == 1.0


def test_span_f1_and_segment_f1_by_hand() -> None:
    a = frozenset({Segment("PS", 0, 3), Segment("LC", 5, 8)})
    b = frozenset({Segment("PS", 0, 3), Segment("LC", 5, 9)})  # the LC span is one character longer
    assert qc.span_f1(a, b) == pytest.approx(0.5)
    # as temporal segments, [5, 8] vs [5, 9] have IoU 3/4 and match: F1 = 1
    assert qc.matched_f1(sorted(a, key=str), sorted(b, key=str), qc.segment_iou) == 1.0


def test_consensus_per_type() -> None:
    assert qc.consensus("classification", ["a", "a", "b"]) == qc.Consensus("a", "majority", pytest.approx(1 / 3))
    tie = qc.consensus("classification", ["a", "b"])
    assert (tie.value, tie.method, tie.agreement) == (None, "no_majority", 0.0)
    assert qc.consensus("multi_label", [frozenset("xy"), frozenset("x"), frozenset("xz")]).value == frozenset("x")
    # boxes: the two annotators who drew the object agree; the third's stray box has no majority
    c = qc.consensus("bbox", [[Box("c", 0, 0, 10, 10)], [Box("c", 2, 0, 10, 10)], [Box("c", 50, 50, 5, 5)]])
    assert c.method == "iou_cluster" and c.value == [Box("c", 1.0, 0.0, 10.0, 10.0)]
    sq = Shape("c", ((0, 0), (10, 0), (10, 10), (0, 10)), closed=True)
    near = Shape("c", ((1, 0), (11, 0), (11, 10), (1, 10)), closed=True)
    polys = qc.consensus("polygon", [[sq], [near], [sq]])
    assert (polys.method, polys.value) == ("iou_cluster", [sq])  # the medoid of the cluster
    texts = ["오늘 날씨가 좋네요", "오늘 날씨가 좋네여", "어제 날씨가 좋네요"]
    best = qc.consensus("transcription", texts)
    assert (best.value, best.method) == ("오늘 날씨가 좋네요", "best_agreeing_text")
    spans = [frozenset({Segment("PS", 0, 3)}), frozenset({Segment("PS", 0, 3), Segment("OG", 4, 6)}),
             frozenset({Segment("PS", 0, 3)})]
    assert qc.consensus("ner", spans).value == frozenset({Segment("PS", 0, 3)})
    assert qc.consensus("bbox", [[Box("c", 0, 0, 1, 1)]]) == qc.Consensus([Box("c", 0, 0, 1, 1)], "single", None)


def _choice(label: str) -> list[dict[str, Any]]:
    return [results.choices([label], to_name="text")]


def _round_trip(t: str, answers: list[list[dict[str, Any]]]) -> tuple[qc.Consensus, Any]:
    """The consensus of ``answers`` and what its Label Studio regions (what refine releases) read back as."""
    c = qc.consensus(t, [qc.extract(t, a) for a in answers])
    regions = qc.consensus_result(t, answers, c)
    return c, None if regions is None else qc.extract(t, regions)


def test_consensus_result_reads_back_as_the_consensus() -> None:
    # classification: the majority's answer; a tie has no consensus to release
    c, back = _round_trip("classification", [_choice("긍정"), _choice("부정"), _choice("긍정")])
    assert back == c.value == "긍정"
    assert _round_trip("classification", [_choice("긍정"), _choice("부정")])[1] is None
    # multi-label: one choices region of the labels a majority chose
    ml = [[results.choices(list(labs), to_name="text", from_name="labels")] for labs in ("xy", "x", "xz")]
    assert _round_trip("multi_label", ml)[1] == frozenset("x")
    # boxes: the two agreeing boxes averaged (x 10% and 12% -> 11%), the stray box dropped
    box = [[results.rectangle(label="c", x=x, y=y, w=20, h=20, image_width=200, image_height=100)]
           for x, y in ((20, 10), (24, 10), (150, 70))]
    c, back = _round_trip("bbox", box)
    assert back == c.value == [Box("c", 11.0, 10.0, 10.0, 20.0)]
    # polygons: the cluster's medoid region, as drawn
    sq = [(0, 0), (100, 0), (100, 50), (0, 50)]
    poly = [[results.polygon(label="c", points=[(x + d, y) for x, y in sq], image_width=200, image_height=100)]
            for d in (0, 8, 0)]
    c, back = _round_trip("polygon", poly)
    assert back == c.value and back[0].points == ((0, 0), (50, 0), (50, 50), (0, 50))
    # NER: the majority's spans, in text order
    ner = [[results.span(label="PS", start=0, end=3, text="홍길동")],
           [results.span(label="OG", start=4, end=6, text="서울"), results.span(label="PS", start=0, end=3,
                                                                              text="홍길동")],
           [results.span(label="PS", start=0, end=3, text="홍길동")]]
    assert _round_trip("ner", ner)[1] == frozenset({Segment("PS", 0, 3)})
    # free text: the best-agreeing annotation, whole
    texts = [results.transcript(t) for t in ("오늘 날씨가 좋네요", "오늘 날씨가 좋네여", "어제 날씨가 좋네요")]
    assert _round_trip("transcription", texts)[1] == "오늘 날씨가 좋네요"


def test_extract_reads_label_studio_regions() -> None:
    box = results.rectangle(label="c", x=16, y=12, w=32, h=24, image_width=160, image_height=120)
    assert qc.extract("bbox", [box]) == [Box("c", 10.0, 10.0, 20.0, 20.0)]
    assert qc.extract("classification", _choice("긍정")) == "긍정"
    assert qc.extract("classification", []) is None
    ner = [{"from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": 0, "end": 3, "text": "홍길동", "labels": ["PS"]}}]
    assert qc.extract("ner", ner) == frozenset({Segment("PS", 0, 3)})
    tr = results.transcript("오늘 날씨", segments=[{"start": 0, "end": 1, "text": "오늘 날씨"}])
    assert qc.extract("transcription", tr) == "오늘 날씨"
    poly = [{"from_name": "label", "to_name": "image", "type": "polygonlabels", "item_index": 2,
             "value": {"points": [[0, 0], [10, 0], [10, 10]], "polygonlabels": ["c"]}}]
    assert qc.extract("polygon", poly) == [Shape("c", ((0, 0), (10, 0), (10, 10)), True, 2)]


def test_run_qc_scores_gold_consensus_reviews_and_annotators() -> None:
    spec = demo_spec("classification")
    anns = [
        # item 1: overlap of three, one dissenter (carol)
        Ann("i1", 1, "alice", _choice("긍정"), lead_time_s=10), Ann("i1", 2, "bob", _choice("긍정"), lead_time_s=20),
        Ann("i1", 3, "carol", _choice("부정")),
        # item 2: a gold task (the ground-truth annotation is the reference), answered wrongly by carol
        Ann("i2", 4, "admin", _choice("중립"), ground_truth=True), Ann("i2", 5, "carol", _choice("부정")),
        # item 3: gold, answered right by alice; bob skipped item 4
        Ann("i3", 6, "admin", _choice("긍정"), ground_truth=True), Ann("i3", 7, "alice", _choice("긍정")),
        Ann("i4", 8, "bob", [], was_cancelled=True), Ann("i4", 9, "alice", _choice("부정")),
    ]
    verdicts = [Verdict(9, "i4", accepted=False, reason="wrong_label"), Verdict(7, "i3", accepted=True)]
    res = qc.run_qc(spec, anns, verdicts)
    items = {r["item_id"]: r for r in res.items}
    assert items["i1"]["consensus"] == '"긍정"' and items["i1"]["consensus_method"] == "majority"
    assert items["i1"]["agreement"] == pytest.approx(1 / 3)  # pairs: (긍,긍)=1 (긍,부)=0 (긍,부)=0
    assert (items["i2"]["gold"], items["i2"]["gold_correct"]) == (True, False)
    assert (items["i3"]["gold_correct"], items["i3"]["review"]) == (True, "accepted")
    assert (items["i4"]["n_annotations"], items["i4"]["review"], items["i4"]["review_reasons"]) == (
        1, "rejected", ["wrong_label"])
    assert items["i4"]["gold_correct"] is None and items["i1"]["review"] is None
    s = res.summary
    assert s["gold"] == {"items": 2, "correct": 1, "accuracy": 0.5}
    assert s["review"]["semantic_accuracy"] == 0.5 and s["review"]["rejection_reasons"] == {"wrong_label": 1}
    assert s["agreement"]["metric"] == "krippendorff_alpha" and s["agreement"]["overlap_items"] == 1
    cards = {c["annotator"]: c for c in s["annotators"]}
    assert set(cards) == {"alice", "bob", "carol"}  # the gold author is not an annotator
    assert (cards["alice"]["annotations"], cards["alice"]["gold_accuracy"], cards["alice"]["review_acceptance"]) == (
        3, 1.0, 0.5)
    assert (cards["bob"]["annotations"], cards["bob"]["skipped"]) == (1, 1)
    assert cards["carol"]["gold_accuracy"] == 0.0 and cards["carol"]["agreement_with_consensus"] == 0.0
    assert cards["alice"]["agreement_with_consensus"] == 1.0 and cards["alice"]["mean_lead_time_s"] == 10


def test_every_annotation_type_has_a_metric_a_correctness_bar_and_an_extractor() -> None:
    from pipelines.spec import ANNOTATION_TYPES

    assert set(qc.METRICS) == set(ANNOTATION_TYPES) == set(qc.CORRECT_AT)
    for t in ANNOTATION_TYPES:  # an empty answer is a value too: two of them agree, consensus keeps it
        empty = qc.extract(t, [])
        assert qc.agreement(t, empty, empty) == 1.0, t
        assert qc.consensus(t, [empty, empty]).agreement == 1.0, t


def test_keypoints_and_masks_are_read_from_label_studio_regions() -> None:
    import numpy as np
    from label_studio_sdk.converter.brush import mask2rle

    box = results.rectangle(label="사람", x=0, y=0, w=100, h=100, image_width=200, image_height=100)
    kp = {"from_name": "keypoint", "to_name": "image", "type": "keypointlabels", "original_width": 200,
          "original_height": 100, "value": {"x": 25.0, "y": 50.0, "width": 0.5, "keypointlabels": ["머리"]}}
    (pose,) = qc.extract("keypoints", [box, kp])
    assert pose == Pose("사람", 100 * 100, {"머리": (50.0, 50.0)})  # percent -> pixels, inside the box

    mask = np.zeros((4, 4), dtype=np.uint8)
    mask[:2, :] = 255
    brush = {"from_name": "label", "to_name": "image", "type": "brushlabels", "original_width": 4,
             "original_height": 4, "value": {"format": "rle", "rle": mask2rle(mask), "brushlabels": ["균열"]}}
    masks = qc.extract("segmentation", [brush])
    assert masks["균열"].sum() == 8
    half = np.zeros((4, 4), dtype=np.uint8)
    half[:1, :] = 255
    other = {**brush, "value": {**brush["value"], "rle": mask2rle(half)}}
    assert qc.agreement("segmentation", masks, qc.extract("segmentation", [other])) == pytest.approx(4 / 8)


def _spoken(*speakers: str, text: str = "가나다 라마바 사아자") -> list[dict[str, Any]]:
    segs = [{"start": 2.0 * i, "end": 2.0 * i + 1.5, "text": f"문장{i}", "speaker": s} for i, s in enumerate(speakers)]
    return results.transcript(text, segments=segs)


def test_speaker_agreement_maps_generic_names_and_scales_the_text_agreement() -> None:
    a = qc.extract("transcription", _spoken("화자1", "화자2", "화자1", "화자2"))
    assert isinstance(a, qc.Spoken) and [t.speaker for t in a.turns] == ["화자1", "화자2", "화자1", "화자2"]
    # the same voices numbered the other way round: the labels are generic, so they agree fully
    swapped = qc.extract("transcription", _spoken("화자2", "화자1", "화자2", "화자1"))
    assert qc.agreement("transcription", a, swapped) == pytest.approx(1.0)
    # one of four segments given to the other voice: speakers agree on 3/4 matched segments
    one_wrong = qc.extract("transcription", _spoken("화자1", "화자2", "화자2", "화자2"))
    assert qc.speaker_agreement(a.turns, one_wrong.turns) == pytest.approx(3 / 4)
    # (1 - CER) x speaker agreement: a wrong speaker alone makes the answer incorrect against a gold one
    assert qc.agreement("transcription", a, one_wrong) == pytest.approx(3 / 4)
    assert qc.agreement("transcription", one_wrong, a) < qc.CORRECT_AT["transcription"]
    # speakers missing on one side count as disagreeing; a plain transcript still compares as text
    assert qc.agreement("transcription", a, "가나다 라마바 사아자") == 0.0
    assert qc.extract("transcription", results.transcript("가나다")) == "가나다"


def test_consensus_speaker_of_each_segment_is_the_majority_of_its_annotators() -> None:
    res = [_spoken("화자1", "화자2", "화자1", "화자2"),
           _spoken("화자1", "화자2", "화자2", "화자2", text="가나다 라마바 사아자"),  # segment 3 wrong
           # numbered the other way round, segment 4 wrong
           _spoken("화자2", "화자1", "화자2", "화자2", text="가나다 라마바 사아차")]
    values = [qc.extract("transcription", r) for r in res]
    c = qc.consensus("transcription", values)
    assert c.method == "best_agreeing_text_majority_speaker"
    # the medoid is the second answer (identical text to the first, closer to the third); its wrong segment 3 is
    # outvoted (화자1 by the first, 화자1 by the third once mapped), segment 4 stays 화자2 (2 of 3)
    assert [t.speaker for t in c.value.turns] == ["화자1", "화자2", "화자1", "화자2"]
    regions = qc.consensus_result("transcription", res, c)
    assert regions is not None
    said = [r["value"]["choices"][0] for r in regions if r["from_name"] == "speaker"]
    assert said == ["화자1", "화자2", "화자1", "화자2"]
    # refine reads those regions back as the same speakers
    assert qc.extract("transcription", regions) == c.value
