"""Studio on a shared machine: the pages (and the header token in them) go only to a browser that
opened the printed launch link, and the backend's bearer token never reaches the browser.

Before: any local user could `curl http://127.0.0.1:4000/`, read the launch token from the page,
then read the backend bearer token from `/api/credentials`.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from security_http_helpers import isolated_home, running_backend  # noqa: F401 (autouse fixture)

from arkor import _env
from arkor.studio.app import create_studio_app
from arkor.studio.security import launch_url, new_token


class _Studio:
    def __init__(self, project: Path) -> None:
        self.token = new_token()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        app = create_studio_app(token=self.token, project_dir=project)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> _Studio:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("studio did not start")
            self.thread.join(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[_Studio]:
    (tmp_path / "project").mkdir()
    with _Studio(tmp_path / "project") as running:
        yield running


def test_a_plain_request_gets_how_to_open_studio_and_no_token(studio: _Studio) -> None:
    for path in ("/", "/index.html", "/jobs", "/js/app.js", "/js/api.js"):
        response = httpx.get(studio.base + path)
        assert response.status_code == 401, path
        assert studio.token not in response.text and "arkor-studio-token" not in response.text
        assert "Run <code>arkor dev</code>" in response.text
    # A guessed launch token sets nothing.
    wrong = httpx.get(studio.base + "/", params={"token": new_token()})
    assert wrong.status_code == 403 and "set-cookie" not in wrong.headers and studio.token not in wrong.text


def test_the_launch_link_becomes_a_strict_cookie_and_a_clean_url(studio: _Studio) -> None:
    link = launch_url(studio.base, studio.token)
    assert link == f"{studio.base}/?token={studio.token}"
    with httpx.Client() as browser:
        exchange = browser.get(link)
        assert exchange.status_code == 303 and exchange.headers["location"] == "/"
        cookie = exchange.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert studio.token not in cookie  # the cookie is a session value, not the launch token
        page = browser.get(studio.base + "/")
        assert page.status_code == 200 and page.text.count('name="arkor-studio-token"') == 1
        # The cookie opens pages, not the API: API calls still need the header token.
        assert browser.get(studio.base + "/api/jobs").status_code == 403
        assert browser.get(studio.base + "/api/jobs", headers={"X-Arkor-Studio-Token": studio.token}).status_code == 200


def test_credentials_never_carry_the_backend_token(
    studio: _Studio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_backend(tmp_path / "backend") as backend:
        monkeypatch.setenv("ARKOR_CLOUD_API_URL", backend.url)
        response = httpx.get(
            studio.base + "/api/credentials", headers={"X-Arkor-Studio-Token": studio.token}, timeout=60
        )
        assert response.status_code == 200, response.text
        backend_token = json.loads((_env.arkor_home() / "credentials.json").read_text())["token"]
        assert "token" not in response.json() and backend_token not in response.text
        assert response.json()["mode"] == "anon"
