"""The model ids this SDK accepts, without importing the engine (a user's `import arkor` stays light).

A copy of `arkor.engine.models.registry`'s lists; a unit test keeps the two equal.
"""

from __future__ import annotations

import difflib
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


def suggest_model(model_id: str) -> str | None:
    """The accepted id a short or misspelt name most likely means (`smollm2` -> the SmolLM2 id)."""
    query = model_id.strip().lower()
    names = (*SUPPORTED_MODELS, TINY_TEST_MODEL)
    if not query:
        return None
    for name in names:
        if query in name.lower():
            return name
    short = {name.lower().rsplit("/", 1)[-1]: name for name in names}
    close = difflib.get_close_matches(query.rsplit("/", 1)[-1], list(short), n=1, cutoff=0.6)
    return short[close[0]] if close else None


def unsupported_model_message(model_id: str) -> str:
    listed = ", ".join(SUPPORTED_MODELS)
    suggestion = suggest_model(model_id)
    hint = f' Did you mean "{suggestion}"?' if suggestion else ""
    return (
        f'Unsupported model "{model_id}".{hint} This arkor release supports: {listed} '
        f'(and "{TINY_TEST_MODEL}" or a local Hugging Face model folder for tests). If the backend '
        "already accepts this model, upgrade arkor or submit through CloudApiClient.create_job."
    )
