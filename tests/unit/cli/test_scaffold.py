"""The scaffolder: name sanitising, files per template, never overwriting, .gitignore and AGENTS.md patching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arkor.templates.scaffold import AGENTS_BEGIN, AGENTS_END, TEMPLATES, sanitize_name, scaffold


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("My Cool Project!", "my-cool-project"),
        ("--weird__name--", "weird-name"),
        ("", "arkor-project"),
        ("!!!", "arkor-project"),
        ("a" * 80, "a" * 60),
        ("Déjà vu", "d-j-vu"),
    ],
)
def test_sanitize_name(raw: str, expected: str) -> None:
    assert sanitize_name(raw) == expected


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_each_template_writes_a_runnable_layout(tmp_path: Path, template: str) -> None:
    report = scaffold(tmp_path, template=template, name="demo")
    assert {f.path: f.action for f in report.files} == {
        "src/arkor/index.py": "created",
        "src/arkor/trainer.py": "created",
        "data/train.jsonl": "created",
        "data/eval.jsonl": "created",
        ".gitignore": "created",
        "AGENTS.md": "created",
        "CLAUDE.md": "created",
        "README.md": "created",
    }
    index = (tmp_path / "src/arkor/index.py").read_text()
    assert "from arkor import create_arkor" in index and "from .trainer import trainer" in index
    assert "arkor = create_arkor(trainer=trainer)" in index
    trainer = (tmp_path / "src/arkor/trainer.py").read_text()
    assert 'model="HuggingFaceTB/SmolLM2-135M-Instruct"' in trainer
    assert 'dataset={"type": "file", "path": "data/train.jsonl"}' in trainer
    assert "{{" not in trainer and "{{" not in (tmp_path / "README.md").read_text()
    compile(trainer, "trainer.py", "exec")
    rows = [json.loads(line) for line in (tmp_path / "data/train.jsonl").read_text().splitlines()]
    assert rows and all("messages" in row for row in rows)
    assert ".arkor/" in (tmp_path / ".gitignore").read_text().splitlines()
    assert not (tmp_path / "src/arkor/__init__.py").exists()  # so the folder never shadows the library


def test_triage_trainer_checks_checkpoints_with_a_schema(tmp_path: Path) -> None:
    scaffold(tmp_path, template="triage", name="demo")
    trainer = (tmp_path / "src/arkor/trainer.py").read_text()
    assert "def on_checkpoint(ctx)" in trainer and "ctx.infer(" in trainer and '"json_schema"' in trainer
    assert "on_checkpoint=on_checkpoint" in trainer


def test_rescaffold_keeps_user_files_and_patches_gitignore(tmp_path: Path) -> None:
    (tmp_path / "src/arkor").mkdir(parents=True)
    (tmp_path / "src/arkor/trainer.py").write_text("# mine\n")
    (tmp_path / "README.md").write_text("my readme\n")
    (tmp_path / ".gitignore").write_text("node_modules/")
    report = scaffold(tmp_path, template="translate", name="demo")
    actions = {f.path: f.action for f in report.files}
    assert actions["src/arkor/trainer.py"] == "kept" and actions["README.md"] == "kept"
    assert actions[".gitignore"] == "patched"
    assert (tmp_path / "src/arkor/trainer.py").read_text() == "# mine\n"
    assert (tmp_path / ".gitignore").read_text() == "node_modules/\n.arkor/\n"
    again = {f.path: f.action for f in scaffold(tmp_path, template="translate", name="demo").files}
    assert again[".gitignore"] == "ok" and again["AGENTS.md"] == "ok" and again["src/arkor/index.py"] == "kept"


def test_agents_block_is_appended_replaced_and_left_alone_when_duplicated(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("# Team rules\r\nBe nice.\r\n")
    report = scaffold(tmp_path, template="blank", name="demo")
    assert report.action_of("AGENTS.md") == "patched"
    text = (tmp_path / "AGENTS.md").read_bytes().decode()
    assert text.startswith("# Team rules\r\nBe nice.\r\n") and AGENTS_BEGIN in text
    assert "\n" not in text.replace("\r\n", "")  # CRLF preserved throughout
    stale = text.replace("arkor is newer", "arkor was newer")
    (tmp_path / "AGENTS.md").write_bytes(stale.encode())
    assert scaffold(tmp_path, template="blank", name="demo").action_of("AGENTS.md") == "patched"
    assert "arkor is newer" in (tmp_path / "AGENTS.md").read_text()
    doubled = text + AGENTS_BEGIN + "\nx\n" + AGENTS_END + "\n"
    (tmp_path / "AGENTS.md").write_text(doubled)
    (tmp_path / "CLAUDE.md").unlink()
    report = scaffold(tmp_path, template="blank", name="demo")
    assert report.action_of("AGENTS.md") == "kept" and report.action_of("CLAUDE.md") == "skipped"
    assert report.warnings and not (tmp_path / "CLAUDE.md").exists()


def test_no_agents_md(tmp_path: Path) -> None:
    report = scaffold(tmp_path, template="blank", name="demo", agents_md=False)
    assert report.action_of("AGENTS.md") is None and not (tmp_path / "AGENTS.md").exists()
    assert "AGENTS.md" not in (tmp_path / "README.md").read_text()


def test_unknown_template_touches_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='Unknown template "nope". Available: triage, translate, redaction, blank'):
        scaffold(tmp_path / "new", template="nope", name="demo")
    assert not (tmp_path / "new").exists()
