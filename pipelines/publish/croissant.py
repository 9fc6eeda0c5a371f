"""Croissant 1.0 JSON-LD (MLCommons) with the Responsible-AI (RAI) vocabulary, built from a release manifest.

``distribution``: one ``cr:FileObject`` per Parquet part (sha256, size) and one ``cr:FileSet`` per split;
``recordSet``: one record set over every split, a field per release column (nested Arrow structs and lists
become ``subField`` / ``repeated``), plus the split taken from the file path. The RAI properties map onto the
programme's documents: collection plan, de-identification audit, annotation protocol and QC shares, the
quality report, intended services and the maintenance plan.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipelines.publish.card import source_kind

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
RAI_CONFORMS_TO = "http://mlcommons.org/croissant/RAI/1.0"
PARQUET = "application/x-parquet"

CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

_LICENSE_URL = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC-BY-NC-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "CC-BY-NC-SA-4.0": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    "CC-BY-ND-4.0": "https://creativecommons.org/licenses/by-nd/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "Apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
    "MIT": "https://opensource.org/license/mit",
    "ODC-BY-1.0": "https://opendatacommons.org/licenses/by/1-0/",
    "KOGL-1": "https://www.kogl.or.kr/info/licenseType1.do",
    "LicenseRef-AIHub": "https://aihub.or.kr/intrcn/guid/usagepolicy.do",
}


def license_url(spdx: str) -> str:
    return _LICENSE_URL.get(spdx, f"https://spdx.org/licenses/{spdx}.html")


def _data_type(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "sc:Boolean"
    if pa.types.is_integer(t):
        return "sc:Integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "sc:Float"
    if pa.types.is_date(t):
        return "sc:Date"
    if pa.types.is_timestamp(t):
        return "sc:DateTime"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "sc:Text"  # raw bytes: no narrower schema.org type
    return "sc:Text"


def _field(rs: str, name: str, t: pa.DataType, *, column: str, path: list[str], file_sets: list[str],
           media: dict[str, str]) -> dict[str, Any]:
    """A Croissant field for an Arrow column (or a nested part of one, reached by ``path``)."""
    fid = f"{rs}/{'/'.join([column, *path])}" if path else f"{rs}/{column}"
    source: dict[str, Any] = {"fileSet": {"@id": file_sets[0]}, "extract": {"column": column}}
    if path:
        source["transform"] = {"jsonPath": ".".join(path)}
    out: dict[str, Any] = {"@type": "cr:Field", "@id": fid, "name": fid.split("/", 1)[1]}
    if not path and column in media:
        # Embedded media: the struct's bytes are the image / audio (Hugging Face's Image/Audio layout).
        out.update(dataType=media[column], source={**source, "transform": {"jsonPath": "bytes"}},
                   description=f"{column} file bytes (struct<bytes, path>)")
        return out
    repeated = False
    while pa.types.is_list(t) or pa.types.is_large_list(t):
        t = t.value_type
        repeated = True
    if repeated:
        out["repeated"] = True
    if pa.types.is_struct(t):
        out["dataType"] = "sc:Text" if not t.num_fields else None
        out["subField"] = [
            _field(rs, name, t.field(i).type, column=column, path=[*path, t.field(i).name], file_sets=file_sets,
                   media=media)
            for i in range(t.num_fields)
        ]
        if out["dataType"] is None:
            del out["dataType"]
    else:
        out["dataType"] = _data_type(t)
    out["source"] = source
    return out


def build_croissant(manifest: dict[str, Any], schema: pa.Schema, *, url: str, columns: list[str] | None = None
                    ) -> dict[str, Any]:
    """The Croissant document of a release.

    Args:
        manifest: The release manifest (without its documents list, which holds this file's hash).
        schema: The Arrow schema of the release's Parquet files.
        url: Where the release lives (its storage URI); the dataset's ``url``.
        columns: Columns to describe in the record set (default: all).
    """
    md = manifest["metadata"]
    ds, version = manifest["dataset"], manifest["version"]
    bound = " bound at run time" if (manifest.get("source") or {}).get("binding") else ""
    splits = [s for s in manifest["splits"]["planned"] if any(f["split"] == s for f in manifest["files"])]
    distribution: list[dict[str, Any]] = []
    for f in manifest["files"]:
        distribution.append({
            "@type": "cr:FileObject", "@id": f["key"], "name": f["key"], "contentUrl": f["key"],
            "contentSize": f"{f['size']} B", "encodingFormat": PARQUET, "sha256": f["sha256"],
        })
    distribution.append({
        "@type": "cr:FileSet", "@id": "parquet-files", "name": "parquet-files",
        "description": f"every split: {', '.join(splits)}", "encodingFormat": PARQUET, "includes": "data/*/*.parquet",
    })
    file_sets = ["parquet-files"]
    media = {}
    if manifest.get("media_mode") == "embedded" and manifest.get("media_column"):
        col = manifest["media_column"]
        media[col] = "sc:ImageObject" if col == "image" else "sc:AudioObject"
    for col, mode in (manifest.get("component_columns") or {}).items():  # a multimodal item's other media
        if mode == "embedded":
            media[col] = "sc:ImageObject" if col == "image" else "sc:AudioObject"
    rs = "default"
    fields = [
        _field(rs, f.name, f.type, column=f.name, path=[], file_sets=file_sets, media=media)
        for f in schema if columns is None or f.name in columns
    ]
    fields.append({
        "@type": "cr:Field", "@id": f"{rs}/split", "name": "split", "dataType": "sc:Text",
        "description": "train / validation / test, from the file's directory",
        "source": {"fileSet": {"@id": file_sets[0]}, "extract": {"fileProperty": "fullpath"},
                   "transform": {"regex": r"^.*data/([^/]+)/[^/]+\.parquet$"}},
    })
    q = manifest.get("quality", {})
    chars = q.get("characteristics", {})
    qc_lines = [f"{c.get('name_en')} ({c.get('name_ko')}): target {c.get('target')}, measured {c.get('measured')}, "
                f"{'passed' if c.get('passed') else 'not passed' if c.get('passed') is False else 'not measured'}"
                for c in chars.values()]
    gate = manifest.get("gate", {})
    deid = md.get("deidentify") or []
    labels = md.get("labels") or []
    planned = md.get("planned_shares") or {}
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": [CONFORMS_TO, RAI_CONFORMS_TO],
        "name": ds,
        "alternateName": [manifest["name"], manifest["name_en"]],
        "description": md["description"],
        "license": license_url(manifest["license"]),
        "url": url,
        "version": _croissant_version(version),
        "datePublished": manifest["created_at"],
        "inLanguage": md.get("languages", ["ko"]),
        "keywords": [md["field"], md["modality"], md["annotation_type"], *md.get("intended_use", [])],
        "creator": {"@type": "sc:Organization", "name": "datadam"},
        "citeAs": f"datadam, {manifest['name_en']} ({manifest['name']}), version {version}, {url}",
        "isLiveDataset": False,
        "distribution": distribution,
        "recordSet": [{"@type": "cr:RecordSet", "@id": rs, "name": rs,
                       "description": f"{ds} {version}: one record per item, every split", "field": fields}],
        # Responsible AI (Croissant RAI 1.0)
        "rai:dataCollection": (f"Collected by a '{source_kind(manifest)}' source{bound} under the dataset-type "
                               f"spec {manifest['spec']['id']} {manifest['spec']['version']} (구축년도 "
                               f"{md['built_year']}, planned volume {md['target_volume']})."),
        "rai:dataCollectionType": [_collection_type(source_kind(manifest))],
        "rai:dataCollectionRawData": "Originals are kept under restricted/ and never published; releases carry "
                                     "de-identified media only.",
        "rai:dataPreprocessingProtocol": [
            "Intake checks (format, resolution / sample rate / duration, encoding); exact de-duplication by sha256.",
            "De-identification before annotation and before release: " + (", ".join(deid) or "none required")
            + "; failures are quarantined with a reason code.",
            "Personal metadata columns dropped from the release: "
            + (", ".join(manifest.get("dropped_columns") or []) or "none") + ".",
        ],
        "rai:dataAnnotationProtocol": [
            f"Annotation type {md['annotation_type']} in Label Studio"
            + (f" with labels {', '.join(labels)}" if labels else "") + ".",
            f"Overlap: {md['overlap']} annotators on {md['overlap_share']:.0%} of items; gold tasks "
            f"{md['gold_share']:.0%}; review sample {md['review_share']:.0%}.",
        ],
        "rai:dataAnnotationPlatform": ["Label Studio (open source)"],
        "rai:dataAnnotationAnalysis": qc_lines or ["No quality characteristics measured."],
        "rai:annotationsPerItem": (f"1 (overlap items: {md['overlap']})" if md["overlap"] > 1 else "1"),
        "rai:machineAnnotationTools": ["Pre-annotation predictions shown to annotators (accepted or corrected)."],
        "rai:dataBiases": [
            "Planned shares (statistical diversity, 통계적 다양성): "
            + ("; ".join(f"{k}: {v}" for k, v in planned.items()) or "none declared") + ".",
            f"Splits are group-aware (group_by={manifest['splits'].get('group_by')}) and stratified "
            f"(stratify_by={manifest['splits'].get('stratify_by')}); achieved ratios "
            f"{manifest['splits'].get('achieved')}.",
        ],
        "rai:dataUseCases": md.get("intended_use") or ["AI model training and evaluation"],
        "rai:dataLimitations": [
            f"Quality gate: {gate.get('status')} ({'automatic' if gate.get('automatic') else 'inspector'}"
            f"{', by ' + str(gate.get('by')) if gate.get('by') else ''}); failed checks: "
            f"{', '.join(q.get('checks_failed') or []) or 'none'}; warnings: "
            f"{', '.join(q.get('checks_warned') or []) or 'none'}.",
            f"{manifest['rows']['total']} items delivered against a planned volume of {md['target_volume']}.",
        ],
        "rai:personalSensitiveInformation": [
            ("Removed before release: " + ", ".join(deid)) if deid else "No personal data targets declared.",
        ],
        "rai:dataSocialImpact": "Built for public AI development under the Korean AI training-data programme.",
        "rai:dataReleaseMaintenancePlan": ("Versioned, immutable releases (1.0-beta -> 1.0 -> 1.1 ...); a new "
                                           "version is published when content changes, with a change log in "
                                           "manifest.json and README.md."),
    }


def _croissant_version(version: str) -> str:
    """Croissant wants MAJOR.MINOR.PATCH (semantic versioning): 1.0 -> 1.0.0, 1.0-beta -> 1.0.0-beta."""
    base, dash, pre = version.partition("-")
    parts = base.split(".")
    while len(parts) < 3:
        parts.append("0")
    return ".".join(parts) + (dash + pre if dash else "")


def _collection_type(source_kind: str) -> str:
    return {"synthetic": "Simulation", "local": "Manual Human Curation", "http": "Web Scraping",
            "s3": "Secondary Data Analysis", "records": "Secondary Data Analysis"}.get(source_kind, "Others")
