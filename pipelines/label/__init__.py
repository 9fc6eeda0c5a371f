"""Label Studio: label-config generation, project sync, imports with pre-annotations, progress and export.

The stage entry points the orchestration calls are :func:`push`, :func:`progress` / :func:`aprogress` and
:func:`pull`; :class:`LabelStudioSettings` says where Label Studio is.
"""

from pipelines.label.client import LabelStudioClient, LabelStudioError, LabelStudioSettings
from pipelines.label.config import LabelConfigError, label_config
from pipelines.label.manifests import run_item_ids
from pipelines.label.predict import PREDICTORS
from pipelines.label.progress import Progress, aprogress, progress
from pipelines.label.pull import PullResult, pull, review_sample, write_qc
from pipelines.label.push import PushResult, push
from pipelines.label.qc import run_qc
from pipelines.label.review import plan_review, review_title
from pipelines.label.tasks import project_title, required_annotations
from pipelines.storage.schemas import QC_SCHEMA

__all__ = [
    "PREDICTORS",
    "QC_SCHEMA",
    "LabelConfigError",
    "LabelStudioClient",
    "LabelStudioError",
    "LabelStudioSettings",
    "Progress",
    "PullResult",
    "PushResult",
    "aprogress",
    "label_config",
    "plan_review",
    "progress",
    "project_title",
    "pull",
    "push",
    "required_annotations",
    "review_sample",
    "review_title",
    "run_item_ids",
    "run_qc",
    "write_qc",
]
