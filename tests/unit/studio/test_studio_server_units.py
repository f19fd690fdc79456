"""Port binding, the manifest probe and train-run bookkeeping (real sockets and processes, no backend)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import sys
from pathlib import Path

import pytest

from arkor.studio.manifest import ManifestError, read_manifest
from arkor.studio.server import StudioPortError, bind_sockets
from arkor.studio.train_runs import RunInProgressError, TrainRuns, start_command


def run(coroutine):
    """asyncio.run on a fresh thread: a session-wide sync Playwright may own this thread's loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_explicit_busy_port_is_an_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StudioPortError, match=f"Port {port} is not available"):
            bind_sockets(port)


def test_explicit_free_port_binds_loopback_only():
    bound = bind_sockets(0)
    try:
        hosts = {sock.getsockname()[0] for sock in bound.sockets}
        assert "127.0.0.1" in hosts and hosts <= {"127.0.0.1", "::1"}
        assert bound.url == f"http://localhost:{bound.port}/"
    finally:
        for sock in bound.sockets:
            sock.close()


def test_start_command_passes_file_and_dry_run(tmp_path):
    argv = start_command(tmp_path / "x.py", dry_run=True)
    assert argv[0] == sys.executable and argv[-1] == "--dry-run" and str(tmp_path / "x.py") in argv


def _project(tmp_path: Path, index: str, trainer: str | None = None) -> Path:
    (tmp_path / "src" / "arkor").mkdir(parents=True)
    (tmp_path / "src" / "arkor" / "index.py").write_text(index)
    if trainer is not None:
        (tmp_path / "src" / "arkor" / "trainer.py").write_text(trainer)
    return tmp_path


TRAINER = ('from arkor import create_trainer\n'
           'trainer = create_trainer(name="{name}", model="arkor/tiny-test", dataset={{"type": "huggingface", "name": "x/y"}})\n')


def test_manifest_reads_the_trainer_and_sees_edits(tmp_path):
    project = _project(tmp_path, "from arkor import create_arkor\nfrom .trainer import trainer\narkor = create_arkor(trainer=trainer)\n",
                       TRAINER.format(name="first"))
    assert run(read_manifest(project)) == {"trainer": {"name": "first"}}
    (project / "src" / "arkor" / "trainer.py").write_text(TRAINER.format(name="second"))
    assert run(read_manifest(project)) == {"trainer": {"name": "second"}}


def test_manifest_without_create_arkor_has_no_trainer(tmp_path):
    project = _project(tmp_path, "from .trainer import trainer\n", TRAINER.format(name="bare"))
    assert run(read_manifest(project)) == {"trainer": None}


def test_manifest_error_carries_the_message(tmp_path):
    project = _project(tmp_path, "def broken(:\n")
    with pytest.raises(ManifestError, match="SyntaxError"):
        run(read_manifest(project))


def test_one_run_per_project_and_output_with_exit_trailer(tmp_path):
    async def scenario() -> bytes:
        runs = TrainRuns()
        process = await runs.start(tmp_path, [sys.executable, "-c", "import time; print('hello'); time.sleep(0.5)"])
        with pytest.raises(RunInProgressError):
            await runs.start(tmp_path, [sys.executable, "-c", "pass"])
        output = b"".join([chunk async for chunk in runs.stream(tmp_path, process)])
        assert not runs.is_running(tmp_path)
        return output

    output = run(scenario())
    assert output.startswith(b"hello") and output.endswith(b"\n---\nexit=0\n")


def test_stop_all_kills_running_children(tmp_path):
    async def scenario() -> int:
        runs = TrainRuns()
        process = await runs.start(tmp_path, [sys.executable, "-c", "import time; time.sleep(60)"])
        await runs.stop_all()
        return process.returncode

    assert run(scenario()) is not None
