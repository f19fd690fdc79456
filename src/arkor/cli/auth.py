"""`arkor login`, `arkor logout`, `arkor whoami`: the stored credentials (`~/.arkor/credentials.json`).

Messages and exit codes follow the original: `whoami` exits 0 when the token is refused (it says
so on stdout) but 1 on 426; `logout` without a terminal and without `--force` aborts with 0.
OAuth against a vendor is out of scope: a team backend hands out tokens with
`arkor server token create`, used with `arkor login --token T --url U`.
"""

from __future__ import annotations

import json
import os
import sys

import click

from ._common import CliError, echo_err, is_interactive

ANON_LOSS_WARNING = (
    "Anonymous credentials cannot be restored after logout. Deleting them permanently "
    "loses access to this anonymous identity."
)


def _base_url(explicit: str | None) -> str:
    from arkor.sdk.credentials import default_cloud_api_url

    return explicit.rstrip("/") if explicit else default_cloud_api_url()


def _login_anonymous(url: str | None) -> None:
    from arkor.sdk.credentials import ENV_BASE_URL, credentials_path, request_anonymous_token, write_credentials

    base_url = _base_url(url)
    minted = request_anonymous_token(base_url, "cli")
    credentials = {
        "mode": "anon",
        "token": minted["token"],
        "anonymousId": minted["anonymousId"],
        "orgSlug": minted["orgSlug"],
    }
    # The embedded backend is found through its own record, so only an explicit URL is remembered.
    if url or ENV_BASE_URL in os.environ:
        credentials["arkorCloudApiUrl"] = base_url
    write_credentials(credentials)
    click.echo(f"Anonymous id: {minted['anonymousId']}")
    click.echo(
        f"Credentials saved to {credentials_path()}. Keep this file: it is the only key to this anonymous identity."
    )
    click.echo(f"Signed in anonymously (personal org: {minted['orgSlug']}).")


def _login_token(token: str, url: str | None) -> None:
    from arkor.sdk.client import CloudApiClient
    from arkor.sdk.credentials import credentials_path, write_credentials
    from arkor.sdk.errors import CloudApiError

    base_url = _base_url(url)
    try:
        with CloudApiClient(base_url, token=token) as client:
            me = client.get_me()
    except CloudApiError as exc:
        raise CliError(f"The backend at {base_url} refused the token ({exc.status}): {exc.message}") from None
    if not me.orgs:
        raise CliError(f"The token's user {me.user.name or me.user.id} belongs to no org on {base_url}.")
    credentials = {"mode": "token", "token": token, "orgSlug": me.orgs[0].slug, "userName": me.user.name}
    if url:
        credentials["arkorCloudApiUrl"] = base_url
    write_credentials(credentials)
    click.echo(f"Credentials saved to {credentials_path()}.")
    click.echo(f"Signed in as {me.user.name or me.user.id} (org: {me.orgs[0].slug}).")


@click.command("login")
@click.option("--anonymous", is_flag=True, help="Create a new anonymous identity.")
@click.option("--token", help="A bearer token from `arkor server token create`.")
@click.option("--url", help="The backend's URL (default: ARKOR_CLOUD_API_URL, else the local backend).")
@click.option("--oauth", is_flag=True, hidden=True)
def login_command(anonymous: bool, token: str | None, url: str | None, oauth: bool) -> None:
    """Sign in. Every login replaces the stored credentials."""
    if oauth and anonymous:
        raise CliError("Pick one of --oauth / --anonymous, not both.")
    if token and anonymous:
        raise CliError("Pick one of --token / --anonymous, not both.")
    if oauth:
        raise CliError("OAuth is not configured for this deployment. Re-run without --oauth or pass --anonymous.")
    if token:
        _login_token(token, url)
        return
    if not anonymous:
        click.echo(
            "This backend signs in with tokens (`arkor login --token T --url U`) or anonymously; "
            "continuing anonymously."
        )
    _login_anonymous(url)


@click.command("logout")
@click.option("-f", "--force", is_flag=True, help="Delete without asking.")
def logout_command(force: bool) -> None:
    """Delete the stored credentials (never touches the project's .arkor/)."""
    from arkor.sdk.credentials import credentials_path, read_credentials

    path = credentials_path()
    if not path.exists():
        click.echo("No credentials on file.")
        return
    anonymous = (read_credentials() or {}).get("mode") == "anon"
    if not force:
        if not is_interactive():
            click.echo("Aborted.")
            return
        if anonymous:
            click.echo(ANON_LOSS_WARNING)
        if not click.confirm(f"Delete {path}?", default=False):
            click.echo("Aborted.")
            return
    elif anonymous:
        echo_err(ANON_LOSS_WARNING)
    path.unlink(missing_ok=True)
    click.echo(f"Removed {path}.")


@click.command("whoami")
def whoami_command() -> None:
    """Print the signed-in user and their orgs."""
    from arkor.sdk.client import CloudApiClient
    from arkor.sdk.credentials import default_cloud_api_url, read_credentials
    from arkor.sdk.errors import ApiConnectionError, CloudApiError

    credentials = read_credentials()
    if credentials is None:
        click.echo("Not signed in. Run `arkor login` or `arkor login --anonymous`.")
        return
    base_url = default_cloud_api_url(credentials)
    try:
        with CloudApiClient(base_url, credentials) as client:
            me = client.get_me()
    except CloudApiError as exc:
        if exc.status == 426:
            echo_err(exc.message)
            sys.exit(1)
        click.echo(f"Failed to fetch /v1/me ({exc.status}). Token may be expired.")
        return
    except ApiConnectionError as exc:
        raise CliError(f"Could not reach the backend at {base_url}: {exc.reason}") from None
    click.echo(json.dumps(me.user.to_wire(), indent=2))
    if me.orgs:
        click.echo("Orgs: " + ", ".join(org.slug or org.id for org in me.orgs))
