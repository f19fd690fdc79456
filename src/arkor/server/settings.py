"""`ServerSettings`: every knob of the training backend, read from `ARKOR_*` environment variables.

Passed explicitly to `create_app(settings)`; no module-level settings object exists.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
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
    """Where jobs run: `local` (worker subprocesses on this machine), `ray` (actors on a Ray cluster), or the
    name of an executor added with `arkor.server.executors.register_executor`."""
    ray_address: str | None = Field(default=None, validation_alias=AliasChoices("ARKOR_RAY_ADDRESS", "RAY_ADDRESS"))
    """The Ray cluster for `executor=ray` (`host:port` of its GCS, or `ray://...`); env ARKOR_RAY_ADDRESS or RAY_ADDRESS."""
    ray_namespace: str = "arkor"
    """Ray namespace of the job actors; replicas of one backend must share it."""
    ray_num_cpus: float = Field(default=1.0, ge=0)
    """CPUs each job's Ray actor asks for."""
    ray_num_gpus: float = Field(default=0.0, ge=0)
    """GPUs each job's Ray actor asks for (set 1 on a GPU cluster: the worker then trains on CUDA)."""
    ray_max_pending_jobs: int = Field(default=64, ge=1)
    """Jobs this replica hands to Ray at once; beyond the cluster's room they wait in Ray's queue."""
    artifacts_url: str | None = None
    """Where artifacts live: a folder or any fsspec URL (e.g. `s3://bucket/arkor`); default `<data_dir>/artifacts`."""
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
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0)
    """Largest dataset or artifact upload accepted."""

    # --- Request limits and access (HTTP hardening) ---
    max_json_body_bytes: int = Field(default=1024**2, gt=0)
    """Largest JSON request body (jobs, projects, inference, deployments); 413 beyond it, refused before parsing."""
    max_event_batch_bytes: int = Field(default=16 * 1024**2, gt=0)
    """Largest body of one worker event batch (`POST /internal/jobs/<id>/events`)."""
    max_event_streams: int = Field(default=512, ge=1)
    """Job event streams (SSE) open at once on this process; 429 beyond it."""
    max_event_streams_per_token: int = Field(default=32, ge=1)
    """Job event streams one bearer token may hold open at once; 429 beyond it."""
    max_blocking_calls: int = Field(default=4, ge=1)
    """Inference, export and dataset-validation calls running at once; more wait their turn (the server's
    other threads stay free for every other request)."""
    allow_anonymous: bool | None = None
    """Anonymous sign-up (`POST /v1/auth/anonymous`). Unset: on when the server listens on loopback only,
    off otherwise. `ARKOR_ALLOW_ANONYMOUS=1` turns it on anywhere, `0` off everywhere."""
    bind_host: str | None = None
    """The address the server listens on (set by the server runner); decides the `allow_anonymous` default.
    Unset (an app served some other way), the address each request arrived on decides."""

    # ---- what tenants may make the server read or fetch, and how much they may store ------------------
    file_dataset_roots: str = ""
    """Colon-separated folders a job's server-side `file` dataset path (symlinks resolved) must lie under;
    empty (the default): `file` sources are refused and datasets are uploaded (`POST /v1/datasets`)."""
    model_roots: str = ""
    """Colon-separated folders a local model folder named as `baseModel` (inference) must lie under;
    empty: only registered model ids (and repos already in the Hugging Face cache) are accepted."""
    blob_allow_private: bool = False
    """Let `blob` URLs reach loopback, private, link-local and other non-public addresses (tests, labs)."""
    blob_max_bytes: int = Field(default=2 * 1024**3, gt=0)
    """Largest `blob` dataset download; a bigger one fails the job."""
    blob_timeout_s: float = Field(default=300.0, gt=0)
    """Longest a `blob` download may take in all (connecting, each read, the whole body)."""
    max_dataset_rows: int = Field(default=1_000_000, gt=0)
    """Most rows an uploaded dataset may have."""
    max_dataset_row_bytes: int = Field(default=16 * 1024**2, gt=0)
    """Largest single row (a JSONL line, a CSV record, a Parquet row, a whole JSON-array file)."""
    max_dataset_decoded_bytes: int = Field(default=1024**3, gt=0)
    """Largest decoded size of an upload (what a compressed Parquet file expands to)."""
    org_storage_quota_bytes: int = Field(default=20 * 1024**3, gt=0)
    """Bytes of uploaded datasets one org may keep on this backend."""
    upload_validation_workers: int = Field(default=2, ge=1)
    """Uploads validated at once (the `validation` pool of the blocking pools; more wait their turn)."""

    def roots(self, value: str) -> list[Path]:
        """The resolved folders of a colon-separated roots setting."""
        return [Path(part).expanduser().resolve() for part in value.split(":") if part.strip()]

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'arkor.db').resolve()}"
