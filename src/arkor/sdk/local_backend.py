"""Find or start the embedded local training backend (`python -m arkor.server serve`).

The backend records itself in `arkor_home()/server/server.json` (`{"url", "pid", ...}`) once it
listens. A record is trusted only if its pid is alive and `GET /healthz` answers. Starting happens
under a file lock so two concurrent callers (two scripts, Studio and a script) never start two;
the second finds the first's record. The child is detached (own session) and logs to
`server.log` next to the record, so it outlives the script that started it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from filelock import FileLock

from arkor import _env
from arkor.errors import ArkorError

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0


class LocalBackendError(ArkorError):
    """The embedded backend could not be started; the message points at its log."""


def server_dir() -> Path:
    return _env.arkor_home() / "server"


def record_path() -> Path:
    return server_dir() / "server.json"


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
    try:
        return httpx.get(url.rstrip("/") + "/healthz", timeout=2.0).is_success
    except httpx.HTTPError:
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


def server_command(data_dir: Path, record: Path) -> list[str]:
    return [
        sys.executable, "-m", "arkor.server", "serve", "--host", "127.0.0.1", "--port", "0",
        "--data-dir", str(data_dir), "--record", str(record),
    ]


def ensure_local_backend(*, command: list[str] | None = None, timeout: float = START_TIMEOUT_S) -> str:
    """The base URL of the local backend, starting it in the background if none is running.

    Args:
        command: what to run instead of `python -m arkor.server serve ...` (tests).
        timeout: seconds to wait for the started backend to record itself and answer.

    Raises:
        LocalBackendError: it exited or did not become healthy in time (message names the log).
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
        argv = command or server_command(directory, record)
        logger.info("starting the local arkor backend: %s", " ".join(argv))
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, close_fds=True,
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
