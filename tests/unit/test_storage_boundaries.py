"""The storage contract is closed: boto3 and storage keys belong to ``pipelines/storage`` (issue 14).

- boto3 / botocore (and their type stubs, ``ObjectStore.boto`` and ``boto_client``) are used only inside
  ``pipelines/storage``. ``pipelines/stack`` is exempt: it runs the local S3 endpoint itself (a ``ListBuckets``
  health probe that catches botocore's errors); it reads and writes no stage data.
- Storage keys are built only by ``pipelines.storage.layout``: no f-string elsewhere starts with a layout call
  (or a name bound to one) and appends a path, and no ``+`` or ``join`` appends anything to one.
- The run files stages hand each other are reached only through the artifact catalogue
  (``pipelines.storage.artifacts``): outside ``pipelines/storage`` no ``layout.run_file`` /
  ``restricted_run_file`` / ``run`` call names a catalogued file or folder, and no string literal is a catalogued
  file's name; every entry is written through its own writer somewhere in ``pipelines/``.

The scans are AST walks; each is first shown a sample it must flag, so a scanner that sees nothing fails.
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


def _layout_bound(tree: ast.AST) -> set[str]:
    return {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) and _is_layout_call(n.value)
            for t in n.targets if isinstance(t, ast.Name)}


def _from_layout(node: ast.expr, bound: set[str]) -> bool:
    return _is_layout_call(node) or (isinstance(node, ast.Name) and node.id in bound)


def key_appends(source: str) -> list[str]:
    """``line: expression`` for every ``+`` onto a layout key and every ``join`` whose first part is one."""
    tree = ast.parse(source)
    bound = _layout_bound(tree)
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and _from_layout(node.left, bound):
            out.append((node.lineno, ast.unparse(node)))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
              and node.args):
            first = node.args[0]
            parts = first.elts if isinstance(first, (ast.List, ast.Tuple)) else node.args
            if parts and _from_layout(parts[0], bound):
                out.append((node.lineno, ast.unparse(node)))
    return [f"{line}: {text}" for line, text in sorted(out)]


def _catalogued() -> tuple[set[str], set[str]]:
    """The catalogue's file names, and the stages whose whole run folder is an entry (the item parts)."""
    from pipelines.storage import artifacts

    files = {a.file for a in artifacts.ARTIFACTS.values() if not isinstance(a, artifacts.PartsArtifact)}
    folders = {a.stage for a in artifacts.ARTIFACTS.values() if isinstance(a, artifacts.PartsArtifact)}
    return files, folders


def catalogue_bypasses(source: str, files: set[str], folders: set[str]) -> list[str]:
    """``line: what`` for every layout call naming a catalogued file (``run_file(ds, run, "qc", "qc.parquet")``) or
    a catalogued folder (``run(ds, run, "deidentify")``), and every string literal (not a docstring) that is a
    catalogued file's name or ends in ``/<name>``."""
    tree = ast.parse(source)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if _is_layout_call(node):
            assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            lits = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            fn = node.func.attr
            names_file = fn in ("run_file", "restricted_run_file") and any(v.split("/")[0] in files for v in lits)
            names_folder = fn in ("run", "restricted_run") and any(v in folders for v in lits)
            if names_file or names_folder:
                out.append((node.lineno, ast.unparse(node)))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
              and (node.value in files or any(node.value.endswith(f"/{f}") for f in files))):
            out.append((node.lineno, repr(node.value)))
    first = dict(sorted(out, reverse=True))  # one hit a line
    return [f"{line}: {text}" for line, text in sorted(first.items())]


def test_the_scanners_see_what_they_ban() -> None:
    sample = (
        "import boto3\nfrom botocore.exceptions import ClientError\nfrom pipelines.storage.store import boto_client\n"
        "store.boto.put_object()\n"
        "base = layout.run(ds, run)\nk1 = f'{layout.release(ds)}/manifest.json'\nk2 = f'{base}/plan.json'\n"
        "ok = f'{layout.release(ds)}'\nok2 = f'{other}/x'\n"
    )
    assert boto_uses(sample) == ["1: boto3", "2: botocore.exceptions", "3: boto_client", "4: .boto"]
    assert [line.split(":")[0] for line in key_constructions(sample)] == ["6", "7"]
    appends = (
        "base = layout.run(ds, run)\nk1 = layout.run(ds, run) + '/x'\nk2 = base + '/y'\n"
        "k3 = '/'.join([layout.state(ds), 'z'])\nk4 = posixpath.join(base, 'w')\n"
        "ok = other + '/x'\nok2 = '/'.join([other, layout.state(ds)])\nok3 = ', '.join(names)\n"
    )
    assert [line.split(":")[0] for line in key_appends(appends)] == ["2", "3", "4", "5"]
    bypass = (
        '"""A docstring naming qc.parquet is fine."""\n'
        "k1 = layout.run_file(ds, run, 'label_pull', 'qc.parquet')\n"
        "k2 = layout.restricted_run_file(ds, run, 'validate', 'data_docs/index.html')\n"
        "k3 = layout.run(ds, run, 'deidentify')\nname = 'plan.json'\nk4 = 'x/decision.json'\n"
        "ok = layout.run_file(ds, run, 'label_pull', 'pull.json')\nok2 = layout.run(ds, run, 'collect')\n"
        "ok3 = 'plan.json.bak'\n"
    )
    assert [line.split(":")[0] for line in catalogue_bypasses(bypass, *_catalogued())] == ["2", "3", "4", "5", "6"]


def test_boto_is_private_to_storage() -> None:
    bad = [f"{p.relative_to(ROOT)}:{use}" for p in _modules(BOTO_EXEMPT) for use in boto_uses(p.read_text("utf-8"))]
    assert bad == [], "boto3 used outside pipelines/storage (use ObjectStore / S3Reader methods):\n" + "\n".join(bad)


def test_keys_are_built_only_in_storage_layout() -> None:
    bad = [f"{p.relative_to(ROOT)}:{hit}" for p in _modules(("storage",))
           for hit in key_constructions(p.read_text("utf-8"))]
    bad += [f"{p.relative_to(ROOT)}:{hit}" for p in _modules(("storage",)) for hit in key_appends(p.read_text("utf-8"))]
    assert bad == [], "storage keys built outside pipelines/storage/layout.py (add a layout function):\n" + \
        "\n".join(bad)


def test_stages_reach_each_others_files_only_through_the_artifact_catalogue() -> None:
    files, folders = _catalogued()
    bad = [f"{p.relative_to(ROOT)}:{hit}" for p in _modules(("storage",))
           for hit in catalogue_bypasses(p.read_text("utf-8"), files, folders)]
    assert bad == [], "a catalogued run file reached by name (use its pipelines.storage.artifacts entry):\n" + \
        "\n".join(bad)


WRITES = ("write", "writer", "part", "page")


def catalogue_writes(source: str) -> set[str]:
    """The catalogue entries ``source`` writes through (``artifacts.NAME.write(...)`` and the like)."""
    return {n.func.value.attr for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in WRITES
            and isinstance(n.func.value, ast.Attribute) and isinstance(n.func.value.value, ast.Name)
            and n.func.value.value.id == "artifacts"}


def test_every_catalogued_artifact_is_written_through_its_entry() -> None:
    from pipelines.storage import artifacts

    assert catalogue_writes("artifacts.QUALITY.write(s, d, r, q)\nartifacts.X.read(s)\nother.Y.write(1)\n") == {
        "QUALITY"}
    written = set().union(*(catalogue_writes(p.read_text("utf-8")) for p in _modules(("storage",))))
    names = {n for n in dir(artifacts) if n.isupper() and n != "ARTIFACTS"
             and isinstance(getattr(artifacts, n), artifacts.Artifact)}
    assert names and {getattr(artifacts, n).name for n in names} == set(artifacts.ARTIFACTS)
    assert sorted(names - written) == [], "catalogued artifacts no stage writes through the catalogue"
