"""An import whose predictions Label Studio dropped is repaired: each task gets its predictions back.

Label Studio stores a batch's predictions all or none and, when one fails (its SQLite database locked under load),
drops them all while the tasks stay, answering 201 with a lower ``prediction_count``: review tasks then show the
reviewer nothing to review, and every review is a rejection. ``import_tasks`` checks the count and creates what is
missing. Here the drop is reproduced by importing the tasks without their predictions."""

from __future__ import annotations

import uuid

import pytest

from pipelines.label import LabelStudioSettings
from pipelines.label.client import LabelStudioClient

pytestmark = pytest.mark.integration

CONFIG = ('<View><Text name="t" value="$t"/><Choices name="c" toName="t">'
          '<Choice value="a"/><Choice value="b"/></Choices></View>')


def _result(choice: str) -> list[dict[str, object]]:
    return [{"from_name": "c", "to_name": "t", "type": "choices", "value": {"choices": [choice]}}]


def test_predictions_an_import_dropped_are_created_again(ls: LabelStudioSettings) -> None:
    client = LabelStudioClient(ls)
    pid = client.ensure_project(title=f"it-predictions-{uuid.uuid4().hex[:8]}", label_config=CONFIG)
    try:
        tasks = [{"data": {"t": f"text {k}"}, "predictions": [{"model_version": f"m{k}", "result": _result(c)}]}
                 for k, c in enumerate("aba")]
        # what Label Studio keeps of a batch whose predictions it dropped: the tasks alone
        resp = client.sdk.projects.import_tasks(id=pid, request=[{"data": t["data"]} for t in tasks],
                                                return_task_ids=True)
        ids = [int(i) for i in resp.task_ids or []]
        assert len(ids) == 3 and client.sdk.predictions.list(project=pid) == []

        client._restore_predictions(pid, ids, tasks)
        client._restore_predictions(pid, ids, tasks)  # idempotent: a task that has its predictions is left alone

        got = {int(p.task or 0): (p.model_version, p.result) for p in client.sdk.predictions.list(project=pid)}
        assert got == {ids[k]: (f"m{k}", _result(c)) for k, c in enumerate("aba")}

        # the normal path: a complete import creates nothing more
        more = client.import_tasks(pid, [{"data": {"t": "d"}, "predictions": [{"result": _result("b")}]}])
        assert len(client.sdk.predictions.list(project=pid)) == 4 and len(more) == 1
    finally:
        client.sdk.projects.delete(id=pid)
