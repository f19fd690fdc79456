"""Studio's guards as pure functions and through the app (no backend, no network)."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from arkor.studio.app import create_studio_app, serve_static
from arkor.studio.security import (
    host_allowed,
    inject_token,
    new_token,
    query_token_allowed,
    remove_token_file_if_ours,
    token_file,
    token_matches,
    write_token_file,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:4000", "localhost", "LOCALHOST:4001", "[::1]", "[::1]:4009"])
def test_loopback_hosts_are_allowed(host):
    assert host_allowed(host)


@pytest.mark.parametrize(
    "host",
    [
        None,
        "",
        "evil.com",
        "localhost.evil.com",
        "127.0.0.1.nip.io",
        "127.0.0.2:4000",
        "0.0.0.0:4000",
        "[::2]:4000",
        "localhost:abc",
        "::1",
    ],
)
def test_other_hosts_are_refused(host):
    assert not host_allowed(host)


def test_token_is_long_random_and_compared_exactly():
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 43
    assert token_matches(a, a)
    assert not token_matches(a, b)
    assert not token_matches(a, a[:-1])
    assert not token_matches(a, None)


def test_query_token_only_for_the_event_stream():
    assert query_token_allowed("GET", "/api/jobs/job_1/events")
    assert not query_token_allowed("POST", "/api/jobs/job_1/events")
    assert not query_token_allowed("GET", "/api/jobs")
    assert not query_token_allowed("GET", "/api/jobs/job_1/events/x")


def test_meta_tag_is_escaped_and_placed_in_head():
    page = inject_token("<html><head><title>x</title></head><body></body></html>", 'a"<b>')
    assert '<meta name="arkor-studio-token" content="a&quot;&lt;b&gt;"></head>' in page


def test_token_file_is_0600_and_removed_only_while_ours(tmp_path, monkeypatch):
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path))
    write_token_file("first-token-abcdefgh")
    assert os.stat(token_file()).st_mode & 0o777 == 0o600
    write_token_file("second-token-abcdefg")  # another Studio started later
    assert not remove_token_file_if_ours("first-token-abcdefgh")
    assert token_file().read_text() == "second-token-abcdefg"
    assert remove_token_file_if_ours("second-token-abcdefg")
    assert not token_file().exists()


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home"))
    token = new_token()
    app = create_studio_app(token=token, project_dir=tmp_path)
    with TestClient(app, base_url="http://127.0.0.1:4000") as test_client:
        test_client.studio_token = token
        yield test_client


def test_app_refuses_short_tokens(tmp_path):
    with pytest.raises(ValueError):
        create_studio_app(token="short", project_dir=tmp_path)


def test_app_guards_api_and_html(client):
    assert client.get("/api/jobs").status_code == 403
    assert (
        client.get("/api/jobs", headers={"Host": "evil.com", "X-Arkor-Studio-Token": client.studio_token}).status_code
        == 403
    )
    forged = client.get("/", headers={"Host": "evil.com"})
    assert forged.status_code == 403 and forged.text == "Studio is loopback-only"
    anonymous = client.get("/")
    assert anonymous.status_code == 401 and client.studio_token not in anonymous.text and "arkor dev" in anonymous.text
    exchange = client.get(f"/?token={client.studio_token}", follow_redirects=False)
    assert exchange.status_code == 303 and exchange.headers["location"] == "/"
    assert "HttpOnly" in exchange.headers["set-cookie"] and "SameSite=Strict" in exchange.headers["set-cookie"]
    page = client.get("/")
    assert page.status_code == 200 and client.studio_token in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in page.headers


def test_spa_fallback_and_missing_assets(client):
    client.get(f"/?token={client.studio_token}")  # the launch link: sets the session cookie
    assert client.get("/jobs").status_code == 200  # extensionless -> index.html
    assert client.get("/missing.js").status_code == 404
    assert client.get("/js/app.js").headers["content-type"].startswith("text/javascript")
    assert "root:" not in client.get("/%2e%2e/%2e%2e/etc/passwd").text
    studio = client.app.state.studio
    assert serve_static(studio, "../../../../etc/passwd").status_code == 404


def test_no_state_reads_are_empty_without_minting_credentials(client, tmp_path):
    headers = {"X-Arkor-Studio-Token": client.studio_token}
    assert client.get("/api/jobs", headers=headers).json() == {"jobs": []}
    assert client.get("/api/deployments", headers=headers).json() == {"deployments": [], "scopeMissing": True}
    assert client.get("/api/deployments/dep_1", headers=headers).status_code == 404
    assert client.get("/api/jobs/job_1/events", headers=headers).status_code == 400
    assert not (tmp_path / "home" / "credentials.json").exists()


def test_bad_bodies_are_refused_before_anything_is_created(client, tmp_path):
    headers = {"X-Arkor-Studio-Token": client.studio_token}
    bad = client.post("/api/deployments", headers=headers, content=b"{")
    assert bad.status_code == 400 and bad.json()["error"] == "Invalid JSON body"
    invalid = client.post("/api/deployments", headers=headers, json={"slug": "X", "target": {"kind": "nope"}})
    assert invalid.status_code == 400 and "slug" in invalid.json()["error"] and "target" in invalid.json()["error"]
    key = client.post("/api/deployments/dep_1/keys", headers=headers, json={"label": "  "})
    assert key.status_code == 400
    assert not (tmp_path / "home" / "credentials.json").exists()


def test_train_file_must_be_inside_the_project(client, tmp_path):
    headers = {"X-Arkor-Studio-Token": client.studio_token}
    outside = tmp_path.parent / "outside.py"
    outside.write_text("x = 1\n")
    (tmp_path / "link.py").symlink_to(outside)
    for file, message in (
        (str(outside), "file must be inside the project directory"),
        ("link.py", "file must be inside the project directory"),
        ("missing.py", "file does not exist or is not accessible"),
    ):
        response = client.post("/api/train", headers=headers, json={"file": file})
        assert response.status_code == 400 and response.json() == {"error": message}
