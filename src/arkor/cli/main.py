"""`arkor`: the command-line entry point (console script `arkor = arkor.cli.main:main`).

Subcommands live in their own modules and are imported only when run, so `arkor --help` and
`import arkor.cli.main` stay light (no torch, transformers or fastapi). Errors that are arkor's
own (`ArkorError`) print as one message and exit 1; user code's exceptions keep their traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from arkor import __version__

# name -> (module, attribute, one-line help). The help is here so `--help` imports nothing.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("arkor.cli.init", "init_command", "Scaffold an arkor project (trainer, dataset, README)."),
    "dev": ("arkor.cli.dev", "dev_command", "Open Studio on the project's backend."),
    "build": ("arkor.cli.build", "build_command", "Snapshot src/arkor/ into .arkor/build/ and check it loads."),
    "start": ("arkor.cli.start", "start_command", "Run the project's trainer (builds first when needed)."),
    "login": ("arkor.cli.auth", "login_command", "Sign in (anonymously, or with a backend token)."),
    "logout": ("arkor.cli.auth", "logout_command", "Delete the stored credentials."),
    "whoami": ("arkor.cli.auth", "whoami_command", "Show who the stored credentials belong to."),
    "jobs": ("arkor.cli.jobs", "jobs_group", "List, inspect, follow and cancel training jobs."),
    "models": ("arkor.cli.models", "models_command", "Models this machine can train, and which are cached."),
    "export": (
        "arkor.cli.export",
        "export_command",
        "Download a job's adapter, a merged standalone model, or a GGUF file.",
    ),
    "server": ("arkor.cli.server", "server_group", "Run or manage the training backend."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attribute, _ = COMMANDS[name]
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_, _, help_text) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="arkor", message="%(version)s")
def cli() -> None:
    """arkor: fine-tune open-weight LLMs from ordinary Python code."""


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; returns only when `standalone_mode` would not exit (never, in practice)."""
    _take_deprecation()  # a notice from before this command (an embedding process) is not this command's
    try:
        _run(argv)
    finally:
        _print_deprecation()


def _print_deprecation() -> None:
    """The backend's deprecation notice, once, after the command's own output (success or failure)."""
    notice = _take_deprecation()
    if notice is None:
        return
    cutoff = f" Cutoff: {notice.sunset}." if notice.sunset else ""
    from arkor.sdk._errors_http import UPGRADE_COMMAND

    click.echo(f"{notice.message} (current: {notice.sdk_version}).{cutoff} Run `{UPGRADE_COMMAND}`.", err=True)


def _take_deprecation() -> Any:
    notices = sys.modules.get("arkor.sdk._errors_http")  # not loaded: no request was made, nothing to say
    return notices.take_latest_deprecation() if notices is not None else None


UNREACHABLE_HINT = "Check ARKOR_CLOUD_API_URL / `arkor login --url`, or unset them to use the local backend."


def _run(argv: list[str] | None) -> None:
    from arkor.errors import ArkorError

    try:
        result = cli.main(args=argv, prog_name="arkor", standalone_mode=False)
        sys.exit(result if isinstance(result, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Cancelled by user", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ArkorError as exc:
        click.echo(_message(exc), err=True)
        for note in getattr(exc, "__notes__", ()):  # e.g. "Job ... keeps running on the backend; ..."
            click.echo(note, err=True)
        sys.exit(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        click.echo("Cancelled by user", err=True)
        sys.exit(130)


def _message(exc: BaseException) -> str:
    """What the user reads for one of arkor's own errors."""
    transport = sys.modules.get("arkor.transport")  # not loaded: no request was made, so no request failed
    if transport is not None and isinstance(exc, transport.ApiConnectionError):
        what = "did not answer in time" if isinstance(exc, transport.ApiTimeoutError) else "could not be reached"
        return f"Error: the arkor backend {what} ({exc.method} {exc.url}: {exc.reason}). {UNREACHABLE_HINT}"
    return str(exc) if _is_plain(exc) else f"Error: {exc}"


def _is_plain(exc: BaseException) -> bool:
    from arkor.sdk.errors import ProjectStateMismatchError

    from ._common import CliError

    return isinstance(exc, (ProjectStateMismatchError, CliError))


if __name__ == "__main__":
    main()
