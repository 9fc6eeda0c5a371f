"""Korean text items whose class can be learnt from the words, with planted personal data."""

from __future__ import annotations

import csv
import io
import json
import re
import zlib
from typing import Any

import numpy as np

from pipelines.collect.sources.synthetic._common import choice, item_rng, josa
from pipelines.collect.sources.synthetic._pii import pii_sentence
from pipelines.spec.models import TEXT_PII, DatasetSpec, TextModality

PII_SHARE = 0.35  # share of items carrying personal data

# Words every class uses; the label words below are what separates the classes.
_PLACES = (
    "시청 앞",
    "버스 정류장 근처",
    "아파트 단지 안",
    "초등학교 앞",
    "공원 입구",
    "시장 골목",
    "지하철역 출구",
    "주민센터 옆",
    "사거리",
    "다리 아래",
)
_TIMES = (
    "어제 저녁",
    "오늘 아침",
    "지난주부터",
    "새벽 세 시쯤",
    "주말마다",
    "며칠째",
    "점심 무렵",
    "한 달 전부터",
)
_FILLER = (
    "확인 부탁드립니다.",
    "감사합니다.",
    "담당 부서의 답변을 기다리겠습니다.",
    "주민들이 많이 걱정하고 있습니다.",
    "빠른 처리 부탁드립니다.",
    "자세한 내용은 사진을 참고해 주세요.",
    "예전에도 같은 일이 있었습니다.",
    "다른 분들도 비슷한 불편을 말씀하셨습니다.",
)
# Nouns handed to classes (by a hash of the class name) so each class has its own vocabulary.
_NOUN_POOL = (
    "신호등",
    "배수구",
    "가로등",
    "보도블록",
    "쓰레기",
    "소음",
    "악취",
    "누수",
    "균열",
    "주차",
    "과속",
    "공사",
    "연기",
    "불꽃",
    "물웅덩이",
    "토사",
    "전선",
    "가스 냄새",
    "진동",
    "정전",
    "낙석",
    "나무",
    "간판",
    "맨홀",
    "차량",
    "보행자",
    "자전거",
    "놀이터",
    "하천",
    "제설",
    "민원 서류",
    "세금 고지서",
    "수도 요금",
    "복지 급여",
    "공원 벤치",
    "체육관",
    "관광 안내소",
    "일자리 지원",
    "건축 허가",
    "엘리베이터",
)
_TEMPLATES = (
    "{kw_eul} 신고합니다.",
    "{place}에서 {kw} 문제가 발생했습니다.",
    "{time} {kw} 때문에 불편을 겪고 있습니다.",
    "{kw} 관련하여 조치를 요청드립니다.",
    "{place}의 {kw} 상황을 확인해 주세요.",
    "{kw} 건으로 다시 연락드립니다.",
    "{time} {place}에서 {kw_i} 계속되고 있습니다.",
)


def label_keywords(label: str) -> tuple[str, ...]:
    """The words a class's texts are made of: the parts of its name plus three nouns of its own."""
    parts = [p for p in re.split(r"[·/,()\s]+", label) if p]
    h = zlib.crc32(label.encode())
    own = tuple(_NOUN_POOL[(h >> (5 * k)) % len(_NOUN_POOL)] for k in range(3))
    return (label, *parts, *own)


def compose(
    spec: DatasetSpec,
    mod: TextModality,
    *,
    seed: int,
    index: int,
    labels: list[str],
    dictionaries: dict[str, tuple[str, ...]],
) -> tuple[str, list[str]]:
    """(text, planted PII kinds). Length is kept within the modality's [min_chars, max_chars]."""
    rng = item_rng(seed, index, "text")
    keywords = tuple(w for label in labels for w in label_keywords(label)) or tuple(_NOUN_POOL)
    sentences = [_sentence(rng, keywords) for _ in range(int(rng.integers(2, 5)))]
    if rng.random() < 0.7:
        sentences.append(choice(rng, _FILLER))
    planted: list[str] = []
    kinds = sorted(TEXT_PII & set(spec.deidentify.targets))
    pii_rng = item_rng(seed, index, "pii")
    pii_chars = 0
    if kinds and pii_rng.random() < PII_SHARE:
        for _ in range(int(pii_rng.integers(1, 3))):
            kind = choice(pii_rng, kinds)
            planted.append(kind)
            sentence = pii_sentence(kind, pii_rng, dictionaries)
            pii_chars += len(sentence) + 1
            sentences.insert(int(pii_rng.integers(len(sentences) + 1)), sentence)
    text = " ".join(sentences)
    # Long enough without the planted sentences: masking shortens them, and the masked text must still meet
    # min_chars (validate measures the de-identified text).
    while len(text) - pii_chars < mod.min_chars:
        text += " " + _sentence(rng, keywords)
    if len(text) > mod.max_chars:
        text = text[: mod.max_chars].rstrip()
    return text, planted


def _sentence(rng: np.random.Generator, keywords: tuple[str, ...]) -> str:
    kw = choice(rng, keywords)
    return choice(rng, _TEMPLATES).format(
        kw=kw,
        kw_eul=josa(kw, "을", "를"),
        kw_i=josa(kw, "이", "가"),
        place=choice(rng, _PLACES),
        time=choice(rng, _TIMES),
    )


def wrap(text: str, *, fmt: str, index: int) -> bytes | str:
    """The text in the item's file format (the caller encodes a ``str``)."""
    if fmt == "txt":
        return text
    record: dict[str, Any] = {"id": index, "text": text}
    if fmt == "json":
        return json.dumps(record, ensure_ascii=False, indent=1)
    if fmt == "jsonl":
        return json.dumps(record, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["id", "text"])
        w.writerow([index, text])
        return buf.getvalue()
    raise ValueError(f"no synthetic text format {fmt!r}")


def encode(text: str, rng: np.random.Generator, encodings: list[str]) -> tuple[bytes, str]:
    """Bytes in one of the accepted encodings (mostly UTF-8; CP949 / EUC-KR as legacy systems export)."""
    options = ["utf-8"] * 6 + [e for e in encodings if e != "utf-8"] * 2
    enc = choice(rng, [e for e in options if e in encodings] or ["utf-8"])
    try:
        return text.encode(enc), enc
    except (
        UnicodeEncodeError
    ):  # a character outside EUC-KR/CP949: such a file would have been exported as UTF-8
        return text.encode("utf-8"), "utf-8"
