"""The import direction of pyproject's [tool.importlinter] contracts holds (protocol is a leaf; engine
and sdk never import each other or what sits above them; top-level packages form layers, so no
cycles), checked by running `lint-imports` on this checkout and on a copy with one bad import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import arkor

SRC = Path(arkor.__file__).resolve().parents[1]
PYPROJECT = SRC.parent / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(src: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(PYPROJECT)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_import_contracts_hold(tmp_path: Path) -> None:
    result = _lint_imports(SRC, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout and "BROKEN" not in result.stdout, result.stdout


def test_an_engine_module_importing_the_sdk_breaks_them(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(SRC / "arkor", copy / "arkor", ignore=shutil.ignore_patterns("__pycache__", "static"))
    (copy / "arkor" / "engine" / "_bad_import.py").write_text("from arkor.sdk.client import CloudApiClient\n")
    result = _lint_imports(copy, tmp_path)
    assert result.returncode != 0, result.stdout
    assert "arkor.engine._bad_import -> arkor.sdk.client" in result.stdout, result.stdout
