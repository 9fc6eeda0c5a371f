"""Person names beyond a dictionary: proper nouns Kiwi tags, kept only where the context makes them a person.

Kiwi (``kiwipiepy``, its model ships in the ``kiwipiepy-model`` wheel) tags person, place and organisation names
alike as NNP, so the tag alone says "a name of something". What makes it a person is the context Korean gives:
an honorific after it (님, 씨, 선생님), a role before it (환자, 고객, 담당자), a particle only people take (에게,
한테, 께서), a vocative (서연아), or the surname + given-name shape. A place or organisation suffix (시, 구, 역,
대학교, 병원, 은행 ...) or a following place noun (서울대학교 + 병원) keeps it. Spans are in the text given.

The analyser costs about 2 s to load and ~60 MB: one instance per process, built on first use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, NamedTuple

# Family names, with the two-syllable ones (남궁, 황보 ...) that make a four-syllable full name.
SURNAMES = frozenset(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진"
    "나지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용"
    "경봉빈팽예피감두태견"
)
_DOUBLE_SURNAMES = ("남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방")

# What follows a person (a separate token or glued): 김민준 님, 민준 씨, 박 선생님.
_HONORIFICS = frozenset(
    {
        "님", "씨", "군", "양", "선생", "선생님", "여사", "여사님", "선배", "선배님", "후배", "교수", "교수님",
        "박사", "박사님", "원장", "원장님", "과장", "과장님", "대리", "대리님", "부장", "부장님", "팀장", "팀장님",
        "사장", "사장님", "이사", "실장", "실장님", "주임", "주무관", "간호사", "의사", "기사", "기사님", "고객님",
        "환자", "환자분", "학생", "어르신", "할머니", "할아버지", "아버님", "어머님", "작가", "감독", "변호사",
        "세무사", "회장", "회장님", "대표", "대표님", "매니저", "상담사", "상담원", "담당자", "님께", "님이",
    }
)
# What precedes a person: 환자 이서연, 담당자 박지훈.
_ROLES = frozenset(
    {
        "환자", "고객", "고객님", "담당자", "담당", "기사", "기사님", "배송기사", "상담원", "상담사", "직원", "보호자",
        "학생", "선생님", "의사", "간호사", "주치의", "원장", "교수", "팀장", "과장", "대리", "부장", "사장", "대표",
        "주무관", "민원인", "신청인", "신청자", "작성자", "수취인", "수령인", "받는", "보내는", "예금주", "성명",
        "이름", "성함", "손님", "친구", "동생", "언니", "오빠", "형", "누나", "남편", "아내", "아들", "딸", "엄마",
        "아빠", "어머니", "아버지", "할머니", "할아버지", "이웃", "동료", "선배", "후배", "매니저", "씨", "님",
        "피해자", "가해자", "운전자", "세입자", "집주인", "임차인", "임대인", "계약자", "가입자", "명의자", "본인",
        "고객명", "환자명", "성명란", "접수자", "처리자", "신고자", "배우", "가수", "선수",
    }
)
# Particles and endings a place or organisation does not take (부산에게 is not Korean).
_PERSON_PARTICLES = frozenset({"에게", "한테", "께서", "께", "에게서", "한테서", "더러", "보고"})
# Where a name ends as a place or an organisation.
_ORG_SUFFIXES_LONG = (
    "대학교", "대학", "병원", "의원", "은행", "공원", "공항", "센터", "학교", "시장", "마트", "호텔", "교회", "성당",
    "지점", "본점", "터미널", "해수욕장", "백화점", "아파트", "마을", "빌딩", "타워", "그룹", "전자", "회사", "상사",
    "산업", "건설", "증권", "보험", "카드", "재단", "협회", "위원회", "연구소", "연구원", "박물관", "미술관", "도서관",
    "경찰서", "소방서", "구청", "시청", "도청", "군청", "주민센터", "우체국", "역사", "해변", "계곡", "폭포", "저수지",
    "일보", "신문", "방송", "대교", "터널", "사거리", "삼거리", "광장", "거리", "시내", "캠퍼스", "중학교", "초등학교",
)
_ORG_SUFFIXES_SHORT = tuple("시구동군도읍면리역산강천섬항청관사점대교궁문로길해포당행")
# Well-known places and countries Kiwi tags NNP that read like a surname + given name.
_PLACES = frozenset(
    {
        "한국", "한국어", "한국인", "대한민국", "한겨레", "신세계", "조선", "고려", "백제", "신라", "가야", "한반도",
        "남한", "북한", "미국", "중국", "일본", "영국", "독일", "프랑스", "호주", "캐나다", "러시아", "인도", "태국",
        "베트남", "서울", "부산", "인천", "대구", "대전", "광주", "울산", "세종", "제주", "강원", "경기", "충북",
        "충남", "전북", "전남", "경북", "경남", "강남", "강북", "강서", "강동", "여의도", "명동", "홍대", "신촌",
        "이태원", "해운대", "광안리", "남산", "한강", "한라", "설악", "지리", "성산", "송도", "판교", "분당", "일산",
        "수원", "전주", "경주", "안동", "포항", "창원", "김해", "양산", "구미", "천안", "청주", "춘천", "원주",
        "강릉", "속초", "여수", "순천", "목포", "남원", "군산", "익산", "평택", "안산", "안양", "부천", "성남",
        "용인", "고양", "파주", "김포", "하남", "남양주", "의정부", "동대문", "남대문", "서대문", "종로", "을지로",
        "삼성", "현대", "기아", "한화", "롯데", "신한", "우리", "하나", "국민", "농협", "카카오", "네이버", "쿠팡",
        "배민", "토스", "유튜브", "구글", "애플", "한전", "코레일", "정부", "국회", "청와대", "용산",
    }
)
_NOUN_TAGS = frozenset({"NNP", "NNG"})


@dataclass(frozen=True)
class NameSpan:
    """A person's name found by the analyser: its span and why."""

    start: int
    end: int
    rule: str
    confidence: float


@functools.cache
def kiwi() -> Any:
    """The process's one Kiwi analyser (loading the model takes seconds; tokenising is ~1 ms a sentence)."""
    from kiwipiepy import Kiwi  # type: ignore[import-untyped]  # heavy: only where names are searched

    return Kiwi()


def _surname_shape(word: str) -> bool:
    if len(word) == 4 and word[:2] in _DOUBLE_SURNAMES:
        return True
    return len(word) == 3 and word[0] in SURNAMES


def _is_place(word: str, following: str | None, *, person_context: bool) -> bool:
    """Whether a proper noun names a place or an organisation rather than a person."""
    if word in _PLACES or word.endswith(_ORG_SUFFIXES_LONG):
        return True
    if following is not None and (following in _ORG_SUFFIXES_LONG or following in _ORG_SUFFIXES_SHORT):
        return True  # 서울대학교 + 병원, 여의도 + 지점 (a noun glued to it)
    # 강남역, 양평군 end like places; 김재동 ends the same way, so a person's context keeps a full name a name
    return word.endswith(_ORG_SUFFIXES_SHORT) and not (person_context and _surname_shape(word))


class _Token(NamedTuple):
    form: str
    tag: str
    start: int
    end: int


# Kiwi reads a text sentence by sentence: analysing each sentence alone gives the same tokens
# (tests/unit/collect/test_deid_names.py checks it on the held-out set), so a sentence analysed once is reused.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
Analyses = MutableMapping[str, tuple[_Token, ...]]


def person_names(text: str, *, analyses: Analyses | None = None) -> Iterator[NameSpan]:
    """Spans of person names in ``text`` by the analyser and their context (never the dictionary's).

    Args:
        text: the text.
        analyses: sentence -> tokens already analysed; pass the same mapping when searching a text again after
            masking it, and only the sentences masking changed are analysed again (the analyser is ~90% of the
            cost of the text rules).
    """
    if not any("가" <= ch <= "힣" for ch in text):
        return
    yield from _tagged_names(text, {} if analyses is None else analyses)
    yield from _word_names(text)


def sentence_tokens(text: str, analyses: Analyses) -> list[_Token]:
    """Kiwi's tokens of ``text``, spans in ``text``; a sentence already in ``analyses`` is not analysed again.

    A text none of whose sentences is known is analysed in one call (the analyser's cost per call is not small),
    and its tokens are filed under their sentences.
    """
    bounds: list[tuple[int, int]] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        bounds.append((pos, m.start()))
        pos = m.end()
    bounds.append((pos, len(text)))
    sentences = [(a, text[a:b]) for a, b in bounds if b > a]
    if not any(s in analyses for _, s in sentences):
        whole = [_Token(t.form, t.tag, t.start, t.end) for t in kiwi().tokenize(text)]
        k = 0
        for a, s in sentences:
            end = a + len(s)
            first = k
            while k < len(whole) and whole[k].start < end:
                k += 1
            analyses[s] = tuple(_Token(t.form, t.tag, t.start - a, t.end - a) for t in whole[first:k])
        return whole
    out: list[_Token] = []
    for a, s in sentences:
        toks = analyses.get(s)
        if toks is None:
            toks = analyses[s] = tuple(_Token(t.form, t.tag, t.start, t.end) for t in kiwi().tokenize(s))
        out += (_Token(t.form, t.tag, t.start + a, t.end + a) for t in toks) if a else toks
    return out


# Endings of a word that starts with a name: particles, the copula, honorifics glued on (육하람이라고, 방서하이).
_TAILS = frozenset(
    {
        "", "은", "는", "이", "가", "을", "를", "의", "과", "와", "도", "만", "랑", "이랑", "하고", "에게", "한테",
        "께", "께서", "에게서", "한테서", "이고", "이고요", "이라고", "라고", "이에요", "예요", "이었어요", "였어요",
        "입니다", "이다", "이었다", "였다", "이야", "이었고", "이며", "님", "님이", "님은", "님께", "님께서", "님의",
        "님을", "님과", "님도",
        "씨", "씨가", "씨는", "씨의", "씨를", "씨에게", "씨한테", "씨께서", "씨와", "씨랑", "씨도",
        "이가", "이는", "이를", "이한테", "이에게", "이도", "이의", "이하고", "이와",
    }
)
# Endings that make a two-syllable given name: vocative (서연아) and the friendly 이 (민준이가, 태윤이랑).
_GIVEN_TAILS = frozenset(
    {"아", "야", "이가", "이는", "이를", "이랑", "이한테", "이에게", "이도", "이의", "이하고", "이와", "이만"}
)
_SEPARATE_HONORIFICS = frozenset({"씨", "님", "형", "누나", "오빠", "언니", "선배"})
_SEPARATE_PREFIXES = tuple(sorted(_SEPARATE_HONORIFICS))
_NAME_INITIALS = SURNAMES | {s[0] for s in _DOUBLE_SURNAMES}  # what a full name can start with
_WORD = re.compile(r"[가-힣]+")




@functools.lru_cache(maxsize=65536)
def _unknown_word(word: str, *, bare: bool = False) -> bool:
    """Whether Kiwi reads ``word`` alone as something outside its vocabulary or as a proper noun.

    A known noun (이야기, 지하철, 주차장) scores high as one token; a rare name (육하람, 방서하) is pieced together
    from fragments or guessed as one unknown noun, both scoring low.
    """
    tokens, score = kiwi().analyze(word, top_n=1)[0]
    if len(tokens) == 1 and tokens[0].tag == "NNP":
        return True
    if bare and any(t.tag[0] in "JEVX" for t in tokens):
        return False  # a known word with its particle or ending (반환을, 석탑이, 문의함): not a bare name
    # Kiwi 0.24 log-scores of a word alone: known 3-syllable nouns -14 to -21, unseen names -24 to -34 (2
    # syllables: known -14 to -18, names -20 to -24); re-measure these thresholds when upgrading the model.
    return bool(score < (-23.0 if len(word) >= 3 else -19.5))


@functools.lru_cache(maxsize=65536)
def _one_known_word(word: str) -> bool:
    """Whether Kiwi reads ``word`` as one word it knows (전라남도, not 전라남 + 도)."""
    tokens, score = kiwi().analyze(word, top_n=1)[0]
    return len(tokens) == 1 and tokens[0].tag in _NOUN_TAGS and bool(score > -23.0)


def _word_names(text: str) -> Iterator[NameSpan]:
    """Names the analyser splits into pieces, found word by word: a surname + given name, or a given name in a
    form only people take, that Kiwi does not know as a word."""
    words = list(_WORD.finditer(text))
    for k, m in enumerate(words):
        w = m.group(0)
        nxt = words[k + 1].group(0) if k + 1 < len(words) and words[k + 1].start() == m.end() + 1 else ""
        prev = words[k - 1].group(0) if k > 0 and words[k - 1].end() >= m.start() - 2 else ""
        honorific = nxt in _HONORIFICS or (len(nxt) <= 3 and nxt.startswith(_SEPARATE_PREFIXES))
        role = prev in _ROLES
        size = 4 if w[:2] in _DOUBLE_SURNAMES else 3
        stem, tail = w[:size], w[size:]
        if (
            len(stem) == size
            and stem[0] in _NAME_INITIALS
            and tail in _TAILS
            and stem not in _PLACES
            and stem not in _ROLES
            and stem not in _HONORIFICS
            and not (stem.endswith(_ORG_SUFFIXES_SHORT) and not (honorific or role))
            and _unknown_word(stem, bare=not tail)
            and not (tail and _one_known_word(w))
        ):
            person = honorific or role or tail.startswith(("님", "씨")) or tail in _PERSON_PARTICLES
            yield NameSpan(m.start(), m.start() + size, "name-word", 0.85 if person else 0.6)
            continue
        stem, tail = w[:2], w[2:]
        given = (len(w) >= 3 and tail in _GIVEN_TAILS) or (
            len(w) == 2 and nxt.startswith(_SEPARATE_PREFIXES)
        )
        if given and stem not in _PLACES and _unknown_word(stem):
            yield NameSpan(m.start(), m.start() + 2, "name-given", 0.8)


def _tagged_names(text: str, analyses: Analyses) -> Iterator[NameSpan]:
    toks = sentence_tokens(text, analyses)
    n = len(toks)
    i = 0
    while i < n:
        tok = toks[i]
        if tok.tag not in _NOUN_TAGS or not _hangul(tok.form):
            i += 1
            continue
        # adjacent proper nouns are one name (박 + 지훈)
        j = i + 1
        while j < n and toks[j].tag == "NNP" and toks[j].start == toks[j - 1].end and _hangul(toks[j].form):
            j += 1
        start, end = tok.start, toks[j - 1].end
        word = text[start:end]
        proper = tok.tag == "NNP" or j > i + 1
        first, i = i, j
        if not 2 <= len(word) <= 4 or not _hangul(word):
            continue
        after = toks[j] if j < n else None
        glued = after is not None and after.start == end
        before = toks[first - 1] if first > 0 else None
        after_form = after.form if after is not None else ""
        honorific = after is not None and (after_form in _HONORIFICS or (after_form == "님" and glued))
        particle = after is not None and glued and (after.tag == "JKV" or after_form in _PERSON_PARTICLES)
        # given name + 이 + particle (민준이랑, 서연이가): Kiwi splits the friendly 이 off as a suffix
        friendly = (after is not None and glued and after.tag == "XSN" and after_form == "이" and j + 1 < n
                    and toks[j + 1].tag.startswith("J"))
        role = before is not None and before.form in _ROLES and before.end <= start
        if not proper and not (honorific and _surname_shape(word)):
            continue  # a common noun: only "한소희님"-like (Kiwi tags some full names NNG before 님)
        following = after_form if glued and after is not None and after.tag in _NOUN_TAGS else None
        if honorific and after_form in ("님", "씨", "군", "양", "선생님") and word not in _PLACES:
            yield NameSpan(start, end, "name-kiwi-honorific", 0.9)
        elif _is_place(word, following, person_context=honorific or particle or friendly or role):
            continue
        elif honorific or particle or friendly:
            yield NameSpan(start, end, "name-kiwi-context", 0.85)
        elif role:
            yield NameSpan(start, end, "name-kiwi-role", 0.8)
        elif _surname_shape(word):
            yield NameSpan(start, end, "name-kiwi-shape", 0.6)


def _hangul(s: str) -> bool:
    return bool(s) and all("가" <= ch <= "힣" for ch in s)
