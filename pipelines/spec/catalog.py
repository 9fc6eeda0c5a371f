"""Load, check and cache the catalog: fields, group tasks and the dataset-type specs under ``schemas/``."""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pipelines.spec.errors import SpecError, SpecIssue, format_path
from pipelines.spec.models import DatasetSpec, _Model
from pipelines.spec.snapshot import (  # noqa: F401 -- CACHE_ENV ... spec_files: importable from here as before
    CACHE_ENV,
    SCHEMAS_ENV,
    SpecView,
    _load_views_cached,
    cache_dir,
    default_schemas_dir,
    read_snapshot,
    snapshot_key,
    spec_files,
    write_snapshot,
)

try:  # the C loader is ~10x faster; fall back where libyaml is missing
    _Loader: type[Any] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

@dataclass(frozen=True)
class FieldInfo:
    """One of the 10 fields (분야)."""

    id: str
    name: str
    name_en: str


@dataclass(frozen=True)
class GroupInfo:
    """One of the 72 group tasks (그룹 과제); belongs to one field."""

    id: str
    name: str
    name_en: str
    field: str


@dataclass(frozen=True)
class Catalog:
    """Every spec, keyed by id, plus the fields and groups they refer to."""

    root: Path
    fields: Mapping[str, FieldInfo]
    groups: Mapping[str, GroupInfo]
    specs: Mapping[str, DatasetSpec]
    paths: Mapping[str, Path]

    def __iter__(self) -> Any:
        return iter(sorted(self.specs))

    def __len__(self) -> int:
        return len(self.specs)

    def get(self, spec_id: str) -> DatasetSpec:
        try:
            return self.specs[spec_id]
        except KeyError:
            close = difflib.get_close_matches(spec_id, list(self.specs), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"no dataset spec {spec_id!r} in {self.root}{hint}") from None


def spec_hash(spec: DatasetSpec) -> str:
    """A stable sha256 of the spec's content (key order and YAML formatting do not matter)."""
    payload = json.dumps(spec.model_dump(mode="json", by_alias=True), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


# ------------------------------------------------------------------------------------------ loading


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError.single(path, "<file>", exc.object[exc.start : exc.start + 8],
                               "spec files must be UTF-8") from exc
    except OSError as exc:
        raise SpecError.single(path, "<file>", str(path), f"cannot read: {exc.strerror}") from exc
    return parse_yaml(text, file=path)


def parse_yaml(text: str, *, file: str | Path) -> Any:
    """YAML text as spec files are read: no aliases; a syntax error is a :class:`SpecError` naming ``file``."""
    try:
        if "*" in text:  # an alias needs a '*': files without one skip the event scan
            _refuse_aliases(file, text)
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise SpecError.single(file, "<yaml>", where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc


def _refuse_aliases(path: str | Path, text: str) -> None:
    """Refuse YAML aliases before anything is built from the file (see docs/adr/0009).

    A few hundred bytes of nested aliases expand to billions of nodes once loaded, validated or printed; no
    spec needs them, so the parser's events are scanned (nothing is expanded) and the first alias is an error
    naming its field.
    """
    # one frame per open collection: [kind, index in the sequence or current key of the mapping, key comes next]
    frames: list[list[Any]] = []
    for event in yaml.parse(text, Loader=_Loader):
        top = frames[-1] if frames else None
        is_key = top is not None and top[0] == "map" and top[2]
        if isinstance(event, yaml.NodeEvent) and top:
            if is_key:
                top[1], top[2] = event.value if isinstance(event, yaml.ScalarEvent) else "?", False
            elif top[0] == "map":
                top[2] = True  # the value is read (or opened): a key comes next
            else:
                top[1] = 0 if top[1] is None else top[1] + 1
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            where = format_path(tuple(f[1] for f in frames if f[1] is not None))
            raise SpecError.single(path, where, f"*{event.anchor}{at}",
                                   "YAML aliases are not allowed in spec files; write the value out")
        if isinstance(event, yaml.MappingStartEvent):
            frames.append(["map", None, True])
        elif isinstance(event, yaml.SequenceStartEvent):
            frames.append(["seq", None, False])
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            frames.pop()


@functools.cache
def _all_field_names() -> tuple[str, ...]:
    names: set[str] = set()
    stack: list[type[BaseModel]] = [_Model]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        for fname, finfo in cls.model_fields.items():
            names.add(finfo.alias or fname)
    return tuple(sorted(names))


def _clean_loc(data: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drop the tag pydantic inserts for discriminated unions (``annotation.bbox.labels`` -> ``annotation.labels``)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and part in (node.get("type"), node.get("kind")):
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def issues_from_validation(file: str | Path, data: Any, exc: ValidationError) -> list[SpecIssue]:
    """Turn pydantic's errors into one readable ``SpecIssue`` per problem."""
    issues: list[SpecIssue] = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(data, tuple(err["loc"]))
        if err["type"] == "spec_rule":
            for sub, value, message in err["ctx"]["issues"]:
                issues.append(SpecIssue(str(file), format_path(loc + tuple(sub)), value, message))
            continue
        message = err["msg"]
        value = err.get("input")
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # point at the discriminator itself: `annotation.type: 'cuboid3d'`, not the whole mapping
            key = str(err.get("ctx", {}).get("discriminator", "'type'")).strip("'")
            loc = (*loc, key)
            value = err.get("ctx", {}).get("tag")
            message = f"must be one of {err.get('ctx', {}).get('expected_tags', '?')}"
        elif err["type"] == "extra_forbidden":
            bad = str(loc[-1]) if loc else ""
            close = difflib.get_close_matches(bad, _all_field_names(), n=1)
            message = "unknown field" + (f"; did you mean {close[0]!r}?" if close else "")
        elif err["type"] == "missing":
            message = "required field is missing"
        issues.append(SpecIssue(str(file), format_path(loc), value, message))
    return issues


def parse_spec(data: Any, *, file: str | Path = "<memory>") -> DatasetSpec:
    """Validate one spec's parsed YAML. Raises ``SpecError`` listing every problem."""
    if not isinstance(data, dict):
        raise SpecError.single(file, "<root>", type(data).__name__, "a spec is a YAML mapping")
    try:
        return DatasetSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(issues_from_validation(file, data, exc)) from None


def load_spec(path: str | Path) -> DatasetSpec:
    """Load and validate one spec file (no catalog cross-checks)."""
    p = Path(path)
    return parse_spec(_read_yaml(p), file=p)


def _load_fields(root: Path) -> dict[str, FieldInfo]:
    path = root / "fields.yaml"
    raw = _read_yaml(path) or []
    out: dict[str, FieldInfo] = {}
    for i, row in enumerate(raw):
        try:
            info = FieldInfo(id=row["id"], name=row["name"], name_en=row["name_en"])
        except (KeyError, TypeError) as exc:
            raise SpecError.single(path, f"[{i}]", row, "a field needs id, name and name_en") from exc
        if info.id in out:
            raise SpecError.single(path, f"[{i}].id", info.id, "field ids must be unique")
        out[info.id] = info
    return out


def _load_groups(root: Path, fields: Mapping[str, FieldInfo]) -> dict[str, GroupInfo]:
    path = root / "groups.yaml"
    raw = _read_yaml(path) or []
    out: dict[str, GroupInfo] = {}
    for i, row in enumerate(raw):
        try:
            info = GroupInfo(id=row["id"], name=row["name"], name_en=row["name_en"], field=row["field"])
        except (KeyError, TypeError) as exc:
            raise SpecError.single(path, f"[{i}]", row, "a group needs id, name, name_en and field") from exc
        if info.id in out:
            raise SpecError.single(path, f"[{i}].id", info.id, "group ids must be unique")
        if info.field not in fields:
            raise SpecError.single(path, f"[{i}].field", info.field, f"must be one of {sorted(fields)}")
        out[info.id] = info
    return out


def _catalog_issues(path: Path, spec: DatasetSpec, fields: Mapping[str, FieldInfo],
                    groups: Mapping[str, GroupInfo]) -> list[SpecIssue]:
    f = str(path)
    issues: list[SpecIssue] = []
    if spec.id != path.stem:
        issues.append(SpecIssue(f, "id", spec.id, f"must equal the file name {path.stem!r}"))
    if spec.field not in fields:
        issues.append(SpecIssue(f, "field", spec.field, f"must be one of {sorted(fields)} (schemas/fields.yaml)"))
    elif path.parent.name != spec.field:
        issues.append(SpecIssue(f, "field", spec.field, f"the file must live in datasets/{spec.field}/"))
    if spec.group not in groups:
        close = difflib.get_close_matches(spec.group, list(groups), n=2)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        issues.append(SpecIssue(f, "group", spec.group, f"not a group of schemas/groups.yaml{hint}"))
    elif groups[spec.group].field != spec.field:
        issues.append(SpecIssue(f, "group", spec.group,
                                f"group belongs to field {groups[spec.group].field!r}, spec says {spec.field!r}"))
    return issues


def check_files(paths: Iterable[Path], *, root: Path | None = None) -> tuple[dict[str, DatasetSpec], list[SpecIssue]]:
    """Validate spec files against the model and the catalog; collect every issue instead of stopping."""
    base = root or default_schemas_dir()
    fields = _load_fields(base)
    groups = _load_groups(base, fields)
    specs: dict[str, DatasetSpec] = {}
    where: dict[str, Path] = {}
    issues: list[SpecIssue] = []
    for path in paths:
        try:
            spec = load_spec(path)
        except SpecError as exc:
            issues.extend(exc.issues)
            continue
        found = _catalog_issues(path, spec, fields, groups)
        if spec.id in specs:
            found.append(SpecIssue(str(path), "id", spec.id, f"id already used by {where[spec.id]}"))
        issues.extend(found)
        if not found:
            specs[spec.id] = spec
            where[spec.id] = path
    return specs, issues


@functools.cache
def _load_catalog_cached(root: Path) -> Catalog:
    # A validated catalog is kept as a snapshot keyed by what validation depends on (docs/adr/0019): every file
    # under schemas/ that the catalog reads and the spec package's own code. Beside it, the parse view of every
    # spec, which DAG parsing reads without importing the models (pipelines.spec.snapshot, docs/adr/0038).
    paths = spec_files(root)
    key = snapshot_key(root, paths)
    cached = read_snapshot(key, catalog=True)
    if isinstance(cached, Catalog) and cached.root == root:
        return cached
    fields = _load_fields(root)
    groups = _load_groups(root, fields)
    specs, issues = check_files(paths, root=root)
    if issues:
        raise SpecError(issues)
    by_id = {s.id: p for p in paths for s in [specs.get(p.stem)] if s is not None}
    catalog = Catalog(root=root, fields=fields, groups=groups, specs=dict(sorted(specs.items())), paths=by_id)
    write_snapshot(key, {sid: SpecView.of(spec) for sid, spec in catalog.specs.items()}, catalog)
    return catalog


def load_catalog(root: str | Path | None = None) -> Catalog:
    """The whole catalog, validated once and cached per root. ``reload_catalog()`` drops the cache."""
    return _load_catalog_cached(Path(root or default_schemas_dir()).resolve())


def reload_catalog() -> None:
    """Forget the catalog and the parse views loaded in this process (the next load checks the files again)."""
    _load_catalog_cached.cache_clear()
    _load_views_cached.cache_clear()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, generated from the model (never hand-written)."""
    schema = DatasetSpec.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://datadam.dev/schemas/dataset-spec.schema.json"
    schema["title"] = "datadam dataset-type spec"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
