"""DESIGN.md layering: nothing below pipelines/orchestration imports airflow (checked with airflow blocked)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_no_module_outside_orchestration_imports_airflow() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "pipelines").rglob("*.py")
        if "orchestration" not in p.parts
    )
    assert "pipelines.spec.models" in modules and "pipelines.cli" in modules
    code = textwrap.dedent(f"""
        import importlib, importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "airflow" or name.startswith("airflow."):
                    raise ImportError("airflow is blocked here: " + name)
        sys.meta_path.insert(0, Block())
        bad = []
        for m in {modules!r}:
            try:
                importlib.import_module(m)
            except ImportError as exc:
                if "airflow is blocked" in str(exc):
                    bad.append(m + ": " + str(exc))
        print("\\n".join(bad))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"modules importing airflow outside orchestration:\n{out.stdout}"


STAGES = ("collect", "label", "refine", "validate", "publish")


def test_no_stage_imports_another_stage() -> None:
    """DESIGN.md: a stage reads what the previous stage wrote to storage; it never imports another stage."""
    import ast

    bad = []
    for stage in STAGES:
        for path in sorted((ROOT / "pipelines" / stage).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                for name in names:
                    parts = name.split(".")
                    if len(parts) > 1 and parts[0] == "pipelines" and parts[1] in STAGES and parts[1] != stage:
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert bad == [], "stages importing other stages:\n" + "\n".join(bad)
