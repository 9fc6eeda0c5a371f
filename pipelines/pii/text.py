"""Korean personal data in text: find it, replace it with typed placeholders, and say what was done.

Always on, whatever a spec's ``deidentify.targets`` say (``ALWAYS_MASKED``): the unique identifying information of
Korean law (고유식별정보: resident and foreigner registration, passport and driver's licence numbers) plus phone,
e-mail, card, account and vehicle plate numbers. A spec adds ``names`` and ``addresses``; it never drops these.

- ``rrn`` / ``foreigner_rn``: 주민등록번호 and 외국인등록번호 share the YYMMDD-GNNNNNN form, so either
  target enables both (the gender digit tells them apart). A valid check digit raises confidence but is not
  required: numbers issued since October 2020 carry none.
- ``phone``: mobile (010, 011, 016-019), area codes (02, 031-064) and 070, with ``-``, ``.``, space or nothing
  between groups, ``(02)`` and ``+82`` forms.
- ``email``; ``card`` (13-19 digits, Luhn-valid, grouped 4-4-4-4 / 4-6-5 or plain); ``account`` (Korean bank
  groupings; context words such as 계좌 or 입금 raise confidence, and are required for ungrouped digit runs).
- ``passport``: ``M12345678``, the 2021 form ``M123A4567``, and older one/two letters + 7-8 digits next to 여권.
- ``driver_licence``: ``11-12-345678-90`` (region code) or ``서울 12-345678-90`` (region name).
- ``plate``: vehicle plates ``12가 3456``, ``123가 4567``, ``서울 12가 3456`` / ``서울12가3456``.
- ``names``: dictionary words, labelled fields (``성명:``; after ``이름:``/``예금주:`` or ``이름은 ... 입니다`` also a
  foreign name in Hangul or Latin letters, several words long: ``응우옌 반 안``, ``John Smith``), and proper nouns
  the morphological analyser Kiwi tags
  (NNP) that the context makes a person: honorifics (님, 씨, 선생님), roles before (환자, 고객, 담당자),
  particles after (에게, 한테, 께서), or the surname + given-name shape; place and organisation names are kept.
- ``addresses``: road and lot addresses down to the unit (``101동 1203호``, ``3층``, ``B1층``, ``지하 1층``).

Matching runs on a copy with full-width forms and Unicode dashes folded to ASCII, and runs of Hangul numerals
(공일공 일이삼사 …, as transcribers write what they hear) folded to digits: each fold keeps the length, so spans hold.
"""

from __future__ import annotations

import calendar
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pipelines.pii.names import Analyses, person_names

TEXT_RULES_VERSION = "ko-pii/3"
PLACEHOLDERS = {
    "rrn": "[주민등록번호]",
    "foreigner_rn": "[외국인등록번호]",
    "passport": "[여권번호]",
    "driver_licence": "[운전면허번호]",
    "plate": "[차량번호]",
    "phone": "[전화번호]",
    "email": "[이메일]",
    "card": "[카드번호]",
    "account": "[계좌번호]",
    "names": "[이름]",
    "addresses": "[주소]",
}
_PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))
# When two findings overlap, the more confident wins; on a tie, the kind listed first.
_PRIORITY = (
    "email", "rrn", "foreigner_rn", "driver_licence", "passport", "card", "phone", "account", "plate", "addresses",
    "names",
)
MASK_THRESHOLD = 0.5
# Masked whatever a spec lists: 고유식별정보 (the law's unique identifiers) and the numbers that reach a person.
ALWAYS_MASKED = frozenset(
    {"rrn", "foreigner_rn", "passport", "driver_licence", "phone", "email", "card", "account", "plate"}
)

_FOLD = str.maketrans(
    {
        **{chr(0xFF01 + i): chr(0x21 + i) for i in range(94)},
        "\u3000": " ",
        **dict.fromkeys("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f", " "),
        **dict.fromkeys("‐‑‒–—―−﹣", "-"),
    }
)
# Invisible format characters: nothing a reader sees, but enough to split "010<ZWSP>1234" or "홍<ZWSP>길동" away from
# every rule. Removed before the search (a zero-width joiner only between letters or digits, not in emoji).
_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|(?<=\\w)\u200d|\u200d(?=\\w)"
)
# Runs of Sino-Korean digit syllables as a transcriber types a spoken number (공일공 일이삼사 오육칠팔): nine or more
# with at most one separator between them are a number, not words ("이 사이 오일" has five).
_HANGUL_DIGITS = {"공": "0", "영": "0", "빵": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5", "육": "6",
                  "륙": "6", "칠": "7", "팔": "8", "구": "9"}
_HD = "[0-9" + "".join(_HANGUL_DIGITS) + "]"
# "공일공에 일이삼사에 오육칠팔": spoken groups are often joined by 에, folded to a hyphen (a separator the rules know).
_HANGUL_NUMBER = re.compile(_HD + r"(?:(?:\s?에\s?|[\s./-])?" + _HD + "){8,}")
_HANGUL_FOLD = str.maketrans({**_HANGUL_DIGITS, "에": "-"})
_NB = r"(?<![0-9])(?<![0-9][.-])"  # not inside a longer number
_NA = r"(?![0-9])(?![.-][0-9])"

_RRN = re.compile(_NB + r"(\d{2})(\d{2})(\d{2})(\s?-\s?|\s)?(\d)(\d{5})(\d)" + _NA)
_PHONE = re.compile(
    _NB + r"(?<!\+)(?:(?P<intl>\+82[\s.-]?(?:\(0\))?)|(?P<paren>\()?0)"
    r"(?P<area>1[016789]|2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70)(?(paren)\))"
    r"(?P<s1>\s?[-./]\s?|\s)?(?P<mid>\d{3,4})(?P<s2>\s?[-./]\s?|\s)?(?P<last>\d{4})" + _NA
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
_CARD = re.compile(
    _NB + r"(?:\d{4}(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{4}(?:(?P=s)\d{1,3})?"
    r"|\d{4}(?P<t>[ -])\d{6}(?P=t)\d{4,5}|\d{13,19})" + _NA
)
_ACCOUNT_GROUPED = re.compile(_NB + r"\d{2,6}(?:-\d{2,7}){1,3}" + _NA)
_ACCOUNT_PLAIN = re.compile(_NB + r"\d{10,14}" + _NA)

# Korean passports: M/S/R/G/D/T + 8 digits, since 2021 M + 3 digits + a letter + 4 digits; older or foreign ones
# (one or two letters + 7-8 digits) only next to a passport word.
_PASSPORT_SHAPE = re.compile(r"(?<![A-Za-z0-9])(?:[MSRGDT]\d{8}|[MSRGDT]\d{3}[A-Z]\d{4})(?![A-Za-z0-9])")
_PASSPORT_LOOSE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{1,2}\d{7,8}(?![A-Za-z0-9])")
_PASSPORT_CONTEXT = re.compile(r"여권|[Pp]assport|PASSPORT")
_LICENCE_REGIONS = "서울|부산|경기|경기남부|경기북부|강원|충북|충남|전북|전남|경북|경남|제주|대구|인천|광주|대전|울산"
_SEP = r"(?:\s?[-./]\s?|\s)"
# 운전면허번호: 2-digit region code (11-28) or the region's name, then 2-6-2 digits.
_LICENCE = re.compile(
    r"(?:(?<![0-9])(?:1[1-9]|2[0-8])" + _SEP + "|(?<![가-힣])(?:" + _LICENCE_REGIONS + r")\s?)"
    r"\d{2}" + _SEP + r"\d{6}" + _SEP + r"\d{2}" + _NA
)
_LICENCE_PLAIN = re.compile(_NB + r"(?:1[1-9]|2[0-8])\d{10}" + _NA)
_LICENCE_CONTEXT = re.compile(r"면허")
# 자동차 등록번호판: 2-3 digits, a Hangul letter of the plate set, 4 digits; an optional region (old plates).
_PLATE_LETTERS = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호육공해국합"
_PLATE = re.compile(
    r"(?:(?<![가-힣])(?:" + _LICENCE_REGIONS + r"|세종)\s?)?(?<![0-9])\d{2,3}\s?[" + _PLATE_LETTERS + r"]\s?\d{4}"
    + _NA
)
_PLATE_CONTEXT = re.compile(r"차량|번호판|차번호|자동차|주차|승용차|택시|트럭|오토바이|차주")
_RRN_CONTEXT = re.compile(r"주민|등록\s?번호|외국인|생년월일")
_PHONE_CONTEXT = re.compile(r"전화|연락|휴대|핸드폰|폰|번호|문자|콜|tel|TEL|Tel|☎|📞")
_CARD_CONTEXT = re.compile(r"카드|결제|card|CARD")
_ACCOUNT_CONTEXT = re.compile(
    r"계좌|입금|송금|이체|환불|예금주|은행|뱅크|농협|우체국|새마을금고|신협|수협|증권|국민|신한|우리|하나|기업|카카오|토스|"
    r"케이뱅크|씨티|SC제일|[Aa]ccount|[Aa]cct"
)

_JOSA = (
    r"(?=$|[^가-힣]|씨|님|군|양|은|는|이|가|을|를|의|에게|에|께|와|과|도|만|랑|하고|한테|입니다|이다|이고|이며|"
    r"이라|라고|이에|예요|으로|로|부터|까지|처럼|보다|선생|고객|환자|학생|대리|과장|부장|팀장|원장|기사|주무관)"
)
_SURNAMES = (
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진"
    "나지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용"
)
_NAME_FIELD = re.compile(
    r"(?:성명|이름|성함|예금주)\s?(?:은|는|이|:|：)?\s?(?P<name>[" + _SURNAMES + r"][가-힣]{1,3}?)" + _JOSA
)
# A name given after its label may be a foreign one written in Hangul or Latin letters, in several words (응우옌 반
# 안, 마이클 존슨, John Smith), which neither the surname rule above nor Kiwi reads as a name. Two forms whose context
# leaves no doubt: a labelled field (``이름: 응우옌 반 안,`` up to a comma, a bracket, a line end or the next label)
# and a sentence that says it (``제 이름은 마이클 존슨이에요``: 은/는, then the name, then a copula or 라고).
_NAME_WORD = r"(?:[가-힣]{1,8}|[A-Z][A-Za-z'’-]{1,15})"
# a word after the name that is a particle or a predicate (박보검 으로 확인됩니다) ends it
_NOT_NAME_WORD = (r"(?:(?:으로|로|은|는|이|가|을|를|와|과|에|에게|께|의|도|만)(?:$|[^가-힣])"
                  r"|[가-힣]*(?:다|요)(?:$|[^가-힣]))")
_NAME_WORDS = _NAME_WORD + r"(?:[ ·](?!" + _NOT_NAME_WORD + r")" + _NAME_WORD + r"){0,3}?"
_NAME_WORDS_SAID = _NAME_WORD + r"(?:[ ·]" + _NAME_WORD + r"){0,3}?"  # the copula right after closes it
_COPULA = r"(?:입니다|이에요|예요|이고|이며|이라고|라고|이요|이라|님|씨)"
_NAME_LABELLED = re.compile(
    r"(?:성명|이름|성함|예금주|환자명|고객명|신청인명)\s?[:：]\s?(?P<name>" + _NAME_WORDS + r")"
    r"(?=" + _COPULA + r"?\s*(?:$|[,;/\n()\[\]<>]|\s{2}|\s[가-힣A-Za-z]{1,8}\s?[:：])|\s" + _NOT_NAME_WORD + r")"
)
_NAME_SAID = re.compile(
    r"(?:이름|성함|성명)\s?(?:은|는)\s(?!(?:뭐|무엇|누구|모름|비밀|없)[^가-힣]?)(?P<name>" + _NAME_WORDS_SAID + r")"
    r"(?=" + _COPULA + r"(?:$|[^가-힣]|합니다|해요|하고))"
)
# "파일 이름:", "가게 이름은": the name of a thing, not of a person.
_THING_NAME = re.compile(
    r"(?:파일|폴더|문서|제품|상품|회사|업체|가게|상호|단체|학교|도로|건물|아파트|프로그램|앱|계정|사이트|팀|메뉴|모델|"
    r"반려견|강아지|고양이|동물|식당|병원|약)\s?의?\s?$"
)
_ADMIN_GENERIC = r"[가-힣]{1,6}(?:특별자치시|특별자치도|특별시|광역시|도|시|군|구|읍|면|동)"
_ROAD_SUFFIX = ("로", "길")
_SIDO_SHORT = frozenset(
    {
        "서울",
        "부산",
        "대구",
        "인천",
        "광주",
        "대전",
        "울산",
        "세종",
        "경기",
        "강원",
        "충북",
        "충남",
        "전북",
        "전남",
        "경북",
        "경남",
        "제주",
    }
)
_LOT_SUFFIX = ("동", "리", "가", "읍", "면")
# A place name ends at a non-Hangul character or a particle (서울특별시 강남구 삼성동에서).
_PLACE_END = r"(?=$|[^가-힣]|에|의|으로|로|은|는|이|가|을|를|과|와|까지|부터|일대|근처|인근)"
# Counters that make "<place> 3개" a quantity, not an address.
_NOT_ADDRESS_NUMBER = (
    r"(?!\s?(?:개|그릇|명|곳|시간|시|분|초|원|번째|일|월|년|세|살|대|건|회|차|배|위|등|권|호선|%|kg|km|mm|cm))"
)


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: where it was in the text (before masking) and how sure the rule is."""

    kind: str
    start: int
    end: int
    rule: str
    confidence: float

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.kind]

    def as_dict(self) -> dict[str, Any]:
        """For the audit record: never the value itself."""
        return {**asdict(self), "confidence": round(self.confidence, 3), "placeholder": self.placeholder}


def _rrn_weighted(first12: str) -> int:
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    return sum(int(d) * w for d, w in zip(first12, weights, strict=True)) % 11


def rrn_check_digit(first12: str) -> int:
    """The 주민등록번호 check digit (numbers issued before October 2020 carry it)."""
    return (11 - _rrn_weighted(first12)) % 10


def rrn_check_ok(digits13: str) -> bool:
    """Whether the last digit is the check digit (주민등록번호, or the older 외국인등록번호 formula)."""
    last = int(digits13[12])
    return last in (rrn_check_digit(digits13[:12]), (13 - _rrn_weighted(digits13[:12])) % 10)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class TextDeidentifier:
    """Compiled rules for a set of targets and dictionaries; reuse one per spec (compiling is the slow part).

    Args:
        targets: ``deidentify.targets`` values; visual ones are ignored. ``ALWAYS_MASKED`` is added to them.
        dictionaries: ``{"names": [...], "addresses": [...]}`` word lists.
    """

    def __init__(
        self, *, targets: Iterable[str], dictionaries: Mapping[str, Iterable[str]] | None = None
    ) -> None:
        self.targets = frozenset(targets) | ALWAYS_MASKED
        dicts = dictionaries or {}
        names = sorted({n.strip() for n in dicts.get("names", ()) if n.strip()}, key=len, reverse=True)
        places = sorted({p.strip() for p in dicts.get("addresses", ()) if p.strip()}, key=len, reverse=True)
        self._names = (
            re.compile(r"(?<![가-힣])(?:" + "|".join(map(re.escape, names)) + r")" + _JOSA) if names else None
        )
        admin = "|".join(map(re.escape, places)) if places else _ADMIN_GENERIC
        self._address = re.compile(
            r"(?<![가-힣])(?P<admin>(?:(?:" + admin + r")" + _PLACE_END + r"\s?){1,5})"
            r"(?P<num>(?:(?P<road>[가-힣0-9]{1,12}(?:로|길)(?:\s?\d{1,4}(?:번길|길))?\s?)"
            r"|(?P<lot>(?:[가-힣0-9]{1,8}(?:읍|면|동|리|가)\s?){1,2}))?(?:산\s?)?"
            r"\d{1,5}(?P<hyphen>-\d{1,4})?(?P<bunji>번지)?(?![0-9])" + _NOT_ADDRESS_NUMBER + r")?"
            r"(?P<detail>(?:\s?,?\s?(?:[A-Za-z]?\d{1,4}동|(?:[Bb]|지하\s?)\d{1,2}층|\d{1,3}층|\d{1,5}호)(?![0-9]))+)?"
        )
        self._has_place_dict = bool(places)

    # ------------------------------------------------------------------------------------------ public
    def find(self, text: str) -> list[Finding]:
        """Non-overlapping findings at or above the masking threshold, in text order."""
        return self._find(text, {})

    def _find(self, text: str, analyses: Analyses) -> list[Finding]:
        # Placeholders of an earlier pass are no context: "[계좌번호]" must not make the next number an account.
        folded = _PLACEHOLDER_RE.sub(lambda m: "[" + "#" * (len(m.group(0)) - 2) + "]", text.translate(_FOLD))
        folded = _HANGUL_NUMBER.sub(_fold_spoken_digits, folded)
        candidates = [f for f in self._candidates(folded, analyses) if f.confidence >= MASK_THRESHOLD]
        candidates.sort(key=lambda f: (-f.confidence, _PRIORITY.index(f.kind), -(f.end - f.start), f.start))
        chosen: list[Finding] = []
        for f in candidates:
            if all(f.end <= c.start or c.end <= f.start for c in chosen):
                chosen.append(f)
        return sorted(chosen, key=lambda f: f.start)

    def mask(self, text: str) -> tuple[str, list[Finding]]:
        """(text with every finding replaced by its placeholder, the findings, spans in ``text``).

        Masking shortens the text, which brings context words closer to the numbers around them (a bank's name
        21 characters before a digit run is no context; after its account became ``[계좌번호]`` it is). So the
        masked text is searched again and what that finds is masked too, until nothing is found (the stage's
        re-check would quarantine the item otherwise): when in doubt, mask.
        """
        out, findings, _ = self.mask_checked(text)
        return out, findings

    def mask_checked(self, text: str) -> tuple[str, list[Finding], list[Finding]]:
        """``mask``, plus what a search of the masked text still finds (empty unless masking failed).

        The text is put in NFC and stripped of invisible format characters first (zero-width spaces, soft hyphens,
        bidi marks), and the masked text and the findings' spans refer to that text: Korean typed on macOS often
        arrives decomposed (NFD), where no name, address or context word of the rules would match, and a zero-width
        space splits a phone number for a regex but not for a reader.
        """
        text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
        # the re-checks analyse again only the sentences masking changed (the analyser's reading is per sentence)
        analyses: Analyses = {}
        findings = self._find(text, analyses)
        for _ in range(3):
            out = _apply(text, findings)
            more = self._find(out, analyses)
            if not more:
                return out, findings, []
            findings = _merge(findings, [_to_original(f, findings) for f in more])
        out = _apply(text, findings)
        return out, findings, self._find(out, analyses)

    # ------------------------------------------------------------------------------------------- rules
    def _candidates(self, t: str, analyses: Analyses) -> Iterable[Finding]:
        want = self.targets
        if want & {"rrn", "foreigner_rn"}:
            yield from self._rrn(t)
        if "phone" in want:
            yield from self._phone(t)
        if "email" in want:
            yield from (Finding("email", m.start(), m.end(), "email", 0.99) for m in _EMAIL.finditer(t))
        if "card" in want:
            yield from self._card(t)
        if "account" in want:
            yield from self._account(t)
        if "passport" in want:
            yield from self._passport(t)
        if "driver_licence" in want:
            yield from self._licence(t)
        if "plate" in want:
            yield from self._plate(t)
        if "names" in want:
            yield from self._names_found(t, analyses)
        if "addresses" in want:
            yield from self._addresses(t)

    def _rrn(self, t: str) -> Iterable[Finding]:
        for m in _RRN.finditer(t):
            yy, mm, dd, sep, g = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)
            if not 1 <= mm <= 12 or not 1 <= dd <= calendar.monthrange(2000, mm)[1]:
                continue
            digits = yy + m.group(2) + m.group(3) + g + m.group(6) + m.group(7)
            conf = 0.85 if sep else 0.7
            rule = "rrn-form"
            if rrn_check_ok(digits):
                conf, rule = conf + 0.13, "rrn-checksum"
            if _near(_RRN_CONTEXT, t, m.start(), m.end()):
                conf += 0.1
            elif not sep and _near(_ACCOUNT_CONTEXT, t, m.start(), m.end()):
                conf -= 0.2  # 13 bare digits next to a bank's name are an account that looks like a date
            kind = "foreigner_rn" if g in "5678" else "rrn"
            yield Finding(kind, m.start(), m.end(), rule, round(min(conf, 0.99), 3))

    def _phone(self, t: str) -> Iterable[Finding]:
        for m in _PHONE.finditer(t):
            seps = sum(1 for k in ("s1", "s2") if m.group(k)) + (1 if m.group("paren") else 0)
            mobile = m.group("area").startswith("1")
            if seps >= 2 or m.group("intl"):
                conf = 0.95
            elif seps == 1:
                conf = 0.9
            else:
                conf = 0.85 if mobile else 0.6
            if _near(_PHONE_CONTEXT, t, m.start(), m.end()):
                conf += 0.04
            yield Finding(
                "phone", m.start(), m.end(), "phone-mobile" if mobile else "phone-area", min(conf, 0.99)
            )

    def _card(self, t: str) -> Iterable[Finding]:
        for m in _CARD.finditer(t):
            digits = re.sub(r"\D", "", m.group(0))
            if not 13 <= len(digits) <= 19 or not luhn_ok(digits):
                continue
            # A bare digit run passes Luhn one time in ten: without grouping or a card word it yields to an
            # account or registration-number reading of the same digits (their context decides).
            conf = 0.95 if len(digits) != len(m.group(0)) else 0.75 if len(digits) > 13 else 0.6
            if _near(_CARD_CONTEXT, t, m.start(), m.end()):
                conf += 0.04 if conf > 0.9 else 0.2
            yield Finding("card", m.start(), m.end(), "card-luhn", round(min(conf, 0.99), 3))

    def _account(self, t: str) -> Iterable[Finding]:
        for m in _ACCOUNT_GROUPED.finditer(t):
            n = sum(c.isdigit() for c in m.group(0))
            if not 10 <= n <= 14:
                continue
            context = _near(_ACCOUNT_CONTEXT, t, m.start(), m.end())
            yield Finding("account", m.start(), m.end(), "account-grouped", 0.9 if context else 0.6)
        for m in _ACCOUNT_PLAIN.finditer(t):
            if _near(_ACCOUNT_CONTEXT, t, m.start(), m.end()):
                yield Finding("account", m.start(), m.end(), "account-context", 0.8)

    def _passport(self, t: str) -> Iterable[Finding]:
        for m in _PASSPORT_SHAPE.finditer(t):
            context = _near(_PASSPORT_CONTEXT, t, m.start(), m.end())
            yield Finding("passport", m.start(), m.end(), "passport-shape", 0.95 if context else 0.8)
        for m in _PASSPORT_LOOSE.finditer(t):
            if _near(_PASSPORT_CONTEXT, t, m.start(), m.end()):
                yield Finding("passport", m.start(), m.end(), "passport-context", 0.9)

    def _licence(self, t: str) -> Iterable[Finding]:
        for m in _LICENCE.finditer(t):
            context = _near(_LICENCE_CONTEXT, t, m.start(), m.end())
            yield Finding("driver_licence", m.start(), m.end(), "licence-form", 0.97 if context else 0.92)
        for m in _LICENCE_PLAIN.finditer(t):
            if _near(_LICENCE_CONTEXT, t, m.start(), m.end()):
                yield Finding("driver_licence", m.start(), m.end(), "licence-context", 0.9)

    def _plate(self, t: str) -> Iterable[Finding]:
        for m in _PLATE.finditer(t):
            context = _near(_PLATE_CONTEXT, t, m.start(), m.end())
            yield Finding("plate", m.start(), m.end(), "plate-form", 0.95 if context else 0.8)

    def _names_found(self, t: str, analyses: Analyses) -> Iterable[Finding]:
        if self._names is not None:
            yield from (
                Finding("names", m.start(), m.end(), "name-dictionary", 0.9) for m in self._names.finditer(t)
            )
        for m in _NAME_FIELD.finditer(t):
            yield Finding("names", m.start("name"), m.end("name"), "name-field", 0.85)
        for pattern in (_NAME_LABELLED, _NAME_SAID):
            for m in pattern.finditer(t):
                if not _THING_NAME.search(t, max(0, m.start() - 8), m.start()):
                    yield Finding("names", m.start("name"), m.end("name"), "name-field", 0.85)
        for n in person_names(t, analyses=analyses):
            yield Finding("names", n.start, n.end, n.rule, n.confidence)

    def _addresses(self, t: str) -> Iterable[Finding]:
        for m in self._address.finditer(t):
            admin = m.group("admin").strip()
            tokens = admin.split()
            last = tokens[-1] if tokens else ""
            num = m.group("num")
            if num and (
                m.group("road")
                or m.group("lot")
                or last.endswith(_ROAD_SUFFIX)
                or last.endswith(_LOT_SUFFIX)
                or m.group("hyphen")
                or m.group("bunji")
                or m.group("detail")
            ):
                yield Finding("addresses", m.start(), m.end(), "address-number", 0.9)
            elif (
                len(tokens) >= 3 and len({_place_level(tok) for tok in tokens}) >= 2 and self._has_place_dict
            ):
                end = m.start("admin") + len(m.group("admin").rstrip())
                yield Finding("addresses", m.start(), end, "address-places", 0.7)


def _fold_spoken_digits(m: re.Match[str]) -> str:
    run = m.group(0)
    # a written number followed by a particle (1234567이고) is not a spoken one: four spoken digits at least
    if sum(ch in _HANGUL_DIGITS for ch in run) < 4:
        return run
    # "오육칠팔이요": the copula 이 after a four-digit group is not a fifth digit
    if run.endswith("이") and len(re.split(r"[\s./에-]", run)[-1]) == 5:
        return run[:-1].translate(_HANGUL_FOLD) + "이"
    return run.translate(_HANGUL_FOLD)


def _apply(text: str, findings: list[Finding]) -> str:
    out = text
    for f in sorted(findings, key=lambda f: f.start, reverse=True):
        out = out[: f.start] + f.placeholder + out[f.end :]
    return out


def _to_original(f: Finding, applied: list[Finding]) -> Finding:
    """A finding in masked text, with its span moved back into the text before masking."""

    def back(pos: int, *, end: bool) -> int:
        shift = 0
        masked_at = 0  # where the current placeholder starts in the masked text
        for a in sorted(applied, key=lambda x: x.start):
            masked_at = a.start - shift
            masked_end = masked_at + len(a.placeholder)
            if pos < masked_at or (pos == masked_at and not end):
                break
            if pos < masked_end or (pos == masked_end and end):
                return a.end if end else a.start  # inside a placeholder: its whole original span
            shift += (a.end - a.start) - len(a.placeholder)  # original characters each placeholder replaced
        return pos + shift

    return Finding(f.kind, back(f.start, end=False), back(f.end, end=True), f.rule + "+recheck", f.confidence)


def _merge(findings: list[Finding], more: list[Finding]) -> list[Finding]:
    out = list(findings)
    for m in more:
        hit = [f for f in out if f.start < m.end and m.start < f.end]
        if hit:  # a later finding swallowing earlier ones: one span over all of them
            out = [f for f in out if f not in hit]
            out.append(Finding(m.kind, min([m.start] + [f.start for f in hit]),
                               max([m.end] + [f.end for f in hit]), m.rule, m.confidence))
        else:
            out.append(m)
    return sorted(out, key=lambda f: f.start)


def _place_level(token: str) -> str:
    """시·도, 시·군·구, 읍·면·동 or road: three city names in a row are a list, not an address."""
    if token in _SIDO_SHORT:
        return "sido"
    if token.endswith(_ROAD_SUFFIX):
        return "road"
    if token.endswith(_LOT_SUFFIX):
        return "dong"
    if token.endswith(("특별시", "광역시", "특별자치시", "특별자치도", "도")):
        return "sido"
    if token.endswith(("시", "군", "구")):
        return "sigungu"
    return "short"


def _near(
    pattern: re.Pattern[str], text: str, start: int, end: int, *, before: int = 20, after: int = 12
) -> bool:
    return bool(pattern.search(text, max(0, start - before), start)) or bool(
        pattern.search(text[end : end + after])
    )


def deid_text(
    text: str, *, targets: Iterable[str], dictionaries: Mapping[str, Iterable[str]] | None = None
) -> tuple[str, list[Finding]]:
    """Mask the personal data of ``targets`` in ``text``.

    Args:
        text: the text (any length).
        targets: ``deidentify.targets`` values (``rrn``, ``foreigner_rn``, ``phone``, ``email``, ``card``,
            ``account``, ``names``, ``addresses``); others are ignored.
        dictionaries: optional ``{"names": [...], "addresses": [...]}`` word lists.

    Returns:
        (masked text, findings with spans in the original text). Compile a ``TextDeidentifier`` once
        instead when masking many texts.
    """
    return TextDeidentifier(targets=targets, dictionaries=dictionaries).mask(text)


@functools.cache
def _identifier_rules() -> TextDeidentifier:
    return TextDeidentifier(targets=())


def mask_identifiers(text: str) -> str:
    """``text`` with the always-masked identifiers (resident and foreigner numbers, phones, e-mails, cards,
    accounts) replaced; for details that quote an input (a quarantine row's value), which anyone running the
    pipeline reads."""
    return _identifier_rules().mask(text)[0]


def mask_uri(uri: str) -> str:
    """A URI with the always-masked identifiers replaced (searched with percent-escapes decoded, written back
    escaped); unchanged when nothing is found. For quarantine rows and state files, which anyone running the
    pipeline reads: file names like ``홍길동_010-1234-5678.jpg`` happen."""
    from urllib.parse import quote, unquote

    masked, findings = _identifier_rules().mask(unquote(uri))
    return quote(masked, safe=":/?#@!$&'()*+,;=~%") if findings else uri
