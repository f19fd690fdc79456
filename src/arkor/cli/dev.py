"""`arkor dev`: start Studio (and the embedded training backend when none is configured)."""

from __future__ import annotations

import sys
import webbrowser

import click

from ._common import project_root


def _bootstrap_backend() -> None:
    """Make sure there are credentials and a reachable backend; problems only warn (Studio retries later)."""
    from arkor.sdk.credentials import default_cloud_api_url, ensure_credentials, read_credentials

    try:
        credentials = read_credentials()
        if credentials is None:
            click.echo("No credentials on file. Requesting an anonymous token.")
            credentials = ensure_credentials()
            click.echo(f"Signed in anonymously ({credentials.get('orgSlug')}).")
        click.echo(f"Training backend: {default_cloud_api_url(credentials)}")
    except Exception as exc:  # noqa: BLE001 - any failure here must not stop Studio from starting
        click.echo(
            f"warning: could not reach the training backend ({exc}). Studio will keep running and retry on first use.",
            err=True,
        )


def port_busy(busy: int, next_port: int) -> None:
    click.echo(f"Port {busy} is taken; Studio tries {next_port} next. Use -p/--port to pick one yourself.", err=True)


@click.command("dev")
@click.option(
    "-p",
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port to listen on (default: the first free of 4000-4009). A busy explicit port is an error.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open Studio in the default browser.")
def dev_command(port: int | None, open_browser: bool) -> None:
    """Open Studio, the local web UI: run training, watch jobs, chat with adapters, manage endpoints."""
    from arkor.studio.server import StudioPortError, serve

    _bootstrap_backend()

    def ready(url: str) -> None:
        # The URL carries the launch token: it is printed once, here, for the user who ran `arkor dev`.
        click.echo(f"Arkor Studio is running at {url}  (Ctrl+C to stop)")
        click.echo(
            "Open that link (it signs this browser in to Studio); the address without ?token= only shows how to open it."
        )
        if open_browser:
            try:
                webbrowser.open(url)
            except Exception:  # noqa: BLE001 - a missing browser is not an error
                pass

    try:
        serve(project_dir=project_root(), port=port, on_ready=ready, on_port_busy=port_busy)
    except StudioPortError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    dev_command()
