"""`arkor init [dir]`: scaffold a project (trainer, entry, dataset, README, .gitignore, AGENTS.md).

Flag conflicts are checked on the raw command line before anything is touched, as the original
(`--git` with `--skip-git`, `--agents-md` with `--no-agents-md`), and so is the template name.
Prompts (name, template, git) only when interactive and without `-y`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click

from arkor.templates.scaffold import (
    DEFAULT_TEMPLATE,
    TEMPLATES,
    ScaffoldReport,
    sanitize_name,
    scaffold,
    unknown_template_message,
)

from ._common import CliError, console, echo_err, is_interactive

COMMIT_MESSAGE = "Initial commit from `arkor init`"


def _raw_args() -> list[str]:
    args = sys.argv[1:]
    return args[: args.index("--")] if "--" in args else args


def _check_pairs(git: bool, skip_git: bool, agents: bool, no_agents: bool) -> None:
    raw = _raw_args()
    if (git and skip_git) or ("--git" in raw and "--skip-git" in raw):
        raise CliError("Pick one of --git / --skip-git, not both.")
    if (agents and no_agents) or ("--agents-md" in raw and "--no-agents-md" in raw):
        raise CliError("Pick one of --agents-md / --no-agents-md, not both.")


def _inside_git_repo(root: Path) -> bool:
    probe = root
    while not probe.exists():
        probe = probe.parent
    try:
        answer = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"], cwd=probe, capture_output=True, text=True, check=False
        )
    except OSError:
        return False
    return answer.returncode == 0 and answer.stdout.strip() == "true"


def _git_init(root: Path) -> list[str]:
    """git init + add + commit; returns warnings (an unsigned retry when signing fails)."""
    warnings: list[str] = []
    run = lambda *args: subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)  # noqa: E731
    if run("init", "-q").returncode != 0:
        return ["git init failed; initialise the repository yourself."]
    run("add", "-A")
    if run("commit", "-q", "-m", COMMIT_MESSAGE).returncode != 0:
        retry = run("-c", "commit.gpgsign=false", "commit", "-q", "-m", COMMIT_MESSAGE)
        if retry.returncode == 0:
            warnings.append("Commit signing failed; made the initial commit unsigned.")
        else:
            warnings.append(
                "git commit failed (is user.name / user.email set?). Run: "
                f'git add -A && git commit -m "{COMMIT_MESSAGE}"'
            )
    return warnings


def _print_report(report: ScaffoldReport) -> None:
    out = console()
    out.print("[bold]Files[/bold]")
    colours = {"created": "green", "patched": "yellow", "kept": "cyan", "ok": "dim", "skipped": "dim"}
    for item in report.files:
        out.print(f"  [{colours.get(item.action, 'white')}]{item.action:<8}[/] {item.path}")
    for warning in report.warnings:
        echo_err(f"warning: {warning}")


@click.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("-y", "--yes", is_flag=True, help="Accept every default without asking.")
@click.option("--name", help="Project name (sanitised; default: the folder's name).")
@click.option("--template", help=f"One of: {', '.join(TEMPLATES)} (default {DEFAULT_TEMPLATE}).")
@click.option("--git", "git", is_flag=True, help="Initialise a git repository with a first commit.")
@click.option("--skip-git", is_flag=True, help="Do not initialise git.")
@click.option("--agents-md", "agents_md", is_flag=True, help="Write AGENTS.md / CLAUDE.md (default).")
@click.option("--no-agents-md", "no_agents_md", is_flag=True, help="Do not write AGENTS.md / CLAUDE.md.")
def init_command(
    directory: Path | None,
    yes: bool,
    name: str | None,
    template: str | None,
    git: bool,
    skip_git: bool,
    agents_md: bool,
    no_agents_md: bool,
) -> None:
    """Scaffold an arkor project into DIRECTORY (default: the current folder); never overwrites files."""
    _check_pairs(git, skip_git, agents_md, no_agents_md)
    if template is not None and template not in TEMPLATES:
        raise CliError(unknown_template_message(template))
    root = (directory or Path.cwd()).resolve()
    interactive = is_interactive() and not yes

    if name is None:
        default_name = sanitize_name(root.name) if root.name else "arkor-project"
        name = click.prompt("Project name", default=default_name) if interactive else default_name
    name = sanitize_name(name)
    if template is None:
        if interactive:
            for key, info in TEMPLATES.items():
                click.echo(f"  {key:<10} {info.label} - {info.hint}")
            template = click.prompt("Template", type=click.Choice(list(TEMPLATES)), default=DEFAULT_TEMPLATE)
        else:
            template = DEFAULT_TEMPLATE

    if _inside_git_repo(root):
        do_git, git_note = False, "Inside an existing git repository; skipping git init."
    elif skip_git:
        do_git, git_note = False, None
    elif git or yes:
        do_git, git_note = True, None
    elif interactive:
        do_git, git_note = click.confirm("Initialise a git repository?", default=True), None
    else:
        do_git, git_note = False, None
    if do_git and shutil.which("git") is None:
        do_git, git_note = False, "git is not installed; skipping git init."

    report = scaffold(root, template=template, name=name, agents_md=not no_agents_md)
    _print_report(report)
    if git_note:
        click.echo(git_note)
    if do_git:
        for warning in _git_init(root):
            echo_err(f"warning: {warning}")
    click.echo(ready_message(report, root, name, template))


# Files that make a project "a <template> project"; keeping the user's means the template was not applied.
TEMPLATE_FILES = ("src/arkor/trainer.py", "data/train.jsonl", "data/eval.jsonl")


def ready_message(report: ScaffoldReport, root: Path, name: str, template: str) -> str:
    """The closing line: what the folder is now, and a copy-pasteable next step (paths shell-quoted)."""
    cwd = Path.cwd().resolve()
    if root == cwd:
        step = ""
    else:
        shown = os.path.relpath(root, cwd) if cwd in root.parents else str(root)
        step = f"cd {shlex.quote(shown)} && "
    kept = [path for path in TEMPLATE_FILES if report.action_of(path) == "kept"]
    if kept:
        what = (
            f"Project {name} is ready with your existing {', '.join(kept)} "
            f"(kept as they were; the {template} template was not applied to them)."
        )
    else:
        what = f"Project {name} ({template}) is ready."
    return f"{what} Next: `{step}arkor start` to train, or `arkor dev` for Studio."
