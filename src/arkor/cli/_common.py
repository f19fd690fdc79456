"""Shared CLI plumbing: interactivity, consoles, the backend client for the current project.

Interactive means stdout is a terminal and `CI` is unset (as the original). Rich consoles turn
colours off by themselves when the stream is not a terminal; `NO_COLOR` is honoured too.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from arkor.errors import ArkorError


class CliError(ArkorError):
    """A user-facing failure: printed as its message (no traceback), exit code `exit_code`."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def is_interactive() -> bool:
    return sys.stdout.isatty() and not os.environ.get("CI")


def console(*, stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, no_color=bool(os.environ.get("NO_COLOR")) or None)


def echo_err(message: str) -> None:
    click.echo(message, err=True)


@dataclass
class Session:
    """Credentials, base URL and client for commands that talk to the backend."""

    credentials: dict[str, Any]
    base_url: str
    client: Any

    def close(self) -> None:
        self.client.close()


def open_session(*, mint: bool = False) -> Session | None:
    """A client for the configured (or embedded) backend; None when not signed in and `mint` is False."""
    from arkor.sdk.client import CloudApiClient
    from arkor.sdk.credentials import default_cloud_api_url, ensure_credentials, read_credentials

    credentials = ensure_credentials() if mint else read_credentials()
    if credentials is None:
        return None
    base_url = default_cloud_api_url(credentials)
    return Session(credentials, base_url, CloudApiClient(base_url, credentials))


def project_root() -> Path:
    """The project this command runs in: found upward from the current folder, like git."""
    from arkor.sdk.project import find_project_root

    return find_project_root()


def project_scope(cwd: Path | None = None) -> Any:
    """The project's `.arkor/state.json`, or a CliError saying how to get one."""
    from arkor.sdk.state import read_state, state_path

    root = cwd or project_root()
    state = read_state(root)
    if state is None:
        raise CliError(
            f"No project state at {state_path(root)}. Run this inside a project that has run "
            "`arkor start` (or `arkor dev`) at least once."
        )
    return state
