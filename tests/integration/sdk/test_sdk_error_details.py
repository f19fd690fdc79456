"""A dataset the real backend refuses: every issue in its 400 `details` reaches the user, in
`CloudApiError.details`, in `str(error)` (what a traceback shows), and in `arkor start`'s output
(what Studio's Run training log shows). Before, only the summary ending in a colon was kept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from arkor import create_trainer
from arkor.sdk.errors import CloudApiError
from arkor.sdk.trainer import TrainerContext
from arkor.server.runner import BackgroundServer
from arkor.server.settings import ServerSettings

REPO_SRC = Path(__file__).resolve().parents[3] / "src"


def _good(i: int) -> dict:
    return {"messages": [{"role": "user", "content": f"ticket {i}"}, {"role": "assistant", "content": "bug"}]}


def _bad_rows(total: int, bad_lines: list[int]) -> str:
    rows = []
    for line in range(1, total + 1):
        row = _good(line)
        if line in bad_lines:
            row["messages"].insert(1, {"role": "robot", "content": "beep"})
        rows.append(json.dumps(row))
    return "\n".join(rows) + "\n"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home"))
    running = BackgroundServer(ServerSettings(data_dir=tmp_path / "data", worker_command=None)).start()
    monkeypatch.setenv("ARKOR_CLOUD_API_URL", running.url)
    yield running
    running.stop()


def _trainer(project: Path, filename: str):
    return create_trainer(
        name="details",
        model="arkor/tiny-test",
        dataset={"type": "file", "path": filename},
        max_steps=1,
        context=TrainerContext(cwd=project),
    )


def test_every_dataset_issue_is_kept_and_listed(server, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.jsonl").write_text(_bad_rows(10, [7]))
    with pytest.raises(CloudApiError) as caught:
        _trainer(project, "train.jsonl").start()
    error = caught.value
    assert error.status == 400
    assert error.details and error.details[0]["line"] == 7 and error.details[0]["path"] == "train.jsonl"
    text = str(error)
    head, _, rest = text.partition("\n")
    assert head == "train.jsonl: 1 problem(s) in 1 of 10 row(s); fix them and retry:"
    assert rest.strip().startswith("train.jsonl:7: messages[1].role must be one of"), text


def test_many_issues_are_capped_with_a_count(server, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.jsonl").write_text(_bad_rows(30, list(range(1, 26))))
    with pytest.raises(CloudApiError) as caught:
        _trainer(project, "train.jsonl").start()
    lines = str(caught.value).splitlines()
    assert len(caught.value.details) == 25
    assert (
        sum(line.strip().startswith("train.jsonl:") and "role" in line for line in lines) == CloudApiError.SHOWN_DETAILS
    )
    assert lines[-1].strip() == "... and 5 more"


def test_unparseable_file_lists_its_lines(server, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "malformed.jsonl").write_text(json.dumps(_good(1)) + "\n{not json\n")
    with pytest.raises(CloudApiError) as caught:
        _trainer(project, "malformed.jsonl").start()
    text = str(caught.value)
    assert text.startswith("malformed.jsonl could not be parsed:\n  malformed.jsonl:2: invalid JSON"), text


def test_arkor_start_prints_every_issue(server, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src" / "arkor").mkdir(parents=True)
    (project / "train.jsonl").write_text(_bad_rows(10, [3, 7]))
    (project / "src" / "arkor" / "trainer.py").write_text(
        "from arkor import create_trainer\n"
        "trainer = create_trainer(name='cli', model='arkor/tiny-test',\n"
        "                         dataset={'type': 'file', 'path': 'train.jsonl'}, max_steps=1)\n"
    )
    (project / "src" / "arkor" / "index.py").write_text(
        "from arkor import create_arkor\nfrom .trainer import trainer\narkor = create_arkor(trainer=trainer)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "ARKOR_HOME": str(tmp_path / "home"),
        "ARKOR_CLOUD_API_URL": server.url,
        "PYTHONPATH": str(REPO_SRC),
        "NO_COLOR": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "arkor.cli.main", "start"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Error: train.jsonl: 2 problem(s) in 2 of 10 row(s); fix them and retry:" in result.stderr
    assert "train.jsonl:3: messages[1].role must be one of" in result.stderr
    assert "train.jsonl:7: messages[1].role must be one of" in result.stderr
    assert "Traceback" not in result.stderr
