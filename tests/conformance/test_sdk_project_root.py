"""A project works from any folder: `run_trainer(path)` and a trainer created in a subfolder resolve
dataset paths and `.arkor/state.json` against the project root, not the current folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sdk_scripted_backend import happy_stream

from arkor import run_trainer
from arkor.sdk.project import find_project_root

TRAINER = """
from arkor import create_arkor, create_trainer
trainer = create_trainer(name="rooted", model="arkor/tiny-test", dataset={"type": "file", "path": "data/train.jsonl"})
arkor = create_arkor(trainer=trainer)
"""


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "src" / "arkor").mkdir(parents=True)
    (root / "src" / "arkor" / "index.py").write_text(TRAINER)
    (root / "data").mkdir()
    (root / "data" / "train.jsonl").write_text('{"text": "hello"}\n')
    return root


@pytest.mark.parametrize("where", ["elsewhere", "subfolder"])
def test_run_trainer_resolves_data_and_state_against_the_project(
    backend, tmp_path: Path, monkeypatch, where: str
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARKOR_CLOUD_API_URL", backend.url)
    root = _project(tmp_path)
    start = tmp_path / "elsewhere" if where == "elsewhere" else root / "data"
    start.mkdir(exist_ok=True)
    monkeypatch.chdir(start)
    backend.streams.append(happy_stream())
    lines: list[str] = []
    entry = root / "src" / "arkor" / "index.py" if where == "elsewhere" else None
    result = run_trainer(entry, echo=lines.append)
    assert result.job.status == "completed", lines
    uploads = backend.of("POST", "/v1/datasets")
    assert len(uploads) == 1 and uploads[0].body == b'{"text": "hello"}\n'
    assert json.loads((root / ".arkor" / "state.json").read_text())["projectId"] == "prj_1"
    assert not (start / ".arkor").exists()


def test_find_project_root_walks_up_like_git(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = _project(tmp_path)
    deep = root / "data" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == root
    assert find_project_root(root / "src" / "arkor") == root
    outside = tmp_path / "plain"
    outside.mkdir()
    (outside / ".arkor").mkdir()  # a home's .arkor (credentials) is not a project
    assert find_project_root(outside) == outside.resolve()
    monkeypatch.chdir(deep)
    assert find_project_root() == root and os.getcwd() == str(deep)
