"""Korean texts with a known answer: NER entities, QA pairs over a passage, summaries, translations.

Every answer is planted while the text is composed, so the truth is exact: character offsets of entities and
answer spans, the key sentences a summary is made of, the reference translation of a parallel pair.
Personal data (a share of items, as for other texts) is appended *after* everything the truth points into, so
that collect's masking (placeholders of another length) moves no offset and no answer contains it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.collect.sources.synthetic._common import choice, has_batchim, item_rng
from pipelines.collect.sources.synthetic._pii import pii_sentence
from pipelines.collect.sources.synthetic.parallel import PAIRS
from pipelines.spec.models import NER, QA, TEXT_PII, DatasetSpec, Summarisation, TextModality, Translation

PII_SHARE = 0.35  # as for the other synthetic texts

# ------------------------------------------------------------------------------------------ composing

_SLOT = re.compile(r"\{(\w+)(?::([^}/]*)/([^}]*))?\}")


@dataclass
class _Doc:
    """A text built sentence by sentence, remembering where each planted value landed."""

    text: str = ""

    def add(self, template: str, values: dict[str, str]) -> dict[str, tuple[int, int]]:
        """Append one sentence; ``{a:은/는}`` is slot ``a`` followed by the particle its last syllable takes.
        Returns each slot's (start, end) in the whole text."""
        if self.text:
            self.text += " "
        where: dict[str, tuple[int, int]] = {}
        pos = 0
        for m in _SLOT.finditer(template):
            self.text += template[pos:m.start()]
            value = values[m.group(1)]
            where[m.group(1)] = (len(self.text), len(self.text) + len(value))
            self.text += value
            if m.group(2) is not None:
                self.text += m.group(2) if has_batchim(value) else m.group(3)
            pos = m.end()
        self.text += template[pos:]
        return where

    def sentence(self, template: str, values: dict[str, str]) -> tuple[int, int]:
        """Append one sentence and return its own (start, end)."""
        start = len(self.text) + (1 if self.text else 0)
        self.add(template, values)
        return start, len(self.text)


def _fill(template: str, values: dict[str, str]) -> str:
    d = _Doc()
    d.add(template, values)
    return d.text


def _pad(doc: _Doc, rng: np.random.Generator, mod: TextModality, fillers: tuple[str, ...]) -> None:
    """Filler sentences until the text is long enough (never past ``max_chars``)."""
    for _ in range(200):
        if len(doc.text) >= mod.min_chars:
            return
        s = choice(rng, fillers)
        if len(doc.text) + 1 + len(s) > mod.max_chars:
            return
        doc.add(s, {})


def _with_pii(spec: DatasetSpec, mod: TextModality, text: str, *, seed: int, index: int,
              dictionaries: dict[str, tuple[str, ...]]) -> str:
    """``text`` with, for a share of items, personal data appended after everything the truth points into."""
    kinds = sorted(TEXT_PII & set(spec.deidentify.targets))
    rng = item_rng(seed, index, "pii")
    if not kinds or rng.random() >= PII_SHARE:
        return text
    for _ in range(int(rng.integers(1, 3))):
        s = pii_sentence(choice(rng, kinds), rng, dictionaries)
        if len(text) + 1 + len(s) <= mod.max_chars:
            text += " " + s
    return text


Build = Callable[[np.random.Generator], tuple[str, dict[str, Any], list[str]]]
_ATTEMPTS = 12


def _planted(spec: DatasetSpec, mod: TextModality, *, seed: int, index: int, stream: str, build: Build,
             clean: Callable[[str], bool] | None, dictionaries: dict[str, tuple[str, ...]]
             ) -> tuple[str, dict[str, Any]]:
    """Compose with ``build`` until ``clean`` passes the text and every truth string, then append personal data.

    ``clean`` says whether the personal-data rules leave a string alone: a word they would mask (a drug name
    shaped like a person's name, say) would move every offset after it in the text Label Studio shows, and
    change an answer in the release. Such a draw is discarded and the item composed again from another stream.
    """
    text = ""
    truth: dict[str, Any] = {}
    for attempt in range(_ATTEMPTS):
        text, truth, typed = build(item_rng(seed, index, stream if attempt == 0 else f"{stream}:{attempt}"))
        if clean is None or all(clean(t) for t in (text, *typed)):
            break
    return _with_pii(spec, mod, text, seed=seed, index=index, dictionaries=dictionaries), truth


# ----------------------------------------------------------------------------------------------- NER

# Entities per label of the TTA tag set and of the clinical tag set the specs use. No person's full name
# (PS uses given names with a title) lest the name rules mask an entity and move the offsets after it.
ENTITIES: dict[str, tuple[str, ...]] = {
    "PS": ("세종대왕", "이순신 장군", "유관순 열사", "안중근 의사", "장영실"),
    "FD": ("경제학", "생명공학", "인공지능", "고고학", "천문학"),
    "TR": ("상대성 이론", "게임 이론", "진화론", "빅뱅 이론"),
    "AF": ("훈민정음", "거북선", "측우기", "팔만대장경", "고속열차"),
    "OG": ("한국은행", "국립중앙박물관", "대한적십자사", "기상청", "통계청"),
    "LC": ("부산", "제주도", "한강", "설악산", "경주", "인천항"),
    "CV": ("김치", "한복", "판소리", "태권도", "한글"),
    "DT": ("2023년 5월", "지난해 겨울", "3월 1일", "올해 초", "1988년"),
    "TI": ("오후 3시", "새벽 2시", "저녁 7시 30분", "정오"),
    "QT": ("3만 명", "15킬로미터", "70퍼센트", "두 배", "120톤"),
    "EV": ("서울 올림픽", "광복절 기념식", "부산국제영화제", "한일 월드컵"),
    "AM": ("진돗개", "고라니", "두루미", "반달가슴곰"),
    "PT": ("소나무", "무궁화", "은행나무", "벚나무"),
    "MT": ("철광석", "플라스틱", "화강암", "구리"),
    "TM": ("미세먼지", "탄소중립", "반도체", "기준금리"),
    "질환": ("고혈압", "당뇨병", "위염", "폐렴", "대상포진"),
    "증상": ("두통", "기침", "복통", "어지럼증", "발열"),
    "약물": ("아스피린", "아세트아미노펜", "메트포르민", "항생제"),
    "검사": ("혈액 검사", "위내시경", "CT 촬영", "소변 검사"),
    "시술·처치": ("봉합", "수액 처치", "물리치료", "드레싱"),
    "신체부위": ("무릎", "허리", "왼쪽 어깨", "목"),
    "진료과": ("내과", "정형외과", "피부과", "이비인후과"),
}
_NER_TEMPLATES = (
    "{a:은/는} 최근 {b:과/와} 함께 자주 언급된다.",
    "{a}에 대한 관심이 높아지면서 {b}도 주목받고 있다.",
    "전문가들은 {a:을/를} 두고 {b:과/와} 비교하는 분석을 내놓았다.",
    "{a:이/가} 다시 화제가 된 것은 {b} 관련 보도 이후다.",
    "이번 글에서는 {a:과/와} {b:을/를} 차례로 다룬다.",
    "{a} 관련 자료에는 {b}에 관한 내용도 담겨 있다.",
)
_NER_FILLER = (
    "자세한 내용은 추후 다시 정리할 예정이다.",
    "관계자는 앞으로도 꾸준히 살펴보겠다고 밝혔다.",
    "이 내용은 여러 매체를 통해 알려졌다.",
    "독자들의 반응도 대체로 긍정적이었다.",
    "비슷한 사례는 이전에도 여러 차례 있었다.",
)


def _entity(label: str, rng: np.random.Generator) -> str:
    return choice(rng, ENTITIES.get(label) or (label,))  # a spec's own label without a word list: the label


def compose_ner(spec: DatasetSpec, mod: TextModality, *, seed: int, index: int,
                dictionaries: dict[str, tuple[str, ...]], clean: Callable[[str], bool] | None = None
                ) -> tuple[str, dict[str, Any]]:
    """(text, ``{"spans": [{label, start, end, text}]}``): 2-4 sentences with two entities each, then filler."""
    a = spec.annotation
    assert isinstance(a, NER)

    def build(rng: np.random.Generator) -> tuple[str, dict[str, Any], list[str]]:
        doc = _Doc()
        spans: list[dict[str, Any]] = []
        for _ in range(int(rng.integers(2, 5))):
            la, lb = choice(rng, a.labels), choice(rng, a.labels)
            values = {"a": _entity(la, rng), "b": _entity(lb, rng)}
            template = choice(rng, _NER_TEMPLATES)
            if len(doc.text) + 1 + len(_fill(template, values)) > mod.max_chars:
                break
            where = doc.add(template, values)
            spans += [{"label": lab, "start": where[k][0], "end": where[k][1], "text": values[k]}
                      for k, lab in (("a", la), ("b", lb))]
        _pad(doc, rng, mod, _NER_FILLER)
        return doc.text, {"spans": spans}, []

    return _planted(spec, mod, seed=seed, index=index, stream="ner", build=build, clean=clean,
                    dictionaries=dictionaries)


# ------------------------------------------------------------------------------------------------ QA

_PLACES = ("해오름 도서관", "청솔 미술관", "바다숲 생태공원", "한빛 과학관", "늘봄 문화센터", "솔내 수목원",
           "별빛 천문대", "물빛 박물관")
_CITIES = ("춘천", "전주", "강릉", "여수", "안동", "청주", "목포", "경주")
_PROGRAMS = ("가족 숲 해설", "어린이 과학 교실", "별자리 관찰회", "도자기 만들기 체험", "주말 음악회",
             "그림책 읽기 모임")
_AWARDS = ("한국건축문화대상", "지역문화대상", "관광서비스 우수상", "환경경영 대상")
_DAYS = ("월요일", "화요일", "수요일", "목요일")
# (sentence, question, the answer slot). ``s`` is the place every fact is about.
_FACTS = (
    ("{s:은/는} {year}에 처음 문을 열었다.", "{s:은/는} 언제 처음 문을 열었나요?", "year"),
    ("{s:은/는} {city} 시내에 자리하고 있다.", "{s:은/는} 어느 도시에 있나요?", "city"),
    ("이곳을 찾는 방문객은 한 해 평균 {visitors}에 이른다.", "{s}의 한 해 평균 방문객은 몇 명인가요?", "visitors"),
    ("가장 인기 있는 프로그램은 주말마다 열리는 {program:이다/다}.", "{s}에서 가장 인기 있는 프로그램은 무엇인가요?",
     "program"),
    ("운영 시간은 {opens}부터 오후 6시까지이다.", "{s:은/는} 몇 시에 문을 여나요?", "opens"),
    ("입장료는 어른 기준 {fee}이다.", "{s}의 어른 입장료는 얼마인가요?", "fee"),
    ("{s:은/는} {award:을/를} 받은 적이 있다.", "{s:이/가} 받은 상은 무엇인가요?", "award"),
    ("정기 휴관일은 매주 {closed:이다/다}.", "{s}의 정기 휴관일은 무슨 요일인가요?", "closed"),
)
_QA_FILLER = (
    "주변에는 산책로와 작은 카페가 있어 함께 둘러보기 좋다.",
    "주차장은 넓지 않아 대중교통을 이용하는 편이 낫다.",
    "계절마다 전시와 행사가 바뀌어 다시 찾는 사람이 많다.",
    "단체 관람은 미리 예약해야 한다.",
    "안내 데스크에서는 외국어 안내서도 받을 수 있다.",
)


def compose_qa(spec: DatasetSpec, mod: TextModality, *, seed: int, index: int,
               dictionaries: dict[str, tuple[str, ...]], clean: Callable[[str], bool] | None = None
               ) -> tuple[str, dict[str, Any]]:
    """(passage, ``{"qa": [{question, answer, start, end, evidence: {start, end, text}}]}``).

    Facts about one place, one question per fact (``questions_per_item``, at most one per fact); ``start``/``end``
    locate the answer in the passage (extractive), ``evidence`` the sentence that holds it.
    """
    a = spec.annotation
    assert isinstance(a, QA)

    def build(rng: np.random.Generator) -> tuple[str, dict[str, Any], list[str]]:
        values = {"s": choice(rng, _PLACES), "year": f"{int(rng.integers(1975, 2021))}년",
                  "city": choice(rng, _CITIES), "visitors": f"{int(rng.integers(2, 40))}만 명",
                  "program": choice(rng, _PROGRAMS), "opens": f"오전 {int(rng.integers(8, 11))}시",
                  "fee": f"{int(rng.integers(1, 9)) * 1000:,}원", "award": choice(rng, _AWARDS),
                  "closed": choice(rng, _DAYS)}
        order = [int(i) for i in rng.permutation(len(_FACTS))]
        asked = set(order[:min(a.questions_per_item, len(_FACTS))])
        doc = _Doc()
        doc.add(choice(rng, ("{s:은/는} 지역 주민과 관광객이 함께 찾는 곳이다.", "{s:을/를} 소개한다.")), values)
        qa: list[dict[str, Any]] = []
        for i in order:
            sentence, question, slot = _FACTS[i]
            if len(doc.text) + 1 + len(_fill(sentence, values)) > mod.max_chars:
                break
            s_start = len(doc.text) + 1
            where = doc.add(sentence, values)
            if i in asked and slot in where:
                start, end = where[slot]
                qa.append({"question": _fill(question, values), "answer": values[slot], "start": start, "end": end,
                           "evidence": {"start": s_start, "end": len(doc.text), "text": doc.text[s_start:]}})
        _pad(doc, rng, mod, _QA_FILLER)
        return doc.text, {"qa": qa}, [q["question"] for q in qa]

    return _planted(spec, mod, seed=seed, index=index, stream="qa", build=build, clean=clean,
                    dictionaries=dictionaries)


# --------------------------------------------------------------------------------------- summarisation

# A document is about one programme: three key sentences (the extractive summary), details around them, and an
# abstractive summary written from the same facts in other words.
_ORGS = ("환경부", "교육청", "국립공원공단", "한국관광공사", "보건복지부", "농촌진흥청")
_TARGETS = ("청년 농업인", "초등학생", "홀로 사는 어르신", "소상공인", "장애인 가구", "대학생")
_SUPPORTS = ("교통비", "교재 구입비", "난방비", "디지털 교육", "건강 검진", "창업 컨설팅")
_KEY = (
    "{org:은/는} {year}년부터 {target:을/를} 위한 {support} 지원 사업을 시작한다고 밝혔다.",
    "지원 대상은 모두 {n}명이며 신청은 {month}월 한 달 동안 받는다.",
    "{org:은/는} 이번 사업으로 {target}의 부담이 크게 줄어들 것으로 기대했다.",
)
_ABSTRACT = "{org:이/가} {year}년부터 {target} {n}명에게 {support:을/를} 지원하며 신청은 {month}월에 받는다."
_DETAILS = (
    "사업 설명회는 지역별로 나누어 열린다.",
    "관련 예산은 지난해보다 조금 늘었다.",
    "비슷한 사업이 다른 지역에서도 좋은 반응을 얻었다.",
    "담당 부서는 세부 기준을 누리집에 공개할 예정이다.",
    "일부에서는 지원 규모가 아직 부족하다는 의견도 나왔다.",
    "현장의 목소리를 듣기 위한 간담회도 함께 열렸다.",
    "전문가들은 꾸준한 점검이 필요하다고 조언했다.",
    "이 소식은 지역 신문을 통해 처음 알려졌다.",
)


def compose_summary(spec: DatasetSpec, mod: TextModality, *, seed: int, index: int,
                    dictionaries: dict[str, tuple[str, ...]], clean: Callable[[str], bool] | None = None
                    ) -> tuple[str, dict[str, Any]]:
    """(document, ``{"summary": str, "sentences": [{start, end, text}]}``): ``sentences`` are the key sentences
    (an extractive summary, in text order; extractive and both styles), ``summary`` the written summary
    (abstractive and both)."""
    a = spec.annotation
    assert isinstance(a, Summarisation)

    def build(rng: np.random.Generator) -> tuple[str, dict[str, Any], list[str]]:
        values = {"org": choice(rng, _ORGS), "target": choice(rng, _TARGETS), "support": choice(rng, _SUPPORTS),
                  "year": str(int(rng.integers(2024, 2028))), "n": f"{int(rng.integers(2, 30)) * 100:,}",
                  "month": str(int(rng.integers(2, 11)))}
        details = [str(d) for d in rng.permutation(_DETAILS)]
        k = min(a.extractive_sentences or len(_KEY), len(_KEY))
        doc = _Doc()
        sentences: list[dict[str, Any]] = []
        for i, key in enumerate(_KEY[:k]):
            start, end = doc.sentence(key, values)
            sentences.append({"start": start, "end": end, "text": doc.text[start:end]})
            doc.add(details[i], {})
        _pad(doc, rng, mod, tuple(details[k:]))
        extract = " ".join(s["text"] for s in sentences)
        written = (_fill(_ABSTRACT, values) if a.style != "extractive" else extract)[:a.max_summary_chars]
        # The truth holds what the spec's label config asks for: a written summary and/or selected sentences.
        truth: dict[str, Any] = {}
        if a.style != "extractive":
            truth["summary"] = written
        if a.style != "abstractive":
            truth["sentences"] = sentences
        return doc.text, truth, [written]

    return _planted(spec, mod, seed=seed, index=index, stream="summary", build=build, clean=clean,
                    dictionaries=dictionaries)


# ------------------------------------------------------------------------------------------- translation


def compose_translation(spec: DatasetSpec, mod: TextModality, *, seed: int, index: int) -> tuple[str, dict[str, Any]]:
    """(Korean source, ``{"translation": str}``): two sentences of :data:`PAIRS` (two, so that few items repeat).

    No personal data is planted: the reference translation would have to carry it too.
    """
    a = spec.annotation
    assert isinstance(a, Translation)
    if a.source_language != "ko" or a.target_language not in ("en", "ja", "zh"):
        raise ValueError(f"no built-in parallel sentences for {a.source_language}->{a.target_language}")
    rng = item_rng(seed, index, "translation")
    i, j = (int(v) for v in rng.choice(len(PAIRS), size=2, replace=False))
    sep = " " if a.target_language == "en" else ""
    source = " ".join(PAIRS[k]["ko"] for k in (i, j))
    target = sep.join(PAIRS[k][a.target_language] for k in (i, j))
    if len(source) > mod.max_chars:  # a very short max: one sentence
        source, target = PAIRS[i]["ko"], PAIRS[i][a.target_language]
    return source, {"translation": target}
