"""Where arkor keeps its files. The one place that reads arkor's path settings from the environment."""

from __future__ import annotations

import os
from pathlib import Path


def arkor_home() -> Path:
    """`~/.arkor` (credentials, the embedded backend's data, Studio's token); `ARKOR_HOME` overrides."""
    override = os.environ.get("ARKOR_HOME")
    return Path(override) if override else Path.home() / ".arkor"


def cache_dir() -> Path:
    """Converted models and downloaded datasets: `ARKOR_CACHE_DIR`, else `$XDG_CACHE_HOME/arkor`
    (an absolute `XDG_CACHE_HOME` only, as the XDG spec says), else `~/.cache/arkor`."""
    override = os.environ.get("ARKOR_CACHE_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "arkor"


def infer_threads() -> int:
    """CPU threads for decoding (`ARKOR_INFER_THREADS`, default 1). Decoding one token is many tiny
    matmuls: on a small CPU one thread is as fast as two when idle and several times faster as soon as
    anything else (a training worker, a test) uses a core, because OpenMP threads then spin-wait."""
    try:
        return max(1, int(os.environ.get("ARKOR_INFER_THREADS", "1")))
    except ValueError:
        return 1
