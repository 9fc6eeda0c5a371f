"""The GX Core 1.x client: an ephemeral context, one pandas asset per frame, per-batch validation,
aggregation of map-expectation counts across batches, and Data Docs built to a local directory.

This is the only module that imports great_expectations (slow to import: kept out of DAG parsing).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pyarrow as pa
from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from pipelines.validate.checks import Check, Frame
from pipelines.validate.expectations import CUSTOM

PARTIAL = 20  # unexpected values kept per check (SUMMARY format; never the full list on big data)
FAILING_IDS = 12  # failing item ids kept per check, for the report's thumbnails and excerpts
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": PARTIAL}
# Frames with an item id ask GX for the ids of the failing rows too (the first PARTIAL of each batch).
_RESULT_FORMAT_IDS = {**_RESULT_FORMAT, "unexpected_index_column_names": ["item_id"]}
_SITE = "datadam"
_NARROW_INTS = (pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16(), pa.uint32())  # exact in int64
# Column-aggregate expectations: evaluated once on a summary frame, never summed over batches.
_SET_EXPECTATIONS = frozenset({"ExpectColumnDistinctValuesToContainSet"})

# GX logs every metric resolution at INFO in some paths; an Airflow task log needs none of it.
logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass
class Tally:
    """Per-check counts summed over batches; success recomputed as GX computes it for the whole frame."""

    check: Check
    element_count: int = 0
    missing_count: int = 0
    unexpected_count: int = 0
    partial_unexpected_list: list[Any] = field(default_factory=list)
    observed: dict[str, Any] | None = None  # non-map expectations (run once on a summary frame)
    exception: str | None = None
    config: Any = None  # the ExpectationConfiguration GX reported, for the combined result
    batches: int = 0
    failing_ids: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None  # summary checks: the measured value and GX's verdict

    @property
    def status(self) -> str:
        """``pass``, ``fail`` or ``not_measured`` (a check that needs data and found none never passes)."""
        if self.exception is not None:
            return "fail"
        if self.check.kind == "summary":
            if self.summary is None or self.summary["measured"] is None:
                return "not_measured" if self.check.requires_data or self.summary is None else "fail"
            return "pass" if self.summary["success"] else "fail"
        if self.observed is None and self.considered <= 0 and self.check.requires_data:
            return "not_measured"
        return "pass" if self.success else "fail"

    @property
    def considered(self) -> int:
        """Rows the ``mostly`` ratio is taken over: GX ignores missing values except in not-null checks."""
        return self.element_count - self.missing_count

    @property
    def measured(self) -> float | None:
        """Share of considered rows that passed (None when nothing was there to check)."""
        if self.summary is not None:
            m = self.summary["measured"]
            return None if m is None else float(m)
        if self.observed is not None:
            return float(self.observed["measured"])
        if self.considered <= 0:
            return None
        return (self.considered - self.unexpected_count) / self.considered

    @property
    def success(self) -> bool:
        if self.exception is not None:
            return False
        if self.summary is not None:
            return bool(self.summary["success"])
        if self.observed is not None:
            return bool(self.observed["success"])
        if self.considered <= 0:
            return True  # vacuously true, as in GX
        mostly = float(self.check.kwargs.get("mostly", 1.0))
        # Same float arithmetic as great_expectations.expectations.expectation._mostly_success.
        return (float(self.considered) - float(self.unexpected_count)) / float(self.considered) >= mostly

    def _result(self, r: Any, *, keep_first_config: bool = False) -> dict[str, Any] | None:
        """Count one GX result and keep its config; its result dict, or None when the expectation raised."""
        self.batches += 1
        if not keep_first_config or self.config is None:
            self.config = r.expectation_config
        info = r.exception_info or {}
        if info.get("raised_exception"):
            self.exception = str(info.get("exception_message") or "expectation raised")
            return None
        return dict(r.result or {})

    def add(self, r: Any) -> None:
        res = self._result(r, keep_first_config=True)
        if res is None:
            return
        self.element_count += int(res.get("element_count") or 0)
        self.missing_count += int(res.get("missing_count") or 0)
        self.unexpected_count += int(res.get("unexpected_count") or 0)
        room = PARTIAL - len(self.partial_unexpected_list)
        if room > 0:
            values = res.get("partial_unexpected_list") or []
            self.partial_unexpected_list += [_plain(v) for v in values[:room]]
        rows = res.get("partial_unexpected_index_list") or []
        self.name_failing([str(r["item_id"]) for r in rows if isinstance(r, dict) and r.get("item_id") is not None])

    def name_failing(self, ids: list[str]) -> None:
        """Keep failing item ids (the first :data:`FAILING_IDS`): GX's for a map check; a summary check's caller
        names the items its measure holds against the target (``agreement.mean``: the overlap items below it)."""
        room = FAILING_IDS - len(self.failing_ids)
        if room > 0:
            self.failing_ids += [i for i in dict.fromkeys(ids) if i not in self.failing_ids][:room]

    def set_summary(self, r: Any, df: pd.DataFrame) -> None:
        """A summary check evaluated once: GX's verdict, and the measured value read from its column."""
        res = self._result(r)
        if res is None:
            return
        col = self.check.measure_column
        values = [] if col is None or col not in df.columns else [v for v in df[col].tolist() if _plain(v) is not None]
        measured = (max(values) if self.check.direction == "max" else min(values)) if values else None
        self.element_count = int(res.get("element_count") or len(df))
        self.unexpected_count = int(res.get("unexpected_count") or 0)
        self.partial_unexpected_list = [_plain(v) for v in (res.get("partial_unexpected_list") or [])[:PARTIAL]]
        self.summary = {"success": bool(r.success) and measured is not None, "measured": _plain(measured)}

    def set_observed(self, r: Any, seen: set[Any]) -> None:
        """A set expectation (label coverage) evaluated once on the frame of distinct values ``seen``."""
        res = self._result(r)
        if res is None:
            return
        value_set = list(self.check.kwargs.get("value_set") or [])
        # GX truncates partial_missing_list; the full list comes from the (small) frame of distinct values.
        missing = [v for v in value_set if v not in seen]
        measured = 1.0 - len(missing) / len(value_set) if value_set else 1.0
        self.observed = {"success": bool(r.success), "measured": measured, "missing": missing,
                         "observed_value": _plain(res.get("observed_value"))}

    def as_result_dict(self) -> dict[str, Any]:
        """The result in GX's SUMMARY shape (counts and percentages over the whole run)."""
        if self.observed is not None:
            return {"observed_value": self.observed["observed_value"],
                    "partial_missing_list": self.observed["missing"]}
        if self.summary is not None:
            n = self.element_count
            pct = 100.0 * self.unexpected_count / n if n else 0.0
            return {"observed_value": self.summary["measured"], "element_count": n, "missing_count": 0,
                    "missing_percent": 0.0, "unexpected_count": self.unexpected_count, "unexpected_percent": pct,
                    "unexpected_percent_total": pct, "unexpected_percent_nonmissing": pct,
                    "partial_unexpected_list": list(self.partial_unexpected_list)}
        n = self.element_count
        nonmissing = self.considered
        pct_nonmissing = 100.0 * self.unexpected_count / nonmissing if nonmissing else None
        return {
            "element_count": n,
            "missing_count": self.missing_count,
            "missing_percent": 100.0 * self.missing_count / n if n else None,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": pct_nonmissing,
            "unexpected_percent_total": 100.0 * self.unexpected_count / n if n else None,
            "unexpected_percent_nonmissing": pct_nonmissing,
            "partial_unexpected_list": list(self.partial_unexpected_list),
        }


def _plain(v: Any) -> Any:
    """JSON-safe scalars: numpy -> python, NaN/NA -> None, tuples (pair checks) -> lists."""
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    if hasattr(v, "item") and callable(v.item):
        try:
            v = v.item()
        except (ValueError, TypeError):
            return str(v)
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    return str(v)


def _expectation(check: Check) -> Any:
    cls = CUSTOM.get(check.expectation) or getattr(gxe, check.expectation)
    # None means "no bound"; GX rejects some explicit None arguments, so drop them.
    kwargs = {k: v for k, v in check.kwargs.items() if v is not None}
    desc = f"[{check.id}] {check.name_ko} / {check.name_en}"
    severity = "critical" if check.blocking else "warning"
    meta = {"check_id": check.id, "characteristic": check.characteristic}
    return cls(**kwargs, description=desc, meta=meta, severity=severity)


class GxRunner:
    """Runs a check plan through GX: map checks per batch (summed), summary checks once."""

    def __init__(self, *, dataset: str, checks: list[Check]) -> None:
        self.dataset = dataset
        self.checks = checks
        self.ctx = gx.get_context(mode="ephemeral")
        self.ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.ctx.data_sources.add_pandas(name="datadam")
        frames = sorted({c.frame for c in checks})
        self._batch_defs: dict[str, Any] = {}
        self._suites: dict[str, Any] = {}
        for fr in frames:
            asset = source.add_dataframe_asset(name=fr)
            self._batch_defs[fr] = asset.add_batch_definition_whole_dataframe(name=f"{fr}-batch")
            suite = gx.ExpectationSuite(name=f"{dataset}.{fr}")
            for c in checks:
                if c.frame == fr:
                    suite.add_expectation(_expectation(c))
            self._suites[fr] = suite
        self.tallies: dict[str, Tally] = {c.id: Tally(check=c) for c in checks}

    @property
    def frames(self) -> set[str]:
        return set(self._suites)

    def run(self, frame: Frame, df: pd.DataFrame) -> None:
        """Validate one frame of one batch and add its counts to the tallies."""
        suite = self._suites.get(frame)
        if suite is None:
            return
        batch = self._batch_defs[frame].get_batch(batch_parameters={"dataframe": df})
        fmt = _RESULT_FORMAT_IDS if "item_id" in df.columns and len(df) else _RESULT_FORMAT
        res = batch.validate(suite, result_format=fmt)
        for r in res.results:
            tally = self.tallies[(r.expectation_config.meta or {})["check_id"]]
            if tally.check.expectation in _SET_EXPECTATIONS:
                col = str(tally.check.kwargs["column"])
                tally.set_observed(r, set(df[col].dropna()) if col in df.columns else set())
            elif tally.check.kind == "summary":
                tally.set_summary(r, df)
            else:
                tally.add(r)

    def combined_result(self, *, run_name: str, meta: dict[str, Any]) -> Any:
        """One ExpectationSuiteValidationResult over every frame, with the aggregated counts."""
        results = []
        for c in self.checks:
            t = self.tallies[c.id]
            config = t.config if t.config is not None else _expectation(c).configuration
            exc = ({"raised_exception": True, "exception_message": t.exception, "exception_traceback": None}
                   if t.exception else {"raised_exception": False, "exception_message": None,
                                        "exception_traceback": None})
            results.append(ExpectationValidationResult(success=t.success, expectation_config=config,
                                                       result=t.as_result_dict(), exception_info=exc))
        ok = sum(1 for r in results if r.success)
        stats = {"evaluated_expectations": len(results), "successful_expectations": ok,
                 "unsuccessful_expectations": len(results) - ok,
                 "success_percent": 100.0 * ok / len(results) if results else None}
        run_id = RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))
        full_meta = {"great_expectations_version": gx.__version__, "run_id": run_id,
                     "validation_time": run_id.run_time, "active_batch_definition": {
                         "datasource_name": "datadam", "data_asset_name": "records",
                         "batch_identifiers": {"run": run_name}}, **meta}
        return ExpectationSuiteValidationResult(
            success=all(self.tallies[c.id].status == "pass" for c in self.checks if c.blocking),
            results=results, suite_name=self.dataset, statistics=stats, meta=full_meta,
            batch_id=f"{self.dataset}-{run_name}")

    def result_json(self, result: Any) -> dict[str, Any]:
        out: dict[str, Any] = result.to_json_dict()
        return out

    def build_docs(self, result: Any, out_dir: Path, *, run_name: str) -> Path:
        """Render Data Docs of the combined result into ``out_dir`` (filesystem site); return index.html."""
        for name in list(self.ctx.get_site_names()):
            self.ctx.delete_data_docs_site(name)
        self.ctx.add_data_docs_site(site_name=_SITE, site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(out_dir)},
        })
        suite = gx.ExpectationSuite(name=self.dataset)
        for c in self.checks:
            suite.add_expectation(_expectation(c))
        self.ctx.suites.add(suite)
        suite_id = ExpectationSuiteIdentifier(name=self.dataset)
        vri = ValidationResultIdentifier(expectation_suite_identifier=suite_id, run_id=result.meta["run_id"],
                                         batch_identifier=run_name)
        self.ctx.validation_results_store.set(vri, result)
        self.ctx.build_data_docs(site_names=[_SITE])
        return out_dir / "index.html"


def to_pandas(table: Any) -> pd.DataFrame:
    """pyarrow -> pandas for GX (which rejects Arrow tables).

    Narrow integer columns become int64: GX's range check is vectorised only for int64 and float64 columns and
    calls a Python function per value otherwise (a string length is int32). The values are the same.
    """
    narrow = [i for i, f in enumerate(table.schema) if f.type in _NARROW_INTS]
    for i in narrow:
        table = table.set_column(i, table.schema.field(i).name, table.column(i).cast(pa.int64()))
    df: pd.DataFrame = table.to_pandas()
    return df
