"""The static catalog site, generated into storage beside ``catalog/index.json``.

``catalog/index.html`` lists every dataset with field/modality/annotation filters and a search box (vanilla JS
over JSON embedded in the page: it opens from disk or an object store, with no server and no network);
``catalog/datasets/<id>.html`` is a dataset's page the way AI Hub shows one: the card, the metadata table, splits
and sizes, the quality summary linking the QA report, sample rows or thumbnails, versions with their change log,
and the exact download command. Links are relative, so the tree works wherever it is copied.

Pages carry the catalog revision they were built from and are written with a compare-and-swap that keeps the
newer one, so concurrent publishers cannot leave an older page on top.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Sequence
from html import escape
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.publish.card import aihub_metadata, datasheet, quality_rows, split_rows
from pipelines.publish.sample_view import (
    IMAGE_KINDS,
    LABEL_CSS,
    LABEL_JS,
    TEXT_KINDS,
    TIMED_KINDS,
    image_figures,
    text_samples,
    timed_samples,
)
from pipelines.storage import ObjectStore, layout

INDEX_KEY = "catalog/index.html"
SAMPLE_ROWS = 6
_AUDIO_INLINE_BYTES = 400_000
_REV_RE = re.compile(rb'<meta name="datadam-revision" content="(\d+)">')
_ENTRY_RE = re.compile(rb'<meta name="datadam-entry" content="([0-9a-f]+)">')
_SKIP_SAMPLE = ("media", "qc_", "source_uri", "original_sha256", "collected_at", "license")

_CSS = """
:root{--ink:#1d1d1f;--mut:#5f6368;--line:#dadce0;--acc:#0b57d0;--bg:#f8f9fa}
*{box-sizing:border-box} body{font-family:system-ui,-apple-system,"Noto Sans KR","Malgun Gothic",sans-serif;
margin:0;color:var(--ink);background:#fff} header{background:#0b3d91;color:#fff;padding:1rem 2rem}
header a{color:#fff} main{padding:1rem 2rem;max-width:1200px} h1{font-size:1.4rem;margin:.2rem 0}
h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid var(--line);padding-bottom:.3rem}
.sub{color:var(--mut)} table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:var(--bg)} .filters{display:flex;gap:.5rem;flex-wrap:wrap;margin:1rem 0}
.filters input,.filters select{padding:.45rem;font-size:1rem;border:1px solid var(--line);border-radius:4px}
.filters input{flex:1;min-width:240px} .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));
gap:1rem} .card{border:1px solid var(--line);border-radius:8px;padding:1rem;background:#fff}
.card h3{margin:.1rem 0 .4rem;font-size:1.05rem} .tag{display:inline-block;background:#e8f0fe;color:#174ea6;
border-radius:10px;padding:.05rem .55rem;font-size:.78rem;margin:0 .25rem .25rem 0}
.pass{color:#0a7a2f;font-weight:600} .fail{color:#b3261e;font-weight:600} pre{background:var(--bg);
padding:.7rem;border:1px solid var(--line);border-radius:4px;overflow-x:auto} .thumbs img{max-height:96px}
.empty{color:var(--mut);padding:2rem 0}
""" + LABEL_CSS

_INDEX_JS = """
(function(){
  const data = JSON.parse(document.getElementById('catalog-data').textContent);
  const all = Object.values(data.datasets);
  const q = document.getElementById('q'), field = document.getElementById('field'),
        modality = document.getElementById('modality'), annotation = document.getElementById('annotation'),
        list = document.getElementById('list'), count = document.getElementById('count');
  function el(tag, cls, text){ const e = document.createElement(tag); if(cls) e.className = cls;
    if(text !== undefined) e.textContent = text; return e; }
  function hay(d){ return [d.id, d.name, d.name_en, d.description, d.group, d.group_name || '', d.field,
    d.field_name || '', (d.labels || []).join(' '), (d.intended_use || []).join(' ')].join(' ').toLowerCase(); }
  function matches(d){
    const words = q.value.trim().toLowerCase().split(/\\s+/).filter(Boolean);
    if(field.value && d.field !== field.value) return false;
    if(modality.value && d.modality !== modality.value && !(d.modality_kinds || []).includes(modality.value))
      return false;
    if(annotation.value && d.annotation_type !== annotation.value) return false;
    const h = hay(d); return words.every(w => h.includes(w));
  }
  function render(){
    list.replaceChildren();
    const shown = all.filter(matches);
    count.textContent = shown.length + ' / ' + all.length;
    for(const d of shown){
      const c = el('article', 'card'); c.dataset.id = d.id;
      const h = el('h3'); const a = el('a', '', d.name); a.href = d.page; h.append(a); c.append(h);
      c.append(el('div', 'sub', d.name_en));
      const tags = el('div');
      for(const t of [d.field_name || d.field, d.modality, d.annotation_type, 'v' + d.latest, d.license])
        tags.append(el('span', 'tag', t));
      c.append(tags);
      c.append(el('div', '', d.rows.toLocaleString() + ' items · ' + ['train', 'validation', 'test']
        .filter(k => k in d.splits).map(k => k + ' ' + d.splits[k]).join(' · ')));
      c.append(el('div', d.quality.success ? 'pass' : 'fail', d.quality.success ? '품질 검증 합격 / QC passed'
        : '품질 검증 미흡 / QC not passed'));
      list.append(c);
    }
    if(!shown.length) list.append(el('p', 'empty', '검색 결과 없음 / No dataset matches'));
    const params = new URLSearchParams();
    if(q.value) params.set('q', q.value); if(field.value) params.set('field', field.value);
    if(modality.value) params.set('modality', modality.value);
    if(annotation.value) params.set('annotation', annotation.value);
    history.replaceState(null, '', params.toString() ? '#' + params.toString() : location.pathname);
  }
  function fromHash(){
    const init = new URLSearchParams(location.hash.slice(1));
    q.value = init.get('q') || ''; field.value = init.get('field') || '';
    modality.value = init.get('modality') || ''; annotation.value = init.get('annotation') || '';
    render();
  }
  for(const x of [q, field, modality, annotation]) x.addEventListener('input', render);
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
"""


def _revision_of(raw: bytes | None) -> int:
    m = _REV_RE.search(raw or b"")
    return int(m.group(1)) if m else -1


def _write_if_newer(store: ObjectStore, key: str, html: str, revision: int) -> None:
    data = html.encode()

    def update(current: bytes | None) -> bytes | None:
        return None if _revision_of(current) >= revision else data

    store.compare_and_swap(key, update)


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def _page(title: str, body: str, *, revision: int, script: str = "", entry: str = "") -> str:
    metas = f'<meta name="datadam-revision" content="{revision}">'
    if entry:
        metas += f'<meta name="datadam-entry" content="{entry}">'
    tail = f"<script>{script}</script>" if script else ""
    return (f"<!doctype html><html lang='ko'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'>{metas}"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}{tail}</body></html>")


def _options(values: dict[str, str], label: str, sel_id: str) -> str:
    opts = "".join(f"<option value='{escape(k)}'>{escape(v)}</option>" for k, v in sorted(values.items()))
    first = f"<option value=''>{escape(label)}</option>"
    return f"<select id='{sel_id}' aria-label='{escape(label)}'>{first}{opts}</select>"


# In a <script> element "</script" ends it and "<!--" followed by "<script" changes how the browser finds its end,
# so no "<" may survive; "&" and ">" go too (an HTML-escaping-aware reader sees nothing), and U+2028/2029 are line
# ends in older JavaScript. JSON's \u escapes keep the parsed value identical.
_HTML_UNSAFE_JSON = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                                   "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_for_html(value: Any) -> str:
    """``value`` as JSON that can sit inside an HTML ``<script>`` element whatever its strings hold."""
    return json.dumps(value, ensure_ascii=False).translate(_HTML_UNSAFE_JSON)


def render_index(index: dict[str, Any]) -> str:
    """``catalog/index.html``: the list with filters and search; the catalog embedded as JSON."""
    entries = list(index["datasets"].values())
    fields = {e["field"]: f"{e.get('field_name') or e['field']} ({e['field']})" for e in entries}
    modalities = {k: k for e in entries for k in [e["modality"], *e.get("modality_kinds", [])]}
    annotations = {e["annotation_type"]: e["annotation_type"] for e in entries}
    payload = json_for_html(index)
    body = (
        "<header><h1>datadam 데이터셋 카탈로그 / Dataset catalog</h1>"
        f"<div>{len(entries)} datasets · revision {index.get('revision')} · {escape(str(index.get('updated_at')))}"
        "</div></header><main>"
        "<div class='filters'><input id='q' type='search' placeholder='검색 / Search: 이름, 설명, 레이블 …' "
        "aria-label='search'>"
        + _options(fields, "분야 / Field (all)", "field") + _options(modalities, "유형 / Modality (all)", "modality")
        + _options(annotations, "라벨링 / Annotation (all)", "annotation")
        + "<span id='count' class='sub'></span></div><section id='list' class='cards'></section>"
        f"<script type='application/json' id='catalog-data'>{payload}</script></main>"
    )
    return _page("datadam dataset catalog", body, revision=int(index.get("revision", 0)), script=_INDEX_JS)


def _table(head: list[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{trs}</table>"


def _cell(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, list | dict) else str(v)
    return text if len(text) <= 160 else text[:157] + "…"


def _sample_batch(store: ObjectStore, manifest: dict[str, Any]) -> pa.Table | None:
    """The first ``SAMPLE_ROWS`` rows of the first train part (of any part when train is empty)."""
    files = manifest["files"]
    f = next((x for x in files if x["split"] == "train" and x["rows"]), next((x for x in files if x["rows"]), None))
    if f is None:
        return None
    key = layout.release_file(manifest['dataset'], manifest['version'], f['key'])
    with store.open_input(key) as fh:
        pf = pq.ParquetFile(fh)
        batch = next(pf.iter_batches(batch_size=SAMPLE_ROWS), None)
    return None if batch is None else pa.Table.from_batches([batch])


def _drawn(manifest: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The sample records with their labels drawn (images, text, players); empty for types with nothing to draw."""
    md = manifest.get("metadata") or {}
    kind, labels = md.get("annotation_type"), list(md.get("labels") or [])
    media_col, mode = manifest.get("media_column"), manifest.get("media_mode")
    if kind in IMAGE_KINDS and (media_col == "image" or mode is None):
        return image_figures(kind, rows, media_column=media_col, labels=labels, skeleton=md.get("skeleton"))
    if kind in TEXT_KINDS:
        return text_samples(kind, rows, labels=labels)
    if kind in TIMED_KINDS:
        # an audio spec's clip, or the embedded sound of a multimodal clip (played beside its video)
        sound = "audio" if media_col == "audio" or "audio" in (manifest.get("component_columns") or {}) else None
        srcs = [_audio_uri(r.get(sound)) if sound else None for r in rows]
        return timed_samples(kind, rows, labels=labels, media_column=media_col, media_mode=mode, audio_src=srcs)
    return ""


def _samples(table: pa.Table | None, manifest: dict[str, Any], *, players: bool = True) -> str:
    """A few rows of the release: thumbnails for images, players for short audio (unless the drawn samples above
    already carry them: each clip would be embedded twice), truncated values otherwise."""
    if table is None:
        return "<p class='sub'>No rows.</p>"
    media_col = manifest.get("media_column")
    # a multimodal item's other media (docs/adr/0028): shown beside the primary, as that kind's media would be
    comps = [c for c in manifest.get("component_columns") or {} if c in table.column_names]
    cols = [c for c in table.column_names if c != media_col and c not in comps and not c.startswith(_SKIP_SAMPLE)
            and table.column(c).null_count < table.num_rows]  # all-null columns say nothing
    head = ([media_col] if media_col else []) + comps + cols
    rows_html = []
    for row in table.to_pylist():
        tds = []
        if media_col:
            mode = manifest.get("media_mode") if players or media_col != "audio" else "path"
            tds.append(f"<td>{_media_cell(mode, media_col, row.get(media_col))}</td>")
        for c in comps:
            tds.append(f"<td>{_media_cell('embedded' if players or c != 'audio' else 'path', c, row.get(c))}</td>")
        tds += [f"<td>{escape(_cell(row.get(c)))}</td>" for c in cols]
        rows_html.append("<tr>" + "".join(tds) + "</tr>")
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<div class='thumbs'><table id='samples'><tr>{th}</tr>{''.join(rows_html)}</table></div>"


def _audio_uri(value: Any) -> str | None:
    """A data URI of a short embedded audio clip (long ones would bloat the page)."""
    data: bytes = (value or {}).get("bytes") or b""
    if not data or len(data) > _AUDIO_INLINE_BYTES:
        return None
    ext = str(value.get("path") or "").rsplit(".", 1)[-1].lower() or "wav"
    return f"data:audio/{ext};base64," + base64.b64encode(data).decode()


def _media_cell(mode: str | None, column: str, value: Any) -> str:
    if not value:
        return ""
    if mode == "reference":
        return f"<code>{escape(str(value.get('uri')))}</code>"
    if mode == "path":
        return escape(str(value.get("path")))
    data: bytes = value.get("bytes") or b""
    if column == "image":
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as img:
                img.thumbnail((160, 160))
                buf = io.BytesIO()
                img.convert("RGB").save(buf, format="JPEG", quality=80)
            uri = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
            return f"<img class='thumb' alt='{escape(str(value.get('path')))}' src='{uri}'>"
        except OSError:
            return escape(str(value.get("path")))
    audio = _audio_uri(value) if column == "audio" else None
    if audio:
        return f"<audio controls preload='none' src='{escape(audio)}'></audio>"  # ext comes from a file name
    return escape(str(value.get("path")))


def render_dataset_page(store: ObjectStore, entry: dict[str, Any], manifest: dict[str, Any], *,
                        revision: int) -> str:
    """``catalog/datasets/<id>.html`` for the version LATEST names."""
    ds, version = manifest["dataset"], manifest["version"]
    rel = escape(f"../../{layout.release(ds, version)}")  # in attributes below
    cmd = f"datadam download {ds} --version {version} --storage {store.root}"
    ok = manifest.get("quality", {}).get("success")
    q_rows = quality_rows(manifest)
    sample = _sample_batch(store, manifest)
    drawn = _drawn(manifest, sample.to_pylist()) if sample is not None else ""
    verdict = "모든 필수 검사 합격 / every blocking check passed" if ok else "필수 검사 불합격 / blocking checks failed"
    sheet = "".join(f"<h3>{escape(t)}</h3>" + "".join(f"<p>{escape(p)}</p>" for p in ps)
                    for t, ps in datasheet(manifest))
    versions = "".join(
        f"<tr><td>{'<b>' if v['version'] == version else ''}{escape(v['version'])}</td><td>{escape(v['created_at'])}"
        f"</td><td>{v['rows']:,}</td><td>{escape(v['summary'])}</td>"
        f"<td><a href='../../{escape(layout.release(ds, v['version']))}/README.md'>card</a></td></tr>"
        for v in reversed(entry["versions"]))
    body = (
        "<header><a href='../index.html'>← 카탈로그 / Catalog</a>"
        f"<h1>{escape(manifest['name'])}</h1><div>{escape(manifest['name_en'])} · <code>{escape(ds)}</code> · "
        f"version {escape(version)}</div></header><main>"
        f"<p>{escape(manifest['metadata']['description'])}</p>"
        "<h2>다운로드 / Download</h2>"
        f"<pre id='download'>{escape(cmd)}</pre>"
        f"<p><a href='{rel}/README.md'>README.md (dataset card)</a> · <a href='{rel}/croissant.json'>"
        f"croissant.json</a> · <a href='{rel}/manifest.json'>manifest.json</a></p>"
        "<h2>메타데이터 / Metadata</h2>"
        + _table(["항목", "Item", "값 / Value"], aihub_metadata(manifest))
        + "<h2>데이터 분할 / Splits and sizes</h2>"
        + _table(["split", "rows", "size", "planned", "achieved"], split_rows(manifest))
        + "<h2>품질 검증 / Quality</h2>"
        f"<p class='{'pass' if ok else 'fail'}'>{verdict}"
        f" · gate: {escape(str(manifest.get('gate', {}).get('status')))}</p>"
        + _table(["특성 / Characteristic", "목표 Target", "측정 Measured", "판정 Verdict"], q_rows)
        + f"<p><a id='qa-report' href='{rel}/quality/report.html'>품질 검증 보고서 / QA report</a></p>"
        + (f"<h2>라벨 보기 / Labels drawn on samples</h2><section id='labels'>{drawn}</section>" if drawn else "")
        + "<h2>샘플 / Sample rows</h2>" + _samples(sample, manifest, players="<audio" not in drawn)
        + "<h2>버전 / Versions and change log</h2>"
        "<table id='versions'><tr><th>version</th><th>date</th><th>rows</th><th>change</th><th></th></tr>"
        f"{versions}</table>"
        "<h2>데이터시트 / Datasheet</h2>" + sheet + "</main>"
    )
    return _page(f"{manifest['name']} — datadam", body, revision=revision, entry=entry_hash(entry),
                 script=LABEL_JS if drawn else "")


def write_site(store: ObjectStore, index: dict[str, Any], dataset: str) -> None:
    """Write the index page and ``dataset``'s page (if it is listed) for catalog ``index``."""
    revision = int(index.get("revision", 0))
    entry = index["datasets"].get(dataset)
    if entry is not None:
        manifest = store.read_json(layout.release_manifest(dataset, entry['latest']))
        _write_if_newer(store, f"catalog/datasets/{dataset}.html",
                        render_dataset_page(store, entry, manifest, revision=revision), revision)
    else:
        store.delete(f"catalog/datasets/{dataset}.html")
    _write_if_newer(store, INDEX_KEY, render_index(index), revision)


def site_is_current(store: ObjectStore, index: dict[str, Any], dataset: str) -> bool:
    """True when the index page was built from this catalog revision (or a later one) and the dataset's page
    from its current entry."""
    if not store.exists(INDEX_KEY) or _revision_of(store.read_bytes(INDEX_KEY)[:2048]) < int(index["revision"]):
        return False
    entry = index["datasets"].get(dataset)
    page = f"catalog/datasets/{dataset}.html"
    if entry is None:
        return not store.exists(page)
    if not store.exists(page):
        return False
    m = _ENTRY_RE.search(store.read_bytes(page)[:2048])
    return m is not None and m.group(1).decode() == entry_hash(entry)
