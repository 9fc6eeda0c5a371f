"""What Label Studio may be given: only ``media/<ds>/`` keys, never the pipeline's key (no server needed)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from pipelines.label.client import LabelStudioClient, LabelStudioError, LabelStudioSettings
from pipelines.label.media import (
    PRESIGN_MAX_S,
    MediaScopeError,
    check_media_key,
    media_url_builder,
    presigned_media_url,
)
from pipelines.storage import S3Settings, open_store
from sim.specs import demo_spec

pytestmark = pytest.mark.unit

SPEC = demo_spec("bbox", spec_id="crops")
PIPELINE_KEY = S3Settings(endpoint_url="http://127.0.0.1:9", access_key="PIPELINEKEY", secret_key="pipeline-secret")


@pytest.mark.parametrize(
    "key",
    [
        "restricted/crops/original.png",
        "media/crops/../../restricted/crops/original.png",
        "media/crops-private/a.png",  # another dataset whose id starts the same
        "media/other/a.png",
        "media/crops//a.png",
        "media/crops/./a.png",
        "media/crops/a\\..\\..\\restricted.png",
        "runs/crops/r1/deidentify/part-00000.parquet",
    ],
)
def test_keys_outside_the_datasets_media_are_refused_with_a_reason(key: str) -> None:
    with pytest.raises(MediaScopeError) as err:
        check_media_key(SPEC, key)
    assert err.value.reason == "label.media_out_of_scope" and repr(key) in str(err.value)


def test_a_media_key_of_the_dataset_passes() -> None:
    assert check_media_key(SPEC, "media/crops/ab12.png") == "media/crops/ab12.png"


def test_presigned_url_grants_one_media_object_for_the_ttl() -> None:
    store = open_store("s3://datadam/prod", s3=PIPELINE_KEY)
    url = presigned_media_url(store=store, spec=SPEC, ttl_s=PRESIGN_MAX_S)("media/crops/ab12.png")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.netloc == "127.0.0.1:9" and parts.path == "/datadam/prod/media/crops/ab12.png"
    assert query["X-Amz-Expires"] == ["604800"] and query["X-Amz-Credential"][0].startswith("PIPELINEKEY/")
    assert "pipeline-secret" not in url


def test_presigned_urls_are_never_made_for_restricted_objects() -> None:
    url = presigned_media_url(store=open_store("s3://datadam", s3=PIPELINE_KEY), spec=SPEC, ttl_s=3600)
    with pytest.raises(MediaScopeError, match=r"restricted/crops/original\.png"):
        url("restricted/crops/original.png")


@pytest.mark.parametrize("ttl", [0, PRESIGN_MAX_S + 1])
def test_presigned_urls_cannot_outlive_sigv4(ttl: int) -> None:
    with pytest.raises(MediaScopeError, match="7 days"):
        presigned_media_url(store=open_store("s3://datadam", s3=PIPELINE_KEY), spec=SPEC, ttl_s=ttl)
    with pytest.raises(LabelStudioError, match="7 days"):
        LabelStudioSettings(url="http://ls", token="t", media_url_ttl_s=max(ttl, 1))


def test_label_studio_is_never_given_the_pipelines_own_key(tmp_path: Path) -> None:
    # Refused before any call: the Label Studio URL below answers nothing.
    ls = LabelStudioSettings(url="http://127.0.0.1:9", token="t", media_s3=PIPELINE_KEY)
    store = open_store("s3://datadam", s3=PIPELINE_KEY)
    with pytest.raises(MediaScopeError) as err:
        media_url_builder(client=LabelStudioClient(ls), project_id=1, store=store, spec=SPEC, ls=ls)
    assert err.value.reason == "label.media_key_is_pipeline_key"
    assert "pipeline-secret" not in str(err.value)
