"""Label Studio's settings as tasks read them from Airflow connections (environment ``AIRFLOW_CONN_*``)."""

from __future__ import annotations

import json

import pytest

from pipelines.orchestration import settings

pytestmark = pytest.mark.unit

LS_CONN = json.dumps({"conn_type": "http", "host": "labelstudio", "port": 8080, "password": "tok"})
MEDIA_CONN = json.dumps({"conn_type": "aws", "login": "LSMEDIA", "password": "media-secret",
                         "extra": {"endpoint_url": "http://minio:9000", "region_name": "ap-northeast-2"}})


def test_without_a_media_connection_label_studio_gets_no_s3_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATADAM_LABELSTUDIO", LS_CONN)
    monkeypatch.delenv("AIRFLOW_CONN_DATADAM_LS_MEDIA_S3", raising=False)
    ls = settings.ls_settings()
    assert (ls.url, ls.media_s3) == ("http://labelstudio:8080", None)


def test_the_media_connection_becomes_label_studios_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATADAM_LABELSTUDIO", LS_CONN)
    monkeypatch.setenv("AIRFLOW_CONN_DATADAM_LS_MEDIA_S3", MEDIA_CONN)
    media = settings.ls_settings().media_s3
    assert media is not None
    assert (media.access_key, media.secret_key, media.endpoint_url, media.region) == (
        "LSMEDIA", "media-secret", "http://minio:9000", "ap-northeast-2")


def test_an_s3_source_reads_the_key_of_the_connection_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CONTRACTOR_A_S3", MEDIA_CONN)
    s3 = settings.source_s3_settings("contractor_a_s3")
    assert (s3.access_key, s3.secret_key, s3.endpoint_url) == ("LSMEDIA", "media-secret", "http://minio:9000")


def test_an_s3_source_naming_a_missing_connection_fails_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.spec.binding import SourceBindingError

    monkeypatch.delenv("AIRFLOW_CONN_CONTRACTOR_B_S3", raising=False)
    with pytest.raises(SourceBindingError) as info:
        settings.source_s3_settings("contractor_b_s3")
    assert str(info.value) == ("source binding: source.connection: no such Airflow connection (create it with the "
                               "contractor's key) (got 'contractor_b_s3')")
