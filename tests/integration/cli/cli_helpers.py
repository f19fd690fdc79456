"""Helpers for CLI end-to-end tests: an isolated HOME/ARKOR_HOME, `arkor` run as a subprocess, and a
scaffolded project that trains the tiny model in a few steps.

Every embedded backend a test starts is stopped at teardown (`arkor server stop`, then the recorded
pid is killed if it is still there).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO_SRC = Path(__file__).resolve().parents[3] / "src"


def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARKOR_") or k == "ARKOR_CACHE_DIR"}
    # The converted-model cache is shared on purpose (see the team brief): keep the real one.
    env.setdefault("ARKOR_CACHE_DIR", str(Path.home() / ".cache" / "arkor"))
    env.update(HOME=str(home), ARKOR_HOME=str(home / ".arkor"), PYTHONUNBUFFERED="1", NO_COLOR="1")
    env["ARKOR_BACKEND_PORT"] = "0"  # never the real default port (a developer's own backend may hold it)
    env.pop("CI", None)
    env.pop("HF_HUB_OFFLINE", None)
    env["HF_HUB_OFFLINE"] = "1"
    return env


class Arkor:
    """Runs `python -m arkor.cli.main ...` with an isolated home."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = cli_env(home)

    def __call__(
        self, *args: str, cwd: Path | None = None, timeout: float = 240, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "arkor.cli.main", *args],
            cwd=cwd or self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )

    def popen(self, *args: str, cwd: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "arkor.cli.main", *args],
            cwd=cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def record(self) -> dict | None:
        try:
            return json.loads((self.home / ".arkor" / "server" / "server.json").read_text())
        except (OSError, ValueError):
            return None

    def stop_backend(self) -> None:
        record = self.record()
        self("server", "stop", timeout=90)
        if record:
            try:
                os.kill(int(record["pid"]), signal.SIGKILL)
            except ProcessLookupError:
                pass


def make_arkor(home: Path) -> Arkor:
    home.mkdir(parents=True, exist_ok=True)
    return Arkor(home)


def tiny_project(arkor: Arkor, folder: Path, *, max_steps: int = 3) -> Path:
    """A blank-template project switched to the tiny test model."""
    result = arkor("init", str(folder), "--template", "blank", "--skip-git", "--no-agents-md")
    assert result.returncode == 0, result.stderr
    trainer = folder / "src" / "arkor" / "trainer.py"
    text = trainer.read_text()
    text = text.replace('model="HuggingFaceTB/SmolLM2-135M-Instruct"', 'model="arkor/tiny-test"')
    text = text.replace("max_steps=20", f"max_steps={max_steps}")
    assert 'model="arkor/tiny-test"' in text and f"max_steps={max_steps}" in text
    trainer.write_text(text)
    return folder
