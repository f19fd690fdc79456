"""A restarted embedded backend comes back at the same URL, so endpoint URLs users copied keep working."""

from __future__ import annotations

import socket
from pathlib import Path

from cli_helpers import make_arkor


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_restarts_keep_the_url_and_a_taken_port_falls_back_once(tmp_path: Path) -> None:
    arkor = make_arkor(tmp_path / "home")
    port = _free_port()
    arkor.env["ARKOR_BACKEND_PORT"] = str(port)
    try:
        first = arkor("server", "start")
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == f"http://127.0.0.1:{port}"
        assert arkor("server", "stop").returncode == 0
        again = arkor("server", "start")
        assert again.stdout.strip() == f"http://127.0.0.1:{port}", again.stderr
        moved = arkor("server", "start", "--port", "1")
        assert moved.returncode == 1 and "already runs at" in moved.stderr and "arkor server stop" in moved.stderr
        assert arkor("server", "stop").returncode == 0
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            fallback = arkor("server", "start")
            assert fallback.returncode == 0, fallback.stderr
            url = fallback.stdout.strip()
            assert url.startswith("http://127.0.0.1:") and url != f"http://127.0.0.1:{port}"
            assert arkor("server", "stop").returncode == 0
        # The preferred port is free again; the fallback is remembered so its URLs stay valid.
        back = arkor("server", "start")
        assert back.stdout.strip() == url, back.stderr
    finally:
        arkor.stop_backend()
