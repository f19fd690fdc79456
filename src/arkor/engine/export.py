"""Export a trained adapter: the adapter folder itself, a merged standalone model, and a GGUF file.

`export_job_artifacts(adapter_dir, out_dir, *, merge, gguf, model_id, progress)` writes into out_dir:
- `adapter/`: a copy of the PEFT adapter (adapter_config.json and the model card `README.md` record
  the logical model id, never the local cache folder);
- `merged/` (merge or gguf): base + adapter folded together (`merge_and_unload`), saved as safetensors
  with its tokenizer, chat template and model card: plain
  `AutoModelForCausalLM.from_pretrained(out_dir / "merged")` loads it and gives the same logits as
  base + adapter;
- `model.gguf` (gguf): the merged model written by `arkor.engine.gguf_export` (the `gguf` package's
  `GGUFWriter`, llama.cpp's tensor names and metadata: vocabulary, special tokens, chat template) as
  `gguf_type` (f16 by default; q8_0, q4_0 ... quantised). The model types written are the model families'
  GGUF architectures (`arkor.model_families`: Llama-family such as SmolLM2 and the tiny test model,
  Gemma-3 text); other architectures raise `ConfigError` before any work.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arkor.errors import ConfigError
from arkor.model_families import gguf_architectures, list_families

from .gguf_export import GGUF_TYPES, check_gguf_type

logger = logging.getLogger(__name__)

GGUF_DTYPES = tuple(GGUF_TYPES)


@dataclass(frozen=True)
class ExportResult:
    adapter_dir: Path
    merged_dir: Path | None = None
    gguf_path: Path | None = None


class _Stages:
    """A rich progress bar on stderr when asked for, a log line per stage always."""

    def __init__(self, progress: Any, on_stage: Callable[[str], None] | None = None) -> None:
        self._progress = progress
        self._on_stage = on_stage
        self._task = None

    def start(self, total: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task("export", total=total)

    def stage(self, text: str, advance: float = 0) -> None:
        logger.info("export: %s", text)
        if self._on_stage is not None:
            self._on_stage(text)
        if self._progress is not None:
            self._progress.update(self._task, description=text, advance=advance)

    def advance(self, amount: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, amount)


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        yield bar


def _base_config(model_id: str) -> dict[str, Any]:
    from arkor.engine.models import resolve_model_path

    return json.loads((resolve_model_path(model_id, progress=False) / "config.json").read_text())


def _gguf_supported_text() -> str:
    """`Llama-family models (model_type 'llama', e.g. HuggingFaceTB/SmolLM2-135M-Instruct) and ...`, from
    the model families' GGUF architectures (a supported family as the example, else a test one)."""
    parts = []
    for model_type, arch in gguf_architectures().items():
        examples = [
            family.id
            for family in list_families()
            if family.gguf_architecture is not None and family.gguf_architecture.model_type == model_type
        ]
        parts.append(f"{arch.label} (model_type {model_type!r}, e.g. {examples[0]})")
    if not parts:
        return "no model type (no model family names a GGUF architecture)"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def check_gguf_supported(config: dict[str, Any], model_id: str) -> None:
    model_type = config.get("model_type")
    if model_type not in gguf_architectures():
        raise ConfigError(
            f"GGUF export supports {_gguf_supported_text()}; {model_id} is {model_type!r}. Export the merged "
            "model instead (merge=True, gguf=False) and convert it with llama.cpp's convert_hf_to_gguf.py.",
            field="gguf",
        )
    rope = config.get("rope_parameters") or config.get("rope_scaling") or {}
    layers = [value for value in rope.values() if isinstance(value, dict)] or [rope]  # per layer type (Gemma-3)
    for params in layers:
        kind = params.get("rope_type", params.get("type", "default"))
        if kind not in ("default", None):
            raise ConfigError(f"GGUF export does not handle rope scaling {kind!r} of {model_id} yet.", field="gguf")


def copy_adapter(adapter_dir: Path, target: Path, model_id: str, card: dict[str, Any] | None = None) -> Path:
    """Copy the adapter folder, recording the logical base model id in adapter_config.json and in
    the model card (re-rendered with `card`'s facts: config, job_id, run_name, metrics)."""
    from arkor.protocol.artifacts import ADAPTER_CONFIG

    from .model_card import CARD_MARKER, CARD_NAME, write_model_card

    if not (adapter_dir / ADAPTER_CONFIG).is_file():
        raise ConfigError(
            f"{adapter_dir} is not a PEFT adapter folder (adapter_config.json is missing).", field="adapter_dir"
        )
    shutil.copytree(adapter_dir, target, dirs_exist_ok=True)
    config_path = target / ADAPTER_CONFIG
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = model_id
    config_path.write_text(json.dumps(config, indent=2))
    existing = target / CARD_NAME
    if card or not (existing.is_file() and CARD_MARKER in existing.read_text(encoding="utf-8", errors="replace")):
        write_model_card(target, model_id=model_id, **(card or {}))  # never PEFT's blank card
    return target


def normalise_modes(folder: Path) -> None:
    """One mode for everything written: files 0666 and folders 0777 less the umask (libraries
    disagree: safetensors writes 0600 through a temporary file, tokenizers 0644)."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Silence transformers/peft/hub warnings and progress bars: an export prints its own stages."""
    import warnings

    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars_were_off = are_progress_bars_disabled()
    tf_bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    disable_progress_bars()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if tf_bars:
            hf_logging.enable_progress_bar()
        if not bars_were_off:
            enable_progress_bars()


def merge_adapter(adapter_dir: Path, model_id: str):  # type: ignore[no-untyped-def]
    """(merged transformers model, tokenizer): the base in fp32 with the adapter folded in."""
    from peft import PeftModel

    from arkor.engine.models import load_model, load_tokenizer

    base = load_model(model_id, device="cpu")
    try:
        merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    except (RuntimeError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"Adapter {adapter_dir} does not fit {model_id}: {exc}. Was it trained from this base?", field="adapter_dir"
        ) from exc
    merged.eval()
    return merged, load_tokenizer(model_id)


def save_merged(model, tokenizer, target: Path) -> Path:  # type: ignore[no-untyped-def]
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(target), safe_serialization=True)
    tokenizer.save_pretrained(str(target))
    return target


def export_job_artifacts(
    adapter_dir: Path | str,
    out_dir: Path | str,
    *,
    merge: bool = False,
    gguf: bool = False,
    model_id: str,
    progress: bool = False,
    gguf_dtype: str = "f16",
    on_stage: Callable[[str], None] | None = None,
    card: dict[str, Any] | None = None,
) -> ExportResult:
    """Write the adapter (always), the merged model (merge or gguf) and model.gguf (gguf) under out_dir.

    `progress` draws a bar on stderr; `on_stage` hears each stage's description (for plain logs).
    Library warnings and progress bars are silenced meanwhile. `card` adds facts to the adapter's
    model card (see `copy_adapter`)."""
    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    gguf_dtype = check_gguf_type(gguf_dtype)
    if gguf:
        check_gguf_supported(_base_config(model_id), model_id)  # fail before any heavy work
    out_dir.mkdir(parents=True, exist_ok=True)
    with _progress_bar(progress) as bar, quiet_libraries():
        stages = _Stages(bar, on_stage)
        stages.start(1 + (2 if merge or gguf else 0) + (1 if gguf else 0))
        stages.stage("copying the adapter")
        adapter_copy = copy_adapter(adapter_dir, out_dir / "adapter", model_id, card)
        stages.advance()
        if not (merge or gguf):
            return ExportResult(adapter_copy)
        stages.stage(f"merging the adapter into {model_id}")
        model, tokenizer = merge_adapter(adapter_dir, model_id)
        stages.stage("saving the merged model", advance=1)
        merged_dir = save_merged(model, tokenizer, out_dir / "merged")
        from .model_card import write_model_card

        write_model_card(merged_dir, model_id=model_id, merged=True, facts_from=adapter_copy, **(card or {}))
        stages.advance()
        gguf_path = None
        if gguf:
            from .gguf_export import write_gguf

            stages.stage(f"writing GGUF ({gguf_dtype})")
            gguf_path = write_gguf(
                model, merged_dir, out_dir / "model.gguf", gguf_type=gguf_dtype, name=model_id.split("/")[-1]
            )
            stages.advance()
        stages.stage("done")
    return ExportResult(adapter_copy, merged_dir, gguf_path)
