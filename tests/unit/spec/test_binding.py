"""Source bindings (``datadam run --source``, the DAG's ``source`` param): what a contractor gives, what it binds,
and the one line a bad binding fails with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import skimage.data
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.spec import SpecError, load_catalog
from pipelines.spec.binding import SourceBindingError, bind_source, bound_spec
from pipelines.spec.catalog import default_schemas_dir, spec_hash

pytestmark = pytest.mark.unit
IMAGE_SPEC = "traffic-light-state"  # png, rgb, at least 32x16: real photographs qualify
TEXT_SPEC = "civil-complaint-classification"
PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png")


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "delivery"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(Path(skimage.data.__file__).parent / name, folder / name)
    return folder


def _error(spec_id: str, value: object) -> str:
    with pytest.raises(SourceBindingError) as info:
        bind_source(load_catalog().get(spec_id), value)  # type: ignore[arg-type]
    return str(info.value)


def test_a_folder_binds_a_local_source_and_leaves_the_spec_as_it_is(photos: Path) -> None:
    spec = load_catalog().get(IMAGE_SPEC)
    before = spec_hash(spec)
    for given in (str(photos), photos.as_uri(), f"{photos.as_uri()}?glob=**/*.png"):
        binding = bind_source(spec, given)
        bound = bound_spec(spec, binding)
        assert bound.source.kind == "local" and bound.source.root == str(photos)
        assert binding.record()["given"] == given
        assert bound.version == spec.version and bound.id == spec.id
    assert spec.source.kind == "synthetic" and spec_hash(spec) == before


def test_uris_bind_the_source_kind_they_name(tmp_path: Path) -> None:
    spec = load_catalog().get(IMAGE_SPEC)
    s3 = bind_source(spec, "s3://contractor-a/deliveries/2026-12?connection=contractor_a_s3").source
    assert (s3.kind, s3.uri, s3.connection) == ("s3", "s3://contractor-a/deliveries/2026-12", "contractor_a_s3")
    assert bind_source(spec, "s3://contractor-a/photos").source.connection == "datadam_s3"
    http = bind_source(spec, "https://data.example.org/delivery/list.txt").source
    assert (http.kind, http.url_list, http.allow_hosts) == ("http", "https://data.example.org/delivery/list.txt", [])
    records = tmp_path / "complaints.csv"
    records.write_text("id,body\n1,hello\n", encoding="utf-8")
    text = load_catalog().get(TEXT_SPEC)
    rec = bind_source(text, f"{records}?text_column=body&id_column=id").source
    assert (rec.kind, rec.format, rec.text_column, rec.id_column) == ("records", "csv", "body", "id")


def test_a_yaml_file_or_an_inline_block_binds_any_option(tmp_path: Path) -> None:
    spec = load_catalog().get(IMAGE_SPEC)
    block = tmp_path / "delivery.yaml"
    block.write_text("source:\n  kind: http\n  url_list: https://intranet.example/list.txt\n"
                     "  allow_hosts: [intranet.example]\n  deadline_s: 30\n", encoding="utf-8")
    src = bind_source(spec, str(block)).source
    assert (src.allow_hosts, src.deadline_s) == (["intranet.example"], 30.0)
    inline = bind_source(spec, '{kind: s3, uri: "s3://contractor-a/x", connection: contractor_a_s3}')
    assert inline.source.connection == "contractor_a_s3"
    assert '"connection": "contractor_a_s3"' in inline.given


@pytest.mark.parametrize(("spec_id", "value", "field", "says"), [
    (IMAGE_SPEC, "ftp://files.example/delivery", "source", "unknown scheme ftp://"),
    (IMAGE_SPEC, "/no/such/delivery", "source.root", "no such folder"),
    (IMAGE_SPEC, "s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@contractor-a/photos", "source", "holds credentials"),
    (IMAGE_SPEC, "https://x.example/list.txt?X-Amz-Credential=AKIA&X-Amz-Signature=ab", "source",
     "holds a credential"),
    (IMAGE_SPEC, "s3://contractor-a/photos?aws_secret_access_key=wJalrXUtnFEMI", "source", "holds a credential"),
    (IMAGE_SPEC, "s3://Contractor_A/photos", "source.uri", "should match pattern"),
    (IMAGE_SPEC, "s3://contractor-a/photos?region=x", "source?region", "not an option"),
    (IMAGE_SPEC, "/tmp/labels.jsonl?text_column=caption", "source.media_column", "an image dataset"),
    (TEXT_SPEC, "/tmp/complaints.csv?media_column=file", "source.media_column", "a text dataset"),
    (TEXT_SPEC, "/tmp?glob=**/*.wav", "source.glob", "not .wav files"),
    (IMAGE_SPEC, {"kind": "local"}, "source.root", "Field required"),
    (IMAGE_SPEC, {"kind": "gopher", "root": "/"}, "source", "does not match any of the expected tags"),
    (IMAGE_SPEC, "   ", "source", "is empty"),
    (IMAGE_SPEC, {"kind": "s3", "uri": "s3://contractor-a/x", "aws_secret_access_key": "wJalrXUtnFEMI"},
     "source.aws_secret_access_key", "a key never goes in a binding"),
    (IMAGE_SPEC, {"kind": "s3", "uri": "s3://contractor-a/x", "secret": "wJalrXUtnFEMI"}, "source.secret",
     "a key never goes in a binding"),
    (IMAGE_SPEC, {"kind": "s3", "uri": "s3://contractor-a/x", "sekret": "wJalrXUtnFEMI"}, "source.sekret",
     "Extra inputs are not permitted"),
    (IMAGE_SPEC, {"kind": "http", "urls": ["https://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@x.example/a.png"]},
     "source.urls", "holds credentials"),
])
def test_a_bad_binding_fails_in_one_line_naming_the_field_and_the_value(spec_id: str, value: object, field: str,
                                                                        says: str) -> None:
    message = _error(spec_id, value)
    assert "\n" not in message
    assert message.startswith(f"source binding: {field}: ")
    assert says in message
    assert "got " in message
    for secret in ("wJalrXUtnFEMI", "AKIAIOSFODNN7EXAMPLE", "=ab"):  # keys never echoed
        assert secret not in message


def test_a_folder_of_another_modality_is_refused_before_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    for n in range(3):
        (folder / f"take-{n}.wav").write_bytes(b"RIFF....WAVE")
    message = _error(IMAGE_SPEC, str(folder))
    assert message.startswith("source binding: source.root: ") and "the folder holds .wav" in message


def test_datadam_run_refuses_a_bad_binding_in_one_line_before_the_stack_starts(tmp_path: Path) -> None:
    spec_file = next(default_schemas_dir().glob(f"datasets/*/{IMAGE_SPEC}.yaml"))
    before = spec_file.read_bytes()
    for value, says in (("ftp://files.example/x", "unknown scheme"), (str(tmp_path / "missing"), "no such folder"),
                        ("s3://KEY:SECRET@contractor-a/x", "holds credentials")):
        res = CliRunner().invoke(app, ["run", IMAGE_SPEC, "--source", value])
        assert res.exit_code == 2, res.output
        lines = [line for line in res.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: source binding: ") and says in lines[0]
        assert "Traceback" not in res.output and "SECRET" not in res.output
    assert spec_file.read_bytes() == before


def test_datadam_run_refuses_simulate_with_a_bound_source_before_the_stack_starts(photos: Path) -> None:
    # the simulated annotators answer from a synthetic source's ground truth: on a contractor's photographs they
    # would leave every task alone while the run waited out its label timeout (7 days by default)
    res = CliRunner().invoke(app, ["run", IMAGE_SPEC, "--simulate", "--source", str(photos)])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --simulate cannot label data bound with --source")
    assert "Traceback" not in res.output


def test_an_inline_block_may_not_use_yaml_aliases(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="YAML aliases are not allowed") as info:
        bind_source(load_catalog().get(IMAGE_SPEC), "{kind: http, urls: &u [https://x.example/a.png], url_list: *u}")
    assert "\n" not in str(info.value)


def test_a_relative_path_is_recorded_as_the_absolute_path_it_meant(photos: Path, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    monkeypatch.chdir(photos.parent)
    binding = bind_source(load_catalog().get(IMAGE_SPEC), "delivery?glob=**/*.png")
    assert binding.given == f"{photos}?glob=**/*.png" and binding.source.root == str(photos)
