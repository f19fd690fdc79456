"""Run the backend with uvicorn on a socket we bind first, so the URL (and a port-0 choice) is known
before the app starts: workers need it to report back."""

from __future__ import annotations

import logging
import socket
import threading

import uvicorn

from .app import create_app
from .inference_service import ChatEngine
from .settings import ServerSettings

logger = logging.getLogger(__name__)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn that ends open event streams first, so shutdown does not wait on idle SSE clients."""

    def __init__(self, config: uvicorn.Config, app) -> None:  # type: ignore[no-untyped-def]
        super().__init__(config)
        self._app = app
        self.ready = threading.Event()

    async def startup(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
        await super().startup(sockets=sockets)
        if not self.should_exit:
            self.ready.set()

    async def shutdown(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
        self._app.state.services.broadcaster.close()
        await super().shutdown(sockets=sockets)


def make_server(
    settings: ServerSettings, host: str = "127.0.0.1", port: int = 0, *, engine: ChatEngine | None = None
) -> tuple[_Server, socket.socket, str]:
    sock = bind_socket(host, port)
    url = url_of(sock)
    updates: dict = {"bind_host": host}
    if settings.public_url is None:
        updates["public_url"] = url
    settings = settings.model_copy(update=updates)
    app = create_app(settings, engine=engine)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=3, access_log=False)
    return _Server(config, app), sock, url


class BackgroundServer:
    """The backend on a thread (tests, the embedded backend): `start()` returns once it serves."""

    def __init__(
        self, settings: ServerSettings, host: str = "127.0.0.1", port: int = 0, *, engine: ChatEngine | None = None
    ) -> None:
        self.server, self._sock, self.url = make_server(settings, host, port, engine=engine)
        self.app = self.server._app
        self._thread = threading.Thread(target=self._run, name="arkor-backend", daemon=True)

    def _run(self) -> None:
        self.server.run(sockets=[self._sock])

    def start(self, timeout: float = 60.0) -> BackgroundServer:
        self._thread.start()
        if not self.server.ready.wait(timeout):
            raise RuntimeError(f"arkor backend did not start within {timeout:g} s")
        return self

    def stop(self, timeout: float = 60.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
