"""Korean PII rules on running text: every form people write is masked, look-alikes are left alone."""

from __future__ import annotations

import re

import pytest

from pipelines.collect.deid import TextDeidentifier, deid_text, load_dictionary, resolve_dictionary
from pipelines.pii.text import luhn_ok, rrn_check_ok

pytestmark = pytest.mark.unit

ALL = ["rrn", "foreigner_rn", "phone", "email", "card", "account", "names", "addresses"]
DICTS = {
    "names": load_dictionary(resolve_dictionary("dictionaries/names-ko.txt")),
    "addresses": load_dictionary(resolve_dictionary("dictionaries/addresses-ko.txt")),
}
DEID = TextDeidentifier(targets=ALL, dictionaries=DICTS)


def _masked(text: str) -> str:
    return DEID.mask(text)[0]


def test_check_digit_helpers_agree_with_known_numbers() -> None:
    assert rrn_check_ok("9001011234568")  # 900101-123456 -> check digit 8
    assert not rrn_check_ok("9001011234567")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # valid check digit, the usual hyphen
        ("본인 주민등록번호는 900101-1234568입니다.", "본인 주민등록번호는 [주민등록번호]입니다."),
        # no valid check digit (issued since October 2020): still masked
        ("주민번호 210315-3123456 확인 부탁드립니다", "주민번호 [주민등록번호] 확인 부탁드립니다"),
        # spaces around the hyphen, and a space instead of it
        ("번호는 850704 - 2345678 이고요", "번호는 [주민등록번호] 이고요"),
        ("850704 2345678로 조회", "[주민등록번호]로 조회"),
        # no separator at all, glued to the next word
        ("등록번호8507042345671을 적었습니다", "등록번호[주민등록번호]을 적었습니다"),
        # 외국인등록번호 (gender digit 5-8)
        ("외국인등록번호 920211-5123456 입니다", "외국인등록번호 [외국인등록번호] 입니다"),
        # full-width digits and an en dash
        ("주민번호 ９００１０１–１２３４５６８", "주민번호 [주민등록번호]"),
    ],
)
def test_registration_numbers_are_masked_with_or_without_check_digit(text: str, expected: str) -> None:
    assert _masked(text) == expected


@pytest.mark.parametrize(
    "phone",
    [
        "010-1234-5678",
        "010 1234 5678",
        "010.1234.5678",
        "01012345678",
        "011-123-4567",
        "016-9876-5432",
        "02-123-4567",
        "02-1234-5678",
        "031-987-6543",
        "(02) 123-4567",
        "(051)234-5678",
        "064 712 3456",
        "+82 10-1234-5678",
        "+82-10-9999-0000",
        "070-8765-4321",
        "010 - 1234 - 5678",
    ],
)
def test_phone_numbers_in_any_writing_are_masked(phone: str) -> None:
    text = f"연락은 {phone}으로 주시고 감사합니다."
    masked, findings = DEID.mask(text)
    assert masked == "연락은 [전화번호]으로 주시고 감사합니다.", findings
    assert [f.kind for f in findings] == ["phone"]


def test_emails_cards_and_accounts_are_masked_in_running_text() -> None:
    text = (
        "회신은 hong.gd12@naver.com으로, 카드 4111-1111-1111-1111 과 3782 822463 10005로 결제했고 "
        "환불은 국민은행 123456-78-901234 계좌, 카카오뱅크 3333-01-1234567 또는 "
        "계좌번호 12345678901234로 입금 바랍니다."
    )
    masked, findings = DEID.mask(text)
    assert masked == (
        "회신은 [이메일]으로, 카드 [카드번호] 과 [카드번호]로 결제했고 환불은 국민은행 [계좌번호] 계좌, "
        "카카오뱅크 [계좌번호] 또는 계좌번호 [계좌번호]로 입금 바랍니다."
    )
    assert [f.kind for f in findings] == ["email", "card", "card", "account", "account", "account"]


def test_a_card_number_failing_luhn_is_not_a_card() -> None:
    masked, findings = deid_text("주문번호 4111 1111 1111 1112 입니다", targets=["card"])
    assert masked == "주문번호 4111 1111 1111 1112 입니다" and findings == []


def test_account_context_raises_confidence_and_plain_digit_runs_need_it() -> None:
    grouped = DEID.find("123-456789-01234")
    with_context = DEID.find("하나은행 123-456789-01234 로 송금")
    assert grouped[0].confidence < with_context[0].confidence
    assert DEID.find("일련번호 12345678901234") == []
    assert [f.kind for f in DEID.find("입금 계좌 12345678901234")] == ["account"]


def test_names_and_addresses_from_the_dictionaries_are_masked() -> None:
    text = (
        "저는 김민준이라고 합니다. 담당자 이서연 씨에게 전달 부탁드립니다. 성명: 홍길동. "
        "주소는 서울특별시 강남구 테헤란로 152 101동 1203호입니다. "
        "부산광역시 해운대구 우동 1234-5 근처입니다."
    )
    assert _masked(text) == (
        "저는 [이름]이라고 합니다. 담당자 [이름] 씨에게 전달 부탁드립니다. 성명: [이름]. "
        "주소는 [주소]입니다. [주소] 근처입니다."
    )


def test_a_labelled_name_field_is_masked_without_a_dictionary() -> None:
    masked, _ = deid_text("예금주: 박보검 으로 확인됩니다", targets=["names"])
    assert masked == "예금주: [이름] 으로 확인됩니다"


@pytest.mark.parametrize(
    "text",
    [
        "2021-03-15에 접수했고 오후 3시 30분에 처리됐습니다.",
        "서울 부산 대구 세 도시에서 3곳이 침수됐습니다.",
        "가격은 12,000원이고 2020년 7월에 샀어요.",
        "강남구 역삼동 3개 매장이 문을 닫았습니다.",
        "버스 1234번이 10분째 오지 않습니다.",
        "서울에 갔다가 부산으로 내려왔습니다.",
    ],
)
def test_dates_prices_and_place_mentions_are_left_alone(text: str) -> None:
    assert DEID.find(text) == []


def test_a_spec_adds_targets_but_never_drops_the_identifiers_the_law_singles_out() -> None:
    text = "연락처 010-1234-5678, 메일 a.b@korea.kr, 카드 4111-1111-1111-1111, 홍길동 씨"
    masked, findings = deid_text(text, targets=[])  # e.g. an image spec: no text targets at all
    assert masked == "연락처 [전화번호], 메일 [이메일], 카드 [카드번호], 홍길동 씨"  # names only when listed
    assert [f.kind for f in findings] == ["phone", "email", "card"]
    assert deid_text(text, targets=["names"])[0].endswith("[이름] 씨")


def test_findings_point_into_the_original_text_and_masking_is_complete() -> None:
    text = "제 번호는 010-2222-3333이고 주민번호는 900101-1234568, 메일은 kim@daum.net 입니다."
    masked, findings = DEID.mask(text)
    assert [text[f.start : f.end] for f in findings] == ["010-2222-3333", "900101-1234568", "kim@daum.net"]
    assert DEID.find(masked) == []  # the re-check the stage runs
    audit = findings[0].as_dict()
    assert audit["kind"] == "phone" and audit["placeholder"] == "[전화번호]" and "010" not in str(audit)


def test_no_digit_run_of_personal_data_shape_survives_generated_complaints() -> None:
    """Planted PII from the synthetic source is all masked (independent regexes check the output)."""
    from pipelines.collect.sources.synthetic._common import item_rng
    from pipelines.collect.sources.synthetic._pii import pii_sentence

    leak = re.compile(r"\d{6}\s?-?\s?\d{7}|01[016789][\s.-]?\d{3,4}[\s.-]?\d{4}|@|\d{4}[ -]?\d{4}[ -]?\d{4}")
    for i in range(300):
        rng = item_rng(11, i, "pii")
        kind = ALL[i % len(ALL)]
        sentence = pii_sentence(kind, rng, DICTS)
        masked, findings = DEID.mask(sentence)
        assert findings, f"nothing found in {sentence!r}"
        assert not leak.search(masked), f"{kind}: {sentence!r} -> {masked!r}"
        assert DEID.find(masked) == []


def test_context_that_masking_brings_closer_is_masked_too_and_spans_stay_in_the_original() -> None:
    # the bank's name is 21+ characters before the tracking number until the account becomes [계좌번호]
    text = "메일 a@b.com 입금 계좌: 우리은행 1002-424-979121 운송장 번호 9003929222으로 조회되지 않습니다."
    masked, findings = DEID.mask(text)
    assert DEID.find(masked) == []  # the stage's re-check passes
    assert [text[f.start : f.end] for f in findings] == ["a@b.com", "1002-424-979121", "9003929222"]
    assert findings[-1].rule.endswith("+recheck")
    assert masked == "메일 [이메일] 입금 계좌: 우리은행 [계좌번호] 운송장 번호 [계좌번호]으로 조회되지 않습니다."


def test_decomposed_korean_and_invisible_characters_do_not_hide_personal_data() -> None:
    """Text typed on macOS arrives in NFD; a zero-width space or NBSP splits a number for a regex, not for a reader."""
    import unicodedata

    text = "담당자 김민준, 서울특별시 강남구 테헤란로 152, 연락처 010-2345-6789, 주민번호 900101-1234567"
    expected = "담당자 [이름], [주소], 연락처 [전화번호], 주민번호 [주민등록번호]"
    assert _masked(unicodedata.normalize("NFD", text)) == expected
    hidden = (text.replace("김민준", "김\u200b민\u200c준").replace("010-2345-6789", "010\u200b2345\u00ad6789")
              .replace("900101-1234567", "900101\u20601234567").replace(", 연락처", ",\u00a0연락처"))
    assert _masked(hidden) == expected.replace(", 연락처", ",\u00a0연락처")
    emoji = "가족 사진 👨\u200d👩\u200d👧 잘 받았습니다"  # a joiner inside an emoji sequence is content: kept
    assert _masked(emoji) == emoji


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("여권번호 M12345678 입니다", "여권번호 [여권번호] 입니다"),
        ("새 여권은 M123A4567로 나왔어요", "새 여권은 [여권번호]로 나왔어요"),
        ("구 여권 번호 JR1234567 만료", "구 여권 번호 [여권번호] 만료"),
        ("passport: S1234567", "passport: [여권번호]"),
        ("면허번호 11-12-345678-90 확인", "면허번호 [운전면허번호] 확인"),
        ("운전면허 서울 12-345678-90 입니다", "운전면허 [운전면허번호] 입니다"),
        ("면허증 번호 111234567890", "면허증 번호 [운전면허번호]"),
        ("차량 12가 3456 이 주차돼 있어요", "차량 [차량번호] 이 주차돼 있어요"),
        ("123가 4567 차주분 연락 주세요", "[차량번호] 차주분 연락 주세요"),
        ("서울 12가 3456, 서울12가3456", "[차량번호], [차량번호]"),
        ("번호판 １２３호４５６７", "번호판 [차량번호]"),
    ],
)
def test_passports_driving_licences_and_plates_are_masked_whatever_the_targets(text: str, expected: str) -> None:
    assert deid_text(text, targets=[])[0] == expected


@pytest.mark.parametrize(
    "spoken",
    [
        "공일공 일이삼사 오육칠팔",
        "공일공에 일이삼사 오육칠팔",
        "영일영 구팔칠육 오사삼이",
        "010 일이삼사 오육칠팔",
        "공이 일이삼 사오육칠",
    ],
)
def test_phone_numbers_spoken_as_hangul_numerals_are_masked(spoken: str) -> None:
    masked, findings = deid_text(f"네 번호는 {spoken}로 연락 주세요", targets=[])
    assert "[전화번호]" in masked and not any(d in masked for d in "0123456789"), masked
    assert [f.kind for f in findings] == ["phone"]


def test_hangul_words_that_happen_to_be_numerals_stay() -> None:
    text = "이 사이 오일 교환했고 일이 삼사일 걸린대요"
    assert deid_text(text, targets=[])[0] == text


@pytest.mark.parametrize(
    "tail",
    ["101동 1203호", "3층", "B1층", "지하 1층", "2층 201호", ", 5동 302호"],
)
def test_an_address_is_masked_down_to_the_unit(tail: str) -> None:
    masked = _masked(f"주소는 서울특별시 강남구 테헤란로 152 {tail}입니다.")
    assert masked == "주소는 [주소]입니다.", masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("탁윤슬 님에게 서류를 보내 주세요.", "[이름] 님에게 서류를 보내 주세요."),
        ("환자 모다인은 오늘 퇴원했습니다.", "환자 [이름]은 오늘 퇴원했습니다."),
        ("어제 현승아한테 전화가 왔어.", "어제 [이름]한테 전화가 왔어."),
        ("하람아, 밥 먹었어?", "[이름]아, 밥 먹었어?"),
        ("서울대학교병원 응급실은 24시간 운영합니다.", "서울대학교병원 응급실은 24시간 운영합니다."),
        ("국민은행 여의도지점에서 만나요.", "국민은행 여의도지점에서 만나요."),
        ("강남역에서 부산역까지 갑니다.", "강남역에서 부산역까지 갑니다."),
    ],
)
def test_names_beyond_the_dictionary_by_context_and_places_are_kept(text: str, expected: str) -> None:
    assert deid_text(text, targets=["names"])[0] == expected


@pytest.mark.parametrize(("text", "masked"), [
    # a foreign name in Hangul or Latin letters, in several words, given after its label: Kiwi and the surname rule
    # read none of these as a name (civil complaints by foreign residents, patients, account holders)
    ("제 이름은 응우옌 반 안입니다.", "제 이름은 [이름]입니다."),
    ("제 이름은 마이클 존슨이에요.", "제 이름은 [이름]이에요."),
    ("신청인 이름: 응우옌 반 안", "신청인 이름: [이름]"),
    ("예금주: 쩐 티 흐엉 (농협)", "예금주: [이름] (농협)"),
    ("성명: John Smith, 연락처 없음", "성명: [이름], 연락처 없음"),
    ("이름: 아흐메드 칸 나이: 34", "이름: [이름] 나이: 34"),
    # not a person's name, or no name at all
    ("이름은 뭐예요?", "이름은 뭐예요?"),
    ("이름은 중요하지 않습니다.", "이름은 중요하지 않습니다."),
    ("가게 이름은 행복식당입니다.", "가게 이름은 행복식당입니다."),
])
def test_a_foreign_or_many_word_name_after_its_label_is_masked_whole(text: str, masked: str) -> None:
    assert deid_text(text, targets=["names"])[0] == masked
