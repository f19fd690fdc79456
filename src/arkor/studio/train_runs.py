"""Studio's training runs: `arkor start` in a child process, one at a time per project.

The child's stdout and stderr are kept (the last `OUTPUT_LIMIT` bytes) and can be followed by any
number of readers, from the start of what is kept, then live, then a trailer `\\n---\\nexit=<code>\\n`.
So the browser can leave the Overview page and come back to the same console and Stop button: a
reader going away does NOT stop the run; only Stop (`POST /api/train/stop`) or Studio exiting does.
A second run for the same project while one is in flight is refused (409) rather than silently
starting a duplicate job. Children run in their own process group, so stopping them also stops
whatever they started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

KILL_GRACE_S = 5.0
OUTPUT_LIMIT = 512 * 1024
READ_CHUNK = 4096
# Stop ends the local `arkor start` only (as the original's Stop did); say where the job itself is.
STOPPED_NOTE = (
    "\n[stopped from Studio] arkor start was stopped. A job it had started keeps running on the "
    "backend: cancel it on its Job page if you want it to end."
)


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


class TrainRun:
    """One `arkor start` child and its console output (bounded), readable by many followers."""

    def __init__(self, process: asyncio.subprocess.Process, *, dry_run: bool) -> None:
        self.process = process
        self.dry_run = dry_run
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        self.exit_code: int | None = None
        self.stop_requested = False
        self._output = bytearray()
        self._dropped = 0  # bytes cut from the front to stay under OUTPUT_LIMIT
        self._done = False
        self._changed = asyncio.Condition()
        self._pump_task = asyncio.create_task(self._pump())

    @property
    def done(self) -> bool:
        return self._done

    def to_wire(self) -> dict[str, object]:
        return {
            "running": not self._done,
            "startedAt": self.started_at,
            "dryRun": self.dry_run,
            "exitCode": self.exit_code,
            "pid": self.process.pid,
        }

    async def _append(self, data: bytes) -> None:
        async with self._changed:
            self._output += data
            overflow = len(self._output) - OUTPUT_LIMIT
            if overflow > 0:
                del self._output[:overflow]
                self._dropped += overflow
            self._changed.notify_all()

    async def _pump(self) -> None:
        assert self.process.stdout is not None
        try:
            while chunk := await self.process.stdout.read(READ_CHUNK):
                await self._append(chunk)
        finally:
            code = await self.process.wait()
            self.exit_code = code
            note = STOPPED_NOTE if self.stop_requested else ""
            await self._append(f"{note}\n---\nexit={code}\n".encode())
            async with self._changed:
                self._done = True
                self._changed.notify_all()

    async def follow(self) -> AsyncIterator[bytes]:
        """Everything still kept (after a note when the start was cut), then new output as it
        comes, ending after the exit trailer."""
        position = 0
        while True:
            async with self._changed:
                # wait_for calls the predicate before this iteration moves `position`
                await self._changed.wait_for(lambda: self._dropped + len(self._output) > position or self._done)  # noqa: B023
                if position < self._dropped:
                    skipped, position = self._dropped - position, self._dropped
                    data = f"[{skipped} bytes of earlier output not kept]\n".encode()
                else:
                    data = b""
                data += bytes(self._output[position - self._dropped :])
                position = self._dropped + len(self._output)
                finished = self._done
            if data:
                yield data
            if finished and position == self._dropped + len(self._output):
                return

    async def stop(self) -> None:
        """SIGTERM the child's process group, SIGKILL after KILL_GRACE_S; returns once it exited."""
        if self.process.returncode is None:
            self.stop_requested = True
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), KILL_GRACE_S)
            except TimeoutError:
                _signal_group(self.process.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await self.process.wait()
        with contextlib.suppress(Exception):
            await self._pump_task

    def kill_now(self) -> None:
        if self.process.returncode is None:
            _signal_group(self.process.pid, signal.SIGKILL)


class TrainRuns:
    """The training runs of one Studio: the current (or last finished) run of each project directory."""

    def __init__(self) -> None:
        self._runs: dict[Path, TrainRun] = {}

    def current(self, project_dir: Path) -> TrainRun | None:
        """The project's running run, else its last finished one (this Studio session), else None."""
        return self._runs.get(project_dir.resolve())

    def is_running(self, project_dir: Path) -> bool:
        run = self.current(project_dir)
        return run is not None and not run.done

    async def start(self, project_dir: Path, argv: list[str], *, dry_run: bool = False) -> TrainRun:
        key = project_dir.resolve()
        if self.is_running(key):
            raise RunInProgressError(
                "A training run is already in progress for this project. Wait for it to finish or stop it first."
            )
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "ARKOR_STUDIO_CHILD": "1"}
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(key),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        run = TrainRun(process, dry_run=dry_run)
        self._runs[key] = run
        return run

    async def stop(self, project_dir: Path) -> bool:
        """Stop the project's running run; False when none is running."""
        run = self.current(project_dir)
        if run is None or run.done:
            return False
        await run.stop()
        return True

    async def stop_all(self) -> None:
        for run in list(self._runs.values()):
            await run.stop()

    def kill_all_now(self) -> None:
        """Synchronous last resort (interpreter exit): SIGKILL every child group still alive."""
        for run in list(self._runs.values()):
            run.kill_now()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
