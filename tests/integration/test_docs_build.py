"""The documentation site builds strictly (broken links and missing references fail), and its
generated reference pages come from the code: the CLI from the click group, the HTTP API from the
FastAPI app's OpenAPI document, the Python API from the docstrings."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings_handlers") is None,
    reason="the docs packages are not installed (pip install -e '.[docs]')",
)


def _build(project: Path, site: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "NO_MKDOCS_2_WARNING": "1"}
    for key in [k for k in env if k.startswith("ARKOR_") and k != "ARKOR_BACKEND_PORT"]:
        del env[key]  # a developer's backend settings must not shape the generated pages
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", project / "docs")
    (project / "scripts").symlink_to(ROOT / "scripts")
    (project / "src").symlink_to(ROOT / "src")
    return project


def test_strict_build_renders_guides_and_generated_references(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = _build(ROOT, site, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for text in ("arkor jobs resume", "--gguf-type", "arkor build", "arkor server token create"):
        assert text in cli, text
    api = (site / "reference" / "http-api" / "index.html").read_text(encoding="utf-8")
    assert "/v1/jobs/{job_id}/resume" in api
    for name in ("JobCreateRequest", "JobConfig", "EvaluationCompleted", "DeploymentCreateRequest"):
        assert f'id="schema-{name.lower()}"' in api, name
    document = json.loads((site / "reference" / "openapi.json").read_text(encoding="utf-8"))
    assert "/v1/jobs" in document["paths"]
    python_api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("create_trainer", "TrainerCallbacks", "on_evaluation", "save_total_limit", "max_restarts"):
        assert name in python_api, name
    assert "object object" not in python_api
    for page in ("guides/datasets", "guides/trainer", "guides/export", "guides/team-backend", "guides/ray"):
        assert (site / page / "index.html").is_file(), page


def test_strict_build_fails_on_a_broken_link(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    guide = project / "docs" / "guides" / "datasets.md"
    guide.write_text(guide.read_text(encoding="utf-8") + "\nSee [the formats](no-such-page.md).\n", encoding="utf-8")
    result = _build(project, tmp_path / "site", tmp_path)
    assert result.returncode != 0
    assert "no-such-page.md" in result.stdout + result.stderr
