"""`arkor server ...`: run a backend, or manage the embedded one this user's commands share.

`serve` runs `python -m arkor.server serve` in this process (same options). `start` finds or starts
the embedded backend (`~/.arkor/server/`, one per user, on a stable port: see `arkor.sdk.local_backend`), `status` describes it, `stop` sends it
SIGTERM, waits for it to exit and removes its record. `token create` mints an operator token.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

import click

from ._common import CliError

STOP_TIMEOUT_S = 30.0


def _read_record() -> dict[str, Any] | None:
    from arkor.sdk.local_backend import record_path

    try:
        record = json.loads(record_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "pid" in record else None


@click.group("server")
def server_group() -> None:
    """Run a training backend, or manage the embedded one (~/.arkor/server/)."""


@server_group.command(
    "serve", context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve_command(args: tuple[str, ...]) -> None:
    """Run a backend in the foreground (options of `python -m arkor.server serve`; try --help)."""
    from arkor.server.__main__ import main as server_main

    sys.exit(server_main(["serve", *args]))


@server_group.command("start")
@click.option(
    "-p",
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Listen on this port (remembered for later starts). Default: ARKOR_BACKEND_PORT, else 4848; "
    "when that is taken, a free port that later starts reuse.",
)
def start_command(port: int | None) -> None:
    """Start the embedded backend if it is not running; print its URL."""
    from urllib.parse import urlparse

    from arkor.sdk.local_backend import ensure_local_backend, read_live_record

    running = read_live_record()
    if running and port is not None and urlparse(running).port != port:
        raise CliError(
            f"The local arkor backend already runs at {running}. "
            f"Stop it with `arkor server stop`, then `arkor server start --port {port}`."
        )
    click.echo(running or ensure_local_backend(port=port))


@server_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print {running, url, pid, version} as JSON.")
def status_command(as_json: bool) -> None:
    """Say whether the embedded backend runs, and where."""
    from arkor.sdk.local_backend import read_live_record, record_path

    record = _read_record()
    url = read_live_record()
    running = url is not None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "running": running,
                    "url": url,
                    "pid": record.get("pid") if record else None,
                    "version": record.get("version") if record else None,
                    "record": str(record_path()),
                }
            )
        )
        return
    if running and record:
        click.echo(
            f"The local arkor backend is running at {url} (pid {record['pid']}, version {record.get('version')})."
        )
        click.echo(f"Data and logs: {record_path().parent}")
    elif record:
        click.echo(f"The local arkor backend is not answering (stale record {record_path()}, pid {record['pid']}).")
    else:
        click.echo("The local arkor backend is not running. Any arkor command that needs it starts it.")


@server_group.command("stop")
def stop_command() -> None:
    """Stop the embedded backend (running jobs are stopped and marked failed)."""
    from filelock import FileLock

    from arkor.sdk.local_backend import pid_alive, record_path, server_dir

    server_dir().mkdir(parents=True, exist_ok=True)
    with FileLock(str(server_dir() / "server.lock"), timeout=STOP_TIMEOUT_S + 30):
        record = _read_record()
        if record is None:
            click.echo("The local arkor backend is not running.")
            return
        pid = int(record["pid"])
        if pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
                click.echo(f"The backend (pid {pid}) did not stop within {STOP_TIMEOUT_S:.0f}s; killed it.", err=True)
        record_path().unlink(missing_ok=True)
    click.echo(f"Stopped the local arkor backend (pid {pid}).")


@server_group.group("token")
def token_group() -> None:
    """Operator tokens for a team backend."""


@token_group.command("create")
@click.option("--name", required=True, help="The user's name.")
@click.option("--org", required=True, help="Org slug (created if missing).")
@click.option("--data-dir", help="The backend's data folder (default: the embedded backend's, ~/.arkor/server).")
def token_create_command(name: str, org: str, data_dir: str | None) -> None:
    """Create a user with a bearer token in ORG; sign in with `arkor login --token T --url U`."""
    from arkor.server.__main__ import main as server_main

    argv = ["token", "create", "--name", name, "--org", org]
    if data_dir:
        argv += ["--data-dir", data_dir]
    code = server_main(argv)
    if code:
        raise CliError("token create failed", exit_code=code)
