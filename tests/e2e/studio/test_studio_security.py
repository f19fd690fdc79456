"""Studio's loopback defences, checked with plain HTTP against a running `arkor dev`."""

from __future__ import annotations

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
        response = httpx.get(studio.base + path, headers={"Host": "evil.example:80", "X-Arkor-Studio-Token": studio.token})
        assert response.status_code == 403, path
        assert studio.token not in response.text
        assert 'arkor-studio-token' not in response.text


def test_html_carries_exactly_one_token_meta_for_loopback_hosts(studio):
    for host in (f"localhost:{studio.port}", f"127.0.0.1:{studio.port}"):
        page = httpx.get(studio.base + "/", headers={"Host": host})
        assert page.status_code == 200
        assert page.text.count('name="arkor-studio-token"') == 1
        assert studio.token in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]


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
    page = httpx.get(f"http://[::1]:{studio.port}/")
    assert page.status_code == 200 and studio.token in page.text


def test_token_file_is_private(studio):
    mode = (studio.arkor_home / "studio-token").stat().st_mode & 0o777
    assert mode == 0o600
