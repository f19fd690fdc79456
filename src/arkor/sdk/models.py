"""The model ids this SDK accepts, without importing the engine (a user's `import arkor` stays light).

A copy of `arkor.engine.models.registry`'s lists; a unit test keeps the two equal.
"""

from __future__ import annotations

from pathlib import Path

SUPPORTED_MODELS: tuple[str, ...] = (
    "HuggingFaceTB/SmolLM2-135M-Instruct",
    "google/gemma-3-270m",
    "unsloth/gemma-4-E4B-it",
)
DEFAULT_MODEL = SUPPORTED_MODELS[0]
TINY_TEST_MODEL = "arkor/tiny-test"


def is_accepted_model(model_id: str, *, base_dir: Path | None = None) -> bool:
    """A supported id, the tiny test model, or an existing local Hugging Face model folder."""
    if model_id in SUPPORTED_MODELS or model_id == TINY_TEST_MODEL:
        return True
    folder = Path(model_id).expanduser()
    if not folder.is_absolute() and base_dir is not None:
        folder = base_dir / folder
    return folder.is_dir() and (folder / "config.json").is_file()


def unsupported_model_message(model_id: str) -> str:
    listed = ", ".join(SUPPORTED_MODELS)
    return (
        f'Unsupported model "{model_id}". This arkor release supports: {listed} '
        f'(and "{TINY_TEST_MODEL}" or a local Hugging Face model folder for tests). If the backend '
        "already accepts this model, upgrade arkor or submit through CloudApiClient.create_job."
    )
