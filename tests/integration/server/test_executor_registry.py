"""ARKOR_EXECUTOR picks a factory from the executor registry: the built-ins, one registered by a plug-in,
and a clear error (naming what is registered) for anything else, all the way to `python -m arkor.server serve`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from arkor.errors import ConfigError
from arkor.executors.base import Executor
from arkor.executors.local import LocalProcessExecutor
from arkor.server import executors as registry
from arkor.server.settings import ServerSettings


@pytest.fixture
def settings(tmp_path: Path) -> ServerSettings:
    return ServerSettings(data_dir=tmp_path / "data")


def test_local_is_built_from_the_settings(settings: ServerSettings) -> None:
    executor = registry.build_executor(settings.model_copy(update={"max_concurrent_jobs": 3}))
    assert isinstance(executor, LocalProcessExecutor) and isinstance(executor, Executor)
    assert executor.free_slots() == 3 and executor.log_dir == settings.data_dir / "logs"


def test_an_unknown_executor_names_the_registered_ones(
    settings: ServerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the built-ins: other tests of this session may have registered their own (the contract tests' `thread`).
    built_in = {name: factory for name, factory in registry._factories.items() if name in ("local", "ray")}
    monkeypatch.setattr(registry, "_factories", built_in)
    with pytest.raises(ConfigError) as caught:
        registry.build_executor(settings.model_copy(update={"executor": "nomad"}))
    assert str(caught.value) == (
        "ARKOR_EXECUTOR='nomad' is not a registered executor; registered: local, ray "
        "(arkor.server.executors.register_executor adds one)"
    )
    assert caught.value.field == "executor"


def test_a_registered_factory_is_used_and_checked(settings: ServerSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_factories", dict(registry._factories))  # registrations stay in this test

    class Half:
        def submit(self, job_id, spec_path):
            return None  # noqa: E704

    registry.register_executor("half", lambda s: Half())  # type: ignore[arg-type,return-value]
    assert "half" in registry.executor_names()
    with pytest.raises(
        ConfigError,
        match=r"returned a Half, which lacks the Executor method\(s\) adopt, bind, cancel, "
        r"free_slots, kill, pending, running, shutdown \(see arkor.executors.base.Executor\)",
    ):
        registry.build_executor(settings.model_copy(update={"executor": "half"}))

    built = LocalProcessExecutor(max_workers=1, log_dir=settings.data_dir)
    registry.register_executor("mine", lambda s: built)
    assert registry.build_executor(settings.model_copy(update={"executor": "mine"})) is built
    with pytest.raises(ValueError, match="must be letters"):
        registry.register_executor("a b", lambda s: built)


def test_serve_with_an_unknown_executor_says_so_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "arkor.server",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "d"),
            "--executor",
            "nomad",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "arkor backend: ARKOR_EXECUTOR='nomad' is not a registered executor; registered: local, ray "
        "(arkor.server.executors.register_executor adds one)"
    )
    assert "Traceback" not in result.stderr
