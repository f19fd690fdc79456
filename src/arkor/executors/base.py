"""The executor contract: what the job manager asks of any place jobs run.

An executor owns processes (or Ray tasks), never job status: it launches a worker for a spec file,
stops it on request, and reports each worker's end through the `on_exit` callback it was built with.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol


@dataclass(frozen=True)
class WorkerExit:
    """How a worker ended: `returncode` as `subprocess` reports it (negative = killed by that signal)."""

    job_id: str
    returncode: int
    log_tail: str = ""

    @property
    def signal_number(self) -> int | None:
        return -self.returncode if self.returncode < 0 else None

    def describe(self) -> str:
        """A sentence for a user: what happened to the worker and what it likely means."""
        signum = self.signal_number
        if signum is not None:
            try:
                name = signal.Signals(signum).name
            except ValueError:
                name = f"signal {signum}"
            text = f"worker process was killed by signal {signum} ({name})"
            if signum == signal.SIGKILL:
                text += "; the machine may have run out of memory"
            return text
        if self.returncode == 0:
            return "worker process exited without reporting a result"
        return f"worker process exited with code {self.returncode}"


ExitCallback = Callable[[WorkerExit], None]


class Executor(Protocol):
    """Runs workers. Implementations are thread-safe."""

    def free_slots(self) -> int:
        """How many more workers may start now."""

    def submit(self, job_id: str, spec_path: Path) -> int | None:
        """Start the worker for `spec_path`; returns its pid when there is one."""

    def cancel(self, job_id: str, *, grace_s: float) -> bool:
        """Ask the worker to stop (SIGTERM), force it after `grace_s`; False when it is not running here."""

    def kill(self, job_id: str) -> bool:
        """Stop the worker at once."""

    def running(self) -> list[str]:
        """Job ids whose workers are alive."""

    def shutdown(self, *, grace_s: float) -> None:
        """Stop every worker and wait for all of them (their exits are still reported)."""
