"""Fixtures for Studio end-to-end tests: a scaffolded project, a running `arkor dev`, a real Chromium.

Everything runs in an isolated HOME/ARKOR_HOME. Teardown stops Studio (SIGINT, then SIGKILL) and
the embedded backend it started (the pid in `<ARKOR_HOME>/server/server.json`), so no process
outlives the tests. Screenshots go to `artifacts/studio-screenshots/` at the repo root (CI keeps it).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from studio_helpers import CHROMIUM, CHROMIUM_ARGS, FAKE_WORKER, INDEX_PY, READY, write_trainer


def scaffold_project(project: Path) -> None:
    (project / "src" / "arkor").mkdir(parents=True)
    (project / "data").mkdir()
    colours = ["red", "blue", "green", "yellow"]
    with (project / "data" / "chat.jsonl").open("w") as handle:
        for i in range(24):
            colour = colours[i % 4]
            handle.write(
                json.dumps(
                    {
                        "messages": [
                            {"role": "user", "content": f"What colour is item {i}? It is {colour}."},
                            {"role": "assistant", "content": colour},
                        ]
                    }
                )
                + "\n"
            )
    (project / "src" / "arkor" / "index.py").write_text(INDEX_PY)
    write_trainer(project, name="e2e-tiny", max_steps=6)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StudioProcess:
    """`arkor dev` in a scaffolded project; with `backend_url`, against that backend instead of the embedded one."""

    def __init__(self, root: Path, backend_url: str | None = None) -> None:
        self.home = root / "home"
        self.arkor_home = self.home / ".arkor"
        self.project = root / "project"
        self.home.mkdir()
        scaffold_project(self.project)
        self.port = free_port()
        self.env = {
            **os.environ,
            "HOME": str(self.home),
            "ARKOR_HOME": str(self.arkor_home),
            "CI": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("ARKOR_CLOUD_API_URL", None)
        if backend_url:
            self.env["ARKOR_CLOUD_API_URL"] = backend_url
        self.output: list[str] = []
        self.url = ""
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 180.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "arkor.cli.main", "dev", "--port", str(self.port)],
            cwd=self.project,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                match = READY.search(line)
                if match:
                    self.url = match.group(1)  # the launch link, `?token=` included
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        try:
            while not ready.wait(0.2):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("arkor dev did not become ready:\n" + "".join(self.output))
        except BaseException:
            self.stop()  # also on Ctrl-C: never leave Studio or its backend behind
            raise

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return (self.arkor_home / "studio-token").read_text().strip()

    @property
    def launch_token(self) -> str:
        """The token in the link `arkor dev` printed (how a user opens Studio)."""
        return parse_qs(urlsplit(self.url).query)["token"][0]

    @property
    def launch_url(self) -> str:
        """The printed link, on the 127.0.0.1 address the tests use (cookies are per host name)."""
        return f"{self.base}/?token={self.launch_token}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        stop_backend(self.arkor_home)


def stop_backend(arkor_home: Path) -> None:
    """Stop the embedded backend recorded under this ARKOR_HOME (its own process group)."""
    record = arkor_home / "server" / "server.json"
    try:
        pid = int(json.loads(record.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory):
    server = StudioProcess(tmp_path_factory.mktemp("studio"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fake_backend(tmp_path_factory: pytest.TempPathFactory):
    """A real backend on loopback whose jobs run the scripted fake worker (model `fake/<mode>`)."""
    from arkor.server.runner import BackgroundServer
    from arkor.server.settings import ServerSettings

    settings = ServerSettings(
        data_dir=tmp_path_factory.mktemp("fake-backend"),
        sse_ping_interval_s=1,
        worker_command=[sys.executable, str(FAKE_WORKER)],
        heartbeat_timeout_s=30,
        cancel_grace_s=3,
        watchdog_interval_s=0.2,
    )
    server = BackgroundServer(settings).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def studio_on_fake_backend(tmp_path_factory: pytest.TempPathFactory, fake_backend):
    """`arkor dev` whose backend is `fake_backend` (fast, scripted jobs; no model is loaded)."""
    server = StudioProcess(tmp_path_factory.mktemp("studio-fake"), backend_url=fake_backend.url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def open_page(browser):
    """`open_page(studio, **context_options)`: a page on that Studio; its context closes after the test."""
    pages = []

    def opener(studio: StudioProcess, **context_options):  # type: ignore[no-untyped-def]
        page = open_studio_page(browser, studio, **context_options)
        pages.append(page)
        return page

    yield opener
    for page in pages:
        page.context.close()


# Module scope, not session: Playwright's sync API keeps an event loop running on the main thread
# while it is open, and tests collected after these (asyncio.run in SDK tests) must not see it.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


class ConsoleWatcher:
    """Collects console errors and uncaught page errors of one page."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.errors: list[str] = []
        page.on(
            "console",
            lambda msg: self.errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))


def open_studio_page(browser, studio: StudioProcess, **context_options):  # type: ignore[no-untyped-def]
    """A page in a fresh browser context that can talk to this Studio (caller closes `page.context`)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, **context_options)
    page = context.new_page()
    page.console_watcher = ConsoleWatcher(page)
    # Open Studio as a user does: the printed link sets the session cookie and redirects to the clean URL.
    page.goto(studio.launch_url)
    assert "token=" not in page.url, page.url
    return page


@pytest.fixture
def page(browser, studio):
    page = open_studio_page(browser, studio)
    try:
        yield page
    finally:
        page.context.close()
