"""The shipped catalog: 150 specs over 10 fields and 72 groups, every modality and annotation type used."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.spec import ANNOTATION_TYPES, MODALITY_KINDS, SpecError, json_schema_text, load_catalog
from pipelines.spec.catalog import check_files, spec_files
from pipelines.spec.models import SOURCE_KINDS
from pipelines.spec.snapshot import SpecView, load_views

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "schemas"
runner = CliRunner()


def test_catalog_has_150_specs_10_fields_72_groups() -> None:
    cat = load_catalog(SCHEMAS)
    assert len(cat) == 150
    assert len(cat.fields) == 10
    assert len(cat.groups) == 72
    used_groups = {s.group for s in cat.specs.values()}
    assert used_groups == set(cat.groups), f"groups without a spec: {set(cat.groups) - used_groups}"
    assert {s.field for s in cat.specs.values()} == set(cat.fields)


def test_field_counts_follow_the_2021_release() -> None:
    counts = Counter(s.field for s in load_catalog(SCHEMAS).specs.values())
    # speech/language was the largest field, then healthcare, then autonomous driving (DOMAIN.md)
    ordered = [f for f, _ in counts.most_common()]
    assert ordered[:3] == ["speech-language", "healthcare", "autonomous-driving"]


def test_every_modality_and_annotation_type_is_used() -> None:
    specs = load_catalog(SCHEMAS).specs.values()
    assert {s.modality.kind for s in specs} == set(MODALITY_KINDS)
    assert {s.annotation.type for s in specs} == set(ANNOTATION_TYPES)


def test_every_spec_uses_the_synthetic_source_for_now() -> None:
    specs = load_catalog(SCHEMAS).specs.values()
    assert {s.source.kind for s in specs} == {"synthetic"}
    assert "synthetic" in SOURCE_KINDS
    seeds = [s.source.seed for s in specs]  # type: ignore[union-attr]
    assert len(set(seeds)) == len(seeds), "synthetic seeds should differ between specs"


def test_catalog_is_cached() -> None:
    assert load_catalog(SCHEMAS) is load_catalog(SCHEMAS)


def test_json_schema_is_current() -> None:
    on_disk = (SCHEMAS / "dataset-spec.schema.json").read_text(encoding="utf-8")
    assert on_disk == json_schema_text(), "schemas/dataset-spec.schema.json is stale: run `datadam specs schema`"


def test_spec_reference_doc_is_current() -> None:
    from pipelines.spec.reference import reference_markdown

    on_disk = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    assert on_disk == reference_markdown(), "docs/spec.md is stale: run `datadam specs schema`"


def test_cli_list_json() -> None:
    res = runner.invoke(app, ["specs", "list", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["count"] == 150 and len(doc["fields"]) == 10 and len(doc["groups"]) == 72
    res = runner.invoke(app, ["specs", "list", "--format", "json", "--field", "healthcare", "--modality", "image"])
    doc = json.loads(res.stdout)
    assert doc["count"] > 0 and {r["field"] for r in doc["specs"]} == {"healthcare"}


def test_cli_check_all_ok_and_show() -> None:
    res = runner.invoke(app, ["specs", "check"])
    assert res.exit_code == 0, res.output
    spec_id = next(iter(load_catalog(SCHEMAS)))
    res = runner.invoke(app, ["specs", "show", spec_id])
    assert res.exit_code == 0 and f"id: {spec_id}" in res.stdout


# ------------------------------------------------------------------ catalog-level mistakes, on a copy


@pytest.fixture
def tmp_schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, root)
    monkeypatch.setenv("DATADAM_SCHEMAS", str(root))
    return root


def _first(root: Path, field: str) -> Path:
    return sorted((root / "datasets" / field).glob("*.yaml"))[0]


def _check(root: Path, path: Path) -> list[str]:
    _, issues = check_files([path], root=root)
    return [str(i) for i in issues]


def test_id_must_match_file_name(tmp_schemas: Path) -> None:
    p = _first(tmp_schemas, "vision")
    moved = p.with_name("renamed-spec.yaml")
    p.rename(moved)
    assert any(": id: must equal the file name 'renamed-spec'" in line for line in _check(tmp_schemas, moved))


def test_group_must_exist_and_belong_to_field(tmp_schemas: Path) -> None:
    p = _first(tmp_schemas, "vision")
    text = p.read_text(encoding="utf-8")
    group = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("group:"))
    p.write_text(text.replace(f"group: {group}", "group: no-such-group"), encoding="utf-8")
    assert any(": group: not a group of schemas/groups.yaml" in line and "'no-such-group'" in line
               for line in _check(tmp_schemas, p))
    other = next(g for g in load_catalog(SCHEMAS).groups.values() if g.field != "vision")
    p.write_text(text.replace(f"group: {group}", f"group: {other.id}"), encoding="utf-8")
    assert any(f"group belongs to field {other.field!r}" in line for line in _check(tmp_schemas, p))


def test_yaml_syntax_error_names_line(tmp_schemas: Path) -> None:
    p = _first(tmp_schemas, "media")
    p.write_text("id: x\nname: [unclosed\n", encoding="utf-8")
    lines = _check(tmp_schemas, p)
    assert len(lines) == 1 and "<yaml>: not valid YAML" in lines[0] and "line" in lines[0]


def test_non_utf8_spec_is_refused(tmp_schemas: Path) -> None:
    p = _first(tmp_schemas, "media")
    p.write_bytes(p.read_text(encoding="utf-8").encode("cp949"))
    assert any("spec files must be UTF-8" in line for line in _check(tmp_schemas, p))


def test_duplicate_id_across_files(tmp_schemas: Path) -> None:
    p = _first(tmp_schemas, "media")
    copy = p.with_name("zz-copy.yaml")
    copy.write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    _, issues = check_files(spec_files(tmp_schemas), root=tmp_schemas)
    assert any(i.file.endswith("zz-copy.yaml") and i.path == "id" for i in issues)


def test_cli_check_exits_1_with_one_line_per_problem(tmp_schemas: Path) -> None:
    p = _first(tmp_schemas, "healthcare")
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace("target_volume:", "target_volume: -5\nold_target_volume:"), encoding="utf-8")
    res = runner.invoke(app, ["specs", "check", str(p)])
    assert res.exit_code == 1
    lines = [line for line in res.stdout.splitlines() if line]
    assert any(f"{p}: target_volume: " in line and "(got -5)" in line for line in lines), lines
    assert any(f"{p}: old_target_volume: unknown field" in line for line in lines), lines


def test_load_catalog_raises_on_broken_spec(tmp_schemas: Path) -> None:
    from pipelines.spec import reload_catalog

    p = _first(tmp_schemas, "regional")
    p.write_text(p.read_text(encoding="utf-8").replace("target_volume:", "target_volume: 0\nx_target:"), "utf-8")
    reload_catalog()
    with pytest.raises(SpecError) as info:
        load_catalog(tmp_schemas)
    assert any(i.path == "target_volume" for i in info.value.issues)
    reload_catalog()


def test_specs_new_scaffolds_a_passing_spec(tmp_schemas: Path) -> None:
    from pipelines.spec import reload_catalog

    reload_catalog()
    res = runner.invoke(app, ["specs", "new", "my-new-speech", "--field", "speech-language", "--modality", "audio",
                              "--annotation", "transcription"])
    assert res.exit_code == 0, res.output
    path = tmp_schemas / "datasets" / "speech-language" / "my-new-speech.yaml"
    assert path.exists()
    res = runner.invoke(app, ["specs", "check", str(path)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["specs", "new", "bad-combo", "--field", "vision", "--modality", "text",
                              "--annotation", "bbox"])
    assert res.exit_code == 1
    reload_catalog()


# ------------------------------------------------------------------ a YAML alias bomb (issue 15, item 7)

_BOMB_LEVELS = "".join(
    f"  {name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def _bomb_spec(text: str) -> str:
    # a valid spec whose labels are nine levels of nine aliases: 9**9 strings once expanded
    return text.replace("annotation:", "x_defs:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                        + _BOMB_LEVELS + "annotation:", 1).replace("  labels:", "  labels: *i\n  x_labels:", 1)


def test_yaml_alias_bomb_is_refused_with_file_and_field(tmp_schemas: Path) -> None:
    p = _first(tmp_schemas, "vision")
    p.write_text(_bomb_spec(p.read_text(encoding="utf-8")), encoding="utf-8")
    assert len(p.read_bytes()) < 8192
    res = runner.invoke(app, ["specs", "check", str(p)])
    assert res.exit_code == 1
    lines = [line for line in res.stdout.splitlines() if line]
    # the first alias is refused where it stands; nothing after it was read, let alone expanded
    assert lines[0] == (f"{p}: x_defs.b[0]: YAML aliases are not allowed in spec files; write the value out "
                        "(got '*a (line "
                        + str(p.read_text(encoding="utf-8").splitlines().index(_BOMB_LEVELS.splitlines()[0]) + 1)
                        + ", column 10)')")
    assert len(lines) == 1 and "Traceback" not in res.output


def test_an_alias_anywhere_is_refused_even_a_harmless_one(tmp_schemas: Path) -> None:
    p = _first(tmp_schemas, "media")
    text = p.read_text(encoding="utf-8").replace("name_en:", "x: &n 1\nname_en:", 1) + "y: *n\n"
    p.write_text(text, encoding="utf-8")
    issues = check_files([p], root=tmp_schemas)[1]
    assert [(i.path, i.message) for i in issues] == [
        ("y", "YAML aliases are not allowed in spec files; write the value out")]


def test_error_text_of_a_huge_shared_value_stays_short() -> None:
    import yaml

    from pipelines.spec import parse_spec

    # what the loader would have built from the bomb: 9 lists shared 9 ways, 9 levels deep (never walked whole)
    bomb = yaml.safe_load("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + _BOMB_LEVELS.replace("  ", ""))
    spec = yaml.safe_load((_first(SCHEMAS, "vision")).read_text(encoding="utf-8"))
    spec["annotation"]["labels"] = bomb["i"]
    with pytest.raises(SpecError) as info:
        parse_spec(spec, file="bomb.yaml")
    first = info.value.issues[0]
    assert first.path == "annotation.labels[0]"
    assert str(first).startswith("bomb.yaml: annotation.labels[0]: ") and len(str(first)) < 200
    assert "[[[" in str(first) and "..." in str(first)


def _counting_check_files(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count full validations (YAML parse + model) of the catalog."""
    from pipelines.spec import catalog as cat

    calls: list[int] = []
    real = cat.check_files

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cat, "check_files", counted)
    return calls


def test_a_validated_catalog_is_reused_by_the_next_process_until_a_file_changes(
    tmp_schemas: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.spec import reload_catalog

    monkeypatch.setenv("DATADAM_CACHE_DIR", str(tmp_path / "cache"))
    calls = _counting_check_files(monkeypatch)
    reload_catalog()
    first = load_catalog()
    reload_catalog()  # what a fresh process sees: no in-memory cache, the snapshot on disk
    views = load_views()  # what DAG parsing reads: the snapshot's parse view, not the models
    second = load_catalog()
    assert len(calls) == 1 and second.specs == first.specs and len(second) == 150
    assert list(views) == list(first.specs) and all(views[k] == SpecView.of(s) for k, s in first.specs.items())
    path = _first(tmp_schemas, "vision")
    spec_id = path.stem
    path.write_text(path.read_text(encoding="utf-8").replace("target_volume:", "target_volume: 4321 #"),
                    encoding="utf-8")
    reload_catalog()
    assert load_views()[spec_id].target_volume == 4321  # a changed spec reaches the DAG's view
    changed = load_catalog()
    assert len(calls) == 2 and changed.get(spec_id).target_volume == 4321
    # a broken spec is reported, never hidden behind an older snapshot, by the parse view too
    path.write_text(path.read_text(encoding="utf-8").replace("target_volume: 4321 #", "target_volume: -5 #"),
                    encoding="utf-8")
    reload_catalog()
    with pytest.raises(SpecError) as err:
        load_views()
    assert f"{path}: target_volume: " in str(err.value) and "(got -5)" in str(err.value)
    path.write_text("id: [", encoding="utf-8")
    reload_catalog()
    with pytest.raises(SpecError):
        load_catalog()
    reload_catalog()


def test_a_snapshot_others_can_write_is_not_loaded(
    tmp_schemas: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.spec import reload_catalog

    cache = tmp_path / "cache"
    monkeypatch.setenv("DATADAM_CACHE_DIR", str(cache))
    calls = _counting_check_files(monkeypatch)
    reload_catalog()
    load_catalog()
    (snapshot,) = cache.glob("catalog-*.pickle")
    snapshot.chmod(0o666)
    reload_catalog()
    load_catalog()
    snapshot.write_bytes(b"not a pickle")
    snapshot.chmod(0o600)
    reload_catalog()
    assert len(load_catalog()) == 150
    assert len(calls) == 3
    reload_catalog()
