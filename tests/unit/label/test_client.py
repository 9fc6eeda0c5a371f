"""Client pieces that need no server: settings, auth detection, import batching."""

from __future__ import annotations

import base64
import json

import pytest

from pipelines.label.client import LabelStudioError, LabelStudioSettings, _jwt_type, batches_by_size

pytestmark = pytest.mark.unit


def _jwt(payload: dict[str, object]) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return f"{enc({'alg': 'HS256'})}.{enc(payload)}.sig"


def test_repr_never_shows_the_token() -> None:
    s = LabelStudioSettings(url="http://ls:8080/", token="s3cr3t-token")
    assert "s3cr3t" not in repr(s) and "s3cr3t" not in str(s)
    assert s.url == "http://ls:8080"


def test_from_env_prefers_datadam_variables() -> None:
    env = {
        "DATADAM_LS_URL": "http://a",
        "DATADAM_LS_TOKEN": "t1",
        "LABEL_STUDIO_URL": "http://b",
        "LABEL_STUDIO_API_KEY": "t2",
    }
    assert LabelStudioSettings.from_env(env) == LabelStudioSettings(url="http://a", token="t1")
    assert (
        LabelStudioSettings.from_env({"LABEL_STUDIO_URL": "http://b", "LABEL_STUDIO_API_KEY": "t2"}).url
        == "http://b"
    )
    with pytest.raises(LabelStudioError, match="DATADAM_LS_URL"):
        LabelStudioSettings.from_env({"DATADAM_LS_URL": "http://a"})


def test_token_kinds() -> None:
    assert _jwt_type("0123456789abcdef0123456789abcdef01234567") is None
    assert _jwt_type(_jwt({"token_type": "refresh", "exp": 1})) == "refresh"
    assert _jwt_type(_jwt({"token_type": "access"})) == "access"


def _task(i: int, text_len: int = 10) -> dict[str, object]:
    return {"data": {"item_id": f"i{i}", "text": "가" * text_len}, "meta": {"item_id": f"i{i}"}}


def test_batches_respect_the_task_count() -> None:
    sizes = [len(b) for b in batches_by_size([_task(i) for i in range(25)], max_tasks=10, max_bytes=10**6)]
    assert sizes == [10, 10, 5]


def test_batches_respect_the_byte_budget() -> None:
    tasks = [_task(i, text_len=1000) for i in range(10)]  # ~3 kB each (Hangul is 3 bytes in UTF-8)
    batches = list(batches_by_size(tasks, max_tasks=1000, max_bytes=7000))
    assert [len(b) for b in batches] == [2, 2, 2, 2, 2]
    assert [t for b in batches for t in b] == tasks


def test_a_task_larger_than_a_request_is_an_error_naming_the_item() -> None:
    with pytest.raises(LabelStudioError, match="i3"):
        list(batches_by_size([_task(3, text_len=5000)], max_tasks=10, max_bytes=1000))
