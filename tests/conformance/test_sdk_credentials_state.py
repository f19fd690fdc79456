"""Credentials, base URL resolution and project state (reference 1.9-1.11)."""

from __future__ import annotations

import json
import logging
import stat

import pytest

from arkor import (
    AnonymousTokenRejectedError,
    ProjectStateMismatchError,
    credentials_path,
    default_cloud_api_url,
    ensure_credentials,
    read_credentials,
    read_state,
    request_anonymous_token,
    write_credentials,
    write_state,
)
from arkor.sdk.client import CloudApiClient
from arkor.sdk.errors import ProjectStateMissingError
from arkor.sdk.state import ensure_project_state, project_slug_for

ANON = {"mode": "anon", "token": "t", "anonymousId": "a", "orgSlug": "anon-org"}


def test_round_trip_atomic_0600_without_leftovers():
    write_credentials(ANON)
    assert read_credentials() == ANON
    path = credentials_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]
    assert path.read_text().startswith('{\n  "mode"')


def test_corrupt_reads_none_and_unreadable_raises():
    path = credentials_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert read_credentials() is None
    path.unlink()
    path.mkdir()  # EISDIR: a read error that is not "absent" must propagate
    with pytest.raises(OSError):
        read_credentials()


def test_base_url_priority(monkeypatch):
    monkeypatch.setenv("ARKOR_CLOUD_API_URL", "http://env.example///")
    assert default_cloud_api_url({"arkorCloudApiUrl": "http://creds"}) == "http://env.example"
    monkeypatch.setenv("ARKOR_CLOUD_API_URL", "")
    assert default_cloud_api_url({"arkorCloudApiUrl": "http://creds"}) == ""
    monkeypatch.delenv("ARKOR_CLOUD_API_URL")
    assert default_cloud_api_url({"arkorCloudApiUrl": "http://creds//"}) == "http://creds"
    assert default_cloud_api_url({"arkorCloudApiUrl": ""}) == ""


def test_request_anonymous_token_headers_and_errors(backend):
    minted = request_anonymous_token(backend.url)
    assert minted == {"token": "anon-token", "anonymousId": "anon_1", "kind": "cli", "orgSlug": "anon-org"}
    sent = backend.requests[0]
    assert sent.json() == {"kind": "cli"} and sent.headers["x-arkor-client"].startswith("arkor/")
    backend.overrides[("POST", "/v1/auth/anonymous")] = lambda r: (503, {"Content-Type": "text/plain"}, b"x" * 600)
    with pytest.raises(AnonymousTokenRejectedError) as info:
        request_anonymous_token(backend.url)
    assert str(info.value) == f"Failed to acquire anonymous token (503): {'x' * 500}"


def test_ensure_credentials_bootstrap_no_overwrite_and_warn(backend, monkeypatch, caplog):
    monkeypatch.setenv("ARKOR_CLOUD_API_URL", backend.url)
    created = ensure_credentials()
    assert created["mode"] == "anon" and created["arkorCloudApiUrl"] == backend.url
    assert ensure_credentials() == created and len(backend.of("POST", "/v1/auth/anonymous")) == 1
    credentials_path().write_text("{broken")
    with caplog.at_level(logging.WARNING):
        again = ensure_credentials()
    assert again["token"] == "anon-token"
    assert "could not be parsed and is being replaced. Run `arkor login` to sign in again." in caplog.text


def test_state_read_write_and_invalid(tmp_path):
    assert read_state(tmp_path) is None
    write_state({"orgSlug": "o", "projectSlug": "p", "projectId": "i"}, tmp_path)
    assert (tmp_path / ".arkor" / "state.json").read_text().endswith("}\n")
    assert read_state(tmp_path).project_slug == "p"
    (tmp_path / ".arkor" / "state.json").write_text(json.dumps({"orgSlug": "o", "projectSlug": 3, "projectId": "i"}))
    assert read_state(tmp_path) is None


def test_existing_usable_state_needs_no_api(backend, tmp_path):
    write_state({"orgSlug": "anon-org", "projectSlug": "p", "projectId": "i"}, tmp_path)
    with CloudApiClient(backend.url, ANON) as client:
        assert ensure_project_state(cwd=tmp_path, client=client, credentials=ANON).project_id == "i"
        oauth = {"mode": "oauth", "accessToken": "x"}
        write_state({"orgSlug": "other", "projectSlug": "p", "projectId": "i"}, tmp_path)
        assert ensure_project_state(cwd=tmp_path, client=client, credentials=oauth).org_slug == "other"
    assert backend.requests == []


def test_stale_anonymous_state_throws_without_overwrite(backend, tmp_path):
    write_state({"orgSlug": "someone-else", "projectSlug": "p", "projectId": "i"}, tmp_path)
    before = (tmp_path / ".arkor" / "state.json").read_text()
    with CloudApiClient(backend.url, ANON) as client, pytest.raises(ProjectStateMismatchError) as info:
        ensure_project_state(cwd=tmp_path, client=client, credentials=ANON)
    assert type(info.value).__name__ == "ProjectStateMismatchError"
    assert str(info.value).startswith("This workspace's .arkor/state.json is scoped to a different organization")
    assert (tmp_path / ".arkor" / "state.json").read_text() == before


def test_oauth_without_state_throws(backend, tmp_path):
    with (
        CloudApiClient(backend.url) as client,
        pytest.raises(ProjectStateMissingError, match="No .arkor/state.json found"),
    ):
        ensure_project_state(cwd=tmp_path, client=client, credentials={"mode": "oauth", "accessToken": "x"})


def test_anonymous_bootstrap_and_409_reuse(backend, tmp_path):
    folder = tmp_path / "My Cool_Project!"
    folder.mkdir()
    with CloudApiClient(backend.url, ANON) as client:
        state = ensure_project_state(cwd=folder, client=client, credentials=ANON)
    assert (state.org_slug, state.project_slug) == ("anon-org", "my-cool-project")
    assert backend.of("POST", "/v1/projects")[0].json() == {"name": "My Cool_Project!", "slug": "my-cool-project"}
    assert read_state(folder) == state

    other = tmp_path / "reuse"
    other.mkdir()
    backend.overrides[("POST", "/v1/projects")] = lambda r: (409, {}, b'{"error":"Slug already taken"}')
    backend.overrides[("GET", "/v1/projects")] = lambda r: (
        200,
        {},
        json.dumps(
            {"org": {"slug": "anon-org"}, "projects": [{"id": "prj_9", "slug": "reuse", "name": "reuse", "orgId": "o"}]}
        ).encode(),
    )
    with CloudApiClient(backend.url, ANON) as client:
        assert ensure_project_state(cwd=other, client=client, credentials=ANON).project_id == "prj_9"


def test_slug_sanitising():
    assert project_slug_for("--Hello World--") == "hello-world"
    assert project_slug_for("!!!") == "project"
    assert len(project_slug_for("a" * 80)) == 40


def test_trainer_resolves_credentials_once_and_bootstraps(backend, tmp_path, monkeypatch):
    from sdk_scripted_backend import happy_stream

    from arkor import create_trainer
    from arkor.sdk.trainer import TrainerContext

    monkeypatch.setenv("ARKOR_CLOUD_API_URL", backend.url)
    backend.streams.append(happy_stream())
    (tmp_path / "data.jsonl").write_text('{"text": "hi"}\n')
    context = TrainerContext(cwd=tmp_path, sleep=lambda s: None)
    trainer = create_trainer(
        name="n", model="arkor/tiny-test", dataset={"type": "file", "path": "data.jsonl"}, context=context
    )
    assert trainer.wait().job.status == "completed"
    again = create_trainer(
        name="n", model="arkor/tiny-test", dataset={"type": "file", "path": "data.jsonl"}, context=context
    )
    again.start()
    assert len(backend.of("POST", "/v1/auth/anonymous")) == 1 and len(backend.of("POST", "/v1/projects")) == 1
    assert len(backend.of("POST", "/v1/datasets")) == 1  # content-addressed: the re-run reuses the id
    configs = [r.json()["config"]["datasetSource"] for r in backend.of("POST", "/v1/jobs")]
    assert configs == [{"type": "uploaded", "datasetId": "ds_1", "filename": "data.jsonl"}] * 2
