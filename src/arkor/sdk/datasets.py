"""Local dataset files: uploaded once per content hash, then referenced by id.

`{"type": "file", "path": ...}` in a trainer becomes `{"type": "uploaded", "datasetId": ...}` in
the job config. `.arkor/datasets.json` maps sha256 -> {datasetId, baseUrl, orgSlug, projectSlug},
so a re-run against the same backend and project does not upload again.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from arkor.protocol import FileDatasetSource, UploadedDatasetSource

from .client import scope_params
from .errors import TrainerConfigError


def cache_path(cwd: Path) -> Path:
    return cwd / ".arkor" / "datasets.json"


def _read_cache(cwd: Path) -> dict[str, Any]:
    try:
        data = json.loads(cache_path(cwd).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(cwd: Path, cache: dict[str, Any]) -> None:
    path = cache_path(cwd)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")  # unique per writer, threads included
    temp.write_text(json.dumps(cache, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, path)


class UploadPlan:
    """What to upload (or the cached id), computed without I/O on the network."""

    def __init__(self, source: FileDatasetSource, cwd: Path, base_url: str, scope: Any) -> None:
        path = Path(source.path).expanduser()
        self.path = path if path.is_absolute() else cwd / path
        if not self.path.is_file():
            raise TrainerConfigError([("dataset.path", f"file not found: {self.path}")])
        self.cwd = cwd
        self.content = self.path.read_bytes()
        self.sha256 = hashlib.sha256(self.content).hexdigest()
        self.key = {"baseUrl": base_url, **scope_params(scope)}

    def cached(self) -> UploadedDatasetSource | None:
        entry = _read_cache(self.cwd).get(self.sha256)
        if isinstance(entry, dict) and entry.get("datasetId") and all(entry.get(k) == v for k, v in self.key.items()):
            return UploadedDatasetSource(dataset_id=entry["datasetId"], filename=self.path.name)
        return None

    def remember(self, dataset_id: str) -> UploadedDatasetSource:
        cache = _read_cache(self.cwd)
        cache[self.sha256] = {"datasetId": dataset_id, **self.key}
        _write_cache(self.cwd, cache)
        return UploadedDatasetSource(dataset_id=dataset_id, filename=self.path.name)


def upload_if_needed(source: Any, client: Any, scope: Any, cwd: Path) -> Any:
    """The source to put in the job config (sync client)."""
    if not isinstance(source, FileDatasetSource):
        return source
    plan = UploadPlan(source, cwd, client.base_url, scope)
    cached = plan.cached()
    if cached is not None:
        return cached
    answer = client.upload_dataset(scope, content=plan.content, filename=plan.path.name)
    return plan.remember(answer.dataset_id)


async def upload_if_needed_async(source: Any, client: Any, scope: Any, cwd: Path) -> Any:
    """`upload_if_needed` with an `AsyncCloudApiClient`."""
    if not isinstance(source, FileDatasetSource):
        return source
    plan = UploadPlan(source, cwd, client.base_url, scope)
    cached = plan.cached()
    if cached is not None:
        return cached
    answer = await client.upload_dataset(scope, content=plan.content, filename=plan.path.name)
    return plan.remember(answer.dataset_id)
