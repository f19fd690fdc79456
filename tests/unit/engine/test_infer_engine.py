"""InferenceEngine on the tiny test model: shapes, streaming, usage, stops, adapters, concurrency,
structured outputs. The tiny model's text is gibberish but deterministic under greedy decoding."""

from __future__ import annotations

import json
import re
import threading

import pytest

from arkor.engine.infer import InferenceEngine, adapter_key
from arkor.engine.infer.request import build_prompt_ids
from arkor.engine.models import TINY_TEST_MODEL, load_model
from arkor.errors import ConfigError, ModelNotAvailableError
from arkor.protocol.inference import ChatCompletionChunk, InferenceChatRequest

MODEL = TINY_TEST_MODEL


def chat(text="Hello there", **fields) -> InferenceChatRequest:
    fields.setdefault("temperature", 0)
    fields.setdefault("max_tokens", 24)
    return InferenceChatRequest.model_validate({"messages": [{"role": "user", "content": text}], **fields})


class CountingLoader:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model_id, **kwargs):
        self.calls.append(model_id)
        return load_model(model_id, **kwargs)


@pytest.fixture(scope="module")
def loader():
    return CountingLoader()


@pytest.fixture(scope="module")
def engine(loader):
    return InferenceEngine(model_loader=loader)


def _make_adapter(path, seed: int):
    import torch
    from peft import LoraConfig, get_peft_model

    model = load_model(MODEL)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:  # B starts at zero; random B makes the adapter change the output
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    peft_model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def adapters(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    return _make_adapter(root / "one", seed=1), _make_adapter(root / "two", seed=2)


def content_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks)


def test_stream_concatenates_to_the_completion_and_has_openai_shape(engine):
    completion = engine.complete(chat(), model_id=MODEL)
    chunks = list(engine.stream(chat(), model_id=MODEL))
    assert completion.id.startswith("chatcmpl-") and completion.object == "chat.completion"
    assert completion.model == MODEL and completion.choices[0].message.role == "assistant"
    assert content_of(chunks) == completion.choices[0].message.content != ""
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in chunks[1:])
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1].choices[0].finish_reason == completion.choices[0].finish_reason
    assert chunks[-1].usage == completion.usage
    assert all(c.usage is None for c in chunks[:-1])
    wire = chunks[-1].to_wire()
    assert wire["choices"][0]["finish_reason"] and wire["usage"]["total_tokens"]


def test_usage_counts_prompt_and_completion_tokens_and_max_tokens_gives_length(engine):
    from arkor.engine.models import load_tokenizer

    completion = engine.complete(chat("Count me", max_tokens=7), model_id=MODEL)
    prompt_ids = build_prompt_ids(load_tokenizer(MODEL), [{"role": "user", "content": "Count me"}])
    usage = completion.usage
    assert usage.prompt_tokens == len(prompt_ids)
    assert usage.completion_tokens == 7
    assert usage.total_tokens == len(prompt_ids) + 7
    assert completion.choices[0].finish_reason == "length"


def test_stop_string_from_the_greedy_output_never_leaks(engine):
    full = engine.complete(chat(max_tokens=40), model_id=MODEL).choices[0].message.content
    middle = len(full) // 2
    stop = full[middle : middle + 4]
    assert stop.strip() or len(stop) == 4
    expected = full[: full.index(stop)]

    completion = engine.complete(chat(max_tokens=40, stop=[stop, "never-seen-stop"]), model_id=MODEL)
    assert completion.choices[0].message.content == expected
    assert completion.choices[0].finish_reason == "stop"

    chunks = list(engine.stream(chat(max_tokens=40, stop=stop), model_id=MODEL))
    assert content_of(chunks) == expected
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage.completion_tokens < 40


def test_seeded_sampling_is_reproducible(engine):
    first = engine.complete(chat(temperature=1.0, top_p=0.9, seed=7), model_id=MODEL)
    second = engine.complete(chat(temperature=1.0, top_p=0.9, seed=7), model_id=MODEL)
    assert first.choices[0].message.content == second.choices[0].message.content


def test_adapters_switch_without_reloading_the_base(engine, loader, adapters):
    one, two = adapters
    base_text = engine.complete(chat(), model_id=MODEL).choices[0].message.content
    one_text = engine.complete(chat(), model_id=MODEL, adapter_dir=one).choices[0].message.content
    two_text = engine.complete(chat(), model_id=MODEL, adapter_dir=two).choices[0].message.content
    assert one_text != base_text and two_text != one_text and two_text != base_text
    assert engine.complete(chat(), model_id=MODEL).choices[0].message.content == base_text
    assert engine.complete(chat(), model_id=MODEL, adapter_dir=one).choices[0].message.content == one_text
    assert loader.calls == [MODEL]
    assert engine.base_loads == 1 and engine.adapter_loads == 2


def test_adapter_key_is_stable_per_folder(adapters):
    one, two = adapters
    assert adapter_key(one) == adapter_key(one) != adapter_key(two)


def test_concurrent_requests_with_different_adapters_match_sequential_results(engine, adapters):
    one, two = adapters
    jobs = [None, one, two, one, None, two]
    expected = [engine.complete(chat(), model_id=MODEL, adapter_dir=a).choices[0].message.content for a in jobs]
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def worker(index: int, adapter) -> None:
        try:
            if index % 2:
                results[index] = content_of(list(engine.stream(chat(), model_id=MODEL, adapter_dir=adapter)))
            else:
                results[index] = engine.complete(chat(), model_id=MODEL, adapter_dir=adapter).choices[0].message.content
        except BaseException as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert [results[i] for i in range(len(jobs))] == expected


def test_abandoned_stream_releases_the_model(engine):
    stream = engine.stream(chat(max_tokens=30), model_id=MODEL)
    next(stream)
    next(stream)
    stream.close()
    assert engine.complete(chat(max_tokens=3), model_id=MODEL).usage.completion_tokens == 3


def test_choice_constraint_holds(engine):
    choices = ["billing", "technical", "account"]
    for seed in range(3):
        completion = engine.complete(
            chat(temperature=1.0, seed=seed, structured_outputs={"choice": choices}), model_id=MODEL
        )
        assert completion.choices[0].message.content in choices
        assert completion.choices[0].finish_reason == "stop"


def test_regex_constraint_holds_when_streaming(engine):
    chunks = list(
        engine.stream(chat(temperature=1.0, seed=3, structured_outputs={"regex": "[a-c]{4}-[0-9]{2}"}), model_id=MODEL)
    )
    assert re.fullmatch("[a-c]{4}-[0-9]{2}", content_of(chunks))


def test_json_schema_constraint_parses_and_validates(engine):
    schema = {
        "type": "object",
        "properties": {"label": {"enum": ["spam", "ham"]}, "score": {"type": "integer", "minimum": 0, "maximum": 9}},
        "required": ["label", "score"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema, "strict": True}}
    for seed in range(3):
        completion = engine.complete(
            chat(temperature=1.0, seed=seed, max_tokens=60, response_format=fmt), model_id=MODEL
        )
        value = json.loads(completion.choices[0].message.content)
        assert set(value) == {"label", "score"}
        assert value["label"] in ("spam", "ham") and 0 <= value["score"] <= 9


def test_bad_adapter_folder_is_a_config_error(engine, tmp_path):
    with pytest.raises(ConfigError, match="adapter_config.json is missing"):
        engine.complete(chat(), model_id=MODEL, adapter_dir=tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        list(engine.stream(chat(), model_id=MODEL, adapter_dir=tmp_path / "nope"))


def test_stream_raises_validation_errors_before_the_first_chunk(engine):
    with pytest.raises(ConfigError, match="exactly one"):
        engine.stream(chat(structured_outputs={}), model_id=MODEL)


def test_unknown_model_is_reported_clearly(engine):
    with pytest.raises(ModelNotAvailableError):
        engine.complete(chat(), model_id="nobody/no-such-model")


def test_least_recently_used_base_is_unloaded(loader):
    from arkor.engine.models import resolve_model_path

    local_folder = str(resolve_model_path(MODEL, progress=False))  # same weights, another model id
    small = InferenceEngine(max_bases=1, model_loader=loader)
    small.complete(chat(max_tokens=2), model_id=MODEL)
    small.complete(chat(max_tokens=2), model_id=local_folder)
    assert small.loaded_models() == [local_folder]
    small.complete(chat(max_tokens=2), model_id=MODEL)
    assert small.loaded_models() == [MODEL] and small.base_loads == 3


def test_prompt_longer_than_the_context_is_a_config_error(engine):
    with pytest.raises(ConfigError, match="context") as info:
        engine.complete(chat("word " * 2100), model_id=MODEL)
    assert info.value.field == "messages"


def test_get_engine_is_a_process_wide_singleton():
    from arkor.engine.infer import get_engine

    assert get_engine() is get_engine()
