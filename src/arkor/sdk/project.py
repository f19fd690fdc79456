"""Where the project is: the nearest folder, upward from where a command runs, that holds a project.

Like git, every command works from any folder inside a project: `cd data && arkor start` trains
the project above. A folder is a project root when it holds the entry (`src/arkor/index.py`),
the project state (`.arkor/state.json`) or a build (`.arkor/build/`). A bare `.arkor/` is not
enough: the user's home holds one (credentials, the embedded backend). Outside any project the
starting folder itself is used, so `arkor init` and the first `arkor start` behave as before.

While `load_entry` imports a project's code, the root it found is pinned for that import, so a
trainer created there resolves its dataset paths and state against its own project even when the
script that called `run_trainer(path)` runs somewhere else.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

ENTRY = Path("src") / "arkor" / "index.py"
_MARKERS = (ENTRY, Path(".arkor") / "state.json", Path(".arkor") / "build")

_pinned_root: ContextVar[Path | None] = ContextVar("arkor_project_root", default=None)


def is_project_root(folder: Path) -> bool:
    return any((folder / marker).exists() for marker in _MARKERS)


def enclosing_project_root(start: str | os.PathLike[str]) -> Path | None:
    """The nearest project root at or above `start`, or None outside any project."""
    origin = Path(start).resolve()
    return next((folder for folder in (origin, *origin.parents) if is_project_root(folder)), None)


def find_project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest folder at or above `start` (default: the pinned root, else the current folder)
    that is a project root; `start` itself when none is."""
    if start is None:
        pinned = _pinned_root.get()
        if pinned is not None:
            return pinned
        start = os.getcwd()
    return enclosing_project_root(start) or Path(start).resolve()


@contextlib.contextmanager
def pinned_project_root(root: Path) -> Iterator[None]:
    """Make `find_project_root()` answer `root` while the project's own code is imported."""
    token = _pinned_root.set(root)
    try:
        yield
    finally:
        _pinned_root.reset(token)
