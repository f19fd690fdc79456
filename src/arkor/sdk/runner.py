"""`create_arkor` / `is_arkor` (the project manifest) and `run_trainer` (what `arkor start` runs).

The entry (default `src/arkor/index.py`) is loaded as a package under a private module name, so
the project's relative imports (`from .trainer import trainer`) work and the project's own
folder, also named `arkor`, never shadows this library.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

from arkor.errors import ArkorError

from .project import enclosing_project_root, find_project_root, pinned_project_root

DEFAULT_ENTRY = Path("src") / "arkor" / "index.py"
ENTRY_EXPORT_MESSAGE = (
    "Training entry must export `arkor` (from create_arkor(...)) or `trainer` "
    "(from create_trainer(...)), or default-export one of them."
)


class TrainingEntryError(ArkorError):
    """The training entry file is missing or exports no trainer."""


@dataclass(frozen=True)
class Arkor:
    """The frozen manifest `{_kind: "arkor", trainer}`; read by attribute or like a mapping."""

    trainer: Any = None
    _kind: str = "arkor"

    def __getitem__(self, key: str) -> Any:
        if key in ("trainer", "_kind"):
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


def create_arkor(*, trainer: Any = None) -> Arkor:
    """The project manifest. Only the `trainer` slot exists today (deploy/eval are roadmap)."""
    return Arkor(trainer=trainer)


def is_arkor(value: Any) -> bool:
    """True for a manifest: a mapping or object whose `_kind` is `"arkor"`."""
    if value is None:
        return False
    if isinstance(value, (dict, MappingProxyType, Arkor)):
        return value.get("_kind") == "arkor"
    return getattr(value, "_kind", None) == "arkor"


def is_trainer(value: Any) -> bool:
    """Duck typing, as the original: callable `start`, `wait` and `cancel`."""
    return value is not None and all(callable(getattr(value, name, None)) for name in ("start", "wait", "cancel"))


def _trainer_of_manifest_or_trainer(value: Any) -> Any:
    if is_arkor(value):
        inner = (
            value.get("trainer")
            if isinstance(value, (dict, MappingProxyType, Arkor))
            else getattr(value, "trainer", None)
        )
        return inner if is_trainer(inner) else None
    return value if is_trainer(value) else None


def pick_trainer(module: Any) -> Any:
    """The trainer a module exports: `arkor`, then `trainer`, then `default`, then `default.trainer`."""
    found = _trainer_of_manifest_or_trainer(getattr(module, "arkor", None))
    if found is not None:
        return found
    if is_trainer(getattr(module, "trainer", None)):
        return module.trainer
    default = getattr(module, "default", None)
    found = _trainer_of_manifest_or_trainer(default)
    if found is not None:
        return found
    nested = default.get("trainer") if isinstance(default, dict) else getattr(default, "trainer", None)
    if is_trainer(nested):
        return nested
    raise TrainingEntryError(ENTRY_EXPORT_MESSAGE)


def resolve_entry(entry: str | os.PathLike[str] | None, cwd: str | os.PathLike[str] | None = None) -> Path:
    """An explicit entry is relative to `cwd` (default: the current folder, like any path argument);
    the default entry lives in the project found upward from there."""
    if entry is None:
        return (find_project_root(cwd or os.getcwd()) / DEFAULT_ENTRY).resolve()
    path = Path(entry)
    return (path if path.is_absolute() else Path(cwd or os.getcwd()) / path).resolve()


def load_entry(entry: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None) -> ModuleType:
    """Import the entry file as a module of a private package named after its folder's path.

    While it runs, the project root (`cwd` when given, else the project around the entry) is
    pinned, so trainers created by the import resolve data and state against their own project.
    """
    path = resolve_entry(entry, cwd)
    if not path.is_file():
        raise TrainingEntryError(f"Training entry not found: {path}. Provide a path or create src/arkor/index.py.")
    folder = path.parent
    package = "_arkor_project_" + hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    if package not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            package, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
        if (folder / "__init__.py").is_file():
            assert spec.loader is not None
            spec.loader.exec_module(module)
    name = f"{package}.{path.stem}"
    # Re-import each run so an edited entry is picked up (the package's other modules stay cached).
    sys.modules.pop(name, None)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    root = Path(cwd).resolve() if cwd is not None else enclosing_project_root(folder)
    try:
        with pinned_project_root(root) if root is not None else contextlib.nullcontext():
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def run_trainer(
    entry: str | os.PathLike[str] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    echo: Callable[[str], Any] = print,
) -> Any:
    """Load the entry, then `start()` and `wait()` its trainer; returns the `TrainingResult`.

    Resolves also when the job failed or was cancelled (inspect `result.job.status`).
    `echo` receives `Started job <id>` and `Job <id> finished with status=<status>`.
    """
    trainer = pick_trainer(load_entry(entry, cwd))
    started = trainer.start()
    job_id = getattr(started, "job_id", None) or (started.get("jobId") if isinstance(started, dict) else None)
    echo(f"Started job {job_id}")
    result = trainer.wait()
    echo(f"Job {job_id} finished with status={result.job.status}")
    return result
