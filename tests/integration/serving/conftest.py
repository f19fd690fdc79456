"""Fixtures for serving tests: one real backend (uvicorn on 127.0.0.1) per module, an anonymous caller
with a project, and a completed `arkor/tiny-test` job whose final and step-2 adapters are real PEFT
LoRA adapters."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from serving_helpers import Api, Served, add_completed_job

from arkor.server.runner import BackgroundServer
from arkor.server.settings import ServerSettings


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("serving-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARKOR_HOME", str(tmp_path_factory.mktemp("home")))
        settings = ServerSettings(data_dir=data_dir, worker_command=[sys.executable, "-c", "raise SystemExit(1)"])
        server = BackgroundServer(settings).start()
        try:
            api = Api(server.url)
            job_id = add_completed_job(server, api, data_dir)
            yield Served(server, api, data_dir, job_id)
        finally:
            server.stop()
