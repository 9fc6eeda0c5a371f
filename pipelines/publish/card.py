"""The dataset card (``README.md`` of a release): a Hugging Face YAML header, then Datasheets-style sections.

Everything is filled from the release manifest (which carries the spec's metadata, the QC results, the quality
summary and the change log), so a card never disagrees with the files beside it. The same pieces
(``aihub_metadata``, ``datasheet``) feed the catalog site.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from pipelines.annotations import REGISTRY

# Hugging Face Hub license ids; licences it does not list are "other" with a name and a link.
_HF_LICENSE = {
    "CC-BY-4.0": "cc-by-4.0", "CC-BY-SA-4.0": "cc-by-sa-4.0", "CC-BY-NC-4.0": "cc-by-nc-4.0",
    "CC-BY-NC-SA-4.0": "cc-by-nc-sa-4.0", "CC-BY-ND-4.0": "cc-by-nd-4.0", "CC0-1.0": "cc0-1.0",
    "Apache-2.0": "apache-2.0", "MIT": "mit", "ODC-BY-1.0": "odc-by",
}  # fmt: skip

_MODALITY_KO = {"image": "이미지", "video": "비디오", "audio": "오디오(음성)", "text": "텍스트",
                "timeseries": "시계열", "multimodal": "멀티모달"}
_ANNOTATION_KO = {t: k.ko for t, k in REGISTRY.items()}
_SOURCE_KO = {"synthetic": "합성 데이터(시뮬레이션) / synthetic", "local": "자체 수집 파일 / own collection",
              "http": "웹 수집 / web (HTTP)", "s3": "객체 저장소 / object storage (S3)",
              "records": "기존 레코드 파일 / existing records (JSONL/CSV)"}


_SPLIT_ORDER = ("train", "validation", "test")


def source_kind(manifest: dict[str, Any]) -> str:
    """The kind of source the release's items came from: the run's (bound at run time or not), else the spec's."""
    return str((manifest.get("source") or {}).get("kind") or manifest["metadata"]["source_kind"])


def _source_line(manifest: dict[str, Any]) -> str:
    """The source the release was built from; a source bound at run time says so, with what was given."""
    kind = source_kind(manifest)
    line = _SOURCE_KO.get(kind, kind)
    binding = (manifest.get("source") or {}).get("binding")
    if binding:
        given = str(binding["given"]).replace("|", "%7C").replace("`", "%60")  # stays one table cell
        line += (f" — 실행 시 지정 / bound at run time: `{given}` (spec {manifest['spec']['version']} unchanged; "
                 "the location's pseudonym)")
    return str(line)


def split_names(manifest: dict[str, Any]) -> list[str]:
    """The release's splits in reading order (manifests are stored with sorted keys)."""
    planned = manifest["splits"]["planned"]
    return [s for s in _SPLIT_ORDER if s in planned] + sorted(s for s in planned if s not in _SPLIT_ORDER)


def task_categories(md: dict[str, Any]) -> list[str]:
    """Hugging Face task categories for the annotation type on the item's modality."""
    a, kinds = md["annotation_type"], set(md["modality_kinds"])
    visual = "image" if "image" in kinds else "video" if "video" in kinds else None
    if a in ("classification", "multi_label"):
        if "text" in kinds and len(kinds) == 1:
            return ["text-classification"]
        if "audio" in kinds:
            return ["audio-classification"]
        if visual == "video":
            return ["video-classification"]
        if visual == "image":
            return ["image-classification"]
        return ["time-series-forecasting"] if "timeseries" in kinds else ["other"]
    table = {
        "bbox": ["object-detection"], "polygon": ["image-segmentation"], "polyline": ["image-segmentation"],
        "segmentation": ["image-segmentation"], "keypoints": ["keypoint-detection"],
        "transcription": ["automatic-speech-recognition"], "ner": ["token-classification"],
        "summarisation": ["summarization"], "translation": ["translation"],
        "dialogue_intent": ["text-classification"], "timeseries_labels": ["time-series-forecasting"],
    }  # fmt: skip
    if a == "qa":
        return ["visual-question-answering"] if visual == "image" else ["question-answering"]
    if a == "temporal_events":
        return ["video-classification"] if visual == "video" else ["audio-classification"]
    return table.get(a, ["other"])


def size_category(rows: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
    return next((label for bound, label in bounds if rows < bound), "1B<n<10B")


def hf_header(manifest: dict[str, Any]) -> dict[str, Any]:
    """The YAML header Hugging Face reads: licence, language, tasks, size, configs/splits, split sizes."""
    md = manifest["metadata"]
    # An empty split has a (schema-only) file, but a config that lists it only confuses readers.
    splits = [s for s in split_names(manifest) if int(manifest["rows"].get(s, 0)) > 0]
    lic = _HF_LICENSE.get(manifest["license"])
    header: dict[str, Any] = {"pretty_name": f"{manifest['name']} ({manifest['name_en']})"}
    if lic:
        header["license"] = lic
    else:
        from pipelines.publish.croissant import license_url

        header.update(license="other", license_name=manifest["license"].removeprefix("LicenseRef-").lower(),
                      license_link=license_url(manifest["license"]))
    header.update({
        "language": md["languages"],
        "task_categories": task_categories(md),
        "size_categories": [size_category(int(manifest["rows"]["total"]))],
        # Items are labelled by trained annotators in Label Studio, reviewed on a sample (NIA guideline).
        "annotations_creators": ["expert-generated"],
        "source_datasets": ["original"],
        "multilinguality": ["monolingual"] if len(md["languages"]) == 1 else ["translation"],
        "tags": ["datadam", md["field"], md["group"], md["modality"], md["annotation_type"]],
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": f"data/{s}/*.parquet"} for s in splits]}],
        "dataset_info": {
            "config_name": "default",
            "splits": [{"name": s, "num_bytes": int(manifest["bytes"].get(s, 0)),
                        "num_examples": int(manifest["rows"].get(s, 0))} for s in splits],
            "download_size": int(manifest["bytes"]["total"]),
        },
    })
    return header


def aihub_metadata(manifest: dict[str, Any]) -> list[tuple[str, str, str]]:
    """AI Hub's metadata table: (Korean label, English label, value)."""
    md = manifest["metadata"]
    formats = ", ".join(f.upper() for f in md["formats"]) or "-"
    stored = "Parquet (zstd)"
    if manifest.get("media_mode") == "embedded":
        stored += f"; {manifest['media_column']} embedded as struct<bytes, path>"
    elif manifest.get("media_mode") == "reference":
        stored += f"; {manifest['media_column']} referenced by URI + sha256"
    for col, mode in (manifest.get("component_columns") or {}).items():
        stored += f"; {col} component embedded as struct<bytes, path>" if mode == "embedded" else f"; {col} {mode}"
    rows = int(manifest["rows"]["total"])
    return [
        ("데이터 영역", "Field", f"{md.get('field_name') or md['field']} ({md['field']})"),
        ("그룹 과제", "Group task", f"{md.get('group_name') or md['group']} ({md['group']})"),
        ("데이터 유형", "Modality", f"{_MODALITY_KO.get(md['modality'], md['modality'])} ({md['modality']})"),
        ("데이터 형식", "Format", f"{formats} → {stored}"),
        ("데이터 출처", "Source", _source_line(manifest)),
        ("라벨링 유형", "Annotation type",
         f"{_ANNOTATION_KO.get(md['annotation_type'], md['annotation_type'])} ({md['annotation_type']})"),
        ("라벨링 형식", "Annotation format", "Parquet columns (see the schema); Croissant 1.0 description"),
        ("데이터 활용 서비스", "Intended use", ", ".join(md["intended_use"]) or "-"),
        ("데이터 구축년도", "Year built", str(md["built_year"])),
        ("데이터 구축량", "Volume", f"{rows:,} 건 / items (목표 planned {int(md['target_volume']):,})"),
        ("라이선스", "Licence", manifest["license"]),
        ("버전", "Version", manifest["version"]),
    ]


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100.0 * float(v):.2f}%"


def quality_rows(manifest: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(characteristic, target, measured, verdict) per NIA quality characteristic."""
    out = []
    for c in manifest.get("quality", {}).get("characteristics", {}).values():
        verdict = ("미측정 / not measured" if c.get("passed") is None
                   else "합격 / pass" if c["passed"] else "불합격 / fail")
        target = c.get("target")
        target_s = (_pct(target) if isinstance(target, int | float) else "—" if target is None else str(target))
        out.append((f"{c.get('name_ko')} / {c.get('name_en')}", target_s, _pct(c.get("measured")), verdict))
    return out


def split_rows(manifest: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(split, rows, bytes, planned, achieved) per split."""
    sp = manifest["splits"]
    return [(s, f"{int(manifest['rows'].get(s, 0)):,}", _size(int(manifest["bytes"].get(s, 0))),
             _pct(sp["planned"][s]), _pct(sp["achieved"].get(s))) for s in split_names(manifest)]


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


_DICOM_OPTIONS = {
    "retain_long_modified_dates": "Retain Longitudinal Temporal Information with Modified Dates",
    "retain_patient_chars": "Retain Patient Characteristics",
    "clean_descriptors": "Clean Descriptors",
    "retain_device_identity": "Retain Device Identity",
}


def _dicom_paragraph(dicom: dict[str, Any] | None) -> list[str]:
    if not dicom:
        return []
    options = ", ".join(_DICOM_OPTIONS.get(o, o) for o in dicom.get("options") or []) or "none"
    burned = ("masked in the pixels" if dicom.get("burned_in") == "mask" else "excluded (quarantined)")
    safe = ", ".join(dicom.get("safe_private_tags") or []) or "none (all private attributes removed)"
    return [
        f"DICOM items: {dicom['profile']}; options: {options}. UIDs replaced consistently (2.25 UIDs derived "
        f"from a key kept with the originals); burned-in annotation {burned}; private attributes kept: {safe}. "
        "The `dicom` column holds the technical attributes (modality, body part, view, pixel spacing, slice "
        "thickness, manufacturer, kVp ...) and the key of the display image annotators saw; the media column "
        "holds the de-identified DICOM file (read it with `pydicom.dcmread(io.BytesIO(...))`).",
    ]


def _components_paragraph(manifest: dict[str, Any]) -> list[str]:
    """What a multimodal record carries besides its primary media (docs/adr/0024, 0028)."""
    comps = manifest.get("component_columns") or {}
    if not comps:
        return []
    primary = manifest.get("media_column") or "media"
    how = "embedded" if manifest.get("media_mode") == "embedded" else "referenced by URI + sha256"
    return [
        f"Multimodal items: the primary component is the `{primary}` column ({how}); each other media component "
        "is in its own column, embedded as struct<bytes, path> (Hugging Face Image/Audio): "
        + ", ".join(f"`{c}`" for c in comps) + ". The `components` column lists each one's kind, original "
        "extension, duration, sample rate and the sha256 of its bytes; a text component is the `text` column.",
    ]


def datasheet(manifest: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Datasheets for Datasets (Gebru et al.) sections, each a list of paragraphs, filled from the manifest."""
    md = manifest["metadata"]
    sp = manifest["splits"]
    q = manifest.get("quality", {})
    gate = manifest.get("gate", {})
    labels = md.get("labels") or []
    cols = md.get("columns") or {}
    deid = md.get("deidentify") or []
    validity = md.get("validity")
    split_counts = ", ".join(f"{s} {manifest['rows'].get(s, 0)}" for s in split_names(manifest))
    by = f" {gate['by']}" if gate.get("by") else ""
    note = f": {gate['note']}" if gate.get("note") else ""
    return [
        ("Motivation / 구축 목적", [
            md["description"],
            "Built as one dataset type of the Korean AI training-data programme (AI 학습용 데이터 구축), "
            f"field {md['field']}, group task {md['group']}.",
        ]),
        ("Composition / 데이터 구성", [
            f"{int(manifest['rows']['total']):,} items, one record per item; modality {md['modality']}"
            f" ({', '.join(md['formats']) or 'n/a'}); annotation {md['annotation_type']}"
            + (f" with classes: {', '.join(labels)}" if labels else "") + ".",
            "Metadata columns: " + (", ".join(
                f"{n} ({c['type']}{'; ' + c['description'] if c.get('description') else ''})"
                for n, c in cols.items() if not c.get("personal")) or "none") + ".",
            *_components_paragraph(manifest),
            f"Splits: {split_counts}; group_by="
            f"{sp.get('group_by')}, stratify_by={sp.get('stratify_by')} ({sp.get('method')}); planned "
            f"{sp['planned']}, achieved {sp['achieved']} (max deviation {_pct(sp.get('max_deviation'))}).",
        ]),
        ("Collection process / 수집 과정", [
            f"Source: {_source_line(manifest)}. Built {md['built_year']}, planned "
            f"volume {int(md['target_volume']):,} items.",
            "Intake checks (format, resolution, sample rate, duration, encoding) and exact de-duplication by "
            "sha256; items failing a check are quarantined with a reason code, never silently dropped.",
        ]),
        ("Preprocessing, cleaning, labelling / 정제·가공", [
            "De-identification (비식별화) before annotation and again before release: "
            + (", ".join(deid) or "no personal-data targets declared") + ".",
            "Personal metadata columns removed from the release: "
            + (", ".join(manifest.get("dropped_columns") or []) or "none") + ".",
            *_dicom_paragraph(md.get("dicom")),
            f"Annotated in Label Studio: overlap {md['overlap']} annotators on {_pct(md['overlap_share'])} of "
            f"items, gold tasks {_pct(md['gold_share'])}, review sample {_pct(md['review_share'])}; "
            "consensus merges overlapping annotations.",
        ]),
        ("Quality control / 품질 검증", [
            f"Validated with Great Expectations against the NIA quality characteristics: "
            f"{'all blocking checks passed' if q.get('success') else 'blocking checks failed'}; failed "
            f"{', '.join(q.get('checks_failed') or []) or 'none'}; warnings "
            f"{', '.join(q.get('checks_warned') or []) or 'none'}.",
            f"Gate decision: {gate.get('status')} ({'automatic' if gate.get('automatic') else 'by inspector'}"
            f"{by}{note}, {gate.get('decided_at')}). The full report: quality/report.html.",
            (f"Validity model (학습모델 유효성): {validity.get('model') or 'baseline'} on {validity['metric']}, target "
             f"{validity['target']}." if validity else "No validity-model target declared for this type."),
        ]),
        ("Uses / 활용", [
            "Intended services (활용 서비스): " + (", ".join(md["intended_use"]) or "AI model training and evaluation")
            + ".",
            "Not for re-identifying people; the licence's terms apply.",
        ]),
        ("Distribution / 배포", [
            f"Licence {manifest['license']}. Parquet (zstd) under data/<split>/, one row group per at most "
            f"{manifest.get('row_groups', {}).get('max_rows')} rows; every file's size and sha256 are in "
            "manifest.json; Croissant 1.0 description in croissant.json.",
        ]),
        ("Maintenance / 유지보수", [
            "Releases are immutable and versioned (1.0-beta -> 1.0 -> 1.1 ...); changed content gets a new "
            "version with an entry in the change log below; LATEST names the current version.",
        ]),
    ]


def _md_table(head: list[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cell(v: str) -> str:
        return v.replace("|", "\\|").replace("\n", " ")

    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(cell(c) for c in r) + " |" for r in rows)]


def render_card(manifest: dict[str, Any], *, download_command: str) -> str:
    """The README.md of a release.

    Args:
        manifest: The release manifest (documents may be absent: the card is one of them).
        download_command: The exact command that downloads this version.
    """
    header = yaml.safe_dump(hf_header(manifest), allow_unicode=True, sort_keys=False, width=1000)
    ds, version = manifest["dataset"], manifest["version"]
    lines = ["---", header.rstrip(), "---", "",
             f"# {manifest['name']} / {manifest['name_en']}", "",
             f"`{ds}` version **{version}** · {int(manifest['rows']['total']):,} items · licence "
             f"{manifest['license']} · published {manifest['created_at']}", "",
             "## 메타데이터 / Metadata (AI Hub)", ""]
    lines += _md_table(["항목", "Item", "값 / Value"], aihub_metadata(manifest))
    lines += ["", "## 데이터 분할 / Splits", ""]
    lines += _md_table(["split", "rows", "size", "planned", "achieved"], split_rows(manifest))
    strata = manifest["splits"].get("by_stratum")
    if strata:
        names = split_names(manifest)
        lines += ["", f"Achieved ratios per stratum (`{manifest['splits']['stratify_by']}`):", ""]
        lines += _md_table(["stratum", *names],
                           [(k or "(none)", *(_pct(v["achieved"].get(n)) for n in names)) for k, v in strata.items()])
    lines += ["", "## 품질 검증 결과 / Quality", ""]
    lines += _md_table(["특성 / Characteristic", "목표 Target", "측정 Measured", "판정 Verdict"],
                       quality_rows(manifest))
    lines += ["", "The inspector's report: [quality/report.html](quality/report.html).", ""]
    for title, paras in datasheet(manifest):
        lines += [f"## {title}", "", *(p + "\n" for p in paras)]
    lines += ["## 사용법 / Usage", "", "```bash", download_command, "```", "", "```python",
              "from pipelines.publish import open_dataset",
              f"ds = open_dataset({ds!r}, version={version!r}, split='train', storage='<storage root>')",
              "df = ds.to_table().to_pandas()", "", "from datasets import load_dataset",
              "hf = load_dataset('parquet', data_files={'train': 'data/train/*.parquet'})", "```", "",
              "## 변경 이력 / Change log", ""]
    lines += _md_table(["version", "date", "summary"],
                       [(c["version"], str(c["date"]), c["summary"]) for c in reversed(manifest.get("changelog", []))])
    lines.append("")
    return "\n".join(lines)


def parse_card_header(text: str) -> dict[str, Any]:
    """The YAML header of a card (for tests and tools that read cards back)."""
    if not text.startswith("---\n"):
        raise ValueError("a dataset card starts with a '---' YAML header")
    body = text[4:].split("\n---\n", 1)[0]
    out: dict[str, Any] = yaml.safe_load(body)
    return out
