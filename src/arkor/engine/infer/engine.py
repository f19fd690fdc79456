"""`InferenceEngine`: cached base models, adapters switched per request, OpenAI-shaped replies.

Caching: at most `max_bases` base models stay loaded (least recently used goes first). Each base
loads its PEFT adapters once (named by a stable key derived from the adapter folder and its
weights file's mtime, so a retrained folder is reloaded) and switches between them with
`set_adapter`; a base-only request runs inside `disable_adapter()`. The base is never reloaded
for an adapter.

Concurrency: the model is stateful (the active adapter, and one KV cache per generation), so each
base has a lock held for a whole generation; different bases generate in parallel. A `stream()`
generator holds the lock until it is exhausted or closed: consumers must iterate it to the end or
call `.close()`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arkor._env import infer_threads
from arkor.errors import ConfigError
from arkor.protocol.artifacts import ADAPTER_CONFIG, ADAPTER_WEIGHT_FILES
from arkor.protocol.inference import ChatCompletion, ChatCompletionChunk, CompletionFinishReason, InferenceChatRequest

from .constraints import GrammarConstraint, TokenizerGrammarCache, resolve_grammar
from .generate import Finished, TextDelta, generate_token_ids, stream_text
from .request import (
    DEFAULT_MAX_TOKENS,
    build_prompt_ids,
    message_to_template_dict,
    sampling_settings,
    stop_token_ids,
)
from .shapes import ChunkBuilder, make_completion, make_usage
from .tools import ToolPlan, parse_tool_calls, plan_tools, prepare_messages

logger = logging.getLogger(__name__)

ADAPTER_WEIGHTS = ADAPTER_WEIGHT_FILES


@dataclass
class _LoadedBase:
    model_id: str
    model: Any  # PreTrainedModel, or PeftModel once an adapter was loaded
    tokenizer: Any
    stop_ids: frozenset[int]
    context_length: int | None
    grammar_tokenizer: TokenizerGrammarCache
    lock: threading.Lock = field(default_factory=threading.Lock)
    adapters: OrderedDict[str, Path] = field(default_factory=OrderedDict)


def _adapter_weights(adapter_dir: Path) -> Path:
    if not adapter_dir.is_dir():
        raise ConfigError(f"Adapter folder {adapter_dir} does not exist.", field="adapter")
    if not (adapter_dir / ADAPTER_CONFIG).is_file():
        raise ConfigError(f"{adapter_dir} is not a PEFT adapter folder: {ADAPTER_CONFIG} is missing.", field="adapter")
    for name in ADAPTER_WEIGHTS:
        if (adapter_dir / name).is_file():
            return adapter_dir / name
    raise ConfigError(f"{adapter_dir} has no adapter weights ({ADAPTER_WEIGHTS[0]}).", field="adapter")


def adapter_key(adapter_dir: Path) -> str:
    """A PEFT adapter name for a folder: stable for the same files, new when they change."""
    resolved = Path(adapter_dir).expanduser().resolve()
    weights = _adapter_weights(resolved)
    stat = weights.stat()
    digest = hashlib.sha1(f"{resolved}|{stat.st_mtime_ns}|{stat.st_size}".encode()).hexdigest()[:16]
    return f"adapter_{digest}"


class InferenceEngine:
    """Chat completions from cached base models and PEFT adapters. Thread-safe."""

    def __init__(
        self,
        *,
        max_bases: int = 1,
        max_adapters_per_base: int = 8,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        device: str = "cpu",
        model_loader: Callable[..., Any] | None = None,
        tokenizer_loader: Callable[[str], Any] | None = None,
    ) -> None:
        if max_bases < 1 or max_adapters_per_base < 1:
            raise ValueError("max_bases and max_adapters_per_base must be at least 1")
        self.max_bases = max_bases
        self.max_adapters_per_base = max_adapters_per_base
        self.default_max_tokens = default_max_tokens
        self.device = device
        self._model_loader = model_loader
        self._tokenizer_loader = tokenizer_loader
        self._bases: OrderedDict[str, _LoadedBase] = OrderedDict()
        self._cache_lock = threading.Lock()  # guards _bases and serialises loading
        self.base_loads = 0
        self.adapter_loads = 0

    # ----- caching -------------------------------------------------------------------------------

    def _load_base(self, model_id: str) -> _LoadedBase:
        from arkor.engine.models import get_model_spec, load_model, load_tokenizer

        spec = get_model_spec(model_id)
        tokenizer = (self._tokenizer_loader or load_tokenizer)(model_id)
        model = (self._model_loader or load_model)(model_id, device=self.device)
        model.eval()
        stop_ids = stop_token_ids(tokenizer, model, list(spec.stop_tokens))
        context = getattr(model.config, "max_position_embeddings", None)
        self.base_loads += 1
        logger.info("Loaded base model %s for inference (stop ids %s)", model_id, sorted(stop_ids))
        return _LoadedBase(model_id, model, tokenizer, stop_ids, context, TokenizerGrammarCache(tokenizer, stop_ids))

    def _base(self, model_id: str) -> _LoadedBase:
        with self._cache_lock:
            base = self._bases.get(model_id)
            if base is None:
                base = self._load_base(model_id)
                self._bases[model_id] = base
                while len(self._bases) > self.max_bases:
                    evicted, _ = self._bases.popitem(last=False)
                    logger.info("Unloaded base model %s (cache holds %d)", evicted, self.max_bases)
            self._bases.move_to_end(model_id)
            return base

    def loaded_models(self) -> list[str]:
        with self._cache_lock:
            return list(self._bases)

    def _load_adapter(self, base: _LoadedBase, key: str, adapter_dir: Path) -> None:
        """Load an adapter into the base (caller holds base.lock)."""
        import torch

        # The token loop enters torch.inference_mode inside a generator that streaming resumes on another
        # thread, so a worker thread can be left in inference mode; adapter weights created there would be
        # inference tensors that PEFT cannot mark trainable/active. Load with the mode explicitly off.
        try:
            with torch.inference_mode(False):
                self._attach_adapter(base, key, adapter_dir)
        except (RuntimeError, ValueError, KeyError, OSError) as exc:
            raise ConfigError(
                f"Adapter {adapter_dir} cannot be loaded onto {base.model_id}: {exc}. "
                "Was it trained from this base model?",
                field="adapter",
            ) from exc
        self._after_adapter_load(base, key, adapter_dir)

    @staticmethod
    def _attach_adapter(base: _LoadedBase, key: str, adapter_dir: Path) -> None:
        from peft import PeftModel

        if isinstance(base.model, PeftModel):
            base.model.load_adapter(str(adapter_dir), adapter_name=key)
        else:
            base.model = PeftModel.from_pretrained(base.model, str(adapter_dir), adapter_name=key)

    def _after_adapter_load(self, base: _LoadedBase, key: str, adapter_dir: Path) -> None:
        base.model.eval()
        base.adapters[key] = adapter_dir
        self.adapter_loads += 1
        logger.info("Loaded adapter %s as %s on %s", adapter_dir, key, base.model_id)
        while len(base.adapters) > self.max_adapters_per_base:
            old_key, _ = base.adapters.popitem(last=False)
            base.model.delete_adapter(old_key)

    @contextmanager
    def _active(self, base: _LoadedBase, adapter_dir: Path | None, key: str | None) -> Iterator[None]:
        """Make the requested adapter (or none) active on the base; caller holds base.lock."""
        if adapter_dir is None or key is None:
            from peft import PeftModel

            # A plain transformers model (no adapter loaded yet) has nothing to disable.
            with base.model.disable_adapter() if isinstance(base.model, PeftModel) else nullcontext():
                yield
            return
        if key not in base.adapters:
            self._load_adapter(base, key, adapter_dir)
        base.adapters.move_to_end(key)
        base.model.set_adapter(key)
        yield

    # ----- generation ----------------------------------------------------------------------------

    def _events(
        self, request: InferenceChatRequest, model_id: str, adapter_dir: Path | None, plan_box: list[ToolPlan]
    ) -> Iterator[tuple[int, TextDelta | Finished]]:
        """Yield (prompt_tokens, event) for one request, holding the base's lock throughout.

        The request's ToolPlan is appended to `plan_box` before the first event.
        """
        grammar = resolve_grammar(request)  # validate before loading anything
        plan = plan_tools(request)
        if plan.grammar is not None:
            grammar = plan.grammar
        plan_box.append(plan)
        key = adapter_key(adapter_dir) if adapter_dir is not None else None
        base = self._base(model_id)
        messages, tools = prepare_messages(
            base.tokenizer, [message_to_template_dict(m) for m in request.messages], plan
        )
        prompt_ids = build_prompt_ids(base.tokenizer, messages, tools)
        settings = sampling_settings(
            request,
            prompt_length=len(prompt_ids),
            context_length=base.context_length,
            stop_ids=base.stop_ids,
            default_max_tokens=self.default_max_tokens,
        )
        constraint = GrammarConstraint(grammar, base.grammar_tokenizer.get()) if grammar else None
        with base.lock, self._active(base, Path(adapter_dir) if adapter_dir else None, key):
            tokens = _with_cpu_threads(
                generate_token_ids(base.model, prompt_ids, settings, constraint), infer_threads()
            )
            for event in stream_text(base.tokenizer, tokens, settings, constraint):
                yield len(prompt_ids), event

    def stream(
        self, request: InferenceChatRequest, *, model_id: str, adapter_dir: Path | None = None
    ) -> Iterator[ChatCompletionChunk]:
        """Chunks of one completion: role first, then content deltas, then finish_reason and usage.

        Validation errors (ConfigError, ModelNotAvailableError) are raised here, before any chunk.
        With tools, the reply is buffered: it is either content or tool calls, known at the end.
        """
        plan_box: list[ToolPlan] = []
        events = self._events(request, model_id, adapter_dir, plan_box)
        first = next(events)  # runs validation and loading eagerly, before any chunk is promised
        return self._chunks(model_id, plan_box[0], _chain(first, events), events)

    def _chunks(self, model_id: str, plan: ToolPlan, events, generator) -> Iterator[ChatCompletionChunk]:
        builder = ChunkBuilder(model=model_id)
        yield builder.role()
        buffered: list[str] = []
        try:
            for prompt_tokens, event in events:
                if isinstance(event, TextDelta):
                    if plan.mode == "none":
                        yield builder.content(event.text)
                    else:
                        buffered.append(event.text)
                    continue
                reason = event.reason
                if plan.mode != "none":
                    text = "".join(buffered)
                    calls = parse_tool_calls(text, plan)
                    if calls:
                        yield builder.tool_calls(calls)
                        reason = "tool_calls"
                    elif text:
                        yield builder.content(text)
                yield builder.finish(reason, make_usage(prompt_tokens, event.completion_tokens))
        finally:
            generator.close()  # releases the base lock if the consumer stopped early

    def complete(
        self, request: InferenceChatRequest, *, model_id: str, adapter_dir: Path | None = None
    ) -> ChatCompletion:
        """One whole completion (the non-streaming reply)."""
        parts: list[str] = []
        finished: Finished | None = None
        prompt_tokens = 0
        plan_box: list[ToolPlan] = []
        # prompt_tokens is read after the loop: every event carries the same count
        for prompt_tokens, event in self._events(request, model_id, adapter_dir, plan_box):  # noqa: B007
            if isinstance(event, TextDelta):
                parts.append(event.text)
            else:
                finished = event
        assert finished is not None
        text = "".join(parts)
        calls = parse_tool_calls(text, plan_box[0])
        content: str | None = text
        reason: CompletionFinishReason = finished.reason
        if calls:
            content, reason = None, "tool_calls"
        return make_completion(
            model=model_id,
            content=content,
            tool_calls=calls,
            finish_reason=reason,
            usage=make_usage(prompt_tokens, finished.completion_tokens),
        )


def _chain(first, rest):
    yield first
    yield from rest


_engine: InferenceEngine | None = None
_engine_lock = threading.Lock()


def _with_cpu_threads(iterator: Iterator, threads: int) -> Iterator:
    """Run each step of `iterator` with torch's CPU thread count set to `threads`, restoring the
    caller's count in between (it is process-wide, and a training loop in the same process keeps its own)."""
    import torch

    while True:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            item = next(iterator)
        except StopIteration:
            return
        finally:
            torch.set_num_threads(previous)
        yield item


def get_engine() -> InferenceEngine:
    """The process-wide engine (created on first use)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = InferenceEngine()
        return _engine
