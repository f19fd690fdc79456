"""`create_app(settings)`: the training backend as a FastAPI app.

The lifespan migrates the database, binds the event broadcaster to the loop, and starts the job
manager (which reconciles jobs a previous process left running, then dispatches); on shutdown it
stops every worker and marks its job. Every `/v1` request needs `X-Arkor-Client: arkor/<version>`
(426 with the original's body otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass
from typing import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from arkor import __version__
from arkor.executors.base import Executor
from arkor.protocol import UpgradeRequiredBody

from .db import Database
from .deps import client_header
from .errors import install_error_handlers
from .events import Broadcaster, EventLog
from .manager import JobManager, JobManagerPaths
from .routes import artifacts, auth, datasets, deployments, exports, inference, internal, jobs, ops, projects, serving, stream
from .data_access import worker_dataset_access
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


def build_executor(settings: ServerSettings, on_exit) -> Executor:  # type: ignore[no-untyped-def]
    if settings.executor == "local":
        from arkor.executors.local import LocalProcessExecutor

        return LocalProcessExecutor(
            max_workers=settings.max_concurrent_jobs,
            log_dir=settings.data_dir / "logs",
            on_exit=on_exit,
            worker_command=settings.worker_command,
        )
    if settings.executor == "ray":
        from arkor.executors.ray import RayExecutor

        return RayExecutor(
            on_exit=on_exit,
            address=settings.ray_address,
            namespace=settings.ray_namespace,
            num_cpus=settings.ray_num_cpus,
            num_gpus=settings.ray_num_gpus,
            max_pending=settings.ray_max_pending_jobs,
        )
    raise ValueError(f"ARKOR_EXECUTOR={settings.executor!r} is not available; use 'local' or 'ray'")


def build_services(settings: ServerSettings) -> Services:
    protect_data_dir(settings.data_dir)
    remove_stale_uploads(settings.data_dir)
    db = Database(settings.resolved_database_url)
    log = EventLog(db)
    broadcaster = Broadcaster()
    holder: list[JobManager] = []
    executor = build_executor(settings, lambda exit_info: holder[0].on_worker_exit(exit_info))
    manager = JobManager(
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
    holder.append(manager)
    return Services(settings=settings, db=db, log=log, broadcaster=broadcaster, executor=executor, manager=manager)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    services = build_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(services.db.migrate)
        await asyncio.to_thread(protect_database_files, services.db)
        services.broadcaster.bind(asyncio.get_running_loop())
        await asyncio.to_thread(services.manager.start)
        logger.info("arkor backend ready (data dir %s)", settings.data_dir)
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

    @app.middleware("http")
    async def require_client_header(request: Request, call_next):  # type: ignore[no-untyped-def]
        if request.url.path.startswith("/v1/"):
            client = request.headers.get("x-arkor-client")
            if not client or not client.startswith("arkor/"):
                body = UpgradeRequiredBody(
                    current_version=client.split("/", 1)[1] if client and "/" in client else None,
                    supported_range=SUPPORTED_CLIENT_RANGE,
                    upgrade=UPGRADE_COMMAND,
                    reason="missing" if not client else "unrecognized",
                )
                return JSONResponse(body.model_dump(mode="json", by_alias=True), status_code=426)
        return await call_next(request)

    client_dependency = [Depends(client_header)]
    for module in (auth, projects, jobs, stream, datasets, artifacts, inference, deployments, exports):
        app.include_router(module.router, dependencies=client_dependency)
    app.include_router(internal.router)
    app.include_router(ops.router)
    app.include_router(serving.router)  # OpenAI clients send no X-Arkor-Client
    return app
