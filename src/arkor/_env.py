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
