"""Helpers shared by the benchmark scripts: the template data as arkor tokenizes it, token counting,
held-out loss of an adapter, this machine's matmul peak, peak memory, model-FLOPs accounting, and table printing.

The benchmarks are scripts (`python benchmarks/<name>.py`), so this module is imported by its bare
name with the `benchmarks/` folder on `sys.path`.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

IGNORE_INDEX = -100


def template_file(template: str, split: str) -> Path:
    """A template's bundled `train.jsonl` / `eval.jsonl`."""
    from arkor.templates.scoring import data_dir

    return data_dir(template) / f"{split}.jsonl"


def job_config(model_id: str, template: str, **overrides: Any):
    """The `JobConfig` arkor's engine trains from: the template's train file, plus `overrides`."""
    from arkor.protocol import JobConfig

    return JobConfig.model_validate(
        {
            "model": model_id,
            "datasetSource": {"type": "file", "path": str(template_file(template, "train"))},
            **overrides,
        }
    )


def tokenized_train_set(model_id: str, template: str) -> list[dict[str, list[int]]]:
    """The template's training rows rendered and tokenized once by `arkor.engine.data`, as plain
    `{"input_ids", "labels"}` dicts (labels -100 where masked): every trainer sees exactly these."""
    from arkor.engine.data import prepare_dataset
    from arkor.engine.models import load_tokenizer

    prepared = prepare_dataset(job_config(model_id, template), load_tokenizer(model_id))
    return [{"input_ids": list(e.input_ids), "labels": list(e.labels)} for e in prepared.train]


def tokenized_eval_set(model_id: str, template: str, rows: int | None = None) -> list[dict[str, list[int]]]:
    """The template's held-out `eval.jsonl` tokenized like the train set (first `rows` rows; 0: none)."""
    from arkor.engine.data import prepare_dataset
    from arkor.engine.models import load_tokenizer
    from arkor.protocol import JobConfig

    if rows == 0:
        return []
    config = JobConfig.model_validate(
        {"model": model_id, "datasetSource": {"type": "file", "path": str(template_file(template, "eval"))}}
    )
    prepared = prepare_dataset(config, load_tokenizer(model_id))
    examples = [{"input_ids": list(e.input_ids), "labels": list(e.labels)} for e in prepared.train]
    return examples[:rows] if rows else examples


def heldout_loss(model_id: str, adapter_dir: Path, examples: list[dict[str, list[int]]], batch_size: int = 8) -> float:
    """Mean next-token loss per answer token of `adapter_dir` on `examples`, on the fp32 base model,
    computed with plain transformers + peft (full logits, no arkor code in the loop) so that every
    trainer's adapter is judged by the same ruler."""
    import torch
    import torch.nn.functional as F
    from peft import PeftModel

    from arkor.engine.models import load_model

    model = PeftModel.from_pretrained(load_model(model_id, dtype=torch.float32), str(adapter_dir))
    model.eval()
    total, count = 0.0, 0
    ordered = sorted(examples, key=lambda e: len(e["input_ids"]))
    with torch.no_grad():
        for start in range(0, len(ordered), batch_size):
            chunk = ordered[start : start + batch_size]
            width = max(len(e["input_ids"]) for e in chunk)
            ids = torch.tensor([e["input_ids"] + [0] * (width - len(e["input_ids"])) for e in chunk])
            mask = torch.tensor([[1] * len(e["input_ids"]) + [0] * (width - len(e["input_ids"])) for e in chunk])
            labels = torch.tensor([e["labels"] + [IGNORE_INDEX] * (width - len(e["labels"])) for e in chunk])
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            targets = labels[:, 1:]
            total += float(
                F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]),
                    targets.reshape(-1),
                    ignore_index=IGNORE_INDEX,
                    reduction="sum",
                )
            )
            count += int((targets != IGNORE_INDEX).sum())
    return total / max(count, 1)


def count_tokens(attention_mask: Any, labels: Any) -> tuple[int, int]:
    """(non-pad tokens, loss-bearing tokens) of one collated batch; a token bears loss when it is
    the target of a prediction, i.e. labels shifted by one are not -100."""
    return int(attention_mask.sum()), int((labels[:, 1:] != IGNORE_INDEX).sum())


def measure_matmul_peak(seconds: float = 2.0, size: int = 2048, dtype: str = "float32") -> float:
    """Best GFLOP/s of a square `torch.matmul` in `dtype` over about `seconds`, with the current
    torch thread count: the practical peak that model-FLOPs utilisation is measured against."""
    import torch

    torch_dtype = getattr(torch, dtype)
    a, b = torch.randn(size, size, dtype=torch_dtype), torch.randn(size, size, dtype=torch_dtype)
    torch.matmul(a, b)  # warm-up: thread pool and allocator
    flops, best = 2.0 * size**3, 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        torch.matmul(a, b)
        best = max(best, flops / (time.perf_counter() - start))
    return best / 1e9


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_params(model: Any) -> tuple[int, int]:
    """(body, head) weights that every token multiplies through: all `nn.Linear` weights of the
    transformer body (LoRA factors excluded) and the LM head. Embedding lookups cost no FLOPs."""
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = base.get_output_embeddings()
    body = 0
    for name, module in base.named_modules():
        if isinstance(module, torch.nn.Linear) and module is not head and "lora_" not in name:
            body += module.weight.numel()
    return body, head.weight.numel()


def lora_model_flops(body_params: int, head_params: int, tokens: int, loss_tokens: int) -> float:
    """FLOPs a LoRA step must do: forward 2N + backward-to-activations 2N per token through the
    frozen body (no weight gradients for frozen weights), and the same 4N through the LM head for
    the positions that bear loss. Attention-score and LoRA-factor FLOPs (a few %) are left out."""
    return 4.0 * body_params * tokens + 4.0 * head_params * loss_tokens


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], file: Any = None) -> None:
    """A plain aligned text table (markdown-compatible)."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\n".join(lines), file=file or sys.stdout)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return "-" if value is None else str(value)


def write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2))


def template_job_config(model_id: str, template: str, work_dir: Path, **overrides: Any):
    """The `JobConfig` a fresh `arkor init --template <template>` project trains with, unedited:
    the template is scaffolded into `work_dir`, its trainer file is imported as `arkor start` does,
    and its relative data paths are made absolute. `overrides` (wire names) replace fields."""
    from arkor.protocol import FileDatasetSource, JobConfig
    from arkor.sdk.runner import load_entry, pick_trainer
    from arkor.templates.scaffold import scaffold

    project = work_dir / f"{template}-project"
    scaffold(project, template=template, name=f"{template}-bench", agents_md=False, model=model_id)
    trainer = pick_trainer(load_entry(project / "src" / "arkor" / "index.py", project))
    config = trainer._config
    absolute = {}
    for key in ("dataset_source", "eval_dataset"):
        source = getattr(config, key)
        if isinstance(source, FileDatasetSource) and not Path(source.path).is_absolute():
            absolute[key] = FileDatasetSource(path=str(project / source.path))
    wire = {**config.model_copy(update=absolute).to_wire(), **overrides}
    return JobConfig.model_validate({k: v for k, v in wire.items() if v is not None})
