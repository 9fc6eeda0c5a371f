"""Binding a run to a contractor's own data: ``datadam run ID --source URI|FILE`` and the DAG's ``source`` param.

The spec says *what* a dataset type is; where one contractor's delivery lives differs per contractor, so it is
bound per run and the spec (file, version, hash) stays as it is. A binding is one of:

- ``s3://bucket/prefix`` — objects under the prefix; ``?connection=ID`` names the Airflow connection holding the
  credentials (default ``datadam_s3``);
- ``file:///path`` or a plain path — a local folder (``?glob=**/*.jpg``, ``?follow_symlinks=true``), or a records
  file ``*.csv`` / ``*.jsonl`` / ``*.parquet`` with its columns as query (``?text_column=body&id_column=doc_id``,
  ``media_column=``, ``encoding=``, ``media_root=``, ``allow_hosts=a,b``);
- ``https://host/list.txt`` — a list of URLs, one a line;
- a ``.yaml`` / ``.yml`` file, or a mapping, holding a source block in the spec's own ``source:`` syntax (with or
  without the ``source:`` key) — the way to set every option (``allow_hosts``, ``deadline_s`` ...).

A binding is checked against the source model and the spec's modality before anything runs, and a bad one raises
:class:`SourceBindingError`, one line naming the field and the value. Credentials never travel in a binding: a
URI with a user-info part or a credential-like query parameter is refused (an S3 source names a connection).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import pydantic

from pipelines.spec.catalog import parse_yaml
from pipelines.spec.errors import SpecError, SpecIssue, format_path
from pipelines.spec.models import (
    DatasetSpec,
    HttpSource,
    LocalSource,
    MultimodalModality,
    RecordsSource,
    Source,
    TextModality,
)

WHERE = "source binding"
_SOURCE: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Source)
_RECORD_FORMATS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}
# Query parameter names that carry a credential (AWS / MinIO presigning, Azure SAS, GCS, generic tokens).
_CREDENTIAL_PARAMS = frozenset({
    "x-amz-credential", "x-amz-signature", "x-amz-security-token", "aws_access_key_id", "aws_secret_access_key",
    "access_key", "secret_key", "secret", "password", "token", "sig", "signature", "x-goog-signature",
    "x-goog-credential", "awsaccesskeyid", "api_key", "apikey",
})
_CREDENTIAL_FIELDS = frozenset({"login", "secret_access_key", "access_key_id", "credentials", "session_token",
                                "aws_session_token", "key", "private_key"})
# Extensions a folder of each format holds (archives are expanded by the source, so zip always fits).
_FORMAT_EXTS: dict[str, tuple[str, ...]] = {
    "jpeg": ("jpg", "jpeg", "jpe"), "tiff": ("tif", "tiff"), "dicom": ("dcm", "dicom", ""),
    "frames": ("zip",), "pcm": ("pcm", "raw"),
}
_FOLDER_SCAN = 10_000


class SourceBindingError(SpecError):
    """A run's source binding is unusable: one line, the field and the value."""


@dataclass(frozen=True)
class Binding:
    """A run's source, bound at run time.

    Attributes:
        given: what was given, as recorded (a URI, or ``<file>.yaml``/``inline block``); never holds credentials.
        source: the source block the run collects from, in the spec's source syntax.
    """

    given: str
    source: Any  # one of the spec's source models

    def record(self) -> dict[str, Any]:
        """What the plan, the run summary, the manifest and the card say about the binding."""
        return {"given": self.given, "source": self.source.model_dump(mode="json")}


def binding_error(path: str, value: Any, message: str) -> SourceBindingError:
    """The one-line error of a bad binding: field, value, why."""
    return SourceBindingError([SpecIssue(WHERE, path, value, message)])


def bind_source(spec: DatasetSpec, value: str | Mapping[str, Any]) -> Binding:
    """The source ``value`` binds ``spec``'s run to, checked against the source model and the spec's modality.

    Args:
        spec: the dataset type (left unchanged; see :func:`bound_spec`).
        value: a URI, a path, the path of a YAML file holding a source block, or the block itself.

    Raises:
        SourceBindingError: the binding cannot serve this spec (one line: field, value, why).
    """
    if isinstance(value, Mapping):
        return bind_source(spec, json.dumps(dict(value), ensure_ascii=False))
    else:
        text = str(value).strip()
        if not text:
            raise binding_error("source", value, "is empty: give a URI, a folder, a records file or a source block")
        if text.startswith("{"):  # a block inline, as the trigger form's text field holds it
            block = parse_yaml(text, file=WHERE)
            if not isinstance(block, Mapping):
                raise binding_error("source", text, "not a source block ({kind: ..., ...})")
            source = _from_block(block, origin="the inline block")
            given = json.dumps(source.model_dump(mode="json", exclude_defaults=True) | {"kind": source.kind},
                               ensure_ascii=False, sort_keys=True)
        elif text.lower().endswith((".yaml", ".yml")) and "://" not in text:
            path = Path(os.path.abspath(os.path.expanduser(text)))
            source, given = _from_yaml(path), str(path)
        else:
            source, given = _from_uri(text)
    _check_modality(spec, source)
    _check_reachable(source)
    _check_folder_holds(spec, source)
    return Binding(given=given, source=source)


def bound_spec(spec: DatasetSpec, binding: Binding | None) -> DatasetSpec:
    """The spec a bound run's collection works with: its own source replaced in memory, nothing else changed."""
    return spec if binding is None else spec.model_copy(update={"source": binding.source})


# ------------------------------------------------------------------------------------------------ parsing


def _validated(block: Any, *, prefix: str = "source") -> Any:
    try:
        return _SOURCE.validate_python(block)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        if loc and isinstance(block, Mapping) and loc[0] == block.get("kind"):
            loc = loc[1:]  # the union's tag: the block's own kind
        shown = "***" if err["type"] == "extra_forbidden" else err.get("input")  # an unknown field may hold a key
        raise binding_error(f"{prefix}.{format_path(loc)}" if loc else prefix, shown, err["msg"]) from None


def _from_block(block: Mapping[str, Any], *, origin: str) -> Any:
    data = dict(block)
    if set(data) == {"source"}:
        data = data["source"]
    if not isinstance(data, Mapping) or "kind" not in data:
        raise binding_error("source.kind", None if not isinstance(data, Mapping) else sorted(data),
                    f"{origin} must hold a source block with a kind (synthetic, local, http, s3, records)")
    for key, val in data.items():
        if str(key).lower() in _CREDENTIAL_PARAMS | _CREDENTIAL_FIELDS:
            raise binding_error(f"source.{key}", "***", "a key never goes in a binding: name an Airflow "
                                                         "connection instead (connection: ID)")
        for item in val if isinstance(val, list) else [val]:
            if isinstance(item, str):
                _refuse_credentials(f"source.{key}", item)
    return _validated(data)


def _from_yaml(path: Path) -> Any:
    if not path.is_file():
        raise binding_error("source", str(path), "no such YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise binding_error("source", str(path), f"not a readable YAML file ({type(exc).__name__})") from None
    block = parse_yaml(text, file=path)
    if not isinstance(block, Mapping):
        raise binding_error("source", str(path), "the YAML file must hold a mapping: a source block")
    return _from_block(block, origin=path.name)


def _redacted(uri: str) -> str:
    """``uri`` as shown in a message, without any user-info part (which may hold a key)."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    return urlunsplit((parts.scheme, f"***@{host}" + (f":{parts.port}" if parts.port else ""), parts.path,
                       "", ""))


def _refuse_credentials(path: str, uri: str) -> None:
    if "://" not in uri:
        return
    parts = urlsplit(uri)
    if parts.username is not None or parts.password is not None:
        raise binding_error(path, _redacted(uri), "holds credentials (user-info): name an Airflow connection instead "
                                          "(s3://bucket/prefix?connection=ID); keys never go in a binding")
    for key, _ in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in _CREDENTIAL_PARAMS:
            raise binding_error(path, f"{parts.scheme}://{parts.netloc}{parts.path}?{key}=***",
                        f"holds a credential ({key}): name an Airflow connection instead; "
                        "keys never go in a binding")


def _options(query: str, allowed: tuple[str, ...], *, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, val in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if key not in allowed:
            raise binding_error(f"{path}?{key}", val, f"is not an option here (options: {', '.join(allowed)})")
        out[key] = [h for h in val.split(",") if h] if key == "allow_hosts" else val
    return out


def _from_uri(text: str) -> tuple[Any, str]:
    _refuse_credentials("source", text)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme == "s3":
        parts = urlsplit(text)
        opts = _options(parts.query, ("connection",), path="source")
        uri = urlunsplit(("s3", parts.netloc, parts.path, "", ""))
        return _validated({"kind": "s3", "uri": uri, **opts}), text
    if scheme in ("http", "https"):
        return _validated({"kind": "http", "url_list": text}), text
    if scheme not in ("", "file"):
        raise binding_error("source", text, f"unknown scheme {scheme}:// (use s3://, file://, https:// or a path)")
    if scheme == "file":
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise binding_error("source", text, "a file:// URI names a path on this machine (file:///path)")
        raw_path, query = unquote(parts.path), parts.query
    else:  # a path as typed: made absolute, so the record (and a runner with another cwd) means the same place
        raw_path, _, query = text.partition("?")
        raw_path = os.path.abspath(os.path.expanduser(raw_path))
        text = raw_path + (f"?{query}" if query else "")
    ext = raw_path.rsplit(".", 1)[-1].lower() if "." in Path(raw_path).name else ""
    if ext in _RECORD_FORMATS:
        opts = _options(query, ("id_column", "text_column", "media_column", "encoding", "media_root",
                                "allow_hosts"), path="source")
        return _validated({"kind": "records", "path": raw_path, "format": _RECORD_FORMATS[ext], **opts}), text
    opts = _options(query, ("glob", "follow_symlinks"), path="source")
    return _validated({"kind": "local", "root": raw_path, **opts}), text


# ------------------------------------------------------------------------------------------------ checks


def _formats(spec: DatasetSpec) -> set[str]:
    m = spec.modality
    comps = m.components if isinstance(m, MultimodalModality) else [m]
    return {f for c in comps for f in c.formats}


def _extensions(formats: set[str]) -> set[str]:
    exts = {"zip"}
    for f in formats:
        exts.update(_FORMAT_EXTS.get(f, (f,)))
    return exts


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _check_modality(spec: DatasetSpec, source: Any) -> None:
    kind = spec.modality.kind
    if isinstance(source, RecordsSource):
        if isinstance(spec.modality, TextModality):
            if ("jsonl" if source.format == "parquet" else source.format) not in spec.modality.formats:
                raise binding_error("source.format", source.format,
                            f"{spec.id} is a text dataset of {', '.join(spec.modality.formats)} records")
            if source.media_column:
                raise binding_error("source.media_column", source.media_column,
                            f"{spec.id} is a text dataset: its records carry text (text_column), not media")
        elif not source.media_column:
            raise binding_error("source.media_column", None, f"{spec.id} is {_a(kind)} dataset: records must "
                                "name the column holding each item's media (?media_column=...)")
    if isinstance(source, LocalSource) and "." in source.glob.rsplit("/", 1)[-1]:
        ext = source.glob.rsplit(".", 1)[-1].lower()
        if not any(c in ext for c in "*?[") and ext not in _extensions(_formats(spec)):
            raise binding_error("source.glob", source.glob, f"{spec.id} is {_a(kind)} dataset of "
                                                    f"{', '.join(sorted(_formats(spec)))}, not .{ext} files")


def _check_reachable(source: Any) -> None:
    """What can be checked where the binding is resolved (the machine that collects): local paths exist."""
    if isinstance(source, LocalSource):
        root = Path(source.root).expanduser()
        if not root.is_dir():
            why = "is not a folder" if root.exists() else "no such folder"
            raise binding_error("source.root", source.root, why)
    elif isinstance(source, RecordsSource) and not any(c in source.path for c in "*?["):
        if not Path(source.path).expanduser().is_file():
            raise binding_error("source.path", source.path, "no such records file")
    elif (isinstance(source, HttpSource) and source.url_list and "://" not in source.url_list
          and not Path(source.url_list).expanduser().is_file()):
        raise binding_error("source.url_list", source.url_list, "no such URL list file")


def _check_folder_holds(spec: DatasetSpec, source: Any) -> None:
    """A bound local folder holds files of the spec's modality: a folder of WAVs bound to an image spec fails
    here, not after every item was quarantined. Looks at the first few thousand files only."""
    if not isinstance(source, LocalSource):
        return
    exts = _extensions(_formats(spec))
    seen: dict[str, int] = {}
    n = 0
    for _, _, files in os.walk(Path(source.root).expanduser()):
        for name in files:
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            if ext in exts:
                return
            seen[ext or "(none)"] = seen.get(ext or "(none)", 0) + 1
            n += 1
        if n >= _FOLDER_SCAN:
            break
    if n:
        found = ", ".join(f".{e}" for e, _ in sorted(seen.items(), key=lambda kv: -kv[1])[:5])
        raise binding_error("source.root", source.root, f"{spec.id} is {_a(spec.modality.kind)} dataset of "
                                                f"{', '.join(sorted(_formats(spec)))}; the folder holds {found}")
