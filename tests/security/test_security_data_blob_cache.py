"""Finding 3: the blob download cache must not serve one org's private download to another org (or to
a request without the token). Two orgs, the real worker on the tiny model, and a loopback origin that
checks the bearer token and counts requests."""

from __future__ import annotations

import json

from security_data_helpers import Caller, Origin, isolated_home, make_backend  # noqa: F401 (fixtures)

TOKEN = "org-a-private-token"
ROWS = b"".join(json.dumps({"prompt": f"secret row {i}", "completion": "billing"}).encode() + b"\n" for i in range(8))


def _private(request):
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return 401, {}, b"denied"
    return 200, {}, ROWS


def test_a_cached_private_download_is_reused_only_for_the_same_org_and_token(make_backend) -> None:
    server = make_backend(worker_command=None, blob_allow_private=True, heartbeat_timeout_s=120)
    org_a, org_b = Caller(server.url), Caller(server.url)
    config = {"model": "arkor/tiny-test", "maxSteps": 1, "batchSize": 2, "loggingSteps": 1}
    with Origin({"/private.jsonl": _private}) as origin:
        url = f"{origin.url}/private.jsonl"

        def run(caller: Caller, token: str | None) -> dict:
            source = {"type": "blob", "url": url, **({"token": token} if token else {})}
            created = caller.create_job(source, **config)
            assert created.status_code == 201, created.text
            return caller.wait_end(created.json()["job"]["id"])

        assert run(org_a, TOKEN)["status"] == "completed"
        assert len(origin.requests) == 1
        no_token = run(org_b, None)
        assert no_token["status"] == "failed" and "HTTP 401" in no_token["error"], no_token
        assert len(origin.requests) == 2 and origin.requests[1][1] is None  # it reached the origin, tokenless
        assert run(org_a, TOKEN)["status"] == "completed"  # same org, same token: the cached copy
        assert len(origin.requests) == 2


def test_the_cache_key_holds_the_url_the_token_and_the_org() -> None:
    from arkor.engine.data.blob import download_blob
    from arkor.errors import DatasetValidationError
    from arkor.protocol import DatasetAccess

    with Origin({"/private.jsonl": _private}) as origin:
        url = f"{origin.url}/private.jsonl"
        access_a = DatasetAccess(blob_allow_private=True, cache_scope="org_a")
        access_b = DatasetAccess(blob_allow_private=True, cache_scope="org_b")
        assert download_blob(url, token=TOKEN, access=access_a).read_bytes() == ROWS
        assert download_blob(url, token=TOKEN, access=access_a).read_bytes() == ROWS
        assert len(origin.requests) == 1
        for token, access in ((None, access_b), ("guess", access_b), (None, access_a), ("guess", access_a)):
            try:
                download_blob(url, token=token, access=access)
            except DatasetValidationError as exc:
                assert "HTTP 401" in str(exc)
            else:
                raise AssertionError(f"token {token!r} in {access.cache_scope} was served a cached private file")
        assert len(origin.requests) == 5
        assert download_blob(url, token=TOKEN, access=access_b).read_bytes() == ROWS  # B's own request
        assert len(origin.requests) == 6
