"""`python -m arkor.engine.worker --spec spec.json`: run one training job in this process.

Every executor runs the same entry, `run_worker(spec_json, stop_requested=...)`: this command (the
local executor's subprocess), a Ray actor's thread, a test executor's thread. It writes events and
artifacts under the spec's `output_dir` and, when the spec names a backend, reports to it too. It
returns an `arkor.protocol.WorkerExitCode` (this command exits with it).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from arkor.protocol import WorkerExitCode, WorkerSpec

from .reporting import make_reporter

HEARTBEAT_INTERVAL_S = 5.0

log = logging.getLogger("arkor.worker")


def _start_heartbeats(reporter, progress, done: threading.Event, interval: float) -> threading.Thread:
    def beat() -> None:
        while not done.wait(interval):
            reporter.heartbeat(progress.step)

    thread = threading.Thread(target=beat, name="arkor-heartbeat", daemon=True)
    thread.start()
    return thread


def _with_trackers(reporter, spec: WorkerSpec):
    """The reporter that also feeds the job's `report_to` trackers; a missing tracker package fails the job."""
    from arkor.errors import ConfigError
    from arkor.protocol import TrainingFailed

    from .trackers import with_trackers

    try:
        return with_trackers(reporter, spec.config, Path(spec.output_dir))
    except ConfigError as exc:
        reporter.emit(TrainingFailed(error=str(exc)))
        raise _FailedAtStart from None


class _FailedAtStart(Exception):
    """The job failed before training (its training.failed event is already out)."""


def run_worker(spec_json: str | bytes, *, stop_requested: threading.Event | None = None) -> WorkerExitCode:
    """The worker entry of every executor: run the job `spec_json` (a `WorkerSpec`) in this process.

    Never raises for the job's sake: an unreadable spec is `BAD_SPEC`, an unexpected error is logged
    with its traceback (the executor's log tail shows it) and is `CRASHED`.
    """
    try:
        spec = WorkerSpec.model_validate_json(spec_json)
    except ValueError as exc:
        log.error("cannot read the job spec: %s", exc)
        return WorkerExitCode.BAD_SPEC
    try:
        return run_spec(spec, stop_requested=stop_requested)
    except Exception:
        log.exception("job %s crashed", spec.job_id)
        return WorkerExitCode.CRASHED


def run_spec(
    spec: WorkerSpec, *, stop_requested: threading.Event | None = None, heartbeat_interval: float = HEARTBEAT_INTERVAL_S
) -> WorkerExitCode:
    """Run `spec` in this process and return the worker's exit code (an error propagates)."""
    from .train import StopRequested, run_training
    from .train.run import _Progress

    stop_requested = stop_requested or threading.Event()
    output_dir = Path(spec.output_dir)
    reporter = make_reporter(spec.job_id, output_dir, spec.report)
    reporter.event_base = spec.event_base  # a resumed job's earlier events come first
    progress = _Progress()
    done = threading.Event()
    reporter.heartbeat(0)
    _start_heartbeats(reporter, progress, done, heartbeat_interval)
    try:
        reporter = _with_trackers(reporter, spec)
        run_training(
            spec.job_id,
            spec.config,
            output_dir,
            reporter,
            stop_requested=stop_requested,
            progress=progress,
            dataset_access=spec.dataset_access,
            resume=spec.resume,
        )
        return WorkerExitCode.REPORTED
    except StopRequested as exc:
        log.info("stopped on request at step %s", exc.step)
        return WorkerExitCode.STOPPED
    except _FailedAtStart:
        return WorkerExitCode.REPORTED
    finally:
        done.set()
        reporter.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arkor.engine.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="path of a WorkerSpec JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("ARKOR_LOG", "INFO").upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        spec_json = Path(args.spec).read_bytes()
    except OSError as exc:
        print(f"arkor worker: cannot read job spec {args.spec}: {exc}", file=sys.stderr)
        return WorkerExitCode.BAD_SPEC

    stop_requested = threading.Event()

    def request_stop(signum, _frame) -> None:
        log.info("received %s; stopping at the next step boundary", signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return run_worker(spec_json, stop_requested=stop_requested)


if __name__ == "__main__":
    sys.exit(main())
