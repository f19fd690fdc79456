"""Operations: `/healthz` and `/metrics` (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select, text

from arkor import __version__

from ..deps import ServicesDep
from ..models import JobRow

router = APIRouter(tags=["ops"])

_STATUSES = ("queued", "running", "completed", "failed", "cancelled")


@router.get("/healthz", summary="Liveness and database reachability")
def healthz(services: ServicesDep) -> dict:
    with services.db.read() as session:
        session.execute(text("SELECT 1"))
    return {"ok": True, "version": __version__}


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
def metrics(services: ServicesDep) -> PlainTextResponse:
    with services.db.read() as session:
        counts = dict(session.execute(select(JobRow.status, func.count()).group_by(JobRow.status)).all())
    lines = [
        "# HELP arkor_jobs Jobs by status.",
        "# TYPE arkor_jobs gauge",
        *(f'arkor_jobs{{status="{s}"}} {counts.get(s, 0)}' for s in _STATUSES),
        "# HELP arkor_events_appended_total Job events stored by this process.",
        "# TYPE arkor_events_appended_total counter",
        f"arkor_events_appended_total {services.log.appended_total}",
        "# HELP arkor_sse_subscribers Open job event streams.",
        "# TYPE arkor_sse_subscribers gauge",
        f"arkor_sse_subscribers {services.broadcaster.subscriber_count}",
        "# HELP arkor_workers_running Worker processes alive.",
        "# TYPE arkor_workers_running gauge",
        f"arkor_workers_running {len(services.executor.running())}",
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
