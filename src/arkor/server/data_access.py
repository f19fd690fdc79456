"""What a job's worker may read for its dataset: the backend's settings turned into the spec's
`DatasetAccess`, which the worker enforces where it opens the source (the same rules the job-creation
check applies, so a job that slipped past one still meets the other)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from arkor.protocol import DatasetAccess

from .settings import ServerSettings


def worker_dataset_access(
    settings: ServerSettings, *, org_id: str, uploaded_paths: Sequence[Path] = ()
) -> DatasetAccess:
    """The policy for one job of `org_id`: the configured file roots, plus the stored uploads the job
    was resolved to (its training and eval sets; never the whole datasets folder, which holds other
    orgs' files)."""
    roots = [str(root) for root in settings.roots(settings.file_dataset_roots)]
    roots.extend(str(path.resolve()) for path in uploaded_paths)
    return DatasetAccess(
        file_roots=roots,
        blob_allow_private=settings.blob_allow_private,
        blob_max_bytes=settings.blob_max_bytes,
        blob_timeout_s=settings.blob_timeout_s,
        cache_scope=org_id,
    )
