"""The executor registry: `ARKOR_EXECUTOR` names a factory that builds the backend's executor from its settings.

`local` (worker subprocesses) and `ray` (Ray actors) are built in. Another place to run jobs plugs in
with `register_executor(name, factory)` before the backend is created; the factory gets the
`ServerSettings` and returns an object that implements `arkor.executors.base.Executor` (the job
manager binds itself to it). Nothing else in the backend names an executor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from arkor.errors import ConfigError
from arkor.executors.base import Executor

from .settings import ServerSettings

ExecutorFactory = Callable[[ServerSettings], Executor]

_factories: dict[str, ExecutorFactory] = {}
_lock = threading.Lock()


def register_executor(name: str, factory: ExecutorFactory) -> None:
    """Make `ARKOR_EXECUTOR=<name>` build its executor with `factory(settings)`; a name registered again is replaced."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"executor name {name!r} must be letters, digits, '-' or '_'")
    with _lock:
        _factories[name] = factory


def executor_names() -> list[str]:
    with _lock:
        return sorted(_factories)


def build_executor(settings: ServerSettings) -> Executor:
    """The executor `settings.executor` names; a clear error listing the registered names for any other."""
    with _lock:
        factory = _factories.get(settings.executor)
    if factory is None:
        raise ConfigError(
            f"ARKOR_EXECUTOR={settings.executor!r} is not a registered executor; registered: "
            f"{', '.join(executor_names())} (arkor.server.executors.register_executor adds one)",
            field="executor",
        )
    executor = factory(settings)
    if not isinstance(executor, Executor):
        missing = [name for name in _protocol_methods() if not callable(getattr(executor, name, None))]
        raise ConfigError(
            f"the factory of executor {settings.executor!r} returned a {type(executor).__name__}, which lacks "
            f"the Executor method(s) {', '.join(missing)} (see arkor.executors.base.Executor)",
            field="executor",
        )
    return executor


def _protocol_methods() -> list[str]:
    return sorted(name for name in vars(Executor) if not name.startswith("_") and callable(vars(Executor)[name]))


def _local(settings: ServerSettings) -> Executor:
    from arkor.executors.local import LocalProcessExecutor

    return LocalProcessExecutor(
        max_workers=settings.max_concurrent_jobs,
        log_dir=settings.data_dir / "logs",
        worker_command=settings.worker_command,
    )


def _ray(settings: ServerSettings) -> Executor:
    from arkor.executors.ray import RayExecutor

    return RayExecutor(
        address=settings.ray_address,
        namespace=settings.ray_namespace,
        num_cpus=settings.ray_num_cpus,
        num_gpus=settings.ray_num_gpus,
        max_pending=settings.ray_max_pending_jobs,
    )


register_executor("local", _local)
register_executor("ray", _ray)
