"""`ArtifactStorage`: where job artifacts live, through fsspec (`ARKOR_ARTIFACTS_URL`).

Layout: `<root>/<job id>/<pathname>` (pathname as the worker reports it, e.g. `final/adapter_model.safetensors`).
The default root is the local folder `<data_dir>/artifacts`; any fsspec URL works (`s3://bucket/prefix`,
`gs://...`, a shared NFS folder), so a worker on another node writes what every replica serves.

Writes go through a local temp file first and land with one `put` (an atomic rename on a local
folder), so a reader never sees half a file. Readers on a local folder get a path (served with
sendfile); on a remote store they get a stream, and inference gets a local copy of an adapter folder
(cached under `<data_dir>/cache/artifacts`, keyed by the files' sha256 the database holds).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


class ArtifactStorage:
    def __init__(self, url: str, *, cache_dir: Path, storage_options: dict | None = None) -> None:
        import fsspec
        from fsspec.implementations.local import LocalFileSystem

        self.url = url
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        except (ImportError, ValueError) as exc:
            raise ValueError(
                f"ARKOR_ARTIFACTS_URL={url!r} cannot be opened: {exc}. For s3:// install s3fs (pip install 'arkor[s3]')."
            ) from None
        self.is_local = isinstance(self.fs, LocalFileSystem)
        self.root = root.rstrip("/")
        self.cache_dir = cache_dir

    def _key(self, job_id: str, pathname: str | PurePosixPath) -> str:
        return f"{self.root}/{job_id}/{PurePosixPath(pathname).as_posix()}"

    def local_path(self, job_id: str, pathname: str | PurePosixPath) -> Path | None:
        """The file's path when the store is a local folder, else None."""
        return Path(self._key(job_id, pathname)) if self.is_local else None

    def staging_dir(self, job_id: str) -> Path:
        """A local folder for an incoming upload (on the same filesystem as the store when it is local)."""
        if self.is_local:
            return Path(f"{self.root}/{job_id}")
        return self.cache_dir / "uploads" / job_id

    def put(self, job_id: str, pathname: str | PurePosixPath, tmp: Path) -> None:
        """Move the finished local file `tmp` to its place in the store."""
        key = self._key(job_id, pathname)
        if self.is_local:
            Path(key).parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, key)
            return
        try:
            self.fs.put_file(str(tmp), key)
        finally:
            tmp.unlink(missing_ok=True)

    def exists(self, job_id: str, pathname: str | PurePosixPath) -> bool:
        return bool(self.fs.isfile(self._key(job_id, pathname)))

    def open(self, job_id: str, pathname: str | PurePosixPath) -> IO[bytes]:
        return self.fs.open(self._key(job_id, pathname), "rb")

    def iter_bytes(self, job_id: str, pathname: str | PurePosixPath) -> Iterator[bytes]:
        with self.open(job_id, pathname) as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk

    def local_folder(self, job_id: str, prefix: str, files: dict[str, str]) -> Path:
        """A local folder holding the job's files under `prefix` (e.g. `final`).

        `files` maps pathname -> sha256 (from the artifacts table). On a local store this is the folder
        itself; on a remote one the files are downloaded once into the cache (a new sha256 means a new
        copy).
        """
        if self.is_local:
            return Path(self._key(job_id, prefix))
        import hashlib

        wanted = {p: s for p, s in files.items() if p.startswith(prefix.rstrip("/") + "/")}
        digest = hashlib.sha256("".join(f"{p}:{s};" for p, s in sorted(wanted.items())).encode()).hexdigest()[:16]
        target = self.cache_dir / "artifacts" / job_id / f"{prefix.replace('/', '_')}-{digest}"
        if target.is_dir():
            return target
        partial = target.with_name(target.name + f".part-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        for pathname in wanted:
            destination = partial / PurePosixPath(pathname).relative_to(prefix)
            destination.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(self._key(job_id, pathname), str(destination))
        partial.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(partial, target)
        except OSError:  # another request made it first
            shutil.rmtree(partial, ignore_errors=True)
        logger.info("downloaded %d artifact(s) of job %s (%s) from %s", len(wanted), job_id, prefix, self.url)
        return target


# ------------------------------------------------------------------------------------- files at rest
# The data dir holds every org's datasets, artifacts, worker tokens and the database: only the server's
# own user may enter it (0700) and its files are 0600.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_DATA_SUBDIRS = ("datasets", "artifacts", "logs", "specs", "work", "cache")


def _restrict(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except OSError as exc:  # not ours (a shared mount): say so, the backend still runs
        logger.warning("could not make %s private (mode %o): %s", path, mode, exc)


def protect_data_dir(data_dir: Path) -> None:
    """Create the data dir and its folders 0700 and tighten what an older version left readable."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _restrict(data_dir, PRIVATE_DIR)
    for name in _DATA_SUBDIRS:
        sub = data_dir / name
        sub.mkdir(exist_ok=True, mode=PRIVATE_DIR)
        _restrict(sub, PRIVATE_DIR)
    for name in ("datasets", "specs", "logs"):
        for entry in (data_dir / name).iterdir():
            if entry.is_file() and not entry.is_symlink():
                _restrict(entry, PRIVATE_FILE)


def protect_database_files(db) -> None:  # type: ignore[no-untyped-def]
    """A SQLite database and its WAL files are 0600 (SQLite creates them with the process umask)."""
    if not db.is_sqlite:
        return
    database = db.engine.url.database
    if not database or database == ":memory:":
        return
    for suffix in ("", "-wal", "-shm"):
        path = Path(database + suffix)
        if path.is_file():
            _restrict(path, PRIVATE_FILE)


def remove_stale_uploads(data_dir: Path) -> None:
    """Upload and spec temp files a crashed server left behind (a finished one is renamed away from them)."""
    removed = 0
    for folder in (data_dir / "datasets", data_dir / "artifacts"):
        if not folder.is_dir():
            continue
        from .uploads import UPLOAD_PREFIX

        for path in folder.rglob(f"{UPLOAD_PREFIX}*"):
            if path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
    specs = data_dir / "specs"
    if specs.is_dir():
        for path in specs.glob(".*.tmp"):  # a spec being written when the server died (it holds a token)
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        logger.info("removed %d unfinished upload or spec file(s) left by an earlier run", removed)


@functools.lru_cache(maxsize=8)
def _storage(url: str, cache_dir: str) -> ArtifactStorage:
    return ArtifactStorage(url, cache_dir=Path(cache_dir))


def storage_for(settings) -> ArtifactStorage:  # type: ignore[no-untyped-def]
    """The store a backend's settings name (one instance per URL in this process)."""
    url = settings.artifacts_url or str((settings.data_dir / "artifacts").resolve())
    return _storage(url, str((settings.data_dir / "cache").resolve()))
