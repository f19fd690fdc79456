"""Where a training run's events and artifacts go.

`FolderReporter` writes `events.jsonl` next to the artifacts (always: it is the run's own record).
`BackendReporter` also delivers each event and artifact to the training backend's internal API,
retrying through network blips and backend restarts so no event is lost; each batch says the index
of its first event, so a retry of a batch the backend already stored is not stored twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from arkor.errors import ArkorError
from arkor.protocol import Artifact, HeartbeatRequest, JobEventBase, ReportTarget, WorkerEventBatch
from arkor.transport import NO_RETRY, ApiConnectionError, RetryPolicy, Transport

WORKER_CLIENT = "arkor-worker/1"
# Every 5xx but 507 may be a backend restarting; 408/429 say "later". Anything else 4xx is final.
REDELIVER_STATUSES = frozenset({408, 429, *range(500, 600)} - {507})

log = logging.getLogger(__name__)


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe_file(path: Path, pathname: str) -> Artifact:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return Artifact(pathname=pathname, size=path.stat().st_size, sha256=digest.hexdigest())


class StorageFullError(ArkorError):
    """The backend could not store what the worker sent (its disk is full or failing)."""


def _error_text(response: Any) -> str:
    try:
        return str(response.json()["error"])
    except Exception:
        return f"the backend answered {response.status_code}: {response.text[:300]}"


class FolderReporter:
    """Appends events to `<output_dir>/events.jsonl`; artifacts already live in `output_dir`."""

    def __init__(self, job_id: str, output_dir: Path, *, event_base: int = 0) -> None:
        self.job_id = job_id
        self.event_base = event_base
        """Events the job had before this worker (a resumed job's earlier runs, the backend's own)."""
        self.output_dir = output_dir
        self.output_dir.mkdir(parents=True, exist_ok=True)
        from arkor.protocol.artifacts import ArtifactLayout

        self._events_path = ArtifactLayout(output_dir).events
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []

    def emit(self, event: JobEventBase) -> dict[str, Any]:
        """Record one registered event model (see arkor.protocol.events); returns its wire JSON."""
        sent: JobEventBase | dict[str, Any]
        if isinstance(event, JobEventBase):
            sent = event = event.model_copy(
                update={"job_id": event.job_id or self.job_id, "timestamp": event.timestamp or utc_now_iso()}
            )
            payload = event.to_wire()
        else:  # another wire model: its JSON is checked against protocol when it is sent
            sent = payload = {**event.to_wire()}
            payload.setdefault("jobId", self.job_id)
            payload.setdefault("timestamp", utc_now_iso())
        with self._lock:
            self.events.append(payload)
            with self._events_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(payload) + "\n")
        self._deliver_event(sent, index=self.event_base + len(self.events) - 1)
        return payload

    def publish_files(self, folder: Path) -> list[Artifact]:
        """Describe (and deliver) every file under `folder`, which must be inside `output_dir`."""
        artifacts = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            pathname = path.relative_to(self.output_dir).as_posix()
            artifacts.append(describe_file(path, pathname))
            self._deliver_file(path, pathname)
        return artifacts

    def heartbeat(self, step: int | None) -> None:
        """Nothing to do locally; the backend reporter tells the backend this worker is alive."""

    def close(self) -> None:
        """Flush anything pending."""

    def _deliver_event(self, event: JobEventBase | dict[str, Any], index: int) -> None:
        pass

    def _deliver_file(self, path: Path, pathname: str) -> None:
        pass


class BackendReporter(FolderReporter):
    """Also posts events, heartbeats and artifact bytes to the backend (`report.url`, per-job token)."""

    def __init__(
        self,
        job_id: str,
        output_dir: Path,
        target: ReportTarget,
        *,
        give_up_after_s: float = 600.0,
        event_base: int = 0,
    ) -> None:
        super().__init__(job_id, output_dir, event_base=event_base)
        self._give_up_after_s = give_up_after_s
        self._transport = Transport(
            target.url.rstrip("/") + f"/internal/jobs/{job_id}",
            client_name=WORKER_CLIENT,
            token=target.token,
            timeout=30.0,
            retry=RetryPolicy(
                max_retries=None,
                give_up_after=give_up_after_s,
                initial_delay=0.2,
                max_delay=5.0,
                retry_statuses=REDELIVER_STATUSES,
            ),
        )
        self._send_lock = threading.Lock()

    def _request(self, method: str, path: str, **kwargs: Any) -> None:
        """Send until the backend accepts (2xx) or says no for good (4xx); the transport backs off
        through errors. Events carry their index, so a repeated POST is stored once."""
        request = self._transport.build_request(method, path, **kwargs)
        try:
            response = self._transport.send(request, idempotent=True)
        except ApiConnectionError as exc:
            raise ApiConnectionError(
                method=exc.method, url=exc.url, reason=(f"gave up after {self._give_up_after_s:.0f}s: {exc.reason}")
            ) from exc
        if response.status_code < 400:
            return
        if response.status_code == 507:  # the backend's store is full: retrying cannot help
            raise StorageFullError(_error_text(response))
        if response.status_code in REDELIVER_STATUSES:
            raise ApiConnectionError(
                method=method,
                url=str(request.url),
                reason=(f"the backend still answered {response.status_code} after {self._give_up_after_s:.0f}s"),
            )
        log.error("backend refused %s %s: %s %s", method, path, response.status_code, response.text[:300])

    def _deliver_event(self, event: JobEventBase | dict[str, Any], index: int) -> None:
        # A plain dict is validated into its registered model by the `AnyJobEvent` field.
        batch = WorkerEventBatch(events=[cast(JobEventBase, event)], first_index=index)
        with self._send_lock:
            self._request("POST", "/events", json=batch.to_wire())

    def _deliver_file(self, path: Path, pathname: str) -> None:
        with self._send_lock:
            self._request("PUT", f"/artifacts/{pathname}", content=path.read_bytes())

    def heartbeat(self, step: int | None) -> None:
        import os

        body = HeartbeatRequest(step=step, pid=os.getpid()).to_wire()
        try:
            self._transport.send(
                self._transport.build_request("POST", "/heartbeat", json=body, timeout=5.0), retry=NO_RETRY
            )
        except Exception as exc:  # a missed heartbeat is not fatal; the next one may get through
            log.warning("heartbeat failed: %s", exc)

    def close(self) -> None:
        self._transport.close()


def make_reporter(job_id: str, output_dir: Path, target: ReportTarget | None, *, event_base: int = 0) -> FolderReporter:
    if target is None:
        return FolderReporter(job_id, output_dir, event_base=event_base)
    return BackendReporter(job_id, output_dir, target, event_base=event_base)
