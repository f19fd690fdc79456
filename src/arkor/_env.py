"""Where arkor keeps its files. The one place that reads arkor's path settings from the environment."""

from __future__ import annotations

import os
from pathlib import Path


def arkor_home() -> Path:
    """`~/.arkor` (credentials, the embedded backend's data, Studio's token); `ARKOR_HOME` overrides."""
    override = os.environ.get("ARKOR_HOME")
    return Path(override) if override else Path.home() / ".arkor"


def cache_dir() -> Path:
    """`~/.cache/arkor` (converted models, downloaded datasets); `ARKOR_CACHE_DIR` overrides."""
    override = os.environ.get("ARKOR_CACHE_DIR")
    return Path(override) if override else Path.home() / ".cache" / "arkor"


def infer_threads() -> int:
    """CPU threads for decoding (`ARKOR_INFER_THREADS`, default 1). Decoding one token is many tiny
    matmuls: on a small CPU one thread is as fast as two when idle and several times faster as soon as
    anything else (a training worker, a test) uses a core, because OpenMP threads then spin-wait."""
    try:
        return max(1, int(os.environ.get("ARKOR_INFER_THREADS", "1")))
    except ValueError:
        return 1
