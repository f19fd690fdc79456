"""The model ids this SDK accepts, read from `arkor.model_families` (a leaf: no engine import, so a user's
`import arkor` stays light). A family registered with `register_model_family` is accepted at once.
"""

from __future__ import annotations

from pathlib import Path

from arkor.model_families import (
    DEFAULT_MODEL,
    TINY_TEST_MODEL,
    get_family,
    suggest_family,
    supported_models,
    test_models,
)

# The supported ids registered at import (the public constant); validation reads the live registry.
SUPPORTED_MODELS: tuple[str, ...] = supported_models()

__all__ = [
    "DEFAULT_MODEL",
    "SUPPORTED_MODELS",
    "TINY_TEST_MODEL",
    "is_accepted_model",
    "suggest_model",
    "unsupported_model_message",
]


def is_accepted_model(model_id: str, *, base_dir: Path | None = None) -> bool:
    """A registered model family's id (supported or test-only), or an existing local Hugging Face model folder."""
    if get_family(model_id) is not None:
        return True
    folder = Path(model_id).expanduser()
    if not folder.is_absolute() and base_dir is not None:
        folder = base_dir / folder
    return folder.is_dir() and (folder / "config.json").is_file()


def suggest_model(model_id: str) -> str | None:
    """The accepted id a short or misspelt name most likely means (`smollm2` -> the SmolLM2 id)."""
    return suggest_family(model_id)


def unsupported_model_message(model_id: str) -> str:
    listed = ", ".join(supported_models())
    suggestion = suggest_model(model_id)
    hint = f' Did you mean "{suggestion}"?' if suggestion else ""
    tests = " or ".join(f'"{name}"' for name in test_models())
    return (
        f'Unsupported model "{model_id}".{hint} This arkor release supports: {listed} '
        f"(and {tests} or a local Hugging Face model folder for tests). If the backend "
        "already accepts this model, upgrade arkor or submit through CloudApiClient.create_job."
    )
