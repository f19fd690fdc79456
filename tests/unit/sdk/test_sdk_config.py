"""create_trainer validation and wire mapping (pure, no network)."""

from __future__ import annotations

import pytest

from arkor import ConfigError, TrainerCallbacks, TrainerConfigError, create_trainer

BASE = dict(name="n", model="arkor/tiny-test", dataset={"type": "huggingface", "name": "x"})


def test_every_optional_field_lands_in_config_with_wire_names():
    trainer = create_trainer(
        **BASE,
        lora={
            "r": 8,
            "alpha": 16,
            "max_length": 512,
            "load_in_4bit": False,
            "target_modules": ["q_proj"],
            "dropout": 0.05,
            "last_layers": 2,
        },
        max_steps=10,
        num_train_epochs=1.5,
        learning_rate=2e-4,
        batch_size=2,
        gradient_accumulation_steps=4,
        optim="adamw_torch",
        lr_scheduler_type="cosine",
        weight_decay=0.01,
        warmup_steps=2,
        logging_steps=1,
        save_steps=5,
        eval_steps=5,
        train_on_responses_only=True,
        dataset_format={"type": "chatml"},
        dataset_split="train",
        seed=7,
        dry_run=False,
    )
    assert trainer._config.to_wire() == {
        "model": "arkor/tiny-test",
        "datasetSource": {"type": "huggingface", "name": "x"},
        "loraR": 8,
        "loraAlpha": 16.0,
        "maxLength": 512,
        "loadIn4bit": False,
        "targetModules": ["q_proj"],
        "loraDropout": 0.05,
        "loraLastLayers": 2,
        "maxSteps": 10,
        "numTrainEpochs": 1.5,
        "learningRate": 2e-4,
        "batchSize": 2,
        "gradientAccumulationSteps": 4,
        "optim": "adamw_torch",
        "lrSchedulerType": "cosine",
        "weightDecay": 0.01,
        "warmupSteps": 2,
        "loggingSteps": 1,
        "saveSteps": 5,
        "evalSteps": 5,
        "trainOnResponsesOnly": True,
        "datasetFormat": {"type": "chatml"},
        "datasetSplit": "train",
        "seed": 7,
        "dryRun": False,
    }


@pytest.mark.parametrize(
    "kwargs,field,fragment",
    [
        ({"lora": {"r": 0, "alpha": 8}}, "lora.r", "greater than 0"),
        ({"learning_rate": 0}, "learning_rate", "greater than 0"),
        ({"max_steps": "10"}, "max_steps", "valid integer"),
        ({"dry_run": 1}, "dry_run", "valid boolean"),
        ({"learning_rat": 1e-4}, "learning_rat", "Did you mean `learning_rate`?"),
        ({"lora": {"r": 4, "alpah": 8}}, "lora.alpah", "Did you mean `alpha`?"),
        ({"dataset_format": "yaml"}, "dataset_format", "chatml"),
        (
            {"model": "gpt-4"},
            "model",
            'Unsupported model "gpt-4". This arkor release supports: HuggingFaceTB/SmolLM2-135M-Instruct',
        ),
        ({"dataset": {"type": "s3", "url": "x"}}, "dataset", "A dataset is one of"),
        ({"callbacks": {"on_lgo": print}}, "callbacks.on_lgo", "Did you mean `on_log`?"),
        ({"on_log": 3}, "on_log", "must be a function"),
        ({"abort_signal": object()}, "abort_signal", "AbortSignal"),
        (
            {"lora": {"last_layers": 3}},
            "lora.last_layers",
            "lora.last_layers: 3 is more than the 2 transformer layers of arkor/tiny-test; use at most 2",
        ),
        (
            {"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "lora": {"last_layers": 31}},
            "lora.last_layers",
            "31 is more than the 30 transformer layers",
        ),
    ],
)
def test_bad_input_names_the_field(kwargs, field, fragment):
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(**{**BASE, **kwargs})
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)
    fields = [f for f, _ in info.value.problems]
    assert field in fields or any(f.startswith(field) for f in fields), info.value.problems
    assert fragment in str(info.value)


def test_missing_required_fields_and_all_problems_together():
    with pytest.raises(TrainerConfigError) as info:
        create_trainer(name="n", max_steps=-1)
    fields = {f for f, _ in info.value.problems}
    assert {"model", "dataset", "max_steps"} <= fields


def test_local_model_folder_is_accepted(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert create_trainer(**{**BASE, "model": str(tmp_path)}).name == "n"


def test_callbacks_as_dict_object_or_keywords():
    def log(ctx):
        return None

    for trainer in (
        create_trainer(**BASE, callbacks={"on_log": log}),
        create_trainer(**BASE, callbacks=TrainerCallbacks(on_log=log)),
        create_trainer(**BASE, on_log=log),
    ):
        assert trainer.callbacks.on_log is log and trainer.callbacks.on_started is None
