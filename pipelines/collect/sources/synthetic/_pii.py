"""Korean personal data of the kinds a spec must remove, written the many ways people write it.

The synthetic sources plant these in text and transcripts so that de-identification is exercised on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np

from pipelines.collect.sources.synthetic._common import choice, josa
from pipelines.pii.text import luhn_ok, rrn_check_digit

_FALLBACK_NAMES = (
    "김민준",
    "이서연",
    "박지훈",
    "최수민",
    "정다은",
    "강동원",
    "조은비",
    "윤서아",
    "장영수",
    "한지민",
)
_FALLBACK_ADDRESSES = (
    "서울특별시",
    "강남구",
    "테헤란로",
    "부산광역시",
    "해운대구",
    "해운대로",
    "대전광역시",
    "유성구",
    "대학로",
    "경기도",
    "성남시",
    "분당구",
    "판교역로",
    "역삼동",
    "정자동",
)
_BANKS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("국민은행", (6, 2, 6)),
    ("신한은행", (3, 3, 6)),
    ("우리은행", (4, 3, 6)),
    ("하나은행", (3, 6, 5)),
    ("농협", (3, 4, 4, 2)),
    ("기업은행", (3, 6, 2, 3)),
    ("카카오뱅크", (4, 2, 7)),
    ("우체국", (6, 2, 6)),
)
_MAIL_DOMAINS = ("naver.com", "daum.net", "gmail.com", "kakao.com", "hanmail.net", "korea.kr", "nate.com")
_ROMAN = (
    "minjun",
    "seoyeon",
    "jihoon",
    "sumin",
    "daeun",
    "hong.gd",
    "kim_01",
    "lee.sy",
    "park2020",
    "choi.js",
)
_AREA = (
    "02",
    "031",
    "032",
    "033",
    "041",
    "042",
    "043",
    "044",
    "051",
    "052",
    "053",
    "054",
    "055",
    "061",
    "062",
    "063",
    "064",
)


def digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, size=n))


def rrn(rng: np.random.Generator, *, foreigner: bool = False) -> str:
    """A registration number; half carry a valid check digit, half (as since October 2020) do not."""
    born = date(1940, 1, 1) + timedelta(days=int(rng.integers(365 * 70)))
    century_2000 = born.year >= 2000
    gender = int(rng.integers(2))
    # gender digit: 1/2 (1900s) 3/4 (2000s) for citizens, 5/6 and 7/8 for foreign residents
    g = (7 if century_2000 else 5) + gender if foreigner else (3 if century_2000 else 1) + gender
    first12 = f"{born:%y%m%d}{g}{digits(rng, 5)}"
    check = rrn_check_digit(first12) if rng.random() < 0.5 else int(rng.integers(10))
    number = first12 + str(check)
    sep = choice(rng, ("-", "-", "-", " - ", " ", ""))
    return f"{number[:6]}{sep}{number[6:]}"


def phone(rng: np.random.Generator) -> str:
    sep = choice(rng, ("-", "-", " ", ".", ""))
    if rng.random() < 0.7:
        prefix = choice(rng, ("010", "010", "010", "011", "016", "017", "018", "019"))
        mid = digits(rng, 4 if prefix == "010" else int(rng.integers(3, 5)))
        if rng.random() < 0.1:
            return f"+82 {prefix[1:]}-{mid}-{digits(rng, 4)}"
        return f"{prefix}{sep}{mid}{sep}{digits(rng, 4)}"
    area = choice(rng, _AREA)
    mid = str(int(rng.integers(2, 10))) + digits(rng, int(rng.integers(2, 4)))
    if rng.random() < 0.2:
        return f"({area}) {mid}-{digits(rng, 4)}"
    return f"{area}{sep}{mid}{sep}{digits(rng, 4)}"


def email(rng: np.random.Generator) -> str:
    return f"{choice(rng, _ROMAN)}{int(rng.integers(100))}@{choice(rng, _MAIL_DOMAINS)}"


def card(rng: np.random.Generator) -> str:
    amex = rng.random() < 0.15
    body = ("3" + choice(rng, "47") + digits(rng, 12)) if amex else (choice(rng, "459") + digits(rng, 14))
    check = next(str(d) for d in range(10) if luhn_ok(body + str(d)))
    number = body + check
    sep = choice(rng, ("-", " ", ""))
    groups = (4, 6, 5) if amex else (4, 4, 4, 4)
    return _group(number, groups, sep)


def account(rng: np.random.Generator) -> tuple[str, str]:
    """(bank name, account number in that bank's grouping)."""
    bank, groups = choice(rng, _BANKS)
    return bank, _group(digits(rng, sum(groups)), groups, "-")


def _group(number: str, groups: Sequence[int], sep: str) -> str:
    parts, at = [], 0
    for g in groups:
        parts.append(number[at : at + g])
        at += g
    return sep.join(parts)


def address(rng: np.random.Generator, tokens: Sequence[str]) -> str:
    """An address built from dictionary tokens: 시·도 + 시·군·구 + road + number (+ unit)."""
    pool = tokens or _FALLBACK_ADDRESSES
    sido = [t for t in pool if t.endswith(("특별시", "광역시", "특별자치시", "도"))] or list(
        _FALLBACK_ADDRESSES[:1]
    )
    sgg = [t for t in pool if t.endswith(("구", "군")) or (t.endswith("시") and t not in sido)] or ["강남구"]
    road = [t for t in pool if t.endswith(("로", "길"))] or ["테헤란로"]
    out = f"{choice(rng, sido)} {choice(rng, sgg)} {choice(rng, road)} {int(rng.integers(1, 400))}"
    if rng.random() < 0.4:
        out += f" {int(rng.integers(101, 120))}동 {int(rng.integers(1, 25))}{int(rng.integers(1, 5)):02d}호"
    return out


def name(rng: np.random.Generator, names: Sequence[str]) -> str:
    return choice(rng, names or _FALLBACK_NAMES)


def pii_sentence(kind: str, rng: np.random.Generator, dictionaries: dict[str, tuple[str, ...]]) -> str:
    """One sentence that carries personal data of ``kind`` (a ``deidentify.targets`` value)."""
    if kind in ("rrn", "foreigner_rn"):
        number = rrn(rng, foreigner=kind == "foreigner_rn")
        label = (
            "외국인등록번호"
            if kind == "foreigner_rn"
            else choice(rng, ("주민등록번호", "주민번호", "등록번호"))
        )
        return choice(
            rng,
            (
                f"본인 {label}는 {number}입니다.",
                f"{label} {number} 으로 조회해 주세요.",
                f"신청서에 적은 번호는 {number}이고요.",
            ),
        )
    if kind == "phone":
        p = phone(rng)
        return choice(
            rng,
            (
                f"제 연락처는 {p}입니다.",
                f"{p}로 연락 주세요.",
                f"휴대폰 {p} 번으로 문자 부탁드립니다.",
                f"연락은 {p} 쪽으로 해 주시면 됩니다.",
            ),
        )
    if kind == "email":
        e = email(rng)
        return choice(
            rng, (f"회신은 {e}로 부탁드립니다.", f"메일 주소는 {e} 입니다.", f"자료는 {e}으로 보내 주세요.")
        )
    if kind == "card":
        c = card(rng)
        return choice(rng, (f"카드 {c}로 결제했는데 환불이 안 됩니다.", f"결제한 카드번호는 {c}입니다."))
    if kind == "account":
        bank, acc = account(rng)
        return choice(
            rng,
            (
                f"환불은 {bank} {acc} 계좌로 입금해 주세요.",
                f"{bank} 계좌번호 {acc}로 이체했습니다.",
                f"입금 계좌는 {acc} ({bank})입니다.",
            ),
        )
    if kind == "names":
        n = name(rng, dictionaries.get("names", ()))
        return choice(
            rng,
            (
                f"저는 {josa(n, '이라고', '라고')} 합니다.",
                f"담당자 {n} 씨에게 전달 부탁드립니다.",
                f"신청인 {n}입니다.",
                f"{josa(n, '과', '와')} 통화했습니다.",
            ),
        )
    if kind == "addresses":
        a = address(rng, dictionaries.get("addresses", ()))
        return choice(
            rng, (f"주소는 {a}입니다.", f"{a} 앞에서 있었던 일입니다.", f"우편물은 {a}로 보내 주세요.")
        )
    raise ValueError(f"no synthetic personal data of kind {kind!r}")
