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
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from arkor.errors import ArkorError
from arkor.protocol import Artifact, HeartbeatRequest, JobEventBase, ReportTarget, WorkerEventBatch

log = logging.getLogger(__name__)


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        self._events_path = output_dir / "events.jsonl"
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []

    def emit(self, event: JobEventBase) -> dict[str, Any]:
        """Record one registered event model (see arkor.protocol.events); returns its wire JSON."""
        sent: JobEventBase | dict[str, Any]
        if isinstance(event, JobEventBase):
            sent = event = event.model_copy(update={"job_id": event.job_id or self.job_id,
                                                    "timestamp": event.timestamp or utc_now_iso()})
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
        import httpx

        self._base = target.url.rstrip("/") + f"/internal/jobs/{job_id}"
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {target.token}", "X-Arkor-Client": "arkor-worker/1"},
            timeout=30.0,
        )
        self._give_up_after_s = give_up_after_s
        self._send_lock = threading.Lock()

    def _request(self, method: str, path: str, **kwargs: Any) -> None:
        """Send until the backend accepts (2xx) or says no for good (4xx); back off on errors."""
        import httpx

        deadline = time.monotonic() + self._give_up_after_s
        delay = 0.2
        while True:
            try:
                response = self._client.request(method, self._base + path, **kwargs)
                if response.status_code < 400:
                    return
                if response.status_code == 507:  # the backend's store is full: retrying cannot help
                    raise StorageFullError(_error_text(response))
                if response.status_code < 500 and response.status_code not in (408, 429):
                    log.error("backend refused %s %s: %s %s", method, path, response.status_code, response.text[:300])
                    return
            except httpx.HTTPError as exc:
                log.warning("backend unreachable (%s); retrying", exc)
            if time.monotonic() > deadline:
                raise ConnectionError(f"could not reach the backend at {self._base} for {self._give_up_after_s:.0f}s")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _deliver_event(self, event: JobEventBase | dict[str, Any], index: int) -> None:
        batch = WorkerEventBatch(events=[event], first_index=index)
        with self._send_lock:
            self._request("POST", "/events", json=batch.to_wire())

    def _deliver_file(self, path: Path, pathname: str) -> None:
        with self._send_lock:
            self._request("PUT", f"/artifacts/{pathname}", content=path.read_bytes())

    def heartbeat(self, step: int | None) -> None:
        import os

        body = HeartbeatRequest(step=step, pid=os.getpid()).to_wire()
        try:
            self._client.post(self._base + "/heartbeat", json=body, timeout=5.0)
        except Exception as exc:  # a missed heartbeat is not fatal; the next one may get through
            log.warning("heartbeat failed: %s", exc)

    def close(self) -> None:
        self._client.close()


def make_reporter(job_id: str, output_dir: Path, target: ReportTarget | None, *, event_base: int = 0) -> FolderReporter:
    if target is None:
        return FolderReporter(job_id, output_dir, event_base=event_base)
    return BackendReporter(job_id, output_dir, target, event_base=event_base)
