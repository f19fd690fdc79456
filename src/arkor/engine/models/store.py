"""The converted-model cache: `cache_dir()/models/<safe-id>/`, built once, atomically, under a lock.

A build runs in a temporary sibling folder; the marker file (`arkor-model.json`) is written last and
the folder is renamed into place, so a crash leaves either nothing or a folder without the marker,
which is never used: it is removed and rebuilt. A per-model file lock keeps two processes from
building the same model at once (the second waits, then finds the finished folder).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from arkor import _env
from arkor._durable import fsync_dir
from arkor.engine.models.registry import MARKER_FILE, read_marker, safe_model_dirname

logger = logging.getLogger(__name__)

# Bump to make every cached folder be rebuilt (e.g. the conversion recipe changed).
STORE_FORMAT = 1

StageReporter = Callable[[str], None]
Builder = Callable[[Path, StageReporter], dict]


def models_dir() -> Path:
    return _env.cache_dir() / "models"


def model_cache_path(model_id: str) -> Path:
    return models_dir() / safe_model_dirname(model_id)


def _marker_is_current(folder: Path, model_id: str, recipe: str) -> bool:
    marker = read_marker(folder)
    return bool(
        marker
        and marker.get("modelId") == model_id
        and marker.get("recipe") == recipe
        and marker.get("storeFormat") == STORE_FORMAT
    )


def cached_model_dir(model_id: str, recipe: str) -> Path | None:
    """The finished cache folder for a model, or None when it has not been built (or is stale)."""
    folder = model_cache_path(model_id)
    return folder if _marker_is_current(folder, model_id, recipe) else None


def _finalize_tree(folder: Path) -> None:
    """Flush every file to disk and make the tree world-readable (some writers create files 0600,
    which would hide a shared cache from other users)."""
    folder.chmod(0o755)
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            path.chmod(0o755)
        elif path.is_file():
            path.chmod(0o644)
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(folder)


@contextmanager
def _stage_reporter(title: str, progress: bool) -> Iterator[StageReporter]:
    """Yields `report(stage)`. A Rich spinner on stderr when asked for and stderr is a terminal;
    log lines otherwise (library code never prints)."""
    started = time.monotonic()
    use_rich = progress and sys.stderr.isatty()
    if not use_rich:

        def report(stage: str) -> None:
            logger.info("%s: %s (%.1fs)", title, stage, time.monotonic() - started)

        yield report
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task(title)

        def report(stage: str) -> None:
            logger.info("%s: %s", title, stage)
            bar.update(task, description=f"{title}: {stage}")

        yield report
        bar.update(task, description=f"{title}: done")


def ensure_built(model_id: str, *, recipe: str, builder: Builder, title: str, progress: bool = False) -> Path:
    """Return the finished cache folder for `model_id`, building it with `builder(tmp_dir, report)`
    first if needed. `builder` fills `tmp_dir` and returns extra marker fields."""
    ready = cached_model_dir(model_id, recipe)
    if ready is not None:
        return ready
    from filelock import FileLock

    root = models_dir()
    root.mkdir(parents=True, exist_ok=True)
    name = safe_model_dirname(model_id)
    final = root / name
    with FileLock(str(root / f".{name}.lock")):
        if _marker_is_current(final, model_id, recipe):  # another process finished it while we waited
            return final
        _remove_leftovers(root, name)
        tmp = root / f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            with _stage_reporter(title, progress) as report:
                started = time.monotonic()
                extra = builder(tmp, report) or {}
                report("finishing")
                marker = {
                    "modelId": model_id,
                    "recipe": recipe,
                    "storeFormat": STORE_FORMAT,
                    "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "buildSeconds": round(time.monotonic() - started, 2),
                    **extra,
                }
                _finalize_tree(tmp)
                # The marker goes last: its presence is what makes the folder usable.
                marker_path = tmp / MARKER_FILE
                with open(marker_path, "w", encoding="utf-8") as handle:
                    json.dump(marker, handle, indent=2)
                    handle.flush()
                    os.fsync(handle.fileno())
                if final.exists():  # stale (old recipe or no marker): move aside, then delete
                    trash = root / f".{name}.trash-{uuid.uuid4().hex[:8]}"
                    final.rename(trash)
                    shutil.rmtree(trash, ignore_errors=True)
                tmp.rename(final)
                fsync_dir(root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    logger.info("Model %s ready at %s", model_id, final)
    return final


def _remove_leftovers(root: Path, name: str) -> None:
    """Delete temp/trash folders a crashed build left behind, and a final folder with no marker.
    Called under the model's lock, so no live build owns them."""
    for leftover in list(root.glob(f".{name}.tmp-*")) + list(root.glob(f".{name}.trash-*")):
        logger.info("Removing unfinished model build %s", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    final = root / name
    if final.exists() and read_marker(final) is None:
        logger.warning("Removing %s: it has no %s, so its build never finished", final, MARKER_FILE)
        shutil.rmtree(final, ignore_errors=True)
