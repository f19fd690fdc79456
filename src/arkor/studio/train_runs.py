"""`POST /api/train`: run the project's trainer with `arkor start` in a child process, one at a time.

The child's stdout and stderr are streamed to the browser as they come, then a trailer
`\\n---\\nexit=<code>\\n`. A second run for the same project while one is in flight is refused
(409) rather than silently starting a duplicate job. Children run in their own process group, so
stopping them (browser gone, Studio exiting) also stops whatever they started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

logger = logging.getLogger(__name__)

KILL_GRACE_S = 5.0


class RunInProgressError(Exception):
    """A training run for this project is already in flight."""


def start_command(file: Path | None, *, dry_run: bool) -> list[str]:
    """`python -m arkor.cli.main start [file] [--dry-run]`."""
    argv = [sys.executable, "-m", "arkor.cli.main", "start"]
    if file is not None:
        argv.append(str(file))
    if dry_run:
        argv.append("--dry-run")
    return argv


def resolve_train_file(project_dir: Path, file: str) -> Path:
    """The real path of `file` (relative to the project), which must exist inside the project.

    Raises:
        ValueError: with the message Studio returns as a 400.
    """
    candidate = Path(file)
    if not candidate.is_absolute():
        candidate = project_dir / candidate
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ValueError("file does not exist or is not accessible") from None
    root = project_dir.resolve()
    if real != root and root not in real.parents:
        raise ValueError("file must be inside the project directory")
    if not real.is_file():
        raise ValueError("file does not exist or is not accessible")
    return real


class TrainRuns:
    """The training children of one Studio: at most one per project directory."""

    def __init__(self) -> None:
        self._running: dict[Path, asyncio.subprocess.Process] = {}

    def is_running(self, project_dir: Path) -> bool:
        return project_dir.resolve() in self._running

    async def start(self, project_dir: Path, argv: list[str]) -> asyncio.subprocess.Process:
        key = project_dir.resolve()
        if key in self._running:
            raise RunInProgressError(
                "A training run is already in progress for this project. Wait for it to finish or stop it first."
            )
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "ARKOR_STUDIO_CHILD": "1"}
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=str(key), env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )
        self._running[key] = process
        return process

    async def stream(self, project_dir: Path, process: asyncio.subprocess.Process) -> AsyncIterator[bytes]:
        """The child's output, then the exit trailer. If the reader goes away, the child is stopped."""
        key = project_dir.resolve()
        try:
            assert process.stdout is not None
            while True:
                chunk = await process.stdout.read(4096)
                if not chunk:
                    break
                yield chunk
            code = await process.wait()
            yield f"\n---\nexit={code}\n".encode()
        finally:
            if process.returncode is None:
                await self._stop(process)
            if self._running.get(key) is process:
                del self._running[key]

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), KILL_GRACE_S)
        except asyncio.TimeoutError:
            _signal_group(process.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await process.wait()

    async def stop_all(self) -> None:
        for process in list(self._running.values()):
            if process.returncode is None:
                await self._stop(process)
        self._running.clear()

    def kill_all_now(self) -> None:
        """Synchronous last resort (interpreter exit): SIGKILL every child group still alive."""
        for process in list(self._running.values()):
            if process.returncode is None:
                _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
