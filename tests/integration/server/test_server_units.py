"""Fast checks of the backend's pure parts: transitions (compare-and-swap), migrations = models,
error wording, artifact paths, worker exit descriptions and process-group stops."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from arkor.executors.base import WorkerExit
from arkor.executors.local import LocalProcessExecutor
from arkor.server.db import Database
from arkor.server.errors import ApiError, describe_validation_errors
from arkor.server.events import Broadcaster, EventLog
from arkor.server.manager import ALLOWED_TRANSITIONS, JobManager, JobManagerPaths
from arkor.server.models import Base, JobRow, OrgRow, ProjectRow
from arkor.server.uploads import safe_pathname


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    database.migrate()
    return database


def test_migrations_create_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def _manager(db: Database, tmp_path: Path) -> JobManager:
    class NoExecutor:
        def bind(self, on_exit):
            pass  # noqa: E704

        def free_slots(self):
            return 0  # noqa: E704

        def cancel(self, job_id, grace_s):
            return False  # noqa: E704

        def kill(self, job_id):
            return False  # noqa: E704

    paths = JobManagerPaths(*(tmp_path / n for n in ("specs", "work", "artifacts", "logs")))
    return JobManager(
        db=db,
        log=EventLog(db),
        broadcaster=Broadcaster(),
        executor=NoExecutor(),
        paths=paths,  # type: ignore[arg-type]
        report_url=None,
        heartbeat_timeout_s=1,
        cancel_grace_s=1,
        watchdog_interval_s=1,
    )


def test_transition_is_compare_and_swap_and_terminal_is_final(db: Database, tmp_path: Path) -> None:
    manager = _manager(db, tmp_path)
    with db.write() as session:
        session.add(OrgRow(id="o", slug="o", name="o", created_at="t"))
        session.flush()
        session.add(ProjectRow(id="p", org_id="o", slug="p", name="p", created_at="t"))
        session.flush()
        session.add(
            JobRow(
                id="j",
                org_id="o",
                project_id="p",
                name="j",
                status="queued",
                config={},
                created_at="t",
                cancel_requested=False,
            )
        )
    with db.write() as session:
        assert manager.transition(session, "j", "queued", "running") == []
    with db.write() as session:  # a second claim of the same job loses
        assert manager.transition(session, "j", "queued", "running") is None
    assert manager.finish("j", "running", "failed", error="boom")
    assert not manager.finish("j", "running", "cancelled")
    with db.read() as session:
        job = session.get(JobRow, "j")
    assert job.status == "failed" and job.error == "boom" and job.completed_at
    assert [e.type for e in manager.log.read_after("j", 0)] == ["training.failed"]
    with pytest.raises(ValueError):
        with db.write() as session:
            manager.transition(session, "j", "failed", "running")
    # Terminal is final, except that an explicit resume puts a failed or cancelled job back in the queue.
    assert not ALLOWED_TRANSITIONS["completed"]
    assert all(ALLOWED_TRANSITIONS[s] == {"queued"} for s in ("failed", "cancelled"))


def test_validation_messages_name_the_wire_field() -> None:
    summary, _ = describe_validation_errors([{"loc": ("config", "loraR"), "msg": "Input should be greater than 0"}])
    assert summary == "config.loraR must be greater than 0"
    summary, problems = describe_validation_errors(
        [
            {"loc": ("name",), "msg": "Field required"},
            {"loc": ("config", "targetModules", 1), "msg": "Input should be a valid string"},
        ]
    )
    assert problems == ["name is required", "config.targetModules[1] must be a valid string"]


@pytest.mark.parametrize("bad", ["../x", "a/../../b", "/etc/passwd", "a//b", "", "a\\b", "./a"])
def test_artifact_paths_must_stay_inside_the_job(bad: str) -> None:
    with pytest.raises(ApiError):
        safe_pathname(bad)
    assert str(safe_pathname("checkpoints/step-2/adapter_config.json")) == "checkpoints/step-2/adapter_config.json"


def test_worker_exit_descriptions() -> None:
    assert WorkerExit("j", -9).describe() == (
        "worker process was killed by signal 9 (SIGKILL); the machine may have run out of memory"
    )
    assert WorkerExit("j", -15).describe() == "worker process was killed by signal 15 (SIGTERM)"
    assert WorkerExit("j", 3).describe() == "worker process exited with code 3"


def test_local_executor_stops_the_whole_process_group(tmp_path: Path) -> None:
    # The "worker" starts a grandchild and ignores SIGTERM: the grace period ends in SIGKILL for both.
    script = tmp_path / "w.py"
    script.write_text(
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(tmp_path / 'child.pid')!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    exits: list[WorkerExit] = []
    done = threading.Event()
    executor = LocalProcessExecutor(
        max_workers=1,
        log_dir=tmp_path,
        on_exit=lambda e: (exits.append(e), done.set()),
        worker_command=[sys.executable, str(script)],
    )
    executor.submit("job_a", tmp_path / "spec.json")
    assert executor.free_slots() == 0
    child_pid_file = tmp_path / "child.pid"
    deadline = time.monotonic() + 30
    while not child_pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    child_pid = int(child_pid_file.read_text())
    assert executor.cancel("job_a", grace_s=0.3)
    assert done.wait(30)
    assert exits[0].returncode == -signal.SIGKILL and executor.free_slots() == 1
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child_pid}").exists() and time.monotonic() < deadline:
        stat = Path(f"/proc/{child_pid}/stat").read_text() if Path(f"/proc/{child_pid}/stat").exists() else ""
        if ") Z" in stat:
            break
        time.sleep(0.02)
    assert not Path(f"/proc/{child_pid}").exists() or ") Z" in Path(f"/proc/{child_pid}/stat").read_text()
