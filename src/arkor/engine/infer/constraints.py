"""Structured outputs by constrained decoding: each step, tokens the grammar forbids get -inf logits.

Owns:
- `resolve_grammar(request)`: validates `response_format` / `structured_outputs` with the original's
  rules (exactly one constraint; never both a response_format constraint and structured_outputs)
  and returns a `GrammarSpec` (an llguidance grammar) or None. Pure: no model needed.
- `GrammarConstraint`: a per-request matcher (llguidance `LLMatcher`) that implements the token
  loop's `TokenConstraint` protocol.
- `TokenizerGrammarCache`: the llguidance view of a tokenizer, built once per base (about 1 s).

The grammar engine is llguidance (Rust, no dependencies, CPU): JSON Schema, regex, Lark/GBNF.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arkor.errors import ConfigError
from arkor.protocol.inference import InferenceChatRequest

if TYPE_CHECKING:
    import torch

ANY_JSON_OBJECT: dict[str, Any] = {"type": "object"}
# JSON whitespace allowed between tokens unless the request says otherwise. Bounded on purpose: with
# unbounded whitespace a weak model can fill its whole token budget with newlines and never close
# the object; 16 characters still allow pretty-printed, indented JSON.
DEFAULT_JSON_WHITESPACE = r"[\x20\x0A\x0D\x09]{0,16}"


@dataclass(frozen=True)
class GrammarSpec:
    """A compiled-to-text llguidance grammar plus where it came from (for error messages)."""

    kind: str  # json | regex | choice | grammar | json_object
    grammar: str
    field: str


def _llguidance():
    try:
        import llguidance
    except ImportError as exc:  # pragma: no cover - llguidance is a declared dependency
        raise ConfigError(
            "Structured outputs need the 'llguidance' package; install it with `pip install llguidance`.",
            field="structured_outputs",
        ) from exc
    return llguidance


def _json_schema_grammar(
    schema: Any,
    field: str,
    *,
    whitespace_flexible: bool = True,
    whitespace_pattern: str | None = None,
    no_additional_properties: bool = False,
) -> str:
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{field} is not valid JSON: {exc}", field=field) from exc
    if not isinstance(schema, dict):
        raise ConfigError(f"{field} must be a JSON schema object, got {type(schema).__name__}", field=field)
    if no_additional_properties:
        schema = _close_objects(schema)
    options: dict[str, Any] = {"whitespace_flexible": whitespace_flexible}
    if whitespace_flexible:
        options["whitespace_pattern"] = whitespace_pattern or DEFAULT_JSON_WHITESPACE
    try:
        return _llguidance().LLMatcher.grammar_from_json_schema(schema, defaults=options)
    except ValueError as exc:
        raise ConfigError(f"{field} is not a usable JSON schema: {exc}", field=field) from exc


def _close_objects(schema: Any) -> Any:
    """A copy of the schema with additionalProperties false wherever it is not set."""
    if isinstance(schema, list):
        return [_close_objects(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {k: _close_objects(v) for k, v in schema.items()}
    if closed.get("type") == "object" or "properties" in closed:
        closed.setdefault("additionalProperties", False)
    return closed


def _check(spec: GrammarSpec) -> GrammarSpec:
    """Reject a grammar llguidance cannot compile (bad regex, bad schema) before any model work."""
    error = _llguidance().LLMatcher.validate_grammar(spec.grammar)
    if error:
        raise ConfigError(f"{spec.field} is invalid: {error}", field=spec.field)
    return spec


def resolve_grammar(request: InferenceChatRequest) -> GrammarSpec | None:
    """The request's output constraint, validated, or None for free text."""
    response_format = request.response_format
    wants_format = response_format is not None and response_format.type != "text"
    structured = request.structured_outputs
    if structured is not None and wants_format:
        raise ConfigError(
            "Use either response_format (json_object / json_schema) or structured_outputs, not both.",
            field="structured_outputs",
        )
    if wants_format:
        assert response_format is not None
        if response_format.type == "json_object":
            return _check(
                GrammarSpec("json_object", _json_schema_grammar(ANY_JSON_OBJECT, "response_format"), "response_format")
            )
        spec = response_format.json_schema
        if spec is None or not spec.schema_:
            raise ConfigError(
                "response_format.json_schema.schema is required when response_format.type is 'json_schema'.",
                field="response_format.json_schema.schema",
            )
        field = "response_format.json_schema.schema"
        return _check(
            GrammarSpec(
                "json", _json_schema_grammar(spec.schema_, field, no_additional_properties=bool(spec.strict)), field
            )
        )
    if structured is None:
        return None
    kinds = structured.constraint_kinds()
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none"
        raise ConfigError(
            f"structured_outputs must set exactly one of json, regex, choice, grammar, json_object (found: {found}).",
            field="structured_outputs",
        )
    kind = kinds[0]
    field = f"structured_outputs.{kind}"
    llg = _llguidance()
    if kind in ("json", "json_object"):
        schema = structured.json_ if kind == "json" else ANY_JSON_OBJECT
        grammar = _json_schema_grammar(
            schema,
            field,
            whitespace_flexible=not structured.disable_any_whitespace,
            whitespace_pattern=structured.whitespace_pattern,
            no_additional_properties=bool(structured.disable_additional_properties),
        )
    elif kind == "regex":
        grammar = llg.LLMatcher.grammar_from_regex(structured.regex)
    elif kind == "choice":
        choices = structured.choice or []
        if not choices or not all(isinstance(c, str) and c for c in choices):
            raise ConfigError("structured_outputs.choice must be a non-empty list of non-empty strings.", field=field)
        grammar = llg.LLMatcher.grammar_from_lark("start: " + " | ".join(json.dumps(c) for c in choices))
    else:
        try:
            grammar = llg.grammar_from("grammar", structured.grammar)
        except ValueError as exc:
            raise ConfigError(f"{field} is invalid: {exc}", field=field) from exc
    return _check(GrammarSpec(kind, grammar, field))


class TokenizerGrammarCache:
    """The llguidance tokenizer for one HF tokenizer, built lazily once (thread-safe)."""

    def __init__(self, tokenizer, stop_ids: frozenset[int]) -> None:
        self._tokenizer = tokenizer
        self._stop_ids = sorted(stop_ids)
        self._ll_tokenizer = None
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self._ll_tokenizer is None:
                import llguidance.hf

                self._ll_tokenizer = llguidance.hf.from_tokenizer(self._tokenizer, eos_token=self._stop_ids or None)
            return self._ll_tokenizer


class GrammarConstraint:
    """One request's grammar state; masks logits and follows sampled tokens."""

    def __init__(self, spec: GrammarSpec, ll_tokenizer) -> None:
        import llguidance

        self.spec = spec
        self._matcher = llguidance.LLMatcher(ll_tokenizer, spec.grammar, log_level=0)
        if self._matcher.is_error():
            raise ConfigError(f"{spec.field} is invalid: {self._matcher.get_error()}", field=spec.field)
        self._vocab_size = ll_tokenizer.vocab_size
        self._bitmask: torch.Tensor | None = None  # allocated on the first step

    def mask_logits(self, logits) -> None:
        import torch
        from llguidance.torch import allocate_token_bitmask, fill_next_token_bitmask

        bitmask = self._bitmask
        if bitmask is None:
            bitmask = self._bitmask = allocate_token_bitmask(1, self._vocab_size)
            self._bit_positions = torch.arange(32, dtype=torch.int32)
        fill_next_token_bitmask(self._matcher, bitmask, 0)
        # Unpack 32 allowed-bits per int32 word into one boolean per token id.
        allowed = ((bitmask[0].unsqueeze(1) >> self._bit_positions) & 1).flatten().bool()
        size = min(logits.shape[-1], allowed.shape[0])
        logits[:size].masked_fill_(~allowed[:size], float("-inf"))
        if logits.shape[-1] > size:  # model rows past the tokenizer's vocabulary are never valid
            logits[size:] = float("-inf")

    def accept(self, token_id: int) -> None:
        if not self._matcher.consume_token(token_id):
            raise RuntimeError(f"constrained decoding desynchronised: {self._matcher.get_error()}")

    def is_finished(self) -> bool:
        return self._matcher.is_stopped()
