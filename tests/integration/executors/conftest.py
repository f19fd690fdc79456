"""Fixtures of the executor contract tests: `executor_name` runs each test once per executor (`local`,
`ray` on the session's real Ray head, `thread`: the test executor, registered through the registry
alone), `make_backend` starts real backend processes (`python serve_with_plugins.py serve`: SQLite under
tmp_path, 127.0.0.1) that use it, `make_executor` builds one from the registry inside the test process."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))  # server_helpers.Api
sys.path.insert(0, str(HERE.parent / "scale"))  # scale_services.Replica

import thread_executor  # noqa: E402
from scale_services import RAY_ENV, Replica  # noqa: E402

thread_executor.register()  # in this process (make_executor); serve_with_plugins.py does it in each backend

EXECUTORS = ["local", pytest.param("ray", marks=pytest.mark.ray), thread_executor.NAME]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home"))


@pytest.fixture(params=EXECUTORS)
def executor_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def executor_env(executor_name: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """ARKOR_* settings for the executor (Ray: the session's head, a namespace of this test's own)."""
    env = {"ARKOR_EXECUTOR": executor_name}
    if executor_name == "ray":
        head = request.getfixturevalue("ray_driver")
        for key, value in RAY_ENV.items():
            monkeypatch.setenv(key, value)
        env.update(RAY_ENV, RAY_ADDRESS=head.address, ARKOR_RAY_NAMESPACE=f"arkor-{uuid.uuid4().hex}")
    return env


@pytest.fixture(scope="session")
def ray_driver(ray_head):  # type: ignore[no-untyped-def]
    """The Ray head; this process's own connection to it (made by an in-process RayExecutor) closes first."""
    yield ray_head
    import ray

    if ray.is_initialized():
        ray.shutdown()


@pytest.fixture
def make_backend(tmp_path: Path, executor_env: dict[str, str]) -> Iterator[Callable[..., Replica]]:
    backends: list[Replica] = []

    def start(name: str = "backend", *, port: int | None = None) -> Replica:
        env = {
            **executor_env,
            "ARKOR_HOME": str(tmp_path / "home"),
            "ARKOR_WATCHDOG_INTERVAL_S": "0.5",
            "ARKOR_CANCEL_GRACE_S": "5",
            "ARKOR_HEARTBEAT_TIMEOUT_S": "120",
            "ARKOR_LOG": "INFO",
        }
        backend = Replica(name, tmp_path, env, port=port, program=[sys.executable, str(HERE / "serve_with_plugins.py")])
        backends.append(backend)
        return backend

    yield start
    for backend in backends:
        backend.stop()


@pytest.fixture
def make_executor(tmp_path: Path, executor_env: dict[str, str]) -> Iterator[Callable[..., Any]]:
    """`make(**settings)`: the executor ARKOR_EXECUTOR names, built by the registry as the backend builds it."""
    from arkor.server.executors import build_executor
    from arkor.server.settings import ServerSettings

    built: list[Any] = []

    def make(**settings: Any) -> Any:
        fields = {"executor": executor_env["ARKOR_EXECUTOR"], "data_dir": tmp_path / "data"}
        if "RAY_ADDRESS" in executor_env:
            fields.update(ray_address=executor_env["RAY_ADDRESS"], ray_namespace=executor_env["ARKOR_RAY_NAMESPACE"])
        executor = build_executor(ServerSettings(**{**fields, **settings}))
        built.append(executor)
        return executor

    yield make
    for executor in built:  # nothing a test started outlives it (a Ray actor would: kill it)
        for job_id in executor.running():
            executor.kill(job_id)
        executor.shutdown(grace_s=5)
