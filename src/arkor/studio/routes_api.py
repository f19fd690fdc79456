"""Studio's `/api/*` routes for identity, manifest, jobs, events, artifacts, training and chat.

Each route proxies one backend call through the SDK's client; downloads, the SSE and chat routes
stream the upstream body through unchanged (`_relay`). Deployments live in `routes_deployments.py`.
"""

from __future__ import annotations

import functools
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from .backend import Connection, connect, connect_with_project, error, error_response
from .manifest import ManifestError, read_manifest
from .models import model_list
from .run_metrics import events_csv, summarise_events
from .train_runs import RunInProgressError, resolve_train_file, start_command

logger = logging.getLogger(__name__)
router = APIRouter()

STREAM_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}


def project_dir(request: Request) -> Path:
    return request.app.state.studio.project_dir


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; invalid or non-object JSON reads as `{}` (the original's leniency)."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _streamed(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():  # as sent: content-length/-encoding stay true
            yield chunk
    finally:
        await response.aclose()


async def _relay(
    connection: Connection,
    request: httpx.Request,
    *,
    headers: dict[str, str] | None = None,
    keep: tuple[str, ...] = ("content-type",),
) -> Response:
    """Send `request` and hand its body to the browser as it arrives, with the `keep` headers.

    The connection's client stays open until the body has been sent: closing it when the route
    returned (as a `with` block does) cut every download right after the 200. A non-2xx answer
    raises CloudApiError (the caller maps it to Studio's JSON error).
    """
    client = connection.client
    try:
        upstream = await client.send_stream(request)
    except BaseException:
        await client.aclose()
        raise
    passed = {name: upstream.headers[name] for name in (*keep, "content-encoding") if name in upstream.headers}
    media_type = passed.pop("content-type", None)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in _streamed(upstream):
                yield chunk
        finally:
            await client.aclose()

    return StreamingResponse(
        body(), status_code=upstream.status_code, headers={**passed, **(headers or {})}, media_type=media_type
    )


@router.get("/api/credentials")
async def credentials(request: Request) -> Response:
    try:
        connection = await connect(project_dir(request), mint=True)
        assert connection is not None
        await connection.client.aclose()
    except Exception as exc:
        return error_response(exc)
    creds, state = connection.credentials, connection.state
    anonymous = creds.get("mode") != "oauth"
    # Never the backend's bearer token: the browser has no use for it, and a page must not be able to leak it.
    return JSONResponse(
        {
            "mode": "anon" if anonymous else "oauth",
            "baseUrl": connection.client.base_url,
            "orgSlug": state.org_slug if state else (creds.get("orgSlug") if anonymous else None),
            "projectSlug": state.project_slug if state else None,
        }
    )


@router.get("/api/me")
async def me(request: Request) -> Response:
    try:
        connection = await connect(project_dir(request), mint=True)
        assert connection is not None
        async with connection.client as client:
            return JSONResponse((await client.get_me()).to_wire())
    except Exception as exc:
        return error_response(exc)


@router.get("/api/manifest")
async def manifest(request: Request) -> Response:
    try:
        return JSONResponse(await read_manifest(project_dir(request)))
    except ManifestError as exc:
        return error(400, str(exc))


async def _scoped(request: Request) -> Connection | None:
    """A connection with usable project state, or None (no credentials or no/stale state)."""
    connection = await connect(project_dir(request), mint=False)
    if connection is None:
        return None
    if connection.state is None:
        await connection.client.aclose()
        return None
    return connection


@router.get("/api/jobs")
async def list_jobs(request: Request) -> Response:
    try:
        connection = await _scoped(request)
        if connection is None:
            return JSONResponse({"jobs": []})
        async with connection.client as client:
            return JSONResponse((await client.list_jobs(connection.state)).to_wire())
    except Exception as exc:
        return error_response(exc)


# Bounds of what the summary and export routes read from the backend.
SUMMARY_MAX_JOBS = 50
EVENTS_MAX_BYTES = 8 * 1024 * 1024
EVENTS_MAX_COUNT = 50_000
SUMMARY_CACHE_SIZE = 500


class EventsTooLargeError(Exception):
    pass


async def _read_events(connection: Connection, job_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`(job, events)` from the backend, reading at most EVENTS_MAX_BYTES of its answer."""
    request = connection.client.build_request(
        "GET", f"/v1/jobs/{_quote(job_id)}", scope=connection.state, params={"events": "true"}
    )
    upstream = await connection.client.send_stream(request)
    body = bytearray()
    try:
        async for chunk in upstream.aiter_bytes():
            body += chunk
            if len(body) > EVENTS_MAX_BYTES:
                raise EventsTooLargeError(
                    f"Job `{job_id}` has over {EVENTS_MAX_BYTES // (1024 * 1024)} MiB of events; "
                    "read them with `arkor jobs logs` instead."
                )
    finally:
        await upstream.aclose()
    answer = json.loads(bytes(body))
    events = [e for e in (answer.get("events") or [])[:EVENTS_MAX_COUNT] if isinstance(e, dict)]
    return answer.get("job") or {}, events


def _summary_cache(request: Request) -> OrderedDict[str, dict[str, Any]]:
    cache = getattr(request.app.state, "run_summaries", None)
    if cache is None:
        cache = request.app.state.run_summaries = OrderedDict()
    return cache


@router.get("/api/jobs/summary")
async def jobs_summary(request: Request, limit: int = SUMMARY_MAX_JOBS) -> Response:
    """`{summaries: {jobId: {finalLoss, evalLoss, accuracy, scorer, steps}}, limit, omitted}` for the newest
    `limit` (at most SUMMARY_MAX_JOBS) listed jobs. Completed jobs' summaries are kept (they no longer change)."""
    limit = max(1, min(limit, SUMMARY_MAX_JOBS))
    try:
        connection = await _scoped(request)
        if connection is None:
            return JSONResponse({"summaries": {}, "limit": limit, "omitted": 0})
        cache = _summary_cache(request)
        state = connection.state
        assert state is not None  # _scoped answers only connections with a project state
        async with connection.client as client:
            jobs = (await client.list_jobs(state)).jobs
            chosen = jobs[:limit]
            summaries: dict[str, dict[str, Any]] = {}
            limiter = anyio.CapacityLimiter(4)

            async def one(job: Any) -> None:
                key = f"{state.project_slug}/{job.id}"
                if key in cache:
                    summaries[job.id] = cache[key]
                    return
                async with limiter:
                    try:
                        _, events = await _read_events(connection, job.id)
                        summary = summarise_events(events)
                    except EventsTooLargeError as exc:
                        summary = {**summarise_events([]), "error": str(exc)}
                    except Exception as exc:  # one unreadable job must not blank the whole list's metrics
                        logger.warning("summary of job %s failed: %s", job.id, exc)
                        summaries[job.id] = {
                            **summarise_events([]),
                            "error": f"Could not read this job's events: {exc}",
                        }
                        return
                summaries[job.id] = summary
                if job.status == "completed":  # failed/cancelled jobs can be resumed, so their events can grow
                    cache[key] = summary
                    while len(cache) > SUMMARY_CACHE_SIZE:
                        cache.popitem(last=False)

            async with anyio.create_task_group() as group:
                for job in chosen:
                    group.start_soon(one, job)
        return JSONResponse({"summaries": summaries, "limit": limit, "omitted": len(jobs) - len(chosen)})
    except Exception as exc:
        return error_response(exc)


@router.get("/api/jobs/{job_id}/export")
async def export_job(request: Request, job_id: str, format: str = "json") -> Response:
    """The job's events as a download: `format=csv` (one row per event) or `format=json` (job, summary, events)."""
    if format not in ("csv", "json"):
        return error(400, f"Unknown export format `{format}`: use format=csv or format=json.")
    try:
        connection = await _scoped(request)
        if connection is None:
            return error(404, "No project state: this workspace has no jobs yet.")
        async with connection.client:
            job, events = await _read_events(connection, job_id)
    except EventsTooLargeError as exc:
        return error(413, str(exc))
    except Exception as exc:
        return error_response(exc)
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in job_id)
    if format == "csv":
        return Response(
            events_csv(events),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}-events.csv"'},
        )
    body = json.dumps({"job": job, "summary": summarise_events(events), "events": events}, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{stem}-events.json"'},
    )


async def _job_call(request: Request, call: Any) -> Response:
    """Run `call(client, state)` for a job route; no state is a 404 (no such job here)."""
    try:
        connection = await _scoped(request)
        if connection is None:
            return error(404, "No project state: this workspace has no jobs yet.")
        async with connection.client as client:
            return await call(client, connection.state)
    except Exception as exc:
        return error_response(exc)


@router.get("/api/jobs/{job_id}")
async def get_job(request: Request, job_id: str) -> Response:
    async def call(client: Any, state: Any) -> Response:
        return JSONResponse((await client.get_job(job_id, state)).to_wire())

    return await _job_call(request, call)


@router.post("/api/jobs/{job_id}/cancel")
async def cancel_job(request: Request, job_id: str) -> Response:
    async def call(client: Any, state: Any) -> Response:
        await client.cancel_job(job_id, state)
        return JSONResponse({"job": (await client.get_job(job_id, state)).job.to_wire()})

    return await _job_call(request, call)


@router.get("/api/jobs/{job_id}/artifacts")
async def list_artifacts(request: Request, job_id: str) -> Response:
    async def call(client: Any, state: Any) -> Response:
        return JSONResponse((await client.list_artifacts(job_id, state)).to_wire())

    return await _job_call(request, call)


@router.get("/api/jobs/{job_id}/artifacts/{pathname:path}")
async def download_artifact(request: Request, job_id: str, pathname: str) -> Response:
    try:
        connection = await _scoped(request)
        if connection is None:
            return error(404, "No project state: this workspace has no jobs yet.")
        path = "/".join(_quote(part) for part in pathname.split("/"))
        upstream = connection.client.build_request(
            "GET", f"/v1/jobs/{_quote(job_id)}/artifacts/{path}", scope=connection.state
        )
        filename = pathname.rsplit("/", 1)[-1].replace('"', "").replace("\\", "")
        return await _relay(
            connection,
            upstream,
            keep=("content-type", "content-length", "etag"),
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    except Exception as exc:
        return error_response(exc)


@router.get("/api/jobs/{job_id}/checkpoints")
async def list_checkpoints(request: Request, job_id: str) -> Response:
    async def call(client: Any, state: Any) -> Response:
        return JSONResponse((await client.list_checkpoints(job_id, state)).to_wire())

    return await _job_call(request, call)


@router.get("/api/jobs/{job_id}/events")
async def job_events(request: Request, job_id: str) -> Response:
    try:
        connection = await _scoped(request)
        if connection is None:
            return error(400, "No project state")
        last_event_id = request.headers.get("last-event-id") or None
        upstream = connection.client.event_stream_request(job_id, connection.state, last_event_id=last_event_id)
        return await _relay(connection, upstream, headers=STREAM_HEADERS)
    except Exception as exc:
        return error_response(exc)


@router.post("/api/train")
async def train(request: Request) -> Response:
    studio = request.app.state.studio
    body = await _json_body(request)
    file = None
    if isinstance(body.get("file"), str) and body["file"]:
        try:
            file = resolve_train_file(studio.project_dir, body["file"])
        except ValueError as exc:
            return error(400, str(exc))
    default_entry = studio.project_dir / "src" / "arkor" / "index.py"
    if file is None and default_entry.is_file():
        # Naming the entry makes `arkor start` rebuild from the current sources, so a run always
        # trains what the manifest just showed (the original could run a stale build).
        file = default_entry
    dry_run = bool(body.get("dryRun"))
    try:
        run = await studio.train_runs.start(studio.project_dir, start_command(file, dry_run=dry_run), dry_run=dry_run)
    except RunInProgressError as exc:
        return error(409, str(exc))
    except OSError as exc:
        return Response(f"\n---\nfailed to start: {exc}\n", media_type="text/plain; charset=utf-8")
    return StreamingResponse(run.follow(), media_type="text/plain; charset=utf-8", headers=STREAM_HEADERS)


@router.get("/api/train")
async def train_status(request: Request) -> Response:
    """`{running, run}`: `run` is the current or last run of this Studio session (null when none)."""
    studio = request.app.state.studio
    run = studio.train_runs.current(studio.project_dir)
    return JSONResponse(
        {"running": studio.train_runs.is_running(studio.project_dir), "run": run.to_wire() if run else None}
    )


@router.get("/api/train/output")
async def train_output(request: Request) -> Response:
    """The current (or last) run's console: what is kept so far, then live until the exit trailer."""
    studio = request.app.state.studio
    run = studio.train_runs.current(studio.project_dir)
    if run is None:
        return error(404, "No training run in this Studio session yet.")
    return StreamingResponse(run.follow(), media_type="text/plain; charset=utf-8", headers=STREAM_HEADERS)


@router.post("/api/train/stop")
async def train_stop(request: Request) -> Response:
    studio = request.app.state.studio
    if not await studio.train_runs.stop(studio.project_dir):
        return error(409, "No training run is in progress.")
    run = studio.train_runs.current(studio.project_dir)
    return JSONResponse({"stopped": True, "run": run.to_wire() if run else None})


@router.get("/api/models")
async def models() -> Response:
    """The base models this arkor can train and serve, from the engine's one registry."""
    return JSONResponse(model_list())


@functools.cache
def _presets_body() -> bytes:
    """The presets come from files inside the installed package: read and rendered once per process."""
    from arkor.templates.scoring import task_presets

    return json.dumps(task_presets().to_wire()).encode("utf-8")


@router.get("/api/presets")
async def presets() -> Response:
    """Each project template's system prompt and answer schema, for the Playground and endpoint samples."""
    return Response(_presets_body(), media_type="application/json")


@router.post("/api/inference/chat")
async def chat(request: Request) -> Response:
    raw = await request.body()
    try:
        connection = await connect_with_project(project_dir(request))
        upstream = connection.client.build_request(
            "POST",
            "/v1/inference/chat",
            scope=connection.state,
            content=raw,
            headers={"Content-Type": "application/json"},
        )
        return await _relay(connection, upstream, headers=STREAM_HEADERS)
    except Exception as exc:
        return error_response(exc)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
