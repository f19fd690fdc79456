"""Anonymous sign-up is on for a loopback server (the embedded backend boots through it) and off for a
server bound to a network address unless ARKOR_ALLOW_ANONYMOUS=1.

Before: a team server on 0.0.0.0 minted a token for anyone who asked.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from security_http_helpers import CLIENT_HEADER, isolated_home, running_backend  # noqa: F401 (autouse fixture)

from arkor.server.db import Database
from arkor.server.identity import anonymous_signup_allowed, create_identity
from arkor.server.settings import ServerSettings


@pytest.mark.parametrize(
    ("setting", "host", "allowed"),
    [
        (None, "127.0.0.1", True),
        (None, "127.0.0.2", True),
        (None, "localhost", True),
        (None, "::1", True),
        (None, "[::1]", True),
        (None, "0.0.0.0", False),
        (None, "::", False),
        (None, "192.168.1.20", False),
        (None, "10.0.0.5", False),
        (None, "fe80::1", False),
        (None, "my-host.example", False),
        (True, "0.0.0.0", True),
        (False, "127.0.0.1", False),
    ],
)
def test_the_decision_follows_the_bind_host_and_the_setting(setting: bool | None, host: str, allowed: bool) -> None:
    assert anonymous_signup_allowed(setting, host) is allowed


@pytest.mark.parametrize(("value", "parsed"), [("1", True), ("0", False), ("true", True)])
def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str, parsed: bool) -> None:
    monkeypatch.setenv("ARKOR_ALLOW_ANONYMOUS", value)
    assert ServerSettings().allow_anonymous is parsed


def test_a_server_with_anonymous_sign_up_off_refuses_it_and_names_the_setting(tmp_path: Path) -> None:
    with running_backend(tmp_path / "data", allow_anonymous=False) as server:
        response = httpx.post(server.url + "/v1/auth/anonymous", json={"kind": "cli"}, headers=CLIENT_HEADER)
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == "anonymous_signup_disabled" and "ARKOR_ALLOW_ANONYMOUS=1" in body["error"], body
        assert "token" not in body
        # Operator tokens still work.
        db = Database(server.app.state.services.settings.resolved_database_url)
        identity = create_identity(db, user_name="ada", anonymous=False, token_kind="operator", org_slug="team")
        db.dispose()
        me = httpx.get(server.url + "/v1/me", headers={**CLIENT_HEADER, "Authorization": f"Bearer {identity.token}"})
        assert me.status_code == 200 and me.json()["orgs"][0]["slug"] == "team"


def test_a_loopback_server_keeps_anonymous_sign_up(tmp_path: Path) -> None:
    with running_backend(tmp_path / "data") as server:
        assert server.app.state.services.settings.bind_host == "127.0.0.1"
        response = httpx.post(server.url + "/v1/auth/anonymous", json={"kind": "cli"}, headers=CLIENT_HEADER)
        assert response.status_code == 200 and response.json()["token"].startswith("ark_")
