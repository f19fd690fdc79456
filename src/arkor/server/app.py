"""`create_app(settings)`: the training backend as a FastAPI app.

The lifespan migrates the database, binds the event broadcaster to the loop, and starts the job
manager (which reconciles jobs a previous process left running, then dispatches); on shutdown it
stops every worker and marks its job. Every `/v1` request needs `X-Arkor-Client: arkor/<version>`
(426 with the original's body otherwise). `limits.RequestGuard`, the outermost middleware, bounds
bodies and checks credentials before any body is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from arkor import __version__
from arkor.executors.base import Executor
from arkor.protocol import ErrorBody, UpgradeRequiredBody

from .data_access import worker_dataset_access
from .db import Database
from .deps import MAX_INT64, client_header
from .errors import install_error_handlers
from .events import Broadcaster, EventLog
from .executors import build_executor
from .identity import anonymous_signup_allowed
from .inference_service import ChatEngine, default_engine
from .limits import BlockingPools, BodyTooLarge, RequestGuard, StreamSlots, raise_open_file_limit
from .manager import JobManager, JobManagerPaths
from .routes import (
    artifacts,
    auth,
    base_models,
    datasets,
    deployments,
    exports,
    inference,
    internal,
    jobs,
    ops,
    projects,
    serving,
    stream,
)
from .settings import ServerSettings
from .storage import protect_data_dir, protect_database_files, remove_stale_uploads

logger = logging.getLogger(__name__)

SUPPORTED_CLIENT_RANGE = ">=0.1.0"
UPGRADE_COMMAND = "pip install -U arkor"


@dataclass
class Services:
    settings: ServerSettings
    db: Database
    log: EventLog
    broadcaster: Broadcaster
    executor: Executor
    manager: JobManager
    streams: StreamSlots
    pools: BlockingPools
    engine: ChatEngine
    """Runs chat completions for `/v1/inference/chat` and the deployments' `/d/<slug>/v1` routes."""


def build_services(settings: ServerSettings, *, engine: ChatEngine | None = None) -> Services:
    """Everything the routes use; `engine` replaces the default inference engine (tests, embedding programs)."""
    protect_data_dir(settings.data_dir)
    remove_stale_uploads(settings.data_dir)
    db = Database(settings.resolved_database_url)
    log = EventLog(db)
    broadcaster = Broadcaster()
    executor = build_executor(settings)
    manager = JobManager(  # binds itself to the executor: worker ends come back to it
        db=db,
        log=log,
        broadcaster=broadcaster,
        executor=executor,
        paths=JobManagerPaths(
            specs=settings.data_dir / "specs",
            work=settings.data_dir / "work",
            artifacts=settings.data_dir / "artifacts",
            logs=settings.data_dir / "logs",
        ),
        report_url=settings.public_url,
        heartbeat_timeout_s=settings.heartbeat_timeout_s,
        cancel_grace_s=settings.cancel_grace_s,
        watchdog_interval_s=settings.watchdog_interval_s,
        dataset_access=functools.partial(worker_dataset_access, settings),
    )
    return Services(
        settings=settings,
        db=db,
        log=log,
        broadcaster=broadcaster,
        executor=executor,
        manager=manager,
        streams=StreamSlots(
            total_limit=settings.max_event_streams, per_token_limit=settings.max_event_streams_per_token
        ),
        pools=BlockingPools(settings.max_blocking_calls, {"validation": settings.upload_validation_workers}),
        engine=engine if engine is not None else default_engine(),
    )


class ClientHeaderGuard:
    """ASGI middleware: 426 with the original's body for a `/v1` request without `X-Arkor-Client: arkor/...`.

    Plain ASGI (not `@app.middleware("http")`): that wrapper turns errors raised while a route reads its
    body into exception groups, and the body caps rely on their 413 reaching the error handlers.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            client = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"x-arkor-client"), None)
            if not client or not client.startswith("arkor/"):
                body = UpgradeRequiredBody(
                    current_version=client.split("/", 1)[1] if client and "/" in client else None,
                    supported_range=SUPPORTED_CLIENT_RANGE,
                    upgrade=UPGRADE_COMMAND,
                    reason="missing" if not client else "unrecognized",
                )
                response = JSONResponse(body.model_dump(mode="json", by_alias=True), status_code=426)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: ServerSettings | None = None, *, engine: ChatEngine | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    services = build_services(settings, engine=engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        raise_open_file_limit()
        await asyncio.to_thread(services.db.migrate)
        await asyncio.to_thread(protect_database_files, services.db)
        services.broadcaster.bind(asyncio.get_running_loop())
        await asyncio.to_thread(services.manager.start)
        if settings.allow_anonymous is None and settings.bind_host is None:
            signup = "on for requests that arrive on a loopback address"
        elif anonymous_signup_allowed(settings.allow_anonymous, settings.bind_host or ""):
            signup = "on"
        else:
            signup = "off (ARKOR_ALLOW_ANONYMOUS=1 turns it on)"
        logger.info("arkor backend ready (data dir %s; anonymous sign-up %s)", settings.data_dir, signup)
        try:
            yield
        finally:
            services.broadcaster.close()
            await asyncio.to_thread(services.manager.stop)
            services.db.dispose()

    app = FastAPI(
        title="arkor training backend",
        version=__version__,
        description="The arkor cloud API, self-hosted: auth, projects, jobs, job events (SSE), datasets, artifacts, inference.",
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)

    @app.exception_handler(BodyTooLarge)
    async def _body_too_large(_request: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse(
            ErrorBody(error=str(exc.detail), code="payload_too_large").to_wire(),
            status_code=413,
            headers={"Connection": "close"},
        )

    async def _value_too_large(_request: Request, _exc: Exception) -> JSONResponse:
        # A value the database cannot store (e.g. 2**70: OverflowError from sqlite3, DataError from
        # PostgreSQL) reached a query: the caller's input, not a server fault.
        message = f"a number in the request is too large; integers must be at most {MAX_INT64}"
        return JSONResponse(ErrorBody(error=message, code="invalid_request").to_wire(), status_code=400)

    app.add_exception_handler(OverflowError, _value_too_large)
    app.add_exception_handler(DataError, _value_too_large)

    client_dependency = [Depends(client_header)]
    for module in (auth, projects, jobs, stream, datasets, artifacts, inference, deployments, exports, base_models):
        app.include_router(module.router, dependencies=client_dependency)
    app.include_router(internal.router)
    app.include_router(ops.router)
    app.include_router(serving.router)  # OpenAI clients send no X-Arkor-Client
    app.add_middleware(ClientHeaderGuard)
    app.add_middleware(RequestGuard, services=services, routes_of=app)  # outermost: before anything reads a body
    return app
