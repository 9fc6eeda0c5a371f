"""Collect and de-identify: sources, intake checks (기술 적합성), dedupe, quarantine, 비식별화.

Sources (``SOURCES``): synthetic, local directories, HTTP(S) URL lists, S3 prefixes, JSONL/CSV records; zip
archives are expanded safely. Collect manifests hold un-masked data and live under
``restricted/<ds>/runs/<run>/collect/``; ``runs/<ds>/<run>/collect/`` holds only quarantine and counts.
``state/<ds>/collected/`` remembers every item a run saw (incremental runs, near-duplicates across runs).

The orchestration calls exactly these:
- ``plan_shards(spec=, store=, run_id=, items=None) -> list[{"shard", "start", "count"}]``
- ``collect_shard(spec=, store=, run_id=, shard=) -> ShardResult``
- ``deidentify_shard(spec=, store=, run_id=, shard=) -> ShardResult``

and the CLI uses ``deid_text`` / ``deid_image``.
"""

from pipelines.collect.deid import (
    Finding,
    Region,
    TextDeidentifier,
    deid_image,
    deid_text,
    deidentify_shard,
)
from pipelines.collect.errors import CollectError
from pipelines.collect.intake import Accepted, check_item
from pipelines.collect.reasons import ALL_REASONS, Reject
from pipelines.collect.shards import ShardResult, collect_shard, plan_shards
from pipelines.collect.sources import SOURCES, RawItem, Source, make_source

__all__ = [
    "ALL_REASONS",
    "SOURCES",
    "Accepted",
    "CollectError",
    "Finding",
    "RawItem",
    "Region",
    "Reject",
    "ShardResult",
    "Source",
    "TextDeidentifier",
    "check_item",
    "collect_shard",
    "deid_image",
    "deid_text",
    "deidentify_shard",
    "make_source",
    "plan_shards",
]
