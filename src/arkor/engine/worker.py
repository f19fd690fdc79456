"""`python -m arkor.engine.worker --spec spec.json`: run one training job in this process.

The same entry runs under every executor (a local subprocess, a Ray task). It writes events and
artifacts under the spec's `output_dir` and, when the spec names a backend, reports to it too.
Exit codes: 0 after a terminal event (completed or failed), 143 after a stop request (SIGTERM or
SIGINT; no terminal event — the backend records the cancellation), 2 for an unreadable spec.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from arkor.protocol import WorkerSpec

from .reporting import make_reporter

EXIT_STOPPED = 143
EXIT_BAD_SPEC = 2
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


def run_spec(spec: WorkerSpec, *, stop_requested: threading.Event | None = None, heartbeat_interval: float = HEARTBEAT_INTERVAL_S) -> int:
    """Run `spec` in this process and return the worker's exit code."""
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
        run_training(spec.job_id, spec.config, output_dir, reporter, stop_requested=stop_requested, progress=progress,
                     dataset_access=spec.dataset_access, resume=spec.resume)
        return 0
    except StopRequested as exc:
        log.info("stopped on request at step %s", exc.step)
        return EXIT_STOPPED
    except _FailedAtStart:
        return 0
    finally:
        done.set()
        reporter.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arkor.engine.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="path of a WorkerSpec JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("ARKOR_LOG", "INFO").upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        spec = WorkerSpec.model_validate(json.loads(Path(args.spec).read_text()))
    except (OSError, ValueError) as exc:
        print(f"arkor worker: cannot read job spec {args.spec}: {exc}", file=sys.stderr)
        return EXIT_BAD_SPEC

    stop_requested = threading.Event()

    def request_stop(signum, _frame) -> None:
        log.info("received %s; stopping at the next step boundary", signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return run_spec(spec, stop_requested=stop_requested)


if __name__ == "__main__":
    sys.exit(main())
