"""The inspector's QA report of one run: one self-contained HTML page, Korean beside English.

No scripts, no external resources: CSS inline, charts as inline SVG, thumbnails as downscaled JPEG data URIs,
and the machine-readable ``quality.json`` embedded as an inert JSON block (and linked beside the page). Every
section has a stable ``id`` (``summary``, ``characteristics``, ``checks``, ``chart-classes``,
``chart-agreement``, ``chart-quarantine``, ``masked``, ``failing-items``, ``splits``, ``validity``,
``quality-json``) so tests and inspectors' tools can find them.
"""

from __future__ import annotations

import base64
import io
import json
from html import escape
from typing import Any

from pipelines.validate.checks import CHARACTERISTICS

_CSS = """
body{font-family:system-ui,-apple-system,"Noto Sans CJK KR","Noto Sans KR","NanumGothic","Malgun Gothic",sans-serif;
margin:2rem;color:#1d1d1f;max-width:1200px}
h1{font-size:1.4rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
h3{font-size:1rem} .sub{color:#555;margin-top:0} table{border-collapse:collapse;width:100%;margin-top:.5rem}
th,td{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f4f4f6} td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#0a7a2f;font-weight:600} .fail{color:#b3261e;font-weight:600} .warn{color:#a15c00;font-weight:600}
.na{color:#6b4fbb;font-weight:600} .verdict{font-size:1.05rem;padding:.6rem 1rem;border-radius:6px;display:inline-block}
.verdict.pass{background:#e6f4ea} .verdict.fail{background:#fce8e6} .notice{background:#f1ecfb;padding:.5rem 1rem;
border-radius:6px} code{font-size:.85rem} .cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{border:1px solid #ddd;border-radius:6px;padding:.5rem;width:260px;font-size:.82rem;overflow-wrap:anywhere}
.card img{display:block;max-width:240px;max-height:180px;margin-bottom:.3rem;border:1px solid #eee}
.card .excerpt{background:#fafafa;padding:.3rem;white-space:pre-wrap} svg text{font-size:12px}
.empty{color:#777;font-style:italic}
"""
_STATUS = {
    "pass": ("pass", "합격 / PASS"),
    "fail": ("fail", "불합격 / FAIL"),
    "warn": ("warn", "경고 / WARN"),
    "not_measured": ("na", "미측정 / NOT MEASURED"),
}
_COLOURS = {"planned": "#b8bcc6", "actual": "#2f6fd6", "bar": "#2f6fd6", "quarantine": "#c0392b"}


def _e(v: Any) -> str:
    return escape(str(v))


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100.0 * v:.2f}%"


def format_value(v: float | None, characteristic: str, metric: str | None = None) -> str:
    """A measured value or target as an inspector reads it (shares as %, deviations as ±pp, metrics raw)."""
    if v is None:
        return "—"
    if characteristic == "diversity":
        return f"±{100.0 * v:.1f}%p"
    if characteristic == "validity":
        return f"{v:.4g}" + (f" ({metric})" if metric else "")
    return _pct(v)


def _status(row: dict[str, Any]) -> tuple[str, str]:
    status = row.get("status")
    if status is None:  # a quality.json of the first version
        passed = row.get("passed")
        status = "not_measured" if passed is None else "pass" if passed else "fail" if row.get("blocking") else "warn"
    return _STATUS[str(status)]


def thumbnail_data_uri(data: bytes, *, size: int = 200, overlay: dict[str, list[Any]] | None = None) -> str:
    """A JPEG data URI of an image downscaled to fit ``size`` px (the report embeds, never links, media), with
    the item's boxes, shapes and keypoints (pixels of the original image) drawn over it."""
    from PIL import Image, ImageDraw

    with Image.open(io.BytesIO(data)) as img:
        width = img.width
        small = img.convert("RGB")
        small.thumbnail((size, size))
        scale = small.width / width if width else 1.0
        if overlay:
            draw = ImageDraw.Draw(small)
            red = (230, 30, 30)
            for x, y, w, h in overlay.get("boxes", []):
                draw.rectangle([x * scale, y * scale, (x + w) * scale, (y + h) * scale], outline=red, width=2)
            for line in overlay.get("lines", []):
                if len(line) >= 2:
                    draw.line([(x * scale, y * scale) for x, y in line], fill=red, width=2)
            for x, y in overlay.get("points", []):
                draw.ellipse([x * scale - 2, y * scale - 2, x * scale + 2, y * scale + 2], fill=red)
        buf = io.BytesIO()
        small.save(buf, format="JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# -------------------------------------------------------------------------------------------- charts


def bar_chart(rows: list[tuple[str, dict[str, float]]], *, series: list[str], unit: str = "",
              title: str, width: int = 720) -> str:
    """Horizontal grouped bars as inline SVG: one group per row label, one bar per series.

    Args:
        rows: (label, {series: value}) in display order.
        series: The series drawn in each group, in order (their colours come from ``_COLOURS``).
        unit: ``%`` to print values as percentages of 1.0, else the raw number.
        title: Accessible title of the chart (``<title>``).
        width: Total width in px.
    """
    label_w, value_w, bar_h, gap = 220, 70, 14, 8
    plot_w = width - label_w - value_w
    top = max((v for _, vals in rows for v in vals.values()), default=0.0) or 1.0
    group_h = bar_h * len(series) + gap
    legend_h = 22 if len(series) > 1 else 0
    height = legend_h + group_h * len(rows) + gap
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' role='img' width='{width}' height='{height}' "
           f"viewBox='0 0 {width} {height}'><title>{_e(title)}</title>"]
    if legend_h:
        x = label_w
        for s in series:
            out.append(f"<rect x='{x}' y='4' width='12' height='12' fill='{_COLOURS.get(s, '#2f6fd6')}'/>"
                       f"<text x='{x + 16}' y='14'>{_e(_SERIES_NAMES.get(s, s))}</text>")
            x += 150
    for i, (label, vals) in enumerate(rows):
        y0 = legend_h + i * group_h + gap // 2
        out.append(f"<text x='{label_w - 6}' y='{y0 + bar_h * len(series) / 2 + 4:.0f}' text-anchor='end'>"
                   f"{_e(label[:28])}</text>")
        for j, s in enumerate(series):
            v = float(vals.get(s, 0.0))
            w = max(0.0, plot_w * v / top)
            y = y0 + j * bar_h
            shown = f"{100 * v:.1f}%" if unit == "%" else f"{v:.3g}"
            out.append(f"<rect x='{label_w}' y='{y}' width='{w:.1f}' height='{bar_h - 2}' "
                       f"fill='{_COLOURS.get(s, '#2f6fd6')}'><title>{_e(label)} {_e(s)}: {shown}</title></rect>"
                       f"<text x='{label_w + w + 4:.1f}' y='{y + bar_h - 4}'>{shown}</text>")
    out.append("</svg>")
    return "".join(out)


_SERIES_NAMES = {"planned": "계획 planned", "actual": "실제 actual", "bar": "", "quarantine": "격리 quarantined"}


def _share_charts(quality: dict[str, Any]) -> list[str]:
    parts: list[str] = []
    shares: dict[str, list[dict[str, Any]]] = quality.get("shares") or {}
    counts: dict[str, int] = quality.get("label_counts") or {}
    if "label" not in shares and counts:
        total = sum(counts.values()) or 1
        rows = [(k, {"actual": v / total}) for k, v in counts.items()]
        parts.append("<h3>클래스 분포 / Class distribution <span class='sub'>(계획 없음 / no planned shares)</span>"
                     "</h3>" + bar_chart(rows, series=["actual"], unit="%", title="class distribution"))
    for dim, table in shares.items():
        what = "클래스 분포 / Class distribution" if dim == "label" else f"'{_e(dim)}' 분포 / distribution"
        if not table:
            parts.append(f"<h3>{what}</h3><p class='empty'>값 없음 / no values</p>")
            continue
        rows = [(str(r["value"]), {"planned": float(r["planned"]), "actual": float(r["actual"])}) for r in table]
        parts.append(f"<h3>{what}: 계획 대비 실제 / planned vs actual</h3>"
                     + bar_chart(rows, series=["planned", "actual"], unit="%", title=f"{dim} planned vs actual"))
    if not parts:
        parts.append("<p class='empty'>이 유형은 클래스가 없습니다 / this annotation type has no classes</p>")
    return parts


def _agreement_chart(quality: dict[str, Any]) -> str:
    by = quality.get("agreement_by_annotator") or {}
    if not by:
        return ("<p class='empty'>중복 작업 항목 없음: 작업자별 일치도를 계산할 수 없습니다 / no item was labelled by "
                "several annotators, so there is no agreement to show</p>")
    rows = [(f"{who} (n={v['items']})", {"bar": float(v["mean_agreement"])}) for who, v in by.items()]
    return bar_chart(rows, series=["bar"], unit="%", title="mean agreement by annotator")


def _masked(quality: dict[str, Any]) -> str:
    """Personal data the run masked in what annotators typed: an inspector sees that the rules ran, and on what."""
    m: dict[str, dict[str, int]] = quality.get("masked") or {}
    rows = "".join(f"<tr><td>{_e(stage)}</td><td>{_e(kind)}</td><td class='num'>{int(n):,}</td></tr>"
                   for stage, kinds in m.items() for kind, n in kinds.items())
    if not rows:
        return ("<p class='empty'>작업자 입력 텍스트에서 마스킹된 개인정보 없음 / no personal data was masked in "
                "annotator-typed text</p>")
    return ("<table><tr><th>단계 stage</th><th>종류 kind</th><th>마스킹 건수 masked</th></tr>" + rows + "</table>")


def _quarantine_chart(quality: dict[str, Any]) -> str:
    q: dict[str, dict[str, int]] = quality.get("quarantine") or {}
    rows = [(f"{stage}: {reason}", {"quarantine": float(n)}) for stage, reasons in q.items()
            for reason, n in reasons.items()]
    if not rows:
        return "<p class='empty'>격리된 항목 없음 / nothing was quarantined in this run</p>"
    return bar_chart(rows, series=["quarantine"], title="quarantined items by stage and reason")


# ------------------------------------------------------------------------------------------- sections


def _characteristics(quality: dict[str, Any]) -> list[str]:
    metric = (quality.get("validity") or {}).get("metric")
    parts = ["<section id='characteristics'><h2>품질 특성 요약 / Quality characteristics</h2>",
             "<table><tr><th>특성 Characteristic</th><th>목표 Target</th><th>측정 Measured</th>"
             "<th>판정 Result</th><th>필수 Blocking</th></tr>"]
    chars = quality["characteristics"]
    # quality.json is written with sorted keys: show the characteristics in the NIA model's order.
    for key in [k for k in CHARACTERISTICS if k in chars] + [k for k in chars if k not in CHARACTERISTICS]:
        c = chars[key]
        cls, text = _status(c)
        target = c.get("target")
        bound = "≤ " if c.get("direction") == "max" and key != "diversity" else ""
        t_text = format_value(target, key, metric) if isinstance(target, int | float) else "—"
        parts.append(
            f"<tr><td>{_e(c['name_ko'])} / {_e(c['name_en'])} <code>{_e(key)}</code></td>"
            f"<td class='num'>{bound}{t_text}</td><td class='num'>{format_value(c.get('measured'), key, metric)}</td>"
            f"<td class='{cls}'>{text}</td><td>{'예 yes' if c['blocking'] else '아니오 no'}</td></tr>")
    parts.append("</table></section>")
    return parts


def _checks(quality: dict[str, Any]) -> list[str]:
    parts = ["<section id='checks'><h2>검사 항목 / Checks</h2>",
             "<table><tr><th>특성 Characteristic</th><th>검사 Check</th><th>목표 Target</th>"
             "<th>측정 Measured</th><th>판정 Result</th><th>불합격 Unexpected / 대상 Checked</th>"
             "<th>예시 Examples</th></tr>"]
    metric = (quality.get("validity") or {}).get("metric")
    for ch in quality["checks"]:
        cls, text = _status(ch)
        examples = ch.get("missing_values") or ch.get("partial_unexpected_list") or []
        detail = ", ".join(_e(v) for v in examples[:10])
        if ch.get("failing_items"):
            detail += ("<br>" if detail else "") + "항목 items: " + ", ".join(
                f"<a href='#item-{_e(i)}'>{_e(i)}</a>" for i in ch["failing_items"][:6])
        sample = ch.get("sample")
        if sample:
            lo, hi = sample["ci"]
            detail += ("<br>" if detail else "") + (
                f"표본 sample n={int(sample['size'])} (계획 plan {int(sample['required'])}), "
                f"{100 * float(sample['confidence']):.0f}% CI [{100 * lo:.1f}%, {100 * hi:.1f}%]")
        if ch.get("exception"):
            detail = f"오류 error: {_e(ch['exception'])}"
        if ch.get("note"):
            detail = f"{detail}<br><i>{_e(ch['note'])}</i>" if detail else f"<i>{_e(ch['note'])}</i>"
        counts = (f"{ch['unexpected_count']} / {ch['checked_count']}" if ch.get("checked_count") is not None
                  else "—")
        char = quality["characteristics"].get(ch["characteristic"], {})
        key = ch["characteristic"]
        parts.append(
            f"<tr><td>{_e(char.get('name_ko', key))}</td><td>{_e(ch['name_ko'])} / {_e(ch['name_en'])}"
            f"<br><code>{_e(ch['id'])}</code></td><td class='num'>{format_value(ch['target'], key, metric)}</td>"
            f"<td class='num'>{format_value(ch['measured'], key, metric)}</td><td class='{cls}'>{text}</td>"
            f"<td class='num'>{counts}</td><td>{detail}</td></tr>")
    parts.append("</table></section>")
    return parts


def _failing(quality: dict[str, Any], thumbnails: dict[str, str]) -> list[str]:
    examples: dict[str, dict[str, Any]] = quality.get("examples") or {}
    parts = ["<section id='failing-items'><h2>불합격 항목 예시 / Failing items</h2>"]
    if not examples:
        parts.append("<p class='empty'>불합격 항목 없음 / no item failed a row-level check</p></section>")
        return parts
    parts.append("<div class='cards'>")
    for item, ex in examples.items():
        body = []
        if item in thumbnails:
            body.append(f"<img alt='{_e(item)}' src='{thumbnails[item]}'>")
        elif ex.get("media_key"):
            body.append(f"<div class='excerpt'>미디어 media: {_e(ex['media_key'])}</div>")
        if ex.get("text"):
            body.append(f"<div class='excerpt'>{_e(ex['text'])}</div>")
        body.append(f"<div>라벨 labels: <code>{_e(ex.get('labels', ''))}</code></div>")
        checks = ", ".join(f"<code>{_e(c)}</code>" for c in ex.get("checks", []))
        parts.append(f"<div class='card' id='item-{_e(item)}'><b>{_e(item)}</b>{''.join(body)}"
                     f"<div>불합격 검사 failed: {checks}</div></div>")
    parts.append("</div></section>")
    return parts


def _splits_and_validity(quality: dict[str, Any]) -> list[str]:
    parts = ["<section id='splits'><h2>분할 계획 / Planned splits</h2>"]
    sp = quality.get("splits") or {}
    if sp:
        recs = ", ".join(f"{_e(k)} {int(v):,}" for k, v in (sp.get("records") or {}).items())
        parts.append(f"<p>방법 method <code>{_e(sp.get('method', ''))}</code> · {recs} · "
                     f"중복 ID duplicate ids {sp.get('duplicate_ids', 0)} · 중복 내용 duplicate contents "
                     f"{sp.get('duplicate_contents', 0)} · 분할 간 누수 contents in two splits "
                     f"{sp.get('leaking_contents', 0)}</p>")
    parts.append("</section><section id='validity'><h2>학습모델 유효성 / Model validity</h2>")
    v = quality.get("validity")
    char = quality["characteristics"].get("validity")
    if v and v.get("value") is not None:
        parts.append(f"<p>기준 모델 baseline <code>{_e(v['trainer'])}</code>: {_e(v['metric'])} = "
                     f"<b>{float(v['value']):.4f}</b> on {int(v['n_test'])} test records "
                     f"(trained on {int(v['n_train'])}); target {_e(char.get('target') if char else '—')}. "
                     f"{_e(v.get('note') or '')}</p>")
    elif char:
        note = next((c.get("note") for c in quality["checks"] if c["characteristic"] == "validity"), None)
        parts.append(f"<p class='na'>미측정 / not measured: {_e(note or char.get('note') or '')}</p>")
    else:
        parts.append("<p class='empty'>목표 없음 / the spec sets no validity target</p>")
    parts.append("</section>")
    return parts


def render_report(quality: dict[str, Any], *, name: str, name_en: str, docs_href: str | None,
                  thumbnails: dict[str, str] | None = None) -> str:
    """The HTML report for a ``quality.json`` document.

    Args:
        quality: The quality document written by ``validate``.
        name: Korean name of the dataset type.
        name_en: English name.
        docs_href: Relative link to the GX Data Docs index, if they were built.
        thumbnails: item_id -> image data URI, for failing image items.
    """
    ok = bool(quality["success"])
    delivery = quality.get("delivery") or {"mode": "partial", "reason": ""}
    nm = quality.get("not_measured") or []
    headline = ("자동 승인 가능 — 모든 필수 검사 합격<br>Eligible for automatic approval: every blocking check passed"
                if ok else "검수자 판정 필요 — 필수 검사 불합격<br>Needs an inspector: blocking checks failed")
    parts = [
        "<!doctype html><html lang='ko'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>품질 검증 보고서 / QA report — {_e(quality['dataset'])} {_e(quality['run_id'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<section id='summary'><h1>{_e(name)} <span class='sub'>/ {_e(name_en)}</span></h1>",
        f"<p class='sub'>데이터셋 Dataset <code>{_e(quality['dataset'])}</code> · 버전 Version "
        f"<code>{_e(quality['spec_version'])}</code> · 실행 Run <code>{_e(quality['run_id'])}</code> · "
        f"항목 Items <b>{int(quality['items']):,}</b> · 검증 시각 Validated {_e(quality['validated_at'])}</p>",
        f"<p>납품 구분 Delivery: <b>{'최종 final' if delivery['mode'] == 'final' else '부분 partial'}</b> "
        f"— {_e(delivery.get('reason', ''))}</p>",
        f"<p class='verdict {'pass' if ok else 'fail'}'>{headline}</p>",
    ]
    if nm:
        parts.append(f"<p class='notice'>미측정 {len(nm)}건: 합격으로 계산하지 않습니다 / {len(nm)} check(s) had "
                     f"nothing to measure and are not counted as passed: "
                     f"{', '.join(f'<code>{_e(i)}</code>' for i in nm)}</p>")
    parts.append("</section>")
    parts += _characteristics(quality)
    parts.append("<section id='chart-classes'><h2>분포 / Distributions</h2>")
    parts += _share_charts(quality)
    parts.append("</section><section id='chart-agreement'><h2>작업자별 일치도 / Agreement by annotator</h2>")
    parts.append(_agreement_chart(quality))
    parts.append("</section><section id='chart-quarantine'><h2>격리 사유 / Quarantine reasons</h2>")
    parts.append(_quarantine_chart(quality))
    parts.append("</section><section id='masked'><h2>비식별 처리 / Personal data masked in annotator-typed text</h2>")
    parts.append(_masked(quality))
    parts.append("</section>")
    parts += _failing(quality, thumbnails or {})
    parts += _checks(quality)
    parts += _splits_and_validity(quality)
    links = "<a href='quality.json'>quality.json</a>"
    if docs_href:
        links += f" · Great Expectations Data Docs: <a href='{_e(docs_href)}'>{_e(docs_href)}</a>"
    # The machine-readable document travels inside the page too: a copied report stays complete. "</" is
    # escaped so no value can close the block early.
    payload = json.dumps(quality, ensure_ascii=False, default=str).replace("</", "<\\/")
    parts.append(f"<section id='quality-json'><h2>기계 판독용 / Machine-readable</h2><p>{links}</p>"
                 f"<script type='application/json' id='quality-data'>{payload}</script></section>")
    parts.append("</body></html>")
    return "\n".join(parts)
