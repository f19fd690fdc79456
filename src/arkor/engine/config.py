"""Turn a wire `JobConfig` into a fully resolved `TrainingPlan`: defaults filled, cross-field
rules checked, every problem reported with the trainer field that causes it."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from arkor.errors import ConfigError
from arkor.model_families import get_family, last_layers_problem
from arkor.protocol import LR_SCHEDULER_TYPES as LR_SCHEDULERS  # defined once, also checked by create_trainer
from arkor.protocol import OPTIMIZERS_ANYWHERE, OPTIMIZERS_CUDA_ONLY, JobConfig, parse_duration

DRY_RUN_MAX_STEPS = 10
DRY_RUN_MAX_ROWS = 50


@dataclass(frozen=True)
class TrainingPlan:
    """Everything the training loop needs, with no None left to interpret."""

    model_id: str
    lora_r: int = 16
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    target_modules: list[str] | str = "all-linear"
    lora_last_layers: int | None = None  # None: every layer
    max_length: int = 1024
    load_in_4bit: bool = False
    max_steps: int | None = None
    num_train_epochs: float = 1.0
    learning_rate: float = 2e-4
    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    optim: str = "adamw_torch"
    lr_scheduler_type: str = "linear"
    weight_decay: float = 0.0
    warmup_steps: int = 0
    logging_steps: int = 1
    save_steps: int | None = None
    eval_steps: int | None = None
    seed: int = 42
    dry_run: bool = False
    max_time_s: float | None = None  # wall-clock budget of the optimizer loop
    eval_scorer: str | None = None  # set when the job names an eval_dataset
    eval_rows: int = 24
    torch_compile: bool = False  # decoder layers compiled for the training steps (`train.compiled`)
    device: str = "cpu"
    dtype: str = "float32"

    def total_steps(self, train_rows: int) -> int:
        """Optimizer steps to run: `max_steps` if given, else epochs over the data (at least 1)."""
        steps_per_epoch = max(1, math.ceil(train_rows / (self.batch_size * self.gradient_accumulation_steps)))
        steps = self.max_steps if self.max_steps is not None else math.ceil(steps_per_epoch * self.num_train_epochs)
        if self.dry_run:
            steps = min(steps, DRY_RUN_MAX_STEPS)
        return max(1, steps)


CPU_DTYPE_ENV = "ARKOR_CPU_DTYPE"


def cpu_training_dtype() -> str:
    """bfloat16 where the CPU has bf16 matmul units (AVX512-BF16 or AMX), else float32.

    With those units a bf16 matmul runs 2-3x faster than fp32 (benchmarks/train_throughput.py);
    without them bf16 is emulated and slower, so fp32 stays. Only the frozen base weights and the
    activations are bf16: the LoRA factors, the optimizer state and the loss stay fp32.
    `ARKOR_CPU_DTYPE=float32` (or `bfloat16`) overrides the choice."""
    import torch

    forced = os.environ.get(CPU_DTYPE_ENV, "").strip().lower()
    if forced:
        if forced not in ("float32", "bfloat16"):
            raise ConfigError(
                f"{CPU_DTYPE_ENV}={forced!r} is not a CPU training dtype; use float32 or bfloat16", field=CPU_DTYPE_ENV
            )
        return forced
    cpu = getattr(torch, "cpu", None)
    has_bf16 = any(
        bool(getattr(cpu, probe, lambda: False)()) for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    )
    return "bfloat16" if has_bf16 else "float32"


def pick_device() -> tuple[str, str]:
    """CUDA with bf16 where the GPU has it, else fp16 on CUDA, else the CPU in `cpu_training_dtype()`."""
    import torch

    if torch.cuda.is_available():
        return "cuda", "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "cpu", cpu_training_dtype()


def _default_target_modules(model_id: str) -> list[str] | str:
    """The model family's LoRA targets ("all-linear" unless its entry names modules)."""
    family = get_family(model_id)
    targets = family.lora_target_modules if family is not None else "all-linear"
    return targets if isinstance(targets, str) else list(targets)


def resolve_plan(config: JobConfig, *, device: str | None = None, dtype: str | None = None) -> TrainingPlan:
    """Fill defaults and check the rules that span fields. Raises ConfigError naming the field."""
    if device is None:
        device, dtype = pick_device()
    dtype = dtype or (cpu_training_dtype() if device == "cpu" else "bfloat16")
    problems: list[tuple[str, str]] = []

    optim = config.optim or "adamw_torch"
    if optim in OPTIMIZERS_CUDA_ONLY and device != "cuda":
        problems.append(
            (
                "optim",
                f"optim={optim!r} needs a CUDA GPU (bitsandbytes); on this machine use one of {', '.join(OPTIMIZERS_ANYWHERE)}",
            )
        )
    elif optim not in OPTIMIZERS_ANYWHERE + OPTIMIZERS_CUDA_ONLY:
        problems.append(
            (
                "optim",
                f"optim={optim!r} is not supported; use one of {', '.join(OPTIMIZERS_ANYWHERE + OPTIMIZERS_CUDA_ONLY)}",
            )
        )

    scheduler = config.lr_scheduler_type or "linear"
    if scheduler not in LR_SCHEDULERS:
        problems.append(
            (
                "lr_scheduler_type",
                f"lr_scheduler_type={scheduler!r} is not supported; use one of {', '.join(LR_SCHEDULERS)}",
            )
        )

    if config.load_in_4bit and device != "cuda":
        problems.append(
            (
                "lora.load_in_4bit",
                "lora.load_in_4bit (QLoRA) needs a CUDA GPU; this machine has none. Remove load_in_4bit or set it to False to train in full precision on the CPU",
            )
        )

    if problem := last_layers_problem(config.model, config.lora_last_layers):
        problems.append(("lora.last_layers", problem))

    if config.max_steps is None and config.num_train_epochs is None:
        max_steps, epochs = None, 1.0
    else:
        max_steps, epochs = config.max_steps, config.num_train_epochs or 1.0

    eval_scorer = None
    if config.eval_dataset is not None:
        from arkor.templates.scoring import SCORER_NAMES

        eval_scorer = config.eval_scorer or "json_fields"
        if eval_scorer not in SCORER_NAMES:
            problems.append(
                ("eval_scorer", f"eval_scorer={eval_scorer!r} is not a scorer; use one of {', '.join(SCORER_NAMES)}")
            )
    elif config.eval_scorer is not None:
        problems.append(
            (
                "eval_scorer",
                "eval_scorer needs an eval_dataset to score; add eval_dataset={'type': 'file', 'path': ...} or remove eval_scorer",
            )
        )

    if problems:
        lines = "\n  ".join(f"{name}: {text}" for name, text in problems)
        raise ConfigError(f"Invalid training config:\n  {lines}", field=problems[0][0])

    return TrainingPlan(
        model_id=config.model,
        lora_r=config.lora_r or 16,
        lora_alpha=float(config.lora_alpha or config.lora_r or 16),
        lora_dropout=config.lora_dropout or 0.0,
        target_modules=config.target_modules or _default_target_modules(config.model),
        lora_last_layers=config.lora_last_layers,
        max_length=config.max_length or 1024,
        load_in_4bit=bool(config.load_in_4bit),
        max_steps=max_steps,
        num_train_epochs=epochs,
        learning_rate=config.learning_rate or 2e-4,
        batch_size=config.batch_size or 4,
        gradient_accumulation_steps=config.gradient_accumulation_steps or 1,
        optim=optim,
        lr_scheduler_type=scheduler,
        weight_decay=config.weight_decay or 0.0,
        warmup_steps=config.warmup_steps or 0,
        logging_steps=config.logging_steps or 1,
        save_steps=config.save_steps,
        eval_steps=config.eval_steps,
        seed=42 if config.seed is None else config.seed,
        dry_run=bool(config.dry_run),
        max_time_s=None if config.max_time is None else parse_duration(config.max_time),
        eval_scorer=eval_scorer,
        eval_rows=config.eval_rows or 24,
        torch_compile=bool(config.torch_compile),
        device=device,
        dtype=dtype,
    )
