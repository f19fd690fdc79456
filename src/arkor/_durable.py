"""Durable writes shared by every part that publishes a folder by renaming it into place (the model
cache, resumable checkpoints): after the files are flushed, the folder holding the new entry is
flushed too, so the rename survives a crash."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Flush `folder`'s entries to disk; a no-op where folders cannot be opened (the rename is still atomic)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
