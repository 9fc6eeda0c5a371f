"""A Korean PII test corpus, generated independently of the rules under test (and of the synthetic source).

``planted(n_per_kind, seed)`` gives running-text documents with personal data of every kind at known spans,
written the many ways people write them (separators, spacing, full-width digits, with and without context
words); ``pii_free(n, seed)`` gives sentences full of numbers that are not personal data (dates, times,
prices, quantities, product codes, order and tracking numbers, business phone numbers ...) to count false
positives on. Used by ``test_pii_corpus.py`` and ``bench/bench_collect.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

DICT_DIR = Path(__file__).resolve().parents[3] / "schemas" / "dictionaries"
KINDS = ("rrn", "foreigner_rn", "phone", "email", "card", "account", "names", "addresses")
_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _words(name: str) -> list[str]:
    lines = (DICT_DIR / name).read_text(encoding="utf-8").splitlines()
    return [w.strip() for w in lines if w.strip() and not w.startswith("#")]


NAMES = _words("names-ko.txt")
PLACES = _words("addresses-ko.txt")
SIDO = [p for p in PLACES if p.endswith(("특별시", "광역시", "특별자치시", "도"))]
SIGUNGU = [p for p in PLACES if p.endswith(("구", "시", "군")) and p not in SIDO]
ROADS = [p for p in PLACES if p.endswith(("로", "길"))]
DONGS = [p for p in PLACES if p.endswith("동") and p not in SIGUNGU]


@dataclass(frozen=True)
class Planted:
    """One document and where its personal data is."""

    text: str
    spans: tuple[tuple[str, int, int], ...]  # (kind, start, end)


# ---------------------------------------------------------------------------------------------- values


def _check_digit(d12: str) -> int:
    w = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    return (11 - sum(int(a) * b for a, b in zip(d12, w, strict=True)) % 11) % 10


def _registration(rng: random.Random, genders: str) -> str:
    year = rng.randint(1940, 2023)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    g = rng.choice(genders)
    head = f"{year % 100:02d}{month:02d}{day:02d}"
    d12 = head + g + "".join(str(rng.randint(0, 9)) for _ in range(5))
    # since October 2020 the last digit is random: half the numbers carry no valid check digit
    last = _check_digit(d12) if rng.random() < 0.5 else (_check_digit(d12) + rng.randint(1, 9)) % 10
    sep = rng.choice(["-", "-", " - ", " ", "", "–", " -"])
    value = f"{head}{sep}{d12[6:]}{last}"
    return value.translate(_FULLWIDTH) if rng.random() < 0.08 else value


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.55:
        area = rng.choice(["010", "010", "010", "011", "016", "017", "018", "019"])
        mid = f"{rng.randint(2000, 9999)}" if area == "010" or rng.random() < 0.5 else f"{rng.randint(200, 999)}"
    else:
        area = rng.choice(["02", "031", "032", "033", "041", "042", "043", "044", "051", "052", "053", "054",
                           "055", "061", "062", "063", "064", "070"])
        mid = f"{rng.randint(200, 999)}" if rng.random() < 0.5 else f"{rng.randint(2000, 9999)}"
    last = f"{rng.randint(0, 9999):04d}"
    style = rng.randrange(7)
    if style == 0:
        return f"{area}-{mid}-{last}"
    if style == 1:
        return f"{area} {mid} {last}"
    if style == 2:
        return f"{area}.{mid}.{last}"
    if style == 3:
        return f"{area}{mid}{last}" if area.startswith("01") else f"{area}-{mid}-{last}"
    if style == 4:
        return f"({area}) {mid}-{last}" if not area.startswith("01") else f"{area} - {mid} - {last}"
    if style == 5:
        return f"+82 {area[1:]}-{mid}-{last}"
    return f"{area}－{mid}－{last}"


def _email(rng: random.Random) -> str:
    user = rng.choice(["hong", "kim.minjun", "seoyeon_lee", "park+complaint", "jh.choi82", "user2024", "abc.def.g"])
    domain = rng.choice(["naver.com", "daum.net", "gmail.com", "kakao.com", "korea.kr", "snu.ac.kr", "hanmail.net",
                         "company.co.kr"])
    return f"{user}{rng.randint(1, 999) if rng.random() < 0.5 else ''}@{domain}"


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _card(rng: random.Random) -> str:
    if rng.random() < 0.2:
        n = _luhn_complete(rng.choice(["34", "37"]), 15, rng)
        return f"{n[:4]} {n[4:10]} {n[10:]}" if rng.random() < 0.5 else f"{n[:4]}-{n[4:10]}-{n[10:]}"
    n = _luhn_complete(rng.choice(["4", "5", "9410", "6"]), 16, rng)
    sep = rng.choice(["-", " ", "", "-"])
    return sep.join(n[i : i + 4] for i in range(0, 16, 4))


def _account(rng: random.Random) -> tuple[str, str]:
    """(bank context, number)."""
    def digits(k: int) -> str:
        return "".join(str(rng.randint(0, 9)) for _ in range(k))

    bank, number = rng.choice([
        ("국민은행", f"{digits(6)}-{digits(2)}-{digits(6)}"),
        ("신한은행", f"110-{digits(3)}-{digits(6)}"),
        ("우리은행", f"1002-{digits(3)}-{digits(6)}"),
        ("농협", f"{digits(3)}-{digits(4)}-{digits(4)}-{digits(2)}"),
        ("하나은행", f"{digits(3)}-{digits(6)}-{digits(5)}"),
        ("카카오뱅크", f"3333-{digits(2)}-{digits(7)}"),
        ("기업은행", f"{digits(3)}-{digits(6)}-{digits(2)}-{digits(3)}"),
        ("우체국", f"{digits(6)}-{digits(2)}-{digits(6)}"),
        ("토스뱅크", f"1000-{digits(4)}-{digits(4)}"),
        ("계좌번호", digits(rng.choice([11, 12, 13, 14]))),
    ])
    return bank, number


def _address(rng: random.Random) -> str:
    sido, gu = rng.choice(SIDO), rng.choice(SIGUNGU)
    if rng.random() < 0.5:
        addr = f"{sido} {gu} {rng.choice(ROADS)} {rng.randint(1, 300)}"
        if rng.random() < 0.4:
            addr += f" {rng.randint(101, 120)}동 {rng.randint(101, 2505)}호"
    else:
        addr = f"{sido} {gu} {rng.choice(DONGS)} {rng.randint(1, 999)}-{rng.randint(1, 99)}"
        if rng.random() < 0.3:
            addr += "번지"
    return addr


# ----------------------------------------------------------------------------------------------- texts

_TEMPLATES: dict[str, list[str]] = {
    "rrn": ["본인 확인을 위해 주민등록번호 {v}를 남깁니다.", "주민번호는 {v} 입니다.", "{v} 으로 조회해 주세요.",
            "신청인 생년월일 및 등록번호: {v}", "제 주민등록번호({v})가 잘못 입력됐어요."],
    "foreigner_rn": ["외국인등록번호 {v} 로 등록했습니다.", "등록번호 {v}인 외국인 근로자입니다.",
                     "외국인 번호는 {v}이고 체류 연장 문의입니다.", "{v} 번으로 조회 부탁드려요."],
    "phone": ["연락은 {v}으로 부탁드립니다.", "휴대폰 {v} 로 문자 주세요.", "담당 부서 전화 {v}",
              "{v}에서 전화가 왔습니다.", "제 번호({v})로 회신 바랍니다.", "낮에는 {v}로 연락 가능해요."],
    "email": ["회신은 {v}으로 보내 주세요.", "메일 주소: {v}", "자료는 {v} 로 받았습니다.", "<{v}>로 문의했습니다."],
    "card": ["카드 {v} 로 결제했는데 두 번 청구됐어요.", "결제한 카드번호는 {v} 입니다.", "{v} 카드 환불 요청합니다.",
             "신용카드({v}) 분실 신고"],
    "account": ["환불은 {b} {v} 계좌로 입금해 주세요.", "{b} {v} (예금주 본인)으로 송금 바랍니다.",
                "입금 계좌: {b} {v}", "{b} 계좌 {v}로 이체했습니다."],
    "names": ["저는 {v}라고 합니다.", "담당자 {v} 씨에게 전달 부탁드립니다.", "{v}님이 어제 방문하셨습니다.",
              "성명: {v}", "민원인 {v}의 요청입니다.", "{v} 과장과 통화했습니다."],
    "addresses": ["주소는 {v}입니다.", "{v} 앞 도로가 파손됐습니다.", "배송지: {v}", "{v}에 거주하고 있어요.",
                  "현장 위치는 {v} 근처입니다."],
}
_FILLER = [
    "빠른 처리 부탁드립니다.", "지난주에도 같은 문제로 신고했어요.", "아이들이 다칠까 걱정입니다.",
    "확인 후 답변 주시면 감사하겠습니다.", "주말에는 더 심합니다.", "사진을 첨부합니다.", "오늘 오전에 발견했습니다.",
]


def _value(kind: str, rng: random.Random) -> tuple[str, dict[str, str]]:
    if kind == "rrn":
        return _registration(rng, "12349"[:4] if rng.random() < 0.9 else "12"), {}
    if kind == "foreigner_rn":
        return _registration(rng, "5678"), {}
    if kind == "phone":
        return _phone(rng), {}
    if kind == "email":
        return _email(rng), {}
    if kind == "card":
        return _card(rng), {}
    if kind == "account":
        bank, number = _account(rng)
        return number, {"b": bank}
    if kind == "names":
        return rng.choice(NAMES), {}
    return _address(rng), {}


def planted(n_per_kind: int = 60, seed: int = 2024) -> list[Planted]:
    """Documents of 1-3 sentences; each kind appears ``n_per_kind`` times (once per document)."""
    rng = random.Random(seed)
    docs: list[Planted] = []
    for kind in KINDS:
        for _ in range(n_per_kind):
            value, extra = _value(kind, rng)
            template = rng.choice(_TEMPLATES[kind])
            before = rng.choice(_FILLER) + rng.choice([" ", "  ", "\n"]) if rng.random() < 0.5 else ""
            after = rng.choice([" ", "\n"]) + rng.choice(_FILLER) if rng.random() < 0.5 else ""
            head, tail = template.split("{v}")
            head = before + head.format(**extra)
            text = head + value + tail.format(**extra) + after
            docs.append(Planted(text, ((kind, len(head), len(head) + len(value)),)))
    return docs


_FREE = [
    "{y}년 {m}월 {d}일에 접수했고 오후 {h}시 {mi}분에 처리됐습니다.",
    "{y}-{m2}-{d2} {h2}:{mi2}에 시스템 점검이 있습니다.",
    "{y}.{m2}.{d2}.부터 {y}.{m2}.{d3}.까지 공사합니다.",
    "가격은 {p:,}원이고 배송비 {s:,}원은 별도입니다.",
    "사과 {q}개와 배 {q2}개, 합계 {kg}kg을 주문했습니다.",
    "상품코드 {code} 재고가 {q}개 남았습니다.",
    "모델명 {model} 제품의 펌웨어 v{v1}.{v2}.{v3} 업데이트가 배포됐습니다.",
    "주문번호 {order} 건의 배송이 지연되고 있습니다.",
    "운송장 번호 {track}으로 조회되지 않습니다.",
    "고객센터 {biz} 로 문의하시면 됩니다.",
    "{bus}번 버스가 {mi}분째 오지 않습니다.",
    "아파트 {dong}동 {ho}호 앞 복도 전등이 나갔어요.",
    "전년 대비 {pct}% 증가했고 목표는 {p:,}건입니다.",
    "회의는 {h}시 {mi}분에 {room}호 회의실에서 합니다.",
    "인구 {pop:,}명 중 {q}명이 응답했습니다.",
    "측정값은 {f1}~{f2} 범위였고 평균 {f3}입니다.",
    "{y}학년도 {q}학기 수강 신청은 {m}월 {d}일까지입니다.",
    "접수번호 {y}-{receipt}로 처리 중입니다.",
    "ISBN {isbn} 도서를 신청했습니다.",
    "좌표 {lat}, {lon} 지점에서 측정했습니다.",
    "{q}층 {room}호 사무실로 오시면 됩니다.",
    "{sido} {gu} 지역 매출이 {pct}% 늘었고 {q}개 매장이 새로 열었습니다.",
    "{gu} 주민 {pop:,}명 가운데 {q}%가 찬성했습니다.",
    "{sido}, {sido2}, {gu} 세 곳에서 {q}건이 접수됐습니다.",
    "{road} 공사로 {h}시부터 {q}분간 통제됩니다.",
]


_PLATE_LETTERS = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주하허호"


def pii_free(n: int = 2000, seed: int = 7) -> list[str]:
    """Sentences with numbers that are not personal data."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(n):
        t = rng.choice(_FREE)
        out.append(t.format(
            y=rng.randint(2015, 2026), m=rng.randint(1, 12), d=rng.randint(1, 28), m2=f"{rng.randint(1, 12):02d}",
            d2=f"{rng.randint(1, 28):02d}", d3=f"{rng.randint(1, 28):02d}", h=rng.randint(1, 12),
            mi=rng.randint(0, 59), h2=f"{rng.randint(0, 23):02d}", mi2=f"{rng.randint(0, 59):02d}",
            p=rng.randint(1, 500) * 100, s=rng.choice([2500, 3000, 3500]), q=rng.randint(1, 50),
            q2=rng.randint(1, 50), kg=round(rng.uniform(0.5, 20), 1),
            code=f"{rng.choice(['SKU', 'PRD', 'AB'])}-{rng.randint(2019, 2026)}-{rng.randint(0, 99999):05d}",
            model=f"{rng.choice(['SM', 'LG', 'KT'])}-{rng.choice('ABGNS')}{rng.randint(100, 999)}{rng.choice('NKLS')}",
            v1=rng.randint(1, 9), v2=rng.randint(0, 20), v3=rng.randint(0, 99),
            order=f"{rng.randint(2019, 2026)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            f"-{rng.randint(0, 999999):06d}",
            track=f"{rng.randint(0, 10**12 - 1):012d}"[:rng.choice([10, 11, 12])],
            biz=rng.choice(["1588", "1577", "1544", "1600", "1899"]) + f"-{rng.randint(0, 9999):04d}",
            bus=rng.randint(1, 9999), dong=rng.randint(101, 130), ho=rng.randint(101, 2505),
            pct=round(rng.uniform(0, 99), 1), room=rng.randint(101, 1299), pop=rng.randint(10_000, 9_999_999),
            f1=round(rng.uniform(0, 10), 2), f2=round(rng.uniform(10, 99), 2), f3=round(rng.uniform(0, 50), 2),
            receipt=f"{rng.randint(0, 99999):05d}", isbn=f"978-89-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}-"
            f"{rng.randint(0, 9)}", lat=round(rng.uniform(33, 38), 5), lon=round(rng.uniform(126, 130), 5),
            plate=f"{rng.randint(10, 399)}{rng.choice(_PLATE_LETTERS)} {rng.randint(1000, 9999)}",
            sido=rng.choice(SIDO), sido2=rng.choice(SIDO), gu=rng.choice(SIGUNGU), road=rng.choice(ROADS),
        ))
    return out
