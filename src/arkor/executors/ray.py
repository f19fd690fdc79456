"""`RayExecutor`: each job is one detached, named Ray actor (`arkor-job-<job id>`) running the worker.

Same contract as `LocalProcessExecutor` (see `base.py`); what differs:
- Queueing is Ray's: `free_slots()` is large (`max_pending`), every claimed job becomes an actor
  asking for `num_cpus` (and `num_gpus`), and Ray starts it when a node has room. `pending(job_id)`
  says whether it still waits for resources, so the manager does not mistake waiting for silence.
- The spec travels by value (JSON, plus a file dataset's bytes, plus the files of the checkpoint a
  resumed job goes on from): the actor may land on any node, one that cannot see this machine's
  disk. See `_ray_actor.JobActor`.
- A resumed job gets a new actor under the same name; a leftover actor of its previous run is killed
  (and its name waited for) first.
- Cancel asks the actor to stop at a step boundary, then `ray.kill`s it after the grace period; kill
  is `ray.kill` at once. Killing the actor kills its worker process and the job with it.
- A lost node or a killed worker process surfaces as `RayActorError` on the watcher's `wait()` call
  and is reported as a `WorkerExit` with Ray's reason.
- Actors are detached, so jobs outlive the backend process: `shutdown()` only stops watching, and a
  restarted backend (or any other replica) calls `adopt(job_id, pid=...)` to watch a job it did not start.
  Any number of replicas may watch one job; the manager's guarded transitions make their reports
  idempotent. The watcher that gets the result kills the finished actor.

Needs the `ray` extra (`pip install 'arkor[ray]'`).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from arkor.errors import ConfigError
from arkor.protocol import WorkerExitCode, WorkerExitReason

from .base import Adoption, ExitCallback, WorkerExit

logger = logging.getLogger(__name__)

ACTOR_PREFIX = "arkor-job-"
DEFAULT_NAMESPACE = "arkor"
# A job another replica has just claimed may not have its Ray actor yet; only older ones count as lost.
ADOPT_GRACE_S = 20.0
_WAIT_POLL_S = 2.0
_INLINE_DATASET_MAX_BYTES = 256 * 1024**2
_INLINE_CHECKPOINT_MAX_BYTES = 1024**3
_NAME_RELEASE_WAIT_S = 30.0


def _import_ray():  # type: ignore[no-untyped-def]
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            "ARKOR_EXECUTOR=ray needs Ray, which is not installed: pip install 'arkor[ray]' "
            f"(or set ARKOR_EXECUTOR=local). ({exc})"
        ) from None
    return ray


def actor_name(job_id: str) -> str:
    return ACTOR_PREFIX + job_id


@dataclass(frozen=True)
class RayWorkerExit(WorkerExit):
    """A worker end seen through Ray: its exit code, or why Ray lost it (`reason`)."""

    reason: str | None = None

    def describe(self) -> str:
        if self.reason:
            return self.reason
        return super().describe()


@dataclass
class _Watch:
    job_id: str
    actor: Any
    started: threading.Event = field(default_factory=threading.Event)
    stop_timer: threading.Timer | None = None


class RayExecutor:
    """Jobs as Ray actors on the cluster at `address` (None: `RAY_ADDRESS`, else a local Ray)."""

    def __init__(
        self,
        *,
        on_exit: ExitCallback | None = None,
        address: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        max_pending: int = 64,
    ) -> None:
        self.ray = _import_ray()
        self.on_exit = on_exit
        self.namespace = namespace
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.max_pending = max_pending
        self._watches: dict[str, _Watch] = {}
        self._reporting: set[str] = set()  # ended, their end not yet handed to `on_exit`
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connect(address)

    def _connect(self, address: str | None) -> None:
        kwargs: dict[str, Any] = {
            "namespace": self.namespace,
            "ignore_reinit_error": True,
            "log_to_driver": False,
            "include_dashboard": False if address is None else None,
        }
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        host = urlsplit(f"//{address}").hostname if address and "://" not in address else None
        if host in ("127.0.0.1", "localhost"):
            # A loopback-only cluster: this driver must say it is on loopback too, or Ray looks for a
            # raylet on the machine's network address.
            kwargs["_node_ip_address"] = "127.0.0.1"
        try:
            self.ray.init(address=address, **kwargs)
        except Exception as exc:
            raise ConfigError(
                f"cannot connect to the Ray cluster at {address or '$RAY_ADDRESS'}: {exc}. "
                "Start one with `ray start --head` and set RAY_ADDRESS (or ARKOR_RAY_ADDRESS) to its address."
            ) from None
        logger.info("connected to Ray at %s (namespace %s)", address or "$RAY_ADDRESS/local", self.namespace)

    # ---- the Executor protocol -------------------------------------------------------------------

    def bind(self, on_exit: ExitCallback) -> None:
        self.on_exit = on_exit

    def free_slots(self) -> int:
        with self._lock:
            return max(0, self.max_pending - len(self._watches))

    def running(self) -> list[str]:
        with self._lock:
            return [*self._watches, *self._reporting]

    def pending(self, job_id: str) -> bool:
        """True while the job's actor waits in Ray's queue for resources (not yet running)."""
        with self._lock:
            watch = self._watches.get(job_id)
        return watch is not None and not watch.started.is_set()

    def submit(self, job_id: str, spec_path: Path) -> int | None:
        from ._ray_actor import JobActor

        if self.on_exit is None:
            raise RuntimeError("RayExecutor.submit before bind(): nobody would learn of the job's end")
        spec = json.loads(Path(spec_path).read_text())
        dataset, dataset_name = _inline_dataset(spec)
        checkpoint = _inline_checkpoint(spec)
        self._release_name(job_id)
        options = {
            "name": actor_name(job_id),
            "namespace": self.namespace,
            "lifetime": "detached",
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "max_restarts": 0,
            "max_concurrency": 4,
        }
        actor = (
            self.ray.remote(JobActor)
            .options(**options)
            .remote(job_id, json.dumps(spec), dataset, dataset_name, checkpoint)
        )
        self._watch(job_id, actor)
        logger.info("submitted job %s to Ray as actor %s", job_id, actor_name(job_id))
        return None  # the pid is on some node; `worker_pid()` asks for it

    def adopt(self, job_id: str, *, pid: int | None) -> Adoption:
        """Watch a job another backend process started (by its actor's name; `pid` is on some node)."""
        with self._lock:
            if job_id in self._watches:
                return Adoption(watching=True)
        actor = self._lookup(job_id)
        if actor is None:
            return Adoption(watching=False, lost_reason=WorkerExitReason.RAY_ACTOR_LOST, grace_s=ADOPT_GRACE_S)
        self._watch(job_id, actor)
        logger.info("watching Ray actor %s started by another backend process", actor_name(job_id))
        return Adoption(watching=True)

    def cancel(self, job_id: str, *, grace_s: float) -> bool:
        actor = self._actor(job_id)
        if actor is None:
            return False
        try:
            actor.stop.remote()
        except Exception:  # already dead: the watcher reports it
            return True
        with self._lock:
            watch = self._watches.get(job_id)
        timer = threading.Timer(grace_s, self._kill_actor, args=(actor, job_id))
        timer.daemon = True
        if watch is not None:
            if watch.stop_timer is not None:
                return True
            watch.stop_timer = timer
        timer.start()
        return True

    def kill(self, job_id: str) -> bool:
        actor = self._actor(job_id)
        if actor is None:
            return False
        self._kill_actor(actor, job_id)
        return True

    def shutdown(self, *, grace_s: float) -> None:
        """Stop watching; the jobs keep running on Ray and the next backend adopts them."""
        self._closing.set()
        with self._lock:
            watches = list(self._watches.values())
        for watch in watches:
            if watch.stop_timer is not None:
                watch.stop_timer.cancel()

    # ---- helpers ---------------------------------------------------------------------------------------

    def worker_pid(self, job_id: str, timeout: float = 30.0) -> int | None:
        actor = self._actor(job_id)
        if actor is None:
            return None
        return self.ray.get(actor.pid.remote(), timeout=timeout)

    def _release_name(self, job_id: str) -> None:
        """Kill an actor a previous run of this job left under its name, and wait until the name is free."""
        import time

        old = self._lookup(job_id)
        if old is None:
            return
        self._kill_actor(old, job_id)
        deadline = time.monotonic() + _NAME_RELEASE_WAIT_S
        while self._lookup(job_id) is not None and time.monotonic() < deadline:
            time.sleep(0.2)

    def _actor(self, job_id: str) -> Any:
        with self._lock:
            watch = self._watches.get(job_id)
        return watch.actor if watch is not None else self._lookup(job_id)

    def _lookup(self, job_id: str) -> Any:
        try:
            return self.ray.get_actor(actor_name(job_id), namespace=self.namespace)
        except ValueError:
            return None

    def _kill_actor(self, actor: Any, job_id: str) -> None:
        try:
            self.ray.kill(actor, no_restart=True)
            logger.info("killed Ray actor of job %s", job_id)
        except Exception as exc:
            logger.debug("ray.kill of job %s: %s", job_id, exc)

    def _watch(self, job_id: str, actor: Any) -> None:
        watch = _Watch(job_id=job_id, actor=actor)
        with self._lock:
            self._watches[job_id] = watch
        threading.Thread(target=self._follow, args=(watch,), name=f"arkor-ray-{job_id}", daemon=True).start()

    def _follow(self, watch: _Watch) -> None:
        """Wait for the actor's result (or its death) and report it once."""
        ray = self.ray
        exit_info: RayWorkerExit | None = None
        try:
            pid_ref = watch.actor.pid.remote()
            while not self._closing.is_set():
                ready, _ = ray.wait([pid_ref], timeout=_WAIT_POLL_S)
                if ready:
                    ray.get(pid_ref)
                    watch.started.set()
                    break
            while not self._closing.is_set() and exit_info is None:
                result = ray.get(watch.actor.wait.remote(_WAIT_POLL_S))
                if result is not None:
                    exit_info = _exit_from_result(watch.job_id, result)
        except ray.exceptions.RayActorError as exc:
            exit_info = RayWorkerExit(
                job_id=watch.job_id, returncode=-signal.SIGKILL, reason=_describe_actor_death(exc)
            )
        except Exception as exc:  # the cluster went away, or an unexpected Ray error
            if not self._closing.is_set():
                logger.exception("lost track of Ray actor of job %s", watch.job_id)
                exit_info = RayWorkerExit(
                    job_id=watch.job_id,
                    returncode=WorkerExitCode.CRASHED,
                    reason=WorkerExitReason.RAY_CONTACT_LOST.format(detail=exc),
                )
        finally:
            if watch.stop_timer is not None and exit_info is not None:
                watch.stop_timer.cancel()
            with self._lock:
                if self._watches.get(watch.job_id) is watch:
                    del self._watches[watch.job_id]
                    if exit_info is not None:  # watched until its end is reported
                        self._reporting.add(watch.job_id)
        if exit_info is None:
            return  # shutting down: the job keeps running on Ray
        # Its result is in hand: the finished actor has nothing left to say, and a resumed run of the
        # job (started by the callback) needs its name.
        self._kill_actor(watch.actor, watch.job_id)
        try:
            if self.on_exit is not None:
                self.on_exit(exit_info)
        except Exception:
            logger.exception("exit callback failed for job %s", watch.job_id)
        finally:
            with self._lock:
                self._reporting.discard(watch.job_id)


def _exit_from_result(job_id: str, result: dict[str, Any]) -> RayWorkerExit:
    returncode = int(result.get("returncode", WorkerExitCode.CRASHED))
    return RayWorkerExit(job_id=job_id, returncode=returncode, log_tail=result.get("logTail") or "")


def _describe_actor_death(exc: Exception) -> str:
    """Ray's explanation of a dead actor, cut to its first useful lines."""
    text = " ".join(str(exc).split())
    if len(text) > 600:
        text = text[:600] + "..."
    return WorkerExitReason.RAY_WORKER_DIED.format(detail=text)


def _inline_checkpoint(spec: dict[str, Any]) -> dict[str, bytes] | None:
    """The files (relative path -> bytes) of the checkpoint a resumed job goes on from, when the backend holds them."""
    resume = spec.get("resume") or {}
    folder = Path(resume["checkpointDir"]) if resume.get("checkpointDir") else None
    if folder is None or not folder.is_dir():
        return None
    files = [p for p in folder.rglob("*") if p.is_file()]
    if sum(p.stat().st_size for p in files) > _INLINE_CHECKPOINT_MAX_BYTES:
        logger.warning(
            "checkpoint %s is too large to ship to Ray; job %s resumes from step 0", folder, spec.get("jobId")
        )
        return None
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def _inline_dataset(spec: dict[str, Any]) -> tuple[bytes | None, str]:
    """The bytes of a `file` dataset the backend can read, so a worker on another node has them too."""
    source = spec.get("config", {}).get("datasetSource") or {}
    if source.get("type") != "file":
        return None, "dataset.jsonl"
    path = Path(source.get("path", ""))
    if not path.is_file() or path.stat().st_size > _INLINE_DATASET_MAX_BYTES:
        return None, path.name or "dataset.jsonl"  # a folder or a huge file: the worker must see the path
    return path.read_bytes(), path.name
