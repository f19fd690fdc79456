"""Each template's unedited trainer: a time budget, epochs rather than steps, and task accuracy on
the project's own data/eval.jsonl with the template's scorer."""

from __future__ import annotations

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
