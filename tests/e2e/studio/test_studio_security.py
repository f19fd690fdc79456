"""Studio's loopback defences, checked with plain HTTP against a running `arkor dev`."""

from __future__ import annotations

import json
import socket

import httpx
import pytest


def test_api_needs_the_token(studio):
    assert httpx.get(studio.base + "/api/jobs").status_code == 403
    wrong = httpx.get(studio.base + "/api/jobs", headers={"X-Arkor-Studio-Token": "x" * 43})
    assert wrong.status_code == 403 and wrong.json() == {"error": "Missing or invalid studio token"}
    ok = httpx.get(studio.base + "/api/jobs", headers={"X-Arkor-Studio-Token": studio.token})
    assert ok.status_code == 200 and "jobs" in ok.json()
    assert "access-control-allow-origin" not in ok.headers


def test_query_token_only_works_for_the_event_stream(studio):
    assert httpx.get(studio.base + "/api/jobs", params={"studioToken": studio.token}).status_code == 403
    response = httpx.get(studio.base + "/api/jobs/nope/events", params={"studioToken": studio.token})
    assert response.status_code != 403


def test_forged_host_is_refused_even_with_the_token(studio):
    for path in ("/api/jobs", "/", "/index.html", "/js/app.js"):
        response = httpx.get(
            studio.base + path, headers={"Host": "evil.example:80", "X-Arkor-Studio-Token": studio.token}
        )
        assert response.status_code == 403, path
        assert studio.token not in response.text
        assert "arkor-studio-token" not in response.text


def _session(studio, host: str | None = None) -> httpx.Client:
    """An HTTP client that opened the printed launch link (it holds the session cookie)."""
    client = httpx.Client(base_url=studio.base, headers={"Host": host} if host else {})
    exchange = client.get("/", params={"token": studio.launch_token})
    assert exchange.status_code == 303 and exchange.headers["location"] == "/"
    return client


def test_html_carries_exactly_one_token_meta_for_loopback_hosts(studio):
    for host in (f"localhost:{studio.port}", f"127.0.0.1:{studio.port}"):
        client = _session(studio, host)
        try:
            page = client.get("/")
        finally:
            client.close()
        assert page.status_code == 200
        assert page.text.count('name="arkor-studio-token"') == 1
        assert studio.token in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]


def test_the_printed_link_carries_the_launch_token(studio):
    assert studio.url.startswith(f"http://localhost:{studio.port}/?token=")
    assert studio.launch_token == studio.token


def test_a_browser_without_the_link_gets_no_token(studio):
    for path in ("/", "/index.html", "/jobs", "/js/api.js"):
        response = httpx.get(studio.base + path)
        assert response.status_code == 401, path
        assert studio.token not in response.text and "arkor-studio-token" not in response.text
        assert "arkor dev" in response.text and "?token=" in response.text
    wrong = httpx.get(studio.base + "/", params={"token": "x" * 43})
    assert wrong.status_code == 403 and studio.token not in wrong.text and "set-cookie" not in wrong.headers


def test_the_launch_link_sets_a_strict_http_only_cookie_and_redirects_to_a_clean_url(studio):
    response = httpx.get(studio.base + "/jobs", params={"token": studio.launch_token, "tab": "x"})
    assert response.status_code == 303
    assert response.headers["location"] == "/jobs?tab=x"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and studio.token not in cookie
    # The cookie opens pages only; the API still needs the header token.
    name, value = cookie.split(";", 1)[0].split("=", 1)
    assert httpx.get(studio.base + "/api/jobs", cookies={name: value}).status_code == 403


def test_the_browser_never_receives_the_backend_token(studio):
    backend_token = json.loads((studio.arkor_home / "credentials.json").read_text())["token"]
    client = _session(studio)
    try:
        credentials = client.get("/api/credentials", headers={"X-Arkor-Studio-Token": studio.token})
        assert credentials.status_code == 200 and "token" not in credentials.json()
        assert backend_token not in credentials.text
        page = client.get("/")
        assert backend_token not in page.text
    finally:
        client.close()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback ([::1])")
def test_ipv6_loopback_is_served(studio):
    response = httpx.get(f"http://[::1]:{studio.port}/api/jobs", headers={"X-Arkor-Studio-Token": studio.token})
    assert response.status_code == 200
    with httpx.Client(base_url=f"http://[::1]:{studio.port}") as client:
        assert client.get("/", params={"token": studio.launch_token}).status_code == 303
        page = client.get("/")
    assert page.status_code == 200 and studio.token in page.text


def test_token_file_is_private(studio):
    mode = (studio.arkor_home / "studio-token").stat().st_mode & 0o777
    assert mode == 0o600
