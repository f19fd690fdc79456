"""Operations: `/healthz` and `/metrics` (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from arkor import __version__
from arkor.protocol.ops import HealthResponse

from ..deps import ServicesDep
from ..jobs_store import jobs_by_status
from ..wire import wire

router = APIRouter(tags=["ops"])

_STATUSES = ("queued", "running", "completed", "failed", "cancelled")


@router.get("/healthz", summary="Liveness and database reachability", response_model=HealthResponse)
def healthz(services: ServicesDep) -> JSONResponse:
    services.db.ping()
    return wire(HealthResponse(ok=True, version=__version__))


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics",
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text exposition format 0.0.4",
        }
    },
)
def metrics(services: ServicesDep) -> PlainTextResponse:
    counts = jobs_by_status(services.db)
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
