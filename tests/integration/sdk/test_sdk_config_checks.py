"""`create_trainer` checks what it can at construction: optimizer and scheduler names (the engine's own
lists), local dataset files (exists, supported extension), model ids, with a did-you-mean each; LoRA
alpha has a default. Before, these passed and failed later in the worker or at upload."""

from __future__ import annotations

from pathlib import Path

import pytest

from arkor import TrainerConfigError, create_trainer
from arkor.engine import config as engine_config
from arkor.sdk.trainer import TrainerContext

BASE = dict(name="n", model="arkor/tiny-test", dataset={"type": "huggingface", "name": "x"})


def _problem(**kwargs) -> tuple[str, str]:
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(**{**BASE, **kwargs})
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


@pytest.mark.parametrize(
    "field,value,suggestion",
    [
        ("optim", "adam", "Did you mean `adamw`?"),
        ("optim", "adamw-torch", "Did you mean `adamw_torch`?"),
        ("lr_scheduler_type", "cosin", "Did you mean `cosine`?"),
        ("lr_scheduler_type", "const", ""),
    ],
)
def test_unknown_choices_are_refused_with_a_suggestion(field, value, suggestion):
    name, message = _problem(**{field: value})
    assert name == field
    assert message.startswith(f"{value!r} is not a supported ")
    assert suggestion in message and "Supported: " in message


def test_every_name_the_engine_trains_with_is_accepted():
    for optim in engine_config.OPTIMIZERS_ANYWHERE + engine_config.OPTIMIZERS_CUDA_ONLY:
        assert create_trainer(**BASE, optim=optim)._config.optim == optim
    for scheduler in engine_config.LR_SCHEDULERS:
        assert create_trainer(**BASE, lr_scheduler_type=scheduler)._config.lr_scheduler_type == scheduler


def test_missing_file_is_refused_with_the_nearby_name(tmp_path: Path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text("{}\n")
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(
            **{**BASE, "dataset": {"type": "file", "path": "data/trian.jsonl"}}, context=TrainerContext(cwd=tmp_path)
        )
    assert info.value.problems == [
        (
            "dataset.path",
            f"file not found: {tmp_path / 'data' / 'trian.jsonl'} "
            f"(relative paths start at {tmp_path}). Did you mean `data/train.jsonl`?",
        )
    ]


def test_missing_folder_is_named(tmp_path: Path):
    with pytest.raises(TrainerConfigError, match="The folder .*nowhere does not exist"):
        create_trainer(
            **{**BASE, "dataset": {"type": "file", "path": "nowhere/train.jsonl"}}, context=TrainerContext(cwd=tmp_path)
        )


def test_a_python_file_is_not_a_dataset(tmp_path: Path):
    (tmp_path / "train.py").write_text("print()\n")
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(
            **{**BASE, "dataset": {"type": "file", "path": "train.py"}}, context=TrainerContext(cwd=tmp_path)
        )
    assert info.value.problems == [
        (
            "dataset.path",
            "'train.py' is not a dataset file (it ends in '.py'); use a "
            ".jsonl, .ndjson, .json, .csv, .parquet or .pq file",
        )
    ]
    assert "X-Arkor-Filename" not in str(info.value)


def test_relative_paths_resolve_against_the_project_folder(tmp_path: Path):
    (tmp_path / "train.jsonl").write_text("{}\n")
    trainer = create_trainer(
        **{**BASE, "dataset": {"type": "file", "path": "train.jsonl"}}, context=TrainerContext(cwd=tmp_path)
    )
    assert trainer._dataset_source.path == "train.jsonl"


def test_lora_alpha_defaults_to_r_on_the_backend():
    trainer = create_trainer(**BASE, lora={"r": 8})
    assert trainer._config.lora_r == 8 and trainer._config.lora_alpha is None
    plan = engine_config.resolve_plan(trainer._config, device="cpu")
    assert plan.lora_alpha == 8.0  # the documented default: alpha = r


@pytest.mark.parametrize(
    "model,meant",
    [
        ("smollm2", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        ("SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        ("gemma-3-270", "google/gemma-3-270m"),
        ("arkor/tiny", "arkor/tiny-test"),
    ],
)
def test_model_did_you_mean(model, meant):
    field, message = _problem(model=model)
    assert field == "model"
    assert message.startswith(f'Unsupported model "{model}". Did you mean "{meant}"? This arkor release supports:')


def test_arkor_build_refuses_a_missing_dataset_file(tmp_path: Path):
    import os
    import subprocess
    import sys

    project = tmp_path / "project"
    (project / "src" / "arkor").mkdir(parents=True)
    (project / "src" / "arkor" / "trainer.py").write_text(
        "from arkor import create_trainer\n"
        "trainer = create_trainer(name='t', model='arkor/tiny-test', dataset={'type': 'file', 'path': 'data/train.jsonl'})\n"
    )
    (project / "src" / "arkor" / "index.py").write_text(
        "from arkor import create_arkor\nfrom .trainer import trainer\narkor = create_arkor(trainer=trainer)\n"
    )
    src = Path(__file__).resolve().parents[3] / "src"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "ARKOR_HOME": str(tmp_path / ".arkor"),
        "PYTHONPATH": str(src),
    }
    result = subprocess.run(
        [sys.executable, "-m", "arkor.cli.main", "build"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert (
        f"Error: Invalid trainer config: dataset.path: file not found: {project / 'data' / 'train.jsonl'}"
        in result.stderr
    )
