"""Fixtures of the tests that talk to Label Studio.

``ls`` is the running stack's Label Studio; on teardown it deletes the projects (and review projects) of every spec
a test registered in ``MADE``: the stack's Label Studio outlives the session, and tests leave no projects behind.
A module whose helpers register specs requests ``ls`` for every test (``pytest.mark.usefixtures("ls")``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelines.label import LabelStudioSettings
from pipelines.spec import DatasetSpec
from pipelines.stack import StackInfo
from sim.specs import delete_projects

MADE: list[DatasetSpec] = []


@pytest.fixture
def ls(stack: StackInfo) -> Iterator[LabelStudioSettings]:
    settings = LabelStudioSettings(url=stack.ls_url, token=stack.ls_token)
    yield settings
    try:
        delete_projects(settings, MADE)
    finally:
        MADE.clear()
