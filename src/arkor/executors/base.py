"""The executor contract: what the job manager asks of any place jobs run.

An executor owns workers (processes, Ray actors, threads), never job status: it launches the worker
entry (`arkor.engine.worker.run_worker`) for a spec file, stops it on request, and reports each
worker's end, exactly once, to the callback the manager binds. Every method is safe to call from
any thread. `arkor.server.executors.register_executor` makes one selectable with `ARKOR_EXECUTOR`;
`tests/integration/executors/test_executor_contract.py` is the behaviour every one must pass.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from arkor.protocol import WorkerExitCode, WorkerExitReason


@dataclass(frozen=True)
class WorkerExit:
    """How a worker ended: `returncode` as `subprocess` reports it (negative = killed by that signal),
    or the `WorkerExitCode` the worker entry returned where no process exits (a Ray actor, a thread)."""

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
            text = WorkerExitReason.KILLED_BY_SIGNAL.format(signum=signum, name=name)
            if signum == signal.SIGKILL:
                text += WorkerExitReason.OUT_OF_MEMORY_HINT
            return text
        if self.returncode == WorkerExitCode.REPORTED:
            return WorkerExitReason.NO_RESULT
        return WorkerExitReason.EXIT_CODE.format(code=self.returncode)


ExitCallback = Callable[[WorkerExit], None]


@dataclass(frozen=True)
class Adoption:
    """What `Executor.adopt` found for a running job it was not watching."""

    watching: bool
    """True: the job's worker is alive and this executor now reports its end."""
    lost_reason: str = ""
    """When not watching: why the job has no worker any more (the manager interrupts the job with it)."""
    grace_s: float = 0.0
    """When not watching: how long after its last heartbeat the job may still be getting a worker
    elsewhere (a replica that has just claimed it starts the worker after the claim); the manager
    leaves such a job alone that long and asks again on its next round."""


@runtime_checkable
class Executor(Protocol):
    """Runs workers for the job manager."""

    def bind(self, on_exit: ExitCallback) -> None:
        """Set the callback that gets each worker's end (the manager binds itself when it is built,
        before it calls anything else). Called with a `WorkerExit` once per worker, from any thread."""

    def free_slots(self) -> int:
        """How many more workers may be submitted now (the manager claims that many queued jobs)."""

    def submit(self, job_id: str, spec_path: Path) -> int | None:
        """Start the worker entry for the `WorkerSpec` file `spec_path`; returns the worker's pid on
        this machine when there is one (the manager stores it; `adopt` gets it back). Raises when the
        worker cannot be started (the manager fails the job with the error)."""

    def cancel(self, job_id: str, *, grace_s: float) -> bool:
        """Ask the worker to stop at its next step boundary (it then ends with `WorkerExitCode.STOPPED`;
        a local worker still starting up may end by the signal instead), and force it after `grace_s`. Idempotent: asking again neither restarts the grace period nor
        fails. False when no worker of the job runs here (the manager then ends the job itself)."""

    def kill(self, job_id: str) -> bool:
        """Stop the worker at once (a silent one); False when no worker of the job runs here."""

    def running(self) -> list[str]:
        """Job ids this executor watches: from `submit` (or a successful `adopt`) until their end has
        been reported, so a job never looks unwatched while its end is on the way to the manager."""

    def pending(self, job_id: str) -> bool:
        """True while the job's worker waits for resources and has not started (Ray's queue): no
        heartbeats come yet, and the manager must not take that for a silent worker."""

    def adopt(self, job_id: str, *, pid: int | None) -> Adoption:
        """Take over a job marked running that this executor does not watch: one a previous backend
        process (or another replica) started, whose worker got `pid` there. An executor whose workers
        outlive the backend watches it again; one whose workers cannot be watched by another process
        stops what is left of that worker and says it is lost (nothing to adopt)."""

    def shutdown(self, *, grace_s: float) -> None:
        """The backend is stopping: stop every worker it cannot leave behind (SIGTERM, SIGKILL after
        `grace_s`) and wait for them, their ends still reported; workers that outlive the backend (Ray)
        keep running, for the next backend to adopt."""
