"""Export a trained adapter: the adapter folder itself, a merged standalone model, and a GGUF file.

`export_job_artifacts(adapter_dir, out_dir, *, merge, gguf, model_id, progress)` writes into out_dir:
- `adapter/`: a copy of the PEFT adapter (adapter_config.json records the logical model id);
- `merged/` (merge or gguf): base + adapter folded together (`merge_and_unload`), saved as safetensors
  with its tokenizer and chat template: plain `AutoModelForCausalLM.from_pretrained(out_dir / "merged")`
  loads it and gives the same logits as base + adapter;
- `model.gguf` (gguf): the merged model written by `arkor.engine.gguf_export` (the `gguf` package's
  `GGUFWriter`, llama.cpp's tensor names and metadata: vocabulary, special tokens, chat template) as
  `gguf_type` (f16 by default; q8_0, q4_0 ... quantised). Llama-family (SmolLM2, the tiny test model)
  and Gemma-3 text models are supported; other architectures raise `ConfigError` before any work.
"""

from __future__ import annotations

import json
import logging
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from arkor.errors import ConfigError

from .gguf_export import GGUF_ARCHITECTURES, GGUF_TYPES, check_gguf_type

logger = logging.getLogger(__name__)

GGUF_DTYPES = tuple(GGUF_TYPES)


@dataclass(frozen=True)
class ExportResult:
    adapter_dir: Path
    merged_dir: Path | None = None
    gguf_path: Path | None = None


class _Stages:
    """A rich progress bar on stderr when asked for, a log line per stage always."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._task = None

    def start(self, total: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task("export", total=total)

    def stage(self, text: str, advance: float = 0) -> None:
        logger.info("export: %s", text)
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

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as bar:
        yield bar


def _base_config(model_id: str) -> dict[str, Any]:
    from arkor.engine.models import resolve_model_path

    return json.loads((resolve_model_path(model_id, progress=False) / "config.json").read_text())


def check_gguf_supported(config: dict[str, Any], model_id: str) -> None:
    model_type = config.get("model_type")
    if model_type not in GGUF_ARCHITECTURES:
        raise ConfigError(
            f"GGUF export supports Llama-family models (model_type 'llama', e.g. SmolLM2) and Gemma-3 text "
            f"models ('gemma3_text', e.g. google/gemma-3-270m); {model_id} is {model_type!r}. Export the merged "
            "model instead (merge=True, gguf=False) and convert it with llama.cpp's convert_hf_to_gguf.py.",
            field="gguf",
        )
    rope = config.get("rope_parameters") or config.get("rope_scaling") or {}
    layers = [value for value in rope.values() if isinstance(value, dict)] or [rope]  # per layer type (Gemma-3)
    for params in layers:
        kind = params.get("rope_type", params.get("type", "default"))
        if kind not in ("default", None):
            raise ConfigError(f"GGUF export does not handle rope scaling {kind!r} of {model_id} yet.", field="gguf")


def copy_adapter(adapter_dir: Path, target: Path, model_id: str) -> Path:
    """Copy the adapter folder, recording the logical base model id in adapter_config.json."""
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ConfigError(f"{adapter_dir} is not a PEFT adapter folder (adapter_config.json is missing).",
                          field="adapter_dir")
    shutil.copytree(adapter_dir, target, dirs_exist_ok=True)
    config_path = target / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = model_id
    config_path.write_text(json.dumps(config, indent=2))
    return target


def merge_adapter(adapter_dir: Path, model_id: str):  # type: ignore[no-untyped-def]
    """(merged transformers model, tokenizer): the base in fp32 with the adapter folded in."""
    from peft import PeftModel

    from arkor.engine.models import load_model, load_tokenizer

    base = load_model(model_id, device="cpu")
    try:
        merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    except (RuntimeError, ValueError, KeyError) as exc:
        raise ConfigError(f"Adapter {adapter_dir} does not fit {model_id}: {exc}. Was it trained from this base?",
                          field="adapter_dir") from exc
    merged.eval()
    return merged, load_tokenizer(model_id)


def save_merged(model, tokenizer, target: Path) -> Path:  # type: ignore[no-untyped-def]
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(target), safe_serialization=True)
    tokenizer.save_pretrained(str(target))
    return target


def export_job_artifacts(adapter_dir: Path | str, out_dir: Path | str, *, merge: bool = False, gguf: bool = False,
                         model_id: str, progress: bool = False, gguf_dtype: str = "f16") -> ExportResult:
    """Write the adapter (always), the merged model (merge or gguf) and model.gguf (gguf) under out_dir."""
    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    gguf_dtype = check_gguf_type(gguf_dtype)
    if gguf:
        check_gguf_supported(_base_config(model_id), model_id)  # fail before any heavy work
    out_dir.mkdir(parents=True, exist_ok=True)
    with _progress_bar(progress) as bar:
        stages = _Stages(bar)
        stages.start(1 + (2 if merge or gguf else 0) + (1 if gguf else 0))
        stages.stage("copying the adapter")
        adapter_copy = copy_adapter(adapter_dir, out_dir / "adapter", model_id)
        stages.advance()
        if not (merge or gguf):
            return ExportResult(adapter_copy)
        stages.stage(f"merging the adapter into {model_id}")
        model, tokenizer = merge_adapter(adapter_dir, model_id)
        stages.stage("saving the merged model", advance=1)
        merged_dir = save_merged(model, tokenizer, out_dir / "merged")
        stages.advance()
        gguf_path = None
        if gguf:
            from .gguf_export import write_gguf

            stages.stage(f"writing GGUF ({gguf_dtype})")
            gguf_path = write_gguf(model, merged_dir, out_dir / "model.gguf", gguf_type=gguf_dtype,
                                   name=model_id.split("/")[-1])
            stages.advance()
        stages.stage("done")
    return ExportResult(adapter_copy, merged_dir, gguf_path)
