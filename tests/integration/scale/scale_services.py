"""Real services for the scale-out tests, each on 127.0.0.1 with a temp dir, started and stopped here:
a PostgreSQL cluster (initdb + pg_ctl, as the `postgres` user when we are root), a Ray head
(`ray start --head`, 2 CPUs, loopback only, auth off), a moto S3 server, and backend replicas
(`python -m arkor.server serve`). Processes are stopped by their own pids (never `ray stop`, which
would stop every Ray on the machine)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class Postgres:
    """A throwaway PostgreSQL cluster; `url` is a SQLAlchemy URL of database `arkor` (trust auth, loopback)."""

    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise FileNotFoundError(
                "PostgreSQL server binaries (initdb, pg_ctl) not found; run .ci/services.sh as root"
            )
        self.pg_ctl = pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="arkor-pg-"))
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self._run([initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} -c fsync=off -c max_connections=200"
        self._run([pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "-t", "60", "start"])
        psql = _pg_bin("psql") or "psql"
        self._run([psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c", "CREATE DATABASE arkor"])
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/arkor"

    def _run(self, command: list[str]) -> None:
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def stop(self) -> None:
        try:
            self._run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class RayHead:
    """`ray start --head` with 2 CPUs on 127.0.0.1; `address` is `127.0.0.1:<port>`."""

    def __init__(self) -> None:
        self.ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
        if not self.ray:
            raise FileNotFoundError("the `ray` command is missing; pip install 'arkor[ray]'")
        self.temp = Path(tempfile.mkdtemp(prefix="arkray-", dir="/tmp"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, **RAY_ENV}
        subprocess.run(
            [
                self.ray,
                "start",
                "--head",
                "--num-cpus",
                "2",
                "--num-gpus",
                "0",
                "--node-ip-address",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--include-dashboard=false",
                "--disable-usage-stats",
                "--dashboard-agent-listen-port",
                str(free_port()),
                "--temp-dir",
                str(self.temp),
            ],
            check=True,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=180,
        )

    def own_pids(self) -> list[int]:
        """Processes of this cluster: their command lines name its temp dir, or (agents and the client
        server, whose titles Ray rewrites) they hold a log file open under it."""
        temp = str(self.temp)
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if temp.encode() in handle.read():
                        pids.append(int(entry))
                        continue
                if any(
                    os.readlink(f"/proc/{entry}/fd/{fd}").startswith(temp) for fd in os.listdir(f"/proc/{entry}/fd")
                ):
                    pids.append(int(entry))
            except OSError:
                pass
        return pids

    def stop(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGKILL):
            pids = self.own_pids()
            for pid in pids:
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 10
            while pids and time.monotonic() < deadline and self.own_pids():
                time.sleep(0.2)
        shutil.rmtree(self.temp, ignore_errors=True)

    def probe(self, job_id: str) -> int | None:
        """The pid of the job's Ray actor, or None when no such actor exists (asked from a fresh driver)."""
        out = (
            subprocess.run(
                [sys.executable, str(HERE / "ray_probe.py"), self.address, job_id],
                check=True,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        return None if out == "none" else int(out)


class MotoS3:
    """moto's S3 server on 127.0.0.1; `env` holds what s3fs/botocore need to reach it."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=open(log_dir / "moto.log", "wb"),
            stderr=subprocess.STDOUT,
        )
        self.env = {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.url,
        }
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("moto server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Replica:
    """One `python -m arkor.server serve` process (or `program serve` for a launcher that registers plug-ins first)."""

    def __init__(
        self, name: str, root: Path, env: dict[str, str], *, port: int | None = None, program: list[str] | None = None
    ) -> None:
        self.name = name
        self.data_dir = root / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        record = self.data_dir / "record.json"
        record.unlink(missing_ok=True)
        self.port = port or free_port()
        self.log_path = root / f"{name}.log"
        self.process = subprocess.Popen(
            [
                *(program or [sys.executable, "-m", "arkor.server"]),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--record",
                str(record),
            ],
            env={**os.environ, **env},
            stdout=open(self.log_path, "wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while not record.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"replica {name} did not start:\n{self.log()}")
            time.sleep(0.1)
        self.url = json.loads(record.read_text())["url"]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
