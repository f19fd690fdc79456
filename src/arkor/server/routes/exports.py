"""`GET /v1/jobs/:id/export?format=adapter|merged|gguf[&checkpoint=N]`: a downloadable export of a job's
final adapter (or checkpoint N).

- `adapter`: a zip of the PEFT adapter folder;
- `merged`: a zip of the standalone merged model (safetensors + tokenizer), loadable by plain
  `transformers.AutoModelForCausalLM.from_pretrained`;
- `gguf`: one `.gguf` file (f16 weights, llama architecture; Llama-family bases only, else 400).

Exports are built once per adapter version (keyed by the adapter weights' size and mtime) under
`<data dir>/exports/`, atomically, and then served from there. Another org's job is 404.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from arkor.errors import ArkorError, ModelNotAvailableError
from arkor.protocol import JobConfig
from arkor.protocol.artifacts import ADAPTER_CONFIG, ADAPTER_WEIGHTS, adapter_label

from ..adapters import adapter_folder, has_adapter
from ..deps import MAX_INT64, ScopeDep, ServicesDep, load_job
from ..errors import ApiError, not_found

router = APIRouter(tags=["artifacts"])

ExportFormat = Literal["adapter", "merged", "gguf"]
_build_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        return _build_locks.setdefault(key, threading.Lock())


def _zip_folder(folder: Path, target: Path) -> None:
    # Weights barely compress; storing keeps the export fast.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())


def build_export(exports_root: Path, adapter_dir: Path, model_id: str, fmt: str, label: str) -> Path:
    """The export file for this adapter version and format, built on first request."""
    from arkor.engine.export import export_job_artifacts

    weights = adapter_dir / ADAPTER_WEIGHTS
    stat = weights.stat() if weights.is_file() else (adapter_dir / ADAPTER_CONFIG).stat()
    version = hashlib.sha1(f"{adapter_dir}|{stat.st_size}|{stat.st_mtime_ns}|{model_id}".encode()).hexdigest()[:12]
    folder = exports_root / f"{label}-{version}"
    filename = {"adapter": "adapter.zip", "merged": "merged.zip", "gguf": "model.gguf"}[fmt]
    target = folder / filename
    with _lock_for(str(target)):
        if target.is_file():
            return target
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="export-", dir=folder) as scratch:
            scratch_dir = Path(scratch)
            result = export_job_artifacts(adapter_dir, scratch_dir, merge=fmt == "merged", gguf=fmt == "gguf",
                                          model_id=model_id, progress=False)
            partial = scratch_dir / ("partial-" + filename)
            if fmt == "adapter":
                _zip_folder(result.adapter_dir, partial)
            elif fmt == "merged":
                assert result.merged_dir is not None
                _zip_folder(result.merged_dir, partial)
            else:
                assert result.gguf_path is not None
                shutil.move(str(result.gguf_path), partial)
            partial.replace(target)
    return target


@router.get(
    "/v1/jobs/{job_id}/export",
    summary="Download an export: the adapter (zip), a merged standalone model (zip) or a GGUF file",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}},
                                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "adapter and merged: a zip; gguf: the .gguf file"}},
)
async def export_job(
    services: ServicesDep,
    scope: ScopeDep,
    job_id: str,
    format: Annotated[ExportFormat, Query(description="adapter | merged | gguf")] = "adapter",
    checkpoint: Annotated[int | None, Query(ge=0, le=MAX_INT64, description="Export checkpoint N instead of the final adapter")] = None,
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
        raise ApiError(400, str(exc), code="export_unsupported", param=getattr(exc, "field", None) or "format") from None
    suffix = "" if checkpoint is None else f"-{label}"
    download = {"adapter": f"{job.id}{suffix}-adapter.zip", "merged": f"{job.id}{suffix}-merged.zip",
                "gguf": f"{job.id}{suffix}.gguf"}[format]
    media = "application/octet-stream" if format == "gguf" else "application/zip"
    return FileResponse(path, media_type=media, filename=download)
