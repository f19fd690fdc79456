"""The adapter's model card (`README.md` next to `adapter_config.json`).

PEFT's `save_pretrained` writes a blank template whose `base_model` is the local converted-model
folder (`/home/.../.cache/arkor/models/...`), useless on any other machine. arkor replaces it with a
card that names the logical base model id, the dataset, the hyperparameters, and (for the final
adapter) the run's metrics. The card's facts also sit in `arkor-checkpoint.json`, so an export can
re-render it, adding what only the backend knows (the uploaded file's name, the job id).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from arkor import __version__
from arkor.protocol.artifacts import CHECKPOINT_INFO, MODEL_CARD

CARD_NAME = MODEL_CARD
CARD_MARKER = "<!-- written by arkor -->"

# Wire keys of the hyperparameters worth a line, in reading order (absent ones are skipped).
_HYPERPARAMETERS = (
    "maxSteps",
    "numTrainEpochs",
    "learningRate",
    "lrSchedulerType",
    "warmupSteps",
    "batchSize",
    "gradientAccumulationSteps",
    "optim",
    "weightDecay",
    "maxLength",
    "loraR",
    "loraAlpha",
    "loraDropout",
    "targetModules",
    "loraLastLayers",
    "seed",
    "datasetFormat",
)


def describe_dataset(source: Any) -> str:
    """One line naming the training data from a wire `datasetSource`."""
    if not isinstance(source, dict):
        return "unknown"
    kind = source.get("type")
    if kind == "huggingface":
        split = f" (split {source['split']})" if source.get("split") else ""
        return f"Hugging Face dataset `{source.get('name')}`{split}"
    if kind == "uploaded":
        name = source.get("filename") or "a file"
        return f"`{name}`, uploaded as dataset `{source.get('datasetId')}`"
    if kind == "blob":
        return f"`{str(source.get('url', '')).split('?')[0]}`"
    if kind == "file":
        return f"local file `{Path(str(source.get('path', ''))).name}`"
    return str(kind or "unknown")


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def render_model_card(
    *,
    model_id: str,
    config: dict[str, Any],
    step: int | None = None,
    metrics: dict[str, Any] | None = None,
    job_id: str | None = None,
    run_name: str | None = None,
    merged: bool = False,
) -> str:
    """Markdown with Hugging Face front matter (`base_model` is the logical id); `merged` describes
    the standalone model `arkor export --merge` writes instead of the adapter."""
    title = run_name or (f"job {job_id}" if job_id else "arkor adapter")
    what = f"`{model_id}` with a LoRA adapter merged in" if merged else f"A LoRA adapter for `{model_id}`"
    lines = [
        "---",
        f"base_model: {model_id}",
        f"library_name: {'transformers' if merged else 'peft'}",
        "pipeline_tag: text-generation",
        "tags:",
        f"- base_model:{'finetune' if merged else 'adapter'}:{model_id}",
        "- lora",
        "- arkor",
        "---",
        CARD_MARKER,
        "",
        f"# {title}",
        "",
        f"{what}, fine-tuned with arkor {__version__}"
        + (f" (job `{job_id}`)" if job_id else "")
        + (f", saved at step {step}" if step is not None else "")
        + ".",
        "",
        f"- **Base model:** `{model_id}`",
        f"- **Dataset:** {describe_dataset(config.get('datasetSource'))}",
        "",
        "## Hyperparameters",
        "",
    ]
    lines += [f"- `{key}`: {_value(config[key])}" for key in _HYPERPARAMETERS if config.get(key) is not None]
    if metrics:
        lines += ["", "## Metrics", ""]
        lines += [f"- `{key}`: {_value(value)}" for key, value in metrics.items() if value is not None]
    if merged:
        use = [
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            'model = AutoModelForCausalLM.from_pretrained("path/to/this/folder")',
            'tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")',
        ]
        after: list[str] = []
    else:
        use = [
            "from peft import AutoPeftModelForCausalLM",
            'model = AutoPeftModelForCausalLM.from_pretrained("path/to/this/folder")',
        ]
        after = ["", f"`arkor export {job_id or '<job>'} --merge` writes a standalone model instead."]
    lines += ["", "## Use", "", "```python", *use, "```", *after, ""]
    return "\n".join(lines)


def read_checkpoint_info(folder: Path) -> dict[str, Any]:
    try:
        info = json.loads((folder / CHECKPOINT_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def write_model_card(
    folder: Path,
    *,
    model_id: str,
    config: dict[str, Any] | None = None,
    step: int | None = None,
    metrics: dict[str, Any] | None = None,
    job_id: str | None = None,
    run_name: str | None = None,
    merged: bool = False,
    facts_from: Path | None = None,
) -> Path:
    """Write `folder/README.md`; what is not given comes from the `arkor-checkpoint.json` of
    `facts_from` (default: `folder`)."""
    info = read_checkpoint_info(facts_from or folder)
    path = folder / CARD_NAME
    path.write_text(
        render_model_card(
            model_id=model_id,
            config=config if config is not None else (info.get("config") or {}),
            step=step if step is not None else info.get("step"),
            metrics=metrics if metrics is not None else info.get("metrics"),
            job_id=job_id or info.get("jobId"),
            run_name=run_name or info.get("runName"),
            merged=merged,
        ),
        encoding="utf-8",
    )
    return path
