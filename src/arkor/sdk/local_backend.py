"""Find or start the embedded local training backend (`python -m arkor.server serve`).

The backend records itself in `arkor_home()/server/server.json` (`{"url", "pid", ...}`) once it
listens. A record is trusted only if its pid is alive and `GET /healthz` answers. Starting happens
under a file lock so two concurrent callers (two scripts, Studio and a script) never start two;
the second finds the first's record. The child is detached (own session) and logs to
`server.log` next to the record, so it outlives the script that started it.

The backend listens on a stable port, so URLs a user copied (`http://127.0.0.1:4848/d/<slug>/v1`)
survive restarts: `ARKOR_BACKEND_PORT` (default 4848; `0` = any free port each start). When that
port is taken by something else, another free port is used and remembered in `port.json` next to
the record, and later starts come back to it. `arkor server start --port N` pins a port (an error
when taken) and remembers it too.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock

from arkor import _env
from arkor.errors import ArkorError
from arkor.transport import NO_RETRY, ArkorTransportError, Transport

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0
DEFAULT_PORT = 4848
ENV_PORT = "ARKOR_BACKEND_PORT"


class LocalBackendError(ArkorError):
    """The embedded backend could not be started; the message points at its log."""


def server_dir() -> Path:
    return _env.arkor_home() / "server"


def record_path() -> Path:
    return server_dir() / "server.json"


def port_state_path() -> Path:
    return server_dir() / "port.json"


def preferred_port() -> int:
    """`ARKOR_BACKEND_PORT`, else the default.

    Raises:
        LocalBackendError: the variable is not a port number.
    """
    raw = os.environ.get(ENV_PORT, "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise LocalBackendError(f"{ENV_PORT}={raw!r} is not a port number (0-65535; 0 picks any free port).")
    return port


def _remembered_port(preferred: int) -> int | None:
    """The port the last start used for this preference (a fallback, or one pinned with --port)."""
    try:
        data = json.loads(port_state_path().read_text(encoding="utf-8"))
        if data.get("preferred") == preferred and isinstance(data.get("port"), int):
            return int(data["port"])
    except (OSError, ValueError, AttributeError):
        pass
    return None


def _remember_port(preferred: int, port: int) -> None:
    port_state_path().write_text(json.dumps({"preferred": preferred, "port": port}) + "\n", encoding="utf-8")


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port` (a just-stopped backend's TIME_WAIT does not count:
    the backend binds with SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def choose_port(pinned: int | None = None) -> int:
    """The port the next start listens on: `pinned`, else the remembered one, else the preferred
    one, else (taken) a free one that is remembered so later starts come back to it.

    Raises:
        LocalBackendError: `pinned` is taken.
    """
    preferred = preferred_port()
    if pinned is not None:
        if pinned and not port_is_free(pinned):
            raise LocalBackendError(
                f"Port {pinned} is already in use. Pick another with --port, "
                f"or leave it out to use {ENV_PORT} / {DEFAULT_PORT}."
            )
        if pinned:
            _remember_port(preferred, pinned)
        return pinned
    if preferred == 0:
        return 0
    remembered = _remembered_port(preferred)
    for candidate in (remembered, preferred):
        if candidate and port_is_free(candidate):
            if candidate != remembered:  # what this start uses is what the next one tries first
                _remember_port(preferred, candidate)
            return candidate
    fallback = _free_port()
    logger.warning(
        "port %s is in use; the local arkor backend uses port %s (remembered in %s)",
        preferred,
        fallback,
        port_state_path(),
    )
    _remember_port(preferred, fallback)
    return fallback


def pid_alive(pid: int) -> bool:
    """Whether process `pid` still runs. A zombie child of this very process counts as gone (the
    CLI's `arkor server stop` waits on a backend it may have started itself)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:  # not our child: kill(0) said it exists
        return True


def _healthy(url: str) -> bool:
    """One probe, never retried: the caller polls, and a dead record must read as dead quickly."""
    from .client import client_header_value

    try:
        with Transport(url, client_name=client_header_value(), timeout=2.0, retry=NO_RETRY) as transport:
            return transport.send(transport.build_request("GET", "/healthz")).is_success
    except ArkorTransportError:
        return False


def read_live_record(path: Path | None = None) -> str | None:
    """The URL of a running backend from its record, or None when absent, dead or unhealthy."""
    path = path or record_path()
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        url, pid = str(record["url"]), int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not pid_alive(pid) or not _healthy(url):
        return None
    return url


def server_command(data_dir: Path, record: Path, port: int = 0) -> list[str]:
    return [
        sys.executable,
        "-m",
        "arkor.server",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--record",
        str(record),
    ]


def ensure_local_backend(
    *, command: list[str] | None = None, timeout: float = START_TIMEOUT_S, port: int | None = None
) -> str:
    """The base URL of the local backend, starting it in the background if none is running.

    Args:
        command: what to run instead of `python -m arkor.server serve ...` (tests).
        timeout: seconds to wait for the started backend to record itself and answer.
        port: listen here (an error when taken) instead of the stable port `choose_port` picks.
            A backend already running stays where it is.

    Raises:
        LocalBackendError: it exited or did not become healthy in time (message names the log),
            or `port` is taken.
    """
    url = read_live_record()
    if url:
        return url
    directory = server_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory / "server.lock"), timeout=timeout + 30):
        url = read_live_record()  # another caller may have started it while we waited for the lock
        if url:
            return url
        record = record_path()
        record.unlink(missing_ok=True)
        log_path = directory / "server.log"
        argv = command or server_command(directory, record, choose_port(port))
        logger.info("starting the local arkor backend: %s", " ".join(argv))
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            url = read_live_record(record)
            if url:
                return url
            if process.poll() is not None:
                raise LocalBackendError(
                    f"The local arkor backend exited with code {process.returncode} before it was ready. "
                    f"See {log_path}."
                )
            time.sleep(0.1)
        raise LocalBackendError(
            f"The local arkor backend did not become ready within {timeout:.0f}s. See {log_path}, "
            "or set ARKOR_CLOUD_API_URL to a running backend."
        )
