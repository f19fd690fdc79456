"""Run Studio: bind loopback sockets (port fallback), persist the token, serve, clean up.

Binds `127.0.0.1` (never a wildcard), plus `[::1]` on the same port when the machine has IPv6
loopback. Without an explicit port it tries 4000 through 4009; an explicit port that is busy is an
error. The token file is written only after a successful bind and removed on exit only while it
still holds this launch's token. Training children are stopped on exit.
"""

from __future__ import annotations

import atexit
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from arkor.errors import ArkorError

from .security import launch_url, new_token, remove_token_file_if_ours, write_token_file

logger = logging.getLogger(__name__)

DEFAULT_PORT = 4000
FALLBACK_PORTS = range(DEFAULT_PORT, DEFAULT_PORT + 10)
SHUTDOWN_GRACE_S = 3


class StudioPortError(ArkorError):
    """No port could be bound (the message names the port and the fix)."""


@dataclass
class BoundSockets:
    port: int
    sockets: list[socket.socket]

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}/"


def _listen(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def bind_sockets(port: int | None, on_busy: Callable[[int, int], None] | None = None) -> BoundSockets:
    """Listen on 127.0.0.1 (and ::1 when available) at `port`, or the first free of 4000-4009
    (`on_busy(port, next)` hears of each busy one before the next is tried).

    Raises:
        StudioPortError: the explicit port is busy, or all fallback ports are.
    """
    candidates = [port] if port is not None else list(FALLBACK_PORTS)
    for index, candidate in enumerate(candidates):
        try:
            ipv4 = _listen(socket.AF_INET, "127.0.0.1", candidate)
        except OSError as exc:
            if port is not None:
                raise StudioPortError(
                    f"Port {port} is not available on 127.0.0.1 ({exc.strerror}). "
                    "Pick another with `arkor dev --port <n>`, or leave --port out to use the first free of 4000-4009."
                ) from None
            if on_busy is not None and index + 1 < len(candidates):
                on_busy(candidate, candidates[index + 1])
            continue
        bound = BoundSockets(ipv4.getsockname()[1], [ipv4])
        try:
            bound.sockets.append(_listen(socket.AF_INET6, "::1", bound.port))
        except OSError as exc:  # no IPv6 loopback here: IPv4 alone is fine
            logger.debug("not listening on [::1]:%s: %s", bound.port, exc)
        return bound
    raise StudioPortError(
        f"Ports {FALLBACK_PORTS.start}-{FALLBACK_PORTS.stop - 1} are all in use. Pass a free one with `arkor dev --port <n>`."
    )


def serve(
    *,
    project_dir: Path,
    port: int | None = None,
    on_ready: Callable[[str], None] | None = None,
    on_port_busy: Callable[[int, int], None] | None = None,
) -> None:
    """Serve Studio for `project_dir` until interrupted (SIGINT/SIGTERM).

    `on_ready` gets the launch URL (`http://localhost:<port>/?token=...`): the one way a browser opens Studio.
    """
    import uvicorn

    from .app import create_studio_app

    token = new_token()
    app = create_studio_app(token=token, project_dir=project_dir)
    bound = bind_sockets(port, on_port_busy)
    studio = app.state.studio
    atexit.register(studio.train_runs.kill_all_now)
    try:
        try:
            write_token_file(token)
        except OSError as exc:
            logger.warning(
                "Could not write the studio token file (%s). The Studio at %s is unaffected.", exc, bound.url
            )
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            access_log=False,
            proxy_headers=False,
        )
        server = uvicorn.Server(config)
        if on_ready is not None:
            original_startup = server.startup

            async def startup(sockets: list[socket.socket] | None = None) -> None:
                await original_startup(sockets=sockets)
                if server.started:
                    on_ready(launch_url(bound.url, token))

            server.startup = startup  # type: ignore[method-assign]
        server.run(sockets=bound.sockets)
    finally:
        studio.train_runs.kill_all_now()
        remove_token_file_if_ours(token)
        for sock in bound.sockets:
            sock.close()
