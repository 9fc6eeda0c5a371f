"""The storage contract is closed: boto3 and storage keys belong to ``pipelines/storage`` (issue 14).

- boto3 / botocore (and their type stubs, ``ObjectStore.boto`` and ``boto_client``) are used only inside
  ``pipelines/storage``. ``pipelines/stack`` is exempt: it runs the local S3 endpoint itself (a ``ListBuckets``
  health probe that catches botocore's errors); it reads and writes no stage data.
- Storage keys are built only by ``pipelines.storage.layout``: no f-string elsewhere starts with a layout call
  (or a name bound to one) and appends a path.

Both scans are AST walks; each is first shown a sample it must flag, so a scanner that sees nothing fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "pipelines"
BOTO_MODULES = ("boto3", "botocore", "mypy_boto3_s3")
BOTO_EXEMPT = ("storage", "stack")


def _modules(exempt: tuple[str, ...]) -> list[Path]:
    return [p for p in sorted(PKG.rglob("*.py")) if p.relative_to(PKG).parts[0] not in exempt]


def boto_uses(source: str) -> list[str]:
    """``line: what`` for every boto import, ``.boto`` attribute and ``boto_client`` reference in ``source``."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [a.name for a in node.names if a.name == "boto_client"]
        elif isinstance(node, ast.Attribute) and node.attr in ("boto", "boto_client"):
            names = [f".{node.attr}"]
        elif isinstance(node, ast.Name) and node.id == "boto_client":
            names = ["boto_client"]
        for name in names:
            if name.split(".")[0] in BOTO_MODULES or name in (".boto", ".boto_client", "boto_client"):
                out.append((node.lineno, name))
    return [f"{line}: {name}" for line, name in sorted(out)]


def _is_layout_call(node: ast.expr) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "layout")


def key_constructions(source: str) -> list[str]:
    """``line: f-string`` for every f-string that starts with a layout key (a call or a name bound to one) + ``/``."""
    tree = ast.parse(source)
    bound = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) and _is_layout_call(n.value)
             for t in n.targets if isinstance(t, ast.Name)}
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.JoinedStr) or len(node.values) < 2:
            continue
        head, nxt = node.values[0], node.values[1]
        if not isinstance(head, ast.FormattedValue):
            continue
        from_layout = _is_layout_call(head.value) or (isinstance(head.value, ast.Name) and head.value.id in bound)
        adds_path = isinstance(nxt, ast.Constant) and str(nxt.value).startswith("/")
        if from_layout and adds_path:
            out.append((node.lineno, ast.unparse(node)))
    return [f"{line}: {text}" for line, text in sorted(out)]


def test_the_scanners_see_what_they_ban() -> None:
    sample = (
        "import boto3\nfrom botocore.exceptions import ClientError\nfrom pipelines.storage.store import boto_client\n"
        "store.boto.put_object()\n"
        "base = layout.run(ds, run)\nk1 = f'{layout.release(ds)}/manifest.json'\nk2 = f'{base}/plan.json'\n"
        "ok = f'{layout.release(ds)}'\nok2 = f'{other}/x'\n"
    )
    assert boto_uses(sample) == ["1: boto3", "2: botocore.exceptions", "3: boto_client", "4: .boto"]
    assert [line.split(":")[0] for line in key_constructions(sample)] == ["6", "7"]


def test_boto_is_private_to_storage() -> None:
    bad = [f"{p.relative_to(ROOT)}:{use}" for p in _modules(BOTO_EXEMPT) for use in boto_uses(p.read_text("utf-8"))]
    assert bad == [], "boto3 used outside pipelines/storage (use ObjectStore / S3Reader methods):\n" + "\n".join(bad)


def test_keys_are_built_only_in_storage_layout() -> None:
    bad = [f"{p.relative_to(ROOT)}:{hit}" for p in _modules(("storage",))
           for hit in key_constructions(p.read_text("utf-8"))]
    assert bad == [], "storage keys built outside pipelines/storage/layout.py (add a layout function):\n" + \
        "\n".join(bad)
