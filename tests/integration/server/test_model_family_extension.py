"""Adding a model family is one registry entry: the tiny model registered at test time under a new id
(`acme/tiny-clone-<uuid>`) is listed and used by every surface, with nothing else edited: SDK
validation and its "Did you mean" hint, `arkor models`, the backend's `GET /v1/models` (and its
deployment and inference model checks), Studio's `/api/models`, a real training run on the engine
(with the entry's LoRA targets) and export (adapter, merged model and GGUF named after the new id).

Everything runs in this process: a registration is process-local, so a subprocess would not see it.
Before the family registry, models were listed in four places and this test had nothing to register.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
import uvicorn
from server_helpers import Api

from arkor.model_families import (
    TINY_TEST,
    ModelFamily,
    get_family,
    register_model_family,
    unregister_model_family,
)
from arkor.server.runner import BackgroundServer

_SUFFIX = uuid.uuid4().hex[:8]  # one new id per run of this module, so its weights are built once


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache of this module's own: the clone's weights are built here (seeded), once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def clone(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelFamily]:
    """The tiny model under a new id."""
    monkeypatch.setenv("ARKOR_CACHE_DIR", str(cache_dir))
    suffix = _SUFFIX
    family = register_model_family(
        replace(
            TINY_TEST,
            id=f"acme/tiny-clone-{suffix}",
            display_name=f"Acme tiny clone {suffix}",
            description="the tiny test model under another id",
            aliases=(f"tinyclone{suffix}",),
            lora_target_modules=("q_proj", "v_proj"),
        )
    )
    try:
        yield family
    finally:
        unregister_model_family(family.id)
    assert get_family(family.id) is None


def test_sdk_validation_accepts_the_new_id_and_hints_it(clone: ModelFamily) -> None:
    from arkor import TrainerConfigError, create_trainer

    dataset = {"type": "huggingface", "name": "x"}
    trainer = create_trainer(name="n", model=clone.id, dataset=dataset)
    assert trainer._config.model == clone.id
    misspelt = clone.id[:-1]
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(name="n", model=misspelt, dataset=dataset)
    assert f'Unsupported model "{misspelt}". Did you mean "{clone.id}"?' in str(info.value)
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(name="n", model=clone.aliases[0], dataset=dataset)  # an alias is a hint, not an id
    assert f'Did you mean "{clone.id}"?' in str(info.value)
    assert f'"{clone.id}"' in str(info.value)  # listed with the tiny model as a test-only id


def test_arkor_models_lists_the_new_family(clone: ModelFamily, cache_dir: Path) -> None:
    from click.testing import CliRunner

    from arkor.cli.models import models_command

    listed = CliRunner().invoke(models_command, ["--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["id"]: row for row in json.loads(listed.output)}
    row = rows[clone.id]
    assert row["name"] == clone.display_name and row["source"] == "tiny" and row["offline"] is True
    assert row["cachePath"] == str(cache_dir / "models" / clone.id.replace("/", "--"))
    assert row["cached"] is (Path(row["cachePath"]) / "arkor-model.json").is_file()
    assert list(rows)[-1] == clone.id  # test-only families come after the supported ones
    table = CliRunner().invoke(models_command, [])
    assert table.exit_code == 0 and clone.id in table.output and clone.description in table.output


def _served(listing: dict[str, Any], model_id: str) -> dict[str, Any]:
    return next(model for model in listing["models"] if model["id"] == model_id)


def test_the_backend_lists_serves_and_deploys_the_new_family(
    clone: ModelFamily, make_backend: Callable[..., BackgroundServer]
) -> None:
    api = Api(make_backend(worker_command=None).url)
    listing = api.http.get("/v1/models")
    assert listing.status_code == 200, listing.text
    assert _served(listing.json(), clone.id) == {
        "id": clone.id,
        "name": clone.display_name,
        "description": clone.description,
        "offline": True,
        "testOnly": True,
    }
    assert listing.json()["default"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    anonymous = httpx.get(api.url + "/v1/models", headers={"X-Arkor-Client": "arkor/0.1.0"})
    assert anonymous.status_code == 401

    chat = api.http.post(
        "/v1/inference/chat",
        params=api.scope,
        json={
            "messages": [{"role": "user", "content": "Hi"}],
            "baseModel": clone.id,
            "maxTokens": 4,
            "temperature": 0,
            "stream": False,
        },
    )
    assert chat.status_code == 200, chat.text
    assert chat.json()["choices"][0]["message"]["role"] == "assistant"
    deployment = api.http.post(
        "/v1/endpoints",
        params=api.scope,
        json={
            "slug": f"clone-{uuid.uuid4().hex[:8]}",
            "target": {"kind": "base_model", "baseModel": clone.id},
            "authMode": "none",
        },
    )
    assert deployment.status_code == 201, deployment.text
    unknown = api.http.post(
        "/v1/endpoints",
        params=api.scope,
        json={
            "slug": f"other-{uuid.uuid4().hex[:8]}",
            "target": {"kind": "base_model", "baseModel": clone.id + "x"},
            "authMode": "none",
        },
    )
    assert unknown.status_code == 400 and clone.id in unknown.json()["error"]  # listed among the registered ones


class _Studio:
    """Studio's app on a loopback thread in this process (so it sees the test's registration)."""

    def __init__(self, project: Path) -> None:
        from arkor.studio.app import create_studio_app
        from arkor.studio.security import new_token

        self.token = new_token()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        app = create_studio_app(token=self.token, project_dir=project)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("studio did not start")
            self.thread.join(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


def test_studio_offers_the_new_family(clone: ModelFamily, tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    with _Studio(tmp_path / "project") as studio:
        listing = httpx.get(studio.base + "/api/models", headers={"X-Arkor-Studio-Token": studio.token})
    assert listing.status_code == 200, listing.text
    assert _served(listing.json(), clone.id)["testOnly"] is True
    # Both pickers (Playground, new endpoint) build their options from this one served list.
    static = Path(__file__).resolve().parents[3] / "src" / "arkor" / "studio" / "static" / "js"
    for page in ("playground.js", "endpoints.js"):
        source = (static / "pages" / page).read_text()
        assert "baseModels()" in source and "tiny-test" not in source and "SmolLM2" not in source, page


def _chat_rows(path: Path) -> Path:
    with path.open("w") as handle:
        for i in range(8):
            colour = ("red", "blue")[i % 2]
            handle.write(
                json.dumps(
                    {
                        "messages": [
                            {
                                "role": "user",
                                "content": f"Item {i} is {colour}. Colour?",
                            },
                            {"role": "assistant", "content": colour},
                        ]
                    }
                )
                + "\n"
            )
    return path


def test_training_and_export_use_the_new_family(clone: ModelFamily, cache_dir: Path, tmp_path: Path) -> None:
    import gguf

    from arkor.engine.export import export_job_artifacts
    from arkor.engine.worker import run_spec
    from arkor.protocol import JobConfig, WorkerSpec

    config = JobConfig.model_validate(
        {
            "model": clone.id,
            "datasetSource": {
                "type": "file",
                "path": str(_chat_rows(tmp_path / "data.jsonl")),
            },
            "maxSteps": 2,
            "batchSize": 4,
            "loraR": 4,
            "loggingSteps": 1,
        }
    )
    spec = WorkerSpec(job_id="job_clone", config=config, output_dir=str(tmp_path / "out"))
    assert run_spec(spec) == 0
    events = [json.loads(line) for line in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "training.completed", events[-1]
    final = tmp_path / "out" / "final"
    adapter = json.loads((final / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == clone.id  # the cache folder built for the clone names it
    assert set(adapter["target_modules"]) == {
        "q_proj",
        "v_proj",
    }  # the entry's LoRA default
    assert (cache_dir / "models" / clone.id.replace("/", "--") / "config.json").is_file()

    result = export_job_artifacts(final, tmp_path / "export", gguf=True, model_id=clone.id)
    exported = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert exported["base_model_name_or_path"] == clone.id
    assert result.merged_dir is not None and clone.id in (result.merged_dir / "README.md").read_text()
    assert result.gguf_path is not None
    reader = gguf.GGUFReader(result.gguf_path)

    def field(key: str) -> str:
        value = reader.fields[key]
        return bytes(value.parts[value.data[0]]).decode()

    assert field("general.name") == clone.id.split("/")[-1]
    assert field("general.architecture") == "llama"  # the entry's GGUF architecture
