"""Finding 2 and 3: `blob` dataset URLs. Non-public hosts are refused at job creation and at download
time (each redirect, each resolved address; the connection goes to the checked address), http(s)
only, with a byte cap and a deadline, errors that do not echo the origin; the token is never echoed by
the API; and a cached download is reused only for the same token and the same org."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from security_data_helpers import Caller, Origin, closed_port, isolated_home, make_backend, rows_jsonl  # noqa: F401

from arkor.engine.data import access as access_module
from arkor.engine.data.access import is_public_address
from arkor.engine.data.blob import download_blob
from arkor.errors import ConfigError, DatasetValidationError
from arkor.protocol import DatasetAccess

BODY = rows_jsonl(3)


def _ok(_request):
    return 200, {}, BODY


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1",
        "::127.0.0.1",
    ],
)
def test_non_public_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


def test_public_addresses_are_public() -> None:
    assert is_public_address("93.184.216.34") and is_public_address("2606:2800:220:1:248:1893:25c8:1946")


def test_job_creation_refuses_private_hosts_with_one_answer_for_open_and_closed_ports(make_backend) -> None:
    server = make_backend()
    caller = Caller(server.url)
    with Origin({"/d.jsonl": _ok}) as origin, closed_port() as port:
        urls = [
            f"{origin.url}/d.jsonl",
            f"http://127.0.0.1:{port}/d.jsonl",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:80/x.jsonl",
            "http://[::ffff:127.0.0.1]/x.jsonl",
            "http://localhost/x.jsonl",
            "http://0x7f000001/x.jsonl",
            "http://2130706433/x.jsonl",
            "http://no-such-host.invalid/x.jsonl",
        ]
        answers = set()
        for url in urls:
            response = caller.create_job({"type": "blob", "url": url})
            assert response.status_code == 400, (url, response.text)
            error = response.json()["error"]
            assert "ARKOR_BLOB_ALLOW_PRIVATE" in error, error
            answers.add(error.split(": the host", 1)[1].split("'", 2)[2])  # the part after the host name
        for scheme in ("file:///etc/passwd", "ftp://example.com/x.jsonl", "gopher://127.0.0.1:6379/_x"):
            assert caller.create_job({"type": "blob", "url": scheme}).status_code == 400
    assert len(answers) == 1, answers
    assert origin.requests == []  # refused before any connection


def test_download_refuses_private_hosts_and_redirects_to_them_without_connecting(tmp_path: Path, monkeypatch) -> None:
    with Origin({"/d.jsonl": _ok}, host="127.0.0.2") as internal:

        def redirect(_request):
            return 302, {"Location": f"{internal.url}/d.jsonl"}, b""

        with Origin({"/r.jsonl": redirect, "/d.jsonl": _ok}) as front:
            with pytest.raises(ConfigError, match="ARKOR_BLOB_ALLOW_PRIVATE"):
                download_blob(f"{front.url}/d.jsonl", access=DatasetAccess())
            assert front.requests == []
            # Pretend the front host is public: the redirect hop is still checked, and refused.
            monkeypatch.setattr(access_module, "is_public_address", lambda address: address == "127.0.0.1")
            with pytest.raises(DatasetValidationError, match="redirect was refused") as caught:
                download_blob(f"{front.url}/r.jsonl", token="tok-123", access=DatasetAccess())
            assert len(front.requests) == 1 and internal.requests == []
            assert "tok-123" not in str(caught.value)


def test_the_connection_goes_to_the_address_that_was_checked(tmp_path: Path, monkeypatch) -> None:
    answers = iter([["127.0.0.1"], ["127.0.0.1"], ["127.0.0.2"], ["127.0.0.2"]])
    monkeypatch.setattr(
        access_module, "resolve_host", lambda host, port: next(answers) if host == "rebind.test" else ["127.0.0.9"]
    )
    monkeypatch.setattr(access_module, "is_public_address", lambda address: address == "127.0.0.1")
    with Origin({"/d.jsonl": _ok}) as origin:
        # "rebind.test" is resolvable only through the checked lookup: the download must reuse its answer.
        path = download_blob(f"http://rebind.test:{origin.port}/d.jsonl", access=DatasetAccess())
        assert path.read_bytes() == BODY
        assert origin.requests[0][2] == f"rebind.test:{origin.port}"
        # The next lookups answer a private address: refused (no request reaches anything).
        with pytest.raises(ConfigError):
            download_blob(f"http://rebind.test:{origin.port}/other.jsonl", access=DatasetAccess())
    assert len(origin.requests) == 1


def test_downloads_are_capped_and_errors_do_not_echo_the_origin(tmp_path: Path, monkeypatch) -> None:
    access = DatasetAccess(blob_allow_private=True, blob_max_bytes=10_000, blob_timeout_s=5)

    def big(_request):
        return 200, {}, b"x" * 50_000

    def big_chunked(request):
        request.send_response(200)
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        for _ in range(20):
            request.wfile.write(b"%x\r\n%s\r\n" % (2000, b"y" * 2000))
        request.wfile.write(b"0\r\n\r\n")
        request.close_connection = True

    with Origin({"/big.jsonl": big, "/chunked.jsonl": big_chunked}) as origin, closed_port() as port:
        for path in ("/big.jsonl", "/chunked.jsonl"):
            with pytest.raises(DatasetValidationError, match="ARKOR_BLOB_MAX_BYTES"):
                download_blob(f"{origin.url}{path}", access=access)
        with pytest.raises(DatasetValidationError) as missing:
            download_blob(f"{origin.url}/missing.jsonl", access=access)
        assert "HTTP 404" in str(missing.value) and "secret-origin-text" not in str(missing.value)
        with pytest.raises(DatasetValidationError) as closed:
            download_blob(f"http://127.0.0.1:{port}/x.jsonl", access=access)
        assert "refused" not in str(closed.value).lower() and "ARKOR_BLOB_TIMEOUT_S" in str(closed.value)
    assert not list((tmp_path / "cache" / "datasets").glob("*.jsonl"))


def test_blob_token_is_never_echoed(make_backend) -> None:
    server = make_backend(blob_allow_private=True)
    caller = Caller(server.url)
    with Origin({"/d.jsonl": _ok}) as origin:
        created = caller.create_job({"type": "blob", "url": f"{origin.url}/d.jsonl", "token": "tok-SECRET-42"})
    assert created.status_code == 201, created.text
    job_id = created.json()["job"]["id"]
    caller.wait_end(job_id)
    texts = [
        created.text,
        json.dumps(caller.job(job_id, events="true")),
        caller.http.get("/v1/jobs", params=caller.scope).text,
    ]
    for text in texts:
        assert "tok-SECRET-42" not in text
    assert caller.job(job_id)["job"]["config"]["datasetSource"]["url"] == f"{origin.url}/d.jsonl"
    logs = list((server.app.state.services.settings.data_dir / "logs").glob("*.log"))
    assert all("tok-SECRET-42" not in log.read_text() for log in logs)
