"""Downloadable exports of an adapter (zip of the adapter, zip of the merged model, or a GGUF file),
built once per adapter version (keyed by the adapter weights' size and mtime) under
`<data dir>/exports/<job>/`, atomically, and then served from there."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

from arkor.protocol.artifacts import ADAPTER_CONFIG, ADAPTER_WEIGHTS

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
            result = export_job_artifacts(
                adapter_dir,
                scratch_dir,
                merge=fmt == "merged",
                gguf=fmt == "gguf",
                model_id=model_id,
                progress=False,
            )
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
