"""JSONL/CSV/Parquet record files (``source: {kind: records, path, format, id_column, media_column, text_column}``).

Each record is one item. ``text_column`` carries the text of a text dataset (or the transcript of a media item);
``media_column`` points at the media file: a path relative to the record file's folder, an ``http(s)://`` URL
or an ``s3://`` URI. Columns named like the spec's schema columns become the item's metadata.

Media references stay in the source's own root: paths inside the record file's folder; ``s3://`` URIs under
``source.media_root`` only (``source.outside_root`` otherwise, and always inside the storage root, where every
dataset's ``restricted/`` originals live: the storage credentials could read them); URLs are fetched like the
http source's, refusing loopback, private and link-local addresses unless ``source.allow_hosts`` names the host.

CSV: a quoted field may span lines. A record the csv module cannot read (a quote never closed, a field over its
131,072-character limit) is quarantined alone with its line number (``text.malformed`` / ``text.too_long``) and
reading starts again on the next line; a record with more fields than the header is ``text.malformed``.

Encodings: ``auto`` reads UTF-8 (with or without BOM) and falls back to CP949, the superset of EUC-KR that
Korean Windows exports use; when a file is neither as a whole, each line is decoded on its own and the lines
that are neither are quarantined as ``text.encoding``. Media paths that leave the record file's folder
(absolute, ``..``, or a symbolic link pointing outside) are quarantined as ``source.path_traversal`` /
``source.symlink_escape``.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import math
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.collect import reasons as R
from pipelines.collect.encoding import has_control_characters, strip_bom
from pipelines.collect.errors import CollectError
from pipelines.collect.reasons import Reject
from pipelines.collect.sources.http import download, make_client
from pipelines.collect.sources.listing import Entry, ListingSource, ext_of
from pipelines.collect.sources.local import inside, read_limited
from pipelines.collect.sources.s3 import get_limited, split_s3_uri
from pipelines.pii.text import mask_identifiers
from pipelines.spec.models import (
    BoolColumn,
    DatasetSpec,
    DateColumn,
    DatetimeColumn,
    FloatColumn,
    IntColumn,
    TextModality,
)
from pipelines.spec.models import RecordsSource as RecordsConfig
from pipelines.storage.store import ObjectStore, S3Reader, S3Settings

MAX_RECORDS_FILE_BYTES = 2 * 1024**3
_TRUE = frozenset({"true", "1", "yes", "y", "예", "네", "o"})
_FALSE = frozenset({"false", "0", "no", "n", "아니오", "아니요", "x"})


def decode_lines(data: bytes, encoding: str) -> tuple[list[tuple[int, str | None]], str | None]:
    """The lines of a file as (line number, text or None when undecodable), and the whole-file encoding.

    ``encoding="auto"`` tries UTF-8 then CP949 on the whole file, then on each line; a UTF-16 byte-order mark
    decides instead. A line holding control characters counts as undecodable (``text.encoding``).
    """
    encs = ["utf-8", "cp949"] if encoding == "auto" else [encoding]
    data, declared = strip_bom(data)
    if declared is not None:  # a UTF-16 byte-order mark decides (Excel's "Unicode text", Notepad)
        encs = [declared]

    def clean(line: str) -> str | None:  # control characters: binary, or UTF-16 without a mark read as UTF-8
        return None if has_control_characters(line) else line

    for enc in encs:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        return [(n, clean(line)) for n, line in enumerate(text.splitlines(), start=1)], enc
    out: list[tuple[int, str | None]] = []
    for n, raw in enumerate(data.splitlines(), start=1):
        decoded: str | None = None
        for enc in encs:
            try:
                decoded = clean(raw.decode(enc))
                break
            except UnicodeDecodeError:
                continue
        out.append((n, decoded))
    return out, None


class _Feed:
    """The lines of one CSV segment for ``csv.reader``, counting how many it took (a record may span lines)."""

    def __init__(self, lines: list[tuple[int, str | None]], start: int) -> None:
        self.lines = lines
        self.pos = start

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines) or self.lines[self.pos][1] is None:
            raise StopIteration  # an undecodable line ends the segment: no quoted field runs across it
        text = self.lines[self.pos][1]
        self.pos += 1
        return f"{text}\n"


def csv_records(lines: list[tuple[int, str | None]]) -> Iterator[tuple[int, list[str] | None,
                                                                        tuple[str, str] | None]]:
    """Each record of CSV lines as (line number where it starts, fields, None), or (line, None, problem).

    A quoted field may span lines. A record the csv module cannot read (a quote never closed, a field over its
    limit) is refused on its own and reading starts again on the next line, so one broken quote cannot swallow
    every later record; each blank line is skipped and each undecodable one refused (``text.encoding``).
    """
    limit = csv.field_size_limit()
    i = 0
    while i < len(lines):
        n, text = lines[i]
        if text is None:
            yield n, None, (R.TEXT_ENCODING, "neither UTF-8 nor CP949")
            i += 1
            continue
        if not text.strip():
            i += 1
            continue
        feed = _Feed(lines, i)
        try:
            fields = next(csv.reader(feed, strict=True))
        except csv.Error as exc:
            spans = feed.pos - i
            if "field larger than field limit" in str(exc) and spans <= 1:
                yield n, None, (R.TEXT_TOO_LONG, f"a field over the CSV limit of {limit:,} characters (use JSONL)")
            elif spans > 1 or "unexpected end of data" in str(exc):
                yield n, None, (R.TEXT_MALFORMED, f"a quoted field is not closed where it should be ({exc}); "
                                                  "the lines after it are read on their own")
            else:
                yield n, None, (R.TEXT_MALFORMED, f"not CSV: {exc}")
            i += 1
            continue
        yield n, fields, None
        i = feed.pos


class BadValue(ValueError):
    """A record's metadata value that is not of its column's type (the message names the column and the value)."""


def coerce(spec: DatasetSpec, record: dict[str, Any]) -> dict[str, Any]:
    """Values of the spec's schema columns from a record (strings of CSV files converted to the column type).

    Raises:
        BadValue: a value that is not of its column's type: a number, a yes/no, a date or a date-time that does not
            read as one (an empty value is a missing one: ``required`` is validate's to measure).
    """
    meta: dict[str, Any] = {}
    for name, col in spec.columns.items():
        value = record.get(name)
        if isinstance(value, str):
            value = value.strip() or None
        if value is not None:
            value = _typed(col, value)
            if value is None:
                # the detail is read by whoever runs the pipeline: identifiers in the value are masked
                shown = mask_identifiers(str(record.get(name)))
                shown = shown if len(shown) <= 60 else shown[:57] + "..."
                raise BadValue(f"column {name!r}: {shown!r} is not {_EXPECTED[col.type]}")
        meta[name] = value
    return meta


_EXPECTED = {"int": "a whole number", "float": "a number", "bool": "yes/no (true, false, 1, 0, 예, 아니오 ...)",
             "date": "a date (YYYY-MM-DD)", "datetime": "a date and time (ISO 8601, e.g. 2026-12-06T09:30:00+09:00)",
             "string": "text", "enum": "text"}


def _typed(col: Any, value: Any) -> Any:
    """``value`` as the column's type, or None when it is not one. Text columns take any scalar as its text."""
    if isinstance(col, IntColumn):
        if isinstance(value, bool):
            return None
        if isinstance(value, float):
            return int(value) if value.is_integer() else None
        return value if isinstance(value, int) else _number(value, int) if isinstance(value, str) else None
    if isinstance(col, FloatColumn):
        if isinstance(value, bool):
            return None
        number = float(value) if isinstance(value, int | float) else _number(value, float) \
            if isinstance(value, str) else None
        return number if number is None or math.isfinite(number) else None
    if isinstance(col, BoolColumn):
        if isinstance(value, bool):
            return value
        text = str(value).lower() if isinstance(value, str | int) else ""
        return True if text in _TRUE else False if text in _FALSE else None
    if isinstance(col, DateColumn | DatetimeColumn):
        if not isinstance(value, str):
            return None
        try:
            if isinstance(col, DateColumn):
                date.fromisoformat(value[:10])
            else:
                datetime.fromisoformat(value)
        except ValueError:
            return None
        return value
    if isinstance(value, dict | list):
        return None
    return value


def _number(value: str, kind: type[int] | type[float]) -> int | float | None:
    """A number written with or without thousands separators; an int column also takes ``12.0``."""
    text = value.replace(",", "")
    try:
        return kind(text)
    except ValueError:
        pass
    if kind is int:
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() else None
    return None


def _parquet(data: bytes) -> Iterator[tuple[int, dict[str, Any] | None, tuple[str, str] | None]]:
    """Each row of a Parquet file as (row number from 1, record, None); an unreadable file is one refused entry."""
    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        n = 0
        for batch in pf.iter_batches(batch_size=4096):
            for record in batch.to_pylist():
                n += 1
                yield n, record, None
    except (pa.ArrowException, OSError) as exc:
        yield 1, None, (R.TEXT_MALFORMED, f"not a readable Parquet file: {type(exc).__name__}: {exc}")


class RecordsCollector(ListingSource):
    """One item per record of the files at ``path`` (a file, or a glob of files, sorted)."""

    groups_files: ClassVar[bool] = False  # one item per record, whatever the modality

    kind: ClassVar[str] = "records"

    def __init__(self, *, spec: DatasetSpec, store: ObjectStore, run_id: str | None = None,
                 s3: S3Settings | None = None) -> None:
        super().__init__(spec=spec, store=store, run_id=run_id, s3=s3)
        assert isinstance(spec.source, RecordsConfig)
        self.config: RecordsConfig = spec.source
        self.is_text = isinstance(spec.modality, TextModality)
        # a parquet record's text reaches intake as a one-record JSONL document
        self.item_format = "jsonl" if self.config.format == "parquet" else self.config.format
        if self.is_text:
            assert isinstance(spec.modality, TextModality)
            if self.item_format not in spec.modality.formats:
                raise CollectError(f"{spec.id}: records in {self.config.format} but the spec's text formats are "
                                   f"{spec.modality.formats}")
        elif not self.config.media_column:
            raise CollectError(f"{spec.id}: a {spec.modality.kind} dataset from records needs source.media_column")
        self.text_column = self.config.text_column or ("text" if self.is_text else None)
        self.media_root: tuple[str, str] | None = None
        if self.config.media_root:
            bucket, prefix = split_s3_uri(self.config.media_root)
            self.media_root = (bucket, prefix if not prefix or prefix.endswith("/") else f"{prefix}/")
            # media_root holding the storage root is as bad as inside it
            if store.overlaps_s3(bucket, prefix):
                raise CollectError(f"{spec.id}: source.media_root {self.config.media_root!r} overlaps the storage "
                                   f"root {store.root}, whose restricted/ originals no source may read")
        self._http: httpx.Client | None = None
        self._s3 = S3Reader(self.s3)

    def files(self) -> list[Path]:
        pattern = str(Path(self.config.path).expanduser())
        if glob.has_magic(pattern):
            return [Path(p) for p in sorted(glob.glob(pattern, recursive=True)) if Path(p).is_file()]
        path = Path(pattern)
        if not path.is_file():
            raise CollectError(f"{self.spec.id}: source.path {pattern!r} is not a file")
        return [path]

    # ---------------------------------------------------------------------------------------- listing
    def entries(self) -> Iterator[Entry]:
        for path in self.files():
            data = read_limited(path, MAX_RECORDS_FILE_BYTES)
            if self.config.format == "parquet":
                records = _parquet(data)
            else:
                lines, _ = decode_lines(data, self.config.encoding)
                records = self._jsonl(lines) if self.config.format == "jsonl" else self._csv(lines)
            seen: set[str] = set()
            for line_no, record, problem in records:
                rid = self._record_id(record, line_no)
                uri = f"{path.absolute().as_uri()}#{quote(rid, safe='')}"
                if rid in seen:
                    yield Entry(uri=f"{uri}~line{line_no}", locator=uri, reject=R.SOURCE_DUPLICATE_ID,
                                detail=f"line {line_no}: id {rid!r} repeats an earlier record")
                    continue
                seen.add(rid)
                if problem is not None:
                    yield Entry(uri=uri, locator=uri, reject=problem[0], detail=f"line {line_no}: {problem[1]}")
                    continue
                assert record is not None
                yield self._entry(path, uri, line_no, record)

    def _record_id(self, record: dict[str, Any] | None, line_no: int) -> str:
        if record is not None and self.config.id_column and record.get(self.config.id_column) not in (None, ""):
            return str(record[self.config.id_column])
        return f"line{line_no}"

    def _jsonl(self, lines: list[tuple[int, str | None]]) -> Iterator[tuple[int, dict[str, Any] | None,
                                                                           tuple[str, str] | None]]:
        for n, line in lines:
            if line is None:
                yield n, None, (R.TEXT_ENCODING, "neither UTF-8 nor CP949")
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, None, (R.TEXT_MALFORMED, f"not JSON: {exc}")
                continue
            if not isinstance(record, dict):
                yield n, None, (R.TEXT_MALFORMED, "a JSON line must hold an object")
                continue
            yield n, record, None

    def _csv(self, lines: list[tuple[int, str | None]]) -> Iterator[tuple[int, dict[str, Any] | None,
                                                                         tuple[str, str] | None]]:
        records = csv_records(lines)
        first = next(records, None)
        if first is None:
            return
        n, header, problem = first
        if header is None:  # without a header no record can be read: the file is refused as one entry
            assert problem is not None
            yield n, None, (problem[0], f"the header: {problem[1]}")
            return
        for n, fields, problem in records:
            if fields is None:
                yield n, None, problem
            elif len(fields) > len(header):  # a stray delimiter, or a quote that closed on a later line
                yield n, None, (R.TEXT_MALFORMED, f"{len(fields)} fields, the header has {len(header)}")
            else:
                yield n, dict(zip(header, fields, strict=False)), None

    def _entry(self, path: Path, uri: str, line_no: int, record: dict[str, Any]) -> Entry:
        try:
            meta = coerce(self.spec, record)
        except BadValue as exc:
            return Entry(uri=uri, locator=uri, reject=R.META_INVALID, detail=f"line {line_no}: {exc}")
        text = record.get(self.text_column) if self.text_column else None
        if self.is_text:
            if not isinstance(text, str):
                return Entry(uri=uri, locator=uri, reject=R.TEXT_MALFORMED,
                             detail=f"line {line_no}: no string column {self.text_column!r}")
            return Entry(uri=uri, locator=uri, ext=self.item_format, payload=self._wrap(text), meta=meta)
        ref = record.get(self.config.media_column or "")
        if not isinstance(ref, str) or not ref.strip():
            return Entry(uri=uri, locator=uri, reject=R.SOURCE_UNAVAILABLE,
                         detail=f"line {line_no}: no media reference in column {self.config.media_column!r}")
        ref = ref.strip()
        transcript = text if isinstance(text, str) else None
        if ref.startswith("s3://"):
            refused = self._outside_root(ref)
            if refused is not None:
                return Entry(uri=uri, locator=ref, reject=refused[0], detail=f"line {line_no}: {refused[1]}")
        if ref.lower().startswith(("http://", "https://", "s3://")):
            return Entry(uri=uri, locator=ref, ext=ext_of(ref), meta=meta, text=transcript)
        base = path.parent
        rel = Path(ref)
        if rel.is_absolute() or ".." in rel.parts or ref.startswith("\\"):
            return Entry(uri=uri, locator=ref, reject=R.SOURCE_PATH_TRAVERSAL,
                         detail=f"line {line_no}: media path {ref!r} leaves the records folder")
        if not inside((base / rel).resolve(), base.resolve()):
            return Entry(uri=uri, locator=ref, reject=R.SOURCE_SYMLINK_ESCAPE,
                         detail=f"line {line_no}: media path {ref!r} links outside the records folder")
        return Entry(uri=uri, locator=(base / rel).absolute().as_posix(), ext=ext_of(ref), meta=meta,
                     text=transcript)

    def _outside_root(self, ref: str) -> tuple[str, str] | None:
        """(reason, why) when an ``s3://`` media reference lies outside the source's own root."""
        bucket, key = split_s3_uri(ref)
        if ".." in key.split("/") or "\\" in key:
            return R.SOURCE_PATH_TRAVERSAL, f"media reference {ref!r} climbs out of its prefix"
        if self.store.holds_s3(bucket, key):
            return R.SOURCE_OUTSIDE_ROOT, f"media reference {ref!r} points into the storage root"
        if self.media_root is None:
            return R.SOURCE_OUTSIDE_ROOT, f"media reference {ref!r}: s3:// media needs source.media_root"
        root_bucket, root_prefix = self.media_root
        if bucket != root_bucket or not key.startswith(root_prefix):
            return R.SOURCE_OUTSIDE_ROOT, (f"media reference {ref!r} is outside source.media_root "
                                           f"{self.config.media_root!r}")
        return None

    def _wrap(self, text: str) -> bytes:
        # The item as a one-record document of the spec's format, in UTF-8: intake unwraps the text field.
        if self.item_format == "jsonl":
            return json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["text"])
        writer.writerow([text])
        return buf.getvalue().encode("utf-8")

    # ---------------------------------------------------------------------------------------- fetching
    def fetch(self, entry: Entry) -> bytes:
        limit = self.limit_for(entry)
        ref = entry.locator
        if ref.lower().startswith(("http://", "https://")):
            if self._http is None:
                self._http = make_client(60.0, allow_hosts=self.config.allow_hosts)
            return download(self._http, ref, limit=limit)[0]
        if ref.startswith("s3://"):
            refused = self._outside_root(ref)  # again at fetch: a listing is data, not a licence
            if refused is not None:
                raise Reject(*refused)
            bucket, key = split_s3_uri(ref)
            return get_limited(self._s3, bucket, key, limit=limit)
        path = Path(ref)
        # re-checked at fetch: a link planted after planning must not lead outside the folder either
        for records_file in self.files():
            if inside(path.resolve(), records_file.parent.resolve()):
                return read_limited(path, limit)
        raise Reject(R.SOURCE_SYMLINK_ESCAPE, f"{ref} resolves outside the records folder")

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        self._s3.close()
