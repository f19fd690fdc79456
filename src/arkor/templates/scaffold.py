"""Project scaffolding shared by `arkor init`: which templates exist and what files they write.

Never overwrites a user's file. Each file gets an action: `created`, `kept` (exists, left alone),
`patched` (`.gitignore` gained `.arkor/`; `AGENTS.md` gained or refreshed arkor's managed block),
`ok` (already right) or `skipped`. Pure file work; no prompts, no printing, no git.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from arkor.model_families import DEFAULT_MODEL

TEMPLATES_ROOT = Path(__file__).resolve().parent
PROJECT_FILES = TEMPLATES_ROOT / "_project"
DEFAULT_TEMPLATE = "triage"
DEFAULT_PROJECT_NAME = "arkor-project"
AGENTS_BEGIN = "<!-- BEGIN:arkor-agent-rules -->"
AGENTS_END = "<!-- END:arkor-agent-rules -->"


@dataclass(frozen=True)
class TemplateInfo:
    id: str
    label: str
    hint: str
    run_name: str


TEMPLATES: dict[str, TemplateInfo] = {
    "triage": TemplateInfo(
        "triage", "Triage", "Support ticket triage (estimated training: ~4 min on a CPU)", "triage-run"
    ),
    "translate": TemplateInfo(
        "translate", "Translate", "Multilingual intake translation (~4 min on a CPU)", "translate-run"
    ),
    "redaction": TemplateInfo(
        "redaction", "Redaction", "PII redaction → structured JSON (~6 min on a CPU)", "redaction-run"
    ),
    "blank": TemplateInfo("blank", "Blank", "A minimal trainer and a few example rows to replace", "my-run"),
}


@dataclass
class FileAction:
    path: str  # relative to the project root, forward slashes
    action: str  # created | kept | patched | ok | skipped


@dataclass
class ScaffoldReport:
    files: list[FileAction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def action_of(self, path: str) -> str | None:
        return next((f.action for f in self.files if f.path == path), None)


def unknown_template_message(template: str) -> str:
    return f'Unknown template "{template}". Available: {", ".join(TEMPLATES)}'


def sanitize_name(raw: str | None) -> str:
    """Lowercase; runs of anything outside [a-z0-9] become `-`; at most 60; one edge `-` trimmed."""
    name = re.sub(r"[^a-z0-9]+", "-", (raw or "").lower())[:60]
    name = name[1:] if name.startswith("-") else name
    name = name[:-1] if name.endswith("-") else name
    return name or DEFAULT_PROJECT_NAME


def _render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _write_new(root: Path, relative: str, content: str | bytes, report: ScaffoldReport) -> None:
    target = root / relative
    if target.exists():
        report.files.append(FileAction(relative, "kept"))
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    report.files.append(FileAction(relative, "created"))


def _gitignore(root: Path, report: ScaffoldReport) -> None:
    path = root / ".gitignore"
    if not path.exists():
        path.write_text("__pycache__/\n*.pyc\n.venv/\n.arkor/\n", encoding="utf-8")
        report.files.append(FileAction(".gitignore", "created"))
        return
    text = path.read_text(encoding="utf-8")
    lines = {line.strip() for line in text.splitlines()}
    if lines & {".arkor", ".arkor/", "/.arkor", "/.arkor/"}:
        report.files.append(FileAction(".gitignore", "ok"))
        return
    newline = "\r\n" if "\r\n" in text else "\n"
    prefix = "" if text.endswith(("\n", "\r")) or not text else newline
    path.write_text(text + prefix + ".arkor/" + newline, encoding="utf-8", newline="")
    report.files.append(FileAction(".gitignore", "patched"))


def _agents(root: Path, report: ScaffoldReport) -> bool:
    """Write or refresh arkor's block in AGENTS.md; False when the file is ambiguous (left alone)."""
    block = (PROJECT_FILES / "AGENTS.md.block").read_text(encoding="utf-8").rstrip("\n")
    path = root / "AGENTS.md"
    if not path.exists():
        path.write_text(block + "\n", encoding="utf-8")
        report.files.append(FileAction("AGENTS.md", "created"))
        return True
    text = path.read_bytes().decode("utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    wanted = block.replace("\n", newline)
    starts = text.count(AGENTS_BEGIN)
    if starts > 1:
        report.files.append(FileAction("AGENTS.md", "kept"))
        report.warnings.append(
            f"AGENTS.md has {starts} arkor blocks; left it alone. Keep one block between {AGENTS_BEGIN} and {AGENTS_END}."
        )
        return False
    if starts == 1 and AGENTS_END in text:
        begin = text.index(AGENTS_BEGIN)
        end = text.index(AGENTS_END, begin) + len(AGENTS_END)
        if text[begin:end] == wanted:
            report.files.append(FileAction("AGENTS.md", "ok"))
            return True
        updated = text[:begin] + wanted + text[end:]
    else:
        if not text.strip():
            updated = wanted + newline
        else:
            updated = text.rstrip("\r\n") + newline + newline + wanted + newline
    path.write_bytes(updated.encode("utf-8"))
    report.files.append(FileAction("AGENTS.md", "patched"))
    return True


def scaffold(
    root: Path, *, template: str, name: str, agents_md: bool = True, model: str = DEFAULT_MODEL
) -> ScaffoldReport:
    """Write the project files for `template` into `root` (created if missing).

    Raises:
        ValueError: unknown template (checked before touching the file system).
    """
    if template not in TEMPLATES:
        raise ValueError(unknown_template_message(template))
    info = TEMPLATES[template]
    report = ScaffoldReport()
    root.mkdir(parents=True, exist_ok=True)
    values = {"run_name": info.run_name, "model": model, "name": name, "template": template}

    _write_new(root, "src/arkor/index.py", (PROJECT_FILES / "index.py.tmpl").read_text(encoding="utf-8"), report)
    trainer = _render((TEMPLATES_ROOT / template / "trainer.py.tmpl").read_text(encoding="utf-8"), values)
    _write_new(root, "src/arkor/trainer.py", trainer, report)
    data = TEMPLATES_ROOT / template / "data"
    for split in ("train.jsonl", "eval.jsonl"):
        _write_new(root, f"data/{split}", (data / split).read_bytes(), report)
    _gitignore(root, report)

    agents_ok = False
    if agents_md:
        agents_ok = _agents(root, report)
        if agents_ok:
            _write_new(root, "CLAUDE.md", "@AGENTS.md\n", report)
        else:
            report.files.append(FileAction("CLAUDE.md", "skipped"))
    bullet = "- `AGENTS.md`, `CLAUDE.md`: notes for coding agents working in this project\n" if agents_ok else ""
    readme = _render(
        (PROJECT_FILES / "README.md.tmpl").read_text(encoding="utf-8"), {**values, "agents_bullet": bullet}
    )
    _write_new(root, "README.md", readme.rstrip("\n") + "\n", report)
    return report
