"""Each template's unedited trainer: a time budget, epochs rather than steps, and task accuracy on
the project's own data/eval.jsonl with the template's scorer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from arkor.protocol import parse_duration
from arkor.sdk.runner import load_entry, pick_trainer
from arkor.templates.scaffold import scaffold
from arkor.templates.scoring import SCORER_NAMES, TEMPLATE_NAMES


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_template_trains_within_three_minutes_and_scores_its_eval_file(template, tmp_path: Path):
    project = tmp_path / template
    scaffold(project, template=template, name="p", agents_md=False, model="arkor/tiny-test")
    config = pick_trainer(load_entry(project / "src" / "arkor" / "index.py", project))._config
    assert parse_duration(config.max_time) <= 180
    assert config.max_steps is None and config.num_train_epochs  # epochs: defaults follow the data size
    assert config.eval_scorer == template and config.eval_scorer in SCORER_NAMES
    assert (project / config.eval_dataset.path).is_file() and config.eval_dataset.path == "data/eval.jsonl"
    assert config.eval_steps


def test_triage_checkpoint_sample_asks_as_the_data_trains_and_with_its_schema(tmp_path: Path):
    # The trainer file keeps its own copy of the schema (a user reads and edits it there); it must not
    # drift from the one the scorer, Studio's preset and the benchmarks use.
    from arkor.templates.scoring import ANSWER_SCHEMAS, task_presets

    project = tmp_path / "triage"
    scaffold(project, template="triage", name="p", agents_md=False, model="arkor/tiny-test")
    tree = ast.parse((project / "src" / "arkor" / "trainer.py").read_text())
    assigned = {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    assert ast.literal_eval(assigned["TRIAGE_SCHEMA"]) == ANSWER_SCHEMAS["triage"]
    preset = next(p for p in task_presets().presets if p.template == "triage")
    messages = [ast.literal_eval(node) for node in ast.walk(tree) if isinstance(node, ast.Dict) and _is_message(node)]
    assert [m["content"] for m in messages if m["role"] == "system"] == [preset.system_prompt]


def _is_message(node: ast.Dict) -> bool:
    keys = [key.value for key in node.keys if isinstance(key, ast.Constant)]
    return keys == ["role", "content"] and all(isinstance(value, ast.Constant) for value in node.values)
