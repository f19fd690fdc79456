"""`JobActor`: the Ray actor that runs one job (imported inside Ray workers, never by the backend itself).

The actor runs the same worker entry as every executor (`arkor.engine.worker.run_worker`) on a
thread started by its constructor, so creating the actor *is* starting the job: a detached actor's
creation survives the backend that asked for it, and a restarted backend (or another replica) only
needs the actor's name to `wait()` for the result. Everything the job needs travels by value: the
spec JSON and, for a file dataset, its bytes; the actor writes them under a node-local temp folder,
because the node it lands on may not see the backend's disk. A resumed job's checkpoint comes the
same way and is laid out where the worker looks for it (`output/checkpoints/step-<N>/`). Events and artifacts go to the backend
over HTTP as usual (the spec's `report` target).

Methods run on a small thread pool (a threaded actor), so `stop()` and `pid()` answer while the job runs.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from arkor.protocol.artifacts import ArtifactLayout

_LOG_LINES_KEPT = 40


class _TailHandler(logging.Handler):
    """Keeps the last log lines of the job, for the failure message when it ends badly."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: collections.deque[str] = collections.deque(maxlen=_LOG_LINES_KEPT)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # pragma: no cover - a broken record must not break the job
            pass


class JobActor:
    """One job. Constructed by `RayExecutor` with `ray.remote(...)` options (name, resources, detached)."""

    def __init__(
        self,
        job_id: str,
        spec_json: str,
        dataset: bytes | None = None,
        dataset_name: str = "dataset.jsonl",
        checkpoint: dict[str, bytes] | None = None,
    ) -> None:
        self.job_id = job_id
        self._stop = threading.Event()
        self._done = threading.Event()
        self._result: dict[str, Any] | None = None
        self._tail = _TailHandler()
        logging.getLogger().addHandler(self._tail)
        logging.getLogger().setLevel(logging.INFO)
        self._workdir = Path(tempfile.mkdtemp(prefix=f"arkor-ray-{job_id}-"))
        spec = self._localize(json.loads(spec_json), dataset, dataset_name, checkpoint)
        self._thread = threading.Thread(target=self._run, args=(spec,), name=f"arkor-job-{job_id}", daemon=True)
        self._thread.start()

    def _localize(
        self, spec: dict[str, Any], dataset: bytes | None, dataset_name: str, checkpoint: dict[str, bytes] | None
    ) -> dict[str, Any]:
        """Point the spec's output and dataset at this node's temp folder (with the checkpoint to resume from)."""
        spec["outputDir"] = str(self._workdir / "output")
        resume = spec.get("resume") or {}
        if checkpoint and resume.get("step"):
            folder = ArtifactLayout(self._workdir / "output").checkpoint(int(resume["step"]))
            for name, content in checkpoint.items():
                target = (folder / name).resolve()
                if not target.is_relative_to(folder.resolve()):
                    continue  # names come from the backend's own folder; never write outside it
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
        if dataset is not None:
            path = self._workdir / Path(dataset_name).name
            path.write_bytes(dataset)
            spec["config"]["datasetSource"] = {"type": "file", "path": str(path)}
            access = spec.get("datasetAccess")
            if access is not None and access.get("fileRoots") is not None:
                # The backend checked the original path; this node's copy is the one file to read.
                access["fileRoots"] = [str(path)]
        return spec

    def _run(self, spec_wire: dict[str, Any]) -> None:
        from arkor.engine.worker import run_worker
        from arkor.protocol import WorkerExitCode

        returncode = WorkerExitCode.CRASHED
        try:
            returncode = run_worker(json.dumps(spec_wire), stop_requested=self._stop)
        finally:  # even a BaseException ends the job's watch with a result, not a wait forever
            self._result = {"returncode": int(returncode), "logTail": "\n".join(self._tail.lines)}
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._done.set()

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The job's end (`returncode`: a `WorkerExitCode`, `logTail`), or None when `timeout` passed first."""
        if not self._done.wait(timeout):
            return None
        return self._result

    def stop(self) -> bool:
        """Ask the job to stop at its next step boundary (the worker then ends `WorkerExitCode.STOPPED`)."""
        self._stop.set()
        return not self._done.is_set()

    def pid(self) -> int:
        return os.getpid()
