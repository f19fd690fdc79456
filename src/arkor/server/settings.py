"""`ServerSettings`: every knob of the training backend, read from `ARKOR_*` environment variables.

Passed explicitly to `create_app(settings)`; no module-level settings object exists.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from arkor._env import arkor_home


def _default_data_dir() -> Path:
    return arkor_home() / "server"


class ServerSettings(BaseSettings):
    """Configuration of one backend process. Env: `ARKOR_<FIELD>` (e.g. `ARKOR_MAX_CONCURRENT_JOBS`)."""

    model_config = SettingsConfigDict(env_prefix="ARKOR_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    """Database file, uploaded datasets, artifacts, worker specs and logs live here."""
    database_url: str | None = None
    """SQLAlchemy URL; default: a SQLite file (WAL) `<data_dir>/arkor.db`. PostgreSQL works too."""
    executor: str = "local"
    """Where jobs run: `local` (worker subprocesses on this machine)."""
    max_concurrent_jobs: int = Field(default=1, ge=1)
    """Jobs running at once; the rest wait in FIFO order."""
    heartbeat_timeout_s: float = Field(default=60.0, gt=0)
    """A running worker silent for this long is stopped and its job failed."""
    cancel_grace_s: float = Field(default=10.0, ge=0)
    """Seconds between SIGTERM and SIGKILL when a worker is stopped."""
    sse_ping_interval_s: float = Field(default=15.0, gt=0)
    """Seconds between `event: ping` keep-alives on an idle event stream."""
    watchdog_interval_s: float = Field(default=1.0, gt=0)
    """How often the dispatch loop checks the queue and the heartbeats even when nothing woke it."""
    public_url: str | None = None
    """The URL workers use to reach this backend's internal API (set by the server runner when unset)."""
    worker_command: list[str] | None = None
    """The worker program; default `[sys.executable, "-m", "arkor.engine.worker"]`. `--spec FILE` is appended."""
    allow_file_datasets: bool = True
    """Whether a job may name a `file` dataset path on the backend's machine (fine for the embedded backend)."""
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0)
    """Largest dataset or artifact upload accepted."""

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'arkor.db').resolve()}"
