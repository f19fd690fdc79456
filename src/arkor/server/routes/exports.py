"""`GET /v1/jobs/:id/export?format=adapter|merged|gguf[&checkpoint=N]`: a downloadable export of a job's
final adapter (or checkpoint N).

- `adapter`: a zip of the PEFT adapter folder;
- `merged`: a zip of the standalone merged model (safetensors + tokenizer), loadable by plain
  `transformers.AutoModelForCausalLM.from_pretrained`;
- `gguf`: one `.gguf` file (f16 weights, llama architecture; Llama-family bases only, else 400).

Exports are built once per adapter version under `<data dir>/exports/` (`export_builds.py`) and then
served from there. Another org's job is 404.
"""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from arkor.errors import ArkorError, ModelNotAvailableError
from arkor.protocol import JobConfig
from arkor.protocol.artifacts import adapter_label

from ..adapters import adapter_folder, has_adapter
from ..deps import MAX_INT64, ScopeDep, ServicesDep, load_job
from ..errors import V1_RESPONSES, ApiError, not_found
from ..export_builds import build_export

router = APIRouter(tags=["artifacts"], responses=V1_RESPONSES)

ExportFormat = Literal["adapter", "merged", "gguf"]


@router.get(
    "/v1/jobs/{job_id}/export",
    summary="Download an export: the adapter (zip), a merged standalone model (zip) or a GGUF file",
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "adapter and merged: a zip; gguf: the .gguf file",
        }
    },
)
async def export_job(
    services: ServicesDep,
    scope: ScopeDep,
    job_id: str,
    format: Annotated[ExportFormat, Query(description="adapter | merged | gguf")] = "adapter",
    checkpoint: Annotated[
        int | None, Query(ge=0, le=MAX_INT64, description="Export checkpoint N instead of the final adapter")
    ] = None,
) -> FileResponse:
    job = load_job(services, scope, job_id)
    adapter_dir = await anyio.to_thread.run_sync(adapter_folder, services, job.id, checkpoint)
    if not has_adapter(adapter_dir):
        what = "Final adapter" if checkpoint is None else f"Checkpoint step {checkpoint}"
        raise not_found(f"{what} of job `{job.id}` (the job is {job.status})")
    model_id = JobConfig.model_validate(job.config).model
    label = adapter_label(checkpoint)
    exports_root = services.settings.data_dir / "exports" / job.id
    try:
        path = await services.pools.run("export", build_export, exports_root, adapter_dir, model_id, format, label)
    except ModelNotAvailableError as exc:
        raise ApiError(400, str(exc), code="model_not_available") from None
    except ArkorError as exc:
        raise ApiError(
            400, str(exc), code="export_unsupported", param=getattr(exc, "field", None) or "format"
        ) from None
    suffix = "" if checkpoint is None else f"-{label}"
    download = {
        "adapter": f"{job.id}{suffix}-adapter.zip",
        "merged": f"{job.id}{suffix}-merged.zip",
        "gguf": f"{job.id}{suffix}.gguf",
    }[format]
    media = "application/octet-stream" if format == "gguf" else "application/zip"
    return FileResponse(path, media_type=media, filename=download)
