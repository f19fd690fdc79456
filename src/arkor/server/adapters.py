"""Where a job's adapter (final, or a checkpoint) is on this machine, wherever artifacts are stored.

Inference, serving and exports all read an adapter as a local folder: the artifact store's own
folder when it is local, else a cached copy of the files the artifact index names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from arkor.protocol import AdapterRef
from arkor.protocol.artifacts import ADAPTER_CONFIG, ARTIFACT_PATHS

from . import artifacts_store
from .storage import storage_for

if TYPE_CHECKING:
    from .app import Services


def ref_step(ref: AdapterRef) -> int | None:
    """The checkpoint step an adapter reference names; None for the final adapter."""
    return None if ref.kind == "final" else ref.step


def adapter_folder(services: Services, job_id: str, step: int | None) -> Path:
    """A local folder with the files of the job's final adapter (`step=None`) or of checkpoint `step`.

    The folder may be empty or missing: `has_adapter` says whether an adapter is there."""
    prefix = str(ARTIFACT_PATHS.adapter(step))
    storage = storage_for(services.settings)
    if storage.is_local:
        return storage.local_folder(job_id, prefix, {})
    files = artifacts_store.files_under(services.db, job_id, prefix)
    if not files:
        return storage.staging_dir(job_id) / "missing" / prefix
    return storage.local_folder(job_id, prefix, files)


def has_adapter(folder: Path) -> bool:
    return (folder / ADAPTER_CONFIG).is_file()
