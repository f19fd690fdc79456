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
from arkor.studio.train_runs import STOPPED_NOTE, RunInProgressError, TrainRuns, start_command


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


TRAINER = (
    "from arkor import create_trainer\n"
    'trainer = create_trainer(name="{name}", model="arkor/tiny-test", dataset={{"type": "huggingface", "name": "x/y"}})\n'
)


def test_manifest_reads_the_trainer_and_sees_edits(tmp_path):
    project = _project(
        tmp_path,
        "from arkor import create_arkor\nfrom .trainer import trainer\narkor = create_arkor(trainer=trainer)\n",
        TRAINER.format(name="first"),
    )
    assert run(read_manifest(project)) == {"trainer": {"name": "first"}, "project": True}
    (project / "src" / "arkor" / "trainer.py").write_text(TRAINER.format(name="second"))
    assert run(read_manifest(project)) == {"trainer": {"name": "second"}, "project": True}


def test_manifest_without_create_arkor_has_no_trainer(tmp_path):
    project = _project(tmp_path, "from .trainer import trainer\n", TRAINER.format(name="bare"))
    assert run(read_manifest(project)) == {"trainer": None, "project": True}


def test_manifest_error_carries_the_message(tmp_path):
    project = _project(tmp_path, "def broken(:\n")
    with pytest.raises(ManifestError, match="SyntaxError"):
        run(read_manifest(project))


def test_one_run_per_project_and_output_with_exit_trailer(tmp_path):
    async def scenario() -> bytes:
        runs = TrainRuns()
        train = await runs.start(tmp_path, [sys.executable, "-c", "import time; print('hello'); time.sleep(0.5)"])
        with pytest.raises(RunInProgressError):
            await runs.start(tmp_path, [sys.executable, "-c", "pass"])
        output = b"".join([chunk async for chunk in train.follow()])
        assert not runs.is_running(tmp_path)
        return output

    output = run(scenario())
    assert output.startswith(b"hello") and output.endswith(b"\n---\nexit=0\n")


# The child prints "first", then waits for a file to exist before printing "second" and exiting:
# a reader can leave and a new one attach in between, with no timing in the test.
GATED = (
    "import pathlib, sys, time\nprint('first', flush=True)\ngate = pathlib.Path(sys.argv[1])\n"
    "while not gate.exists():\n    time.sleep(0.02)\nprint('second', flush=True)\n"
)


def test_a_reader_leaving_does_not_stop_the_run_and_a_new_reader_gets_all_output(tmp_path):
    gate = tmp_path / "gate"

    async def scenario() -> tuple[bytes, bytes, bool]:
        runs = TrainRuns()
        train = await runs.start(tmp_path, [sys.executable, "-c", GATED, str(gate)])
        first_reader = train.follow()
        first = await first_reader.__anext__()
        while b"first" not in first:
            first += await first_reader.__anext__()
        await first_reader.aclose()  # the browser left the Overview page
        still_running = runs.is_running(tmp_path)
        gate.touch()
        again = b"".join([chunk async for chunk in runs.current(tmp_path).follow()])
        return first, again, still_running

    first, again, still_running = run(scenario())
    assert still_running
    assert again.startswith(b"first\nsecond\n") and again.endswith(b"\n---\nexit=0\n")


def test_stop_ends_a_run_with_a_note_and_the_trailer(tmp_path):
    async def scenario() -> tuple[bool, bool, bytes]:
        runs = TrainRuns()
        train = await runs.start(tmp_path, [sys.executable, "-c", GATED, str(tmp_path / "never")])
        stopped = await runs.stop(tmp_path)
        output = b"".join([chunk async for chunk in train.follow()])
        return stopped, await runs.stop(tmp_path), output

    stopped, stopped_again, output = run(scenario())
    assert stopped and not stopped_again
    assert output.endswith(STOPPED_NOTE.encode() + b"\n---\nexit=-15\n")


def test_output_beyond_the_limit_keeps_the_tail_and_says_so(tmp_path, monkeypatch):
    import arkor.studio.train_runs as train_runs

    monkeypatch.setattr(train_runs, "OUTPUT_LIMIT", 1000)

    async def scenario() -> bytes:
        runs = TrainRuns()
        train = await runs.start(tmp_path, [sys.executable, "-c", "print('x' * 5000 + 'END')"])
        while not train.done:
            await asyncio.sleep(0.01)
        return b"".join([chunk async for chunk in train.follow()])

    output = run(scenario())
    assert output.startswith(b"[") and b"bytes of earlier output not kept]" in output
    assert output.endswith(b"END\n\n---\nexit=0\n") and len(output) < 1200


def test_stop_all_kills_running_children(tmp_path):
    async def scenario() -> int:
        runs = TrainRuns()
        train = await runs.start(tmp_path, [sys.executable, "-c", "import time; time.sleep(60)"])
        await runs.stop_all()
        return train.process.returncode

    assert run(scenario()) is not None


def test_manifest_outside_a_project_is_not_an_error(tmp_path):
    assert run(read_manifest(tmp_path)) == {"trainer": None, "project": False, "entry": "src/arkor/index.py"}


def test_models_come_from_the_engine_registry():
    from arkor.engine.models.registry import DEFAULT_MODEL, SUPPORTED_MODELS, TINY_TEST_MODEL
    from arkor.studio.models import model_list

    listed = model_list()
    assert [m["id"] for m in listed["models"]] == [*SUPPORTED_MODELS, TINY_TEST_MODEL]
    assert "unsloth/gemma-4-E4B-it" in [m["id"] for m in listed["models"]]
    assert listed["default"] == DEFAULT_MODEL and all(m["name"] for m in listed["models"])


def test_presets_route_serves_the_wire_list_built_once():
    from arkor.protocol import TaskPresetList
    from arkor.studio import routes_api
    from arkor.templates.scoring import task_presets

    first = run(routes_api.presets())
    assert first.media_type == "application/json"
    assert TaskPresetList.model_validate_json(first.body) == task_presets()
    assert run(routes_api.presets()).body is first.body  # rendered once per process
