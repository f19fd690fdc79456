"""Small things a new user meets first: init's closing line, `arkor dev -p` and Studio's port fallback
notice, the model cache under XDG_CACHE_HOME, and the adapter's model card."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from arkor import _env


def run(*args: str, cwd: Path, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "HOME": str(home), "ARKOR_HOME": str(home / ".arkor"), "NO_COLOR": "1", **env}
    full.pop("ARKOR_CLOUD_API_URL", None)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "arkor.cli.main", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=120
    )


def test_init_quotes_the_next_step_and_says_when_it_kept_another_templates_files(tmp_path: Path) -> None:
    first = run(
        "init", "my project's dir", "--template", "triage", "--skip-git", "--no-agents-md", cwd=tmp_path, home=tmp_path
    )
    assert first.returncode == 0, first.stderr
    quoted = shlex.quote("my project's dir")
    assert f"Next: `cd {quoted} && arkor start` to train" in first.stdout
    assert shlex.split(f"cd {quoted}") == ["cd", "my project's dir"]  # pastes back to the same folder
    again = run(
        "init", "my project's dir", "--template", "blank", "--skip-git", "--no-agents-md", cwd=tmp_path, home=tmp_path
    )
    assert "(blank) is ready" not in again.stdout
    assert (
        "is ready with your existing src/arkor/trainer.py, data/train.jsonl, data/eval.jsonl "
        "(kept as they were; the blank template was not applied to them)."
    ) in again.stdout
    assert "triage" in (tmp_path / "my project's dir" / "src" / "arkor" / "trainer.py").read_text()
    inside = run(
        "init", "--template", "blank", "--skip-git", "--no-agents-md", cwd=tmp_path / "my project's dir", home=tmp_path
    )
    assert "Next: `arkor start` to train" in inside.stdout


def test_dev_takes_the_short_port_flag(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        # An unreachable backend keeps this test from starting one: Studio only warns about it.
        result = run("dev", "-p", str(port), cwd=tmp_path, home=tmp_path, ARKOR_CLOUD_API_URL="http://127.0.0.1:9")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Port {port} is not available on 127.0.0.1" in result.stderr and "No such option" not in result.stderr


def test_studio_says_which_port_it_tries_next(monkeypatch: pytest.MonkeyPatch) -> None:
    from arkor.studio import server

    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    busy, free = squatter.getsockname()[1], probe.getsockname()[1]
    probe.close()
    monkeypatch.setattr(server, "FALLBACK_PORTS", [busy, free])
    heard: list[tuple[int, int]] = []
    try:
        bound = server.bind_sockets(None, lambda a, b: heard.append((a, b)))
        for sock in bound.sockets:
            sock.close()
    finally:
        squatter.close()
    assert heard == [(busy, free)] and bound.port == free


def test_port_busy_notice_words(capsys: pytest.CaptureFixture[str]) -> None:
    from arkor.cli.dev import port_busy

    port_busy(4000, 4001)
    assert (
        capsys.readouterr().err == "Port 4000 is taken; Studio tries 4001 next. Use -p/--port to pick one yourself.\n"
    )


def test_model_cache_honours_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from arkor.engine.models.store import model_cache_path

    monkeypatch.delenv("ARKOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _env.cache_dir() == tmp_path / "xdg" / "arkor"
    assert model_cache_path("arkor/tiny-test").is_relative_to(tmp_path / "xdg" / "arkor" / "models")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: relative values are invalid
    assert _env.cache_dir() == Path.home() / ".cache" / "arkor"
    monkeypatch.setenv("ARKOR_CACHE_DIR", str(tmp_path / "own"))
    assert _env.cache_dir() == tmp_path / "own"


def test_model_card_names_the_logical_model_dataset_hyperparameters_and_metrics(tmp_path: Path) -> None:
    from arkor.engine.export import copy_adapter
    from arkor.engine.model_card import render_model_card

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "/home/u/.cache/arkor/models/x"})
    )
    (adapter / "README.md").write_text(
        "---\nbase_model: /home/u/.cache/arkor/models/x\n---\n# Model Card for Model ID\n"
    )
    (adapter / "arkor-checkpoint.json").write_text(
        json.dumps(
            {
                "step": 20,
                "config": {
                    "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
                    "maxSteps": 20,
                    "learningRate": 0.0002,
                    "loraR": 16,
                    "datasetSource": {"type": "file", "path": "/srv/datasets/4d70.jsonl"},
                },
            }
        )
    )
    out = copy_adapter(
        adapter,
        tmp_path / "copy",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        {
            "job_id": "job_abc",
            "run_name": "triage-run",
            "metrics": {"trainLoss": 0.6712, "steps": 20},
            "config": {
                "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
                "maxSteps": 20,
                "learningRate": 0.0002,
                "loraR": 16,
                "datasetSource": {"type": "uploaded", "datasetId": "ds_1", "filename": "train.jsonl"},
            },
        },
    )
    card = (out / "README.md").read_text()
    assert "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in card and ".cache" not in card
    assert "Model Card for Model ID" not in card and "# triage-run" in card and "job `job_abc`" in card
    assert "`train.jsonl`, uploaded as dataset `ds_1`" in card
    assert "- `learningRate`: 0.0002" in card and "- `loraR`: 16" in card and "- `trainLoss`: 0.6712" in card
    # Without facts from the backend, the folder's own arkor-checkpoint.json is enough to replace PEFT's card.
    plain = copy_adapter(adapter, tmp_path / "plain", "HuggingFaceTB/SmolLM2-135M-Instruct")
    text = (plain / "README.md").read_text()
    assert "Model Card for Model ID" not in text and "saved at step 20" in text and "local file `4d70.jsonl`" in text
    assert render_model_card(model_id="m", config={}).startswith("---\nbase_model: m\n")
