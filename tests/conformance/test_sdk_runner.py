"""run_trainer, create_arkor, is_arkor: every export shape and the original's messages (.py paths)."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

import arkor
from arkor import create_arkor, is_arkor, run_trainer
from arkor.sdk.runner import ENTRY_EXPORT_MESSAGE, TrainingEntryError

FAKE = """
class FakeTrainer:
    def __init__(self, label):
        self.label = label
    def start(self):
        from arkor import StartResult
        return StartResult(job_id=self.label)
    def wait(self):
        from types import SimpleNamespace
        return SimpleNamespace(job=SimpleNamespace(status="failed"), artifacts=[])
    def cancel(self):
        pass
"""


def _project(tmp_path: Path, index: str, trainer_py: str = FAKE) -> Path:
    folder = tmp_path / "proj"
    (folder / "src" / "arkor").mkdir(parents=True)
    (folder / "src" / "arkor" / "trainer.py").write_text(textwrap.dedent(trainer_py))
    (folder / "src" / "arkor" / "index.py").write_text(textwrap.dedent(index))
    return folder


@pytest.mark.parametrize(
    "index,expected",
    [
        (
            "from .trainer import FakeTrainer\nfrom arkor import create_arkor\narkor = create_arkor(trainer=FakeTrainer('a'))\n",
            "a",
        ),
        ("from .trainer import FakeTrainer\narkor = FakeTrainer('bare-arkor')\n", "bare-arkor"),
        ("from .trainer import FakeTrainer\ntrainer = FakeTrainer('t')\n", "t"),
        (
            "from .trainer import FakeTrainer\nfrom arkor import create_arkor\ndefault = create_arkor(trainer=FakeTrainer('d'))\n",
            "d",
        ),
        ("from .trainer import FakeTrainer\ndefault = FakeTrainer('dt')\n", "dt"),
        ("from .trainer import FakeTrainer\ndefault = {'trainer': FakeTrainer('nested')}\n", "nested"),
        (
            "from .trainer import FakeTrainer\nfrom arkor import create_arkor\narkor = create_arkor(trainer=FakeTrainer('first'))\ntrainer = FakeTrainer('second')\n",
            "first",
        ),
    ],
)
def test_export_shapes(tmp_path, index, expected):
    lines = []
    result = run_trainer(cwd=_project(tmp_path, index), echo=lines.append)
    assert lines == [f"Started job {expected}", f"Job {expected} finished with status=failed"]
    assert result.job.status == "failed"  # a failed run still resolves


def test_no_trainer_export_message(tmp_path):
    folder = _project(tmp_path, "x = 1\n")
    with pytest.raises(TrainingEntryError) as info:
        run_trainer(cwd=folder)
    assert (
        str(info.value)
        == ENTRY_EXPORT_MESSAGE
        == (
            "Training entry must export `arkor` (from create_arkor(...)) or `trainer` (from create_trainer(...)), "
            "or default-export one of them."
        )
    )


def test_missing_entry_message(tmp_path):
    with pytest.raises(TrainingEntryError) as info:
        run_trainer(cwd=tmp_path)
    expected = tmp_path.resolve() / "src" / "arkor" / "index.py"
    assert str(info.value) == f"Training entry not found: {expected}. Provide a path or create src/arkor/index.py."


def test_relative_and_absolute_entry_paths(tmp_path):
    folder = _project(tmp_path, "x = 1\n")
    (folder / "src" / "arkor" / "alt.py").write_text("from .trainer import FakeTrainer\ntrainer = FakeTrainer('alt')\n")
    lines = []
    run_trainer("src/arkor/alt.py", cwd=folder, echo=lines.append)
    run_trainer(folder / "src" / "arkor" / "alt.py", echo=lines.append)
    assert lines[0] == "Started job alt" and lines[2] == "Started job alt"


def test_project_folder_named_arkor_never_shadows_the_library(tmp_path):
    folder = _project(
        tmp_path, "from .trainer import FakeTrainer\nimport arkor as lib\ntrainer = FakeTrainer(lib.__name__)\n"
    )
    lines = []
    run_trainer(cwd=folder, echo=lines.append)
    assert lines[0] == "Started job arkor"
    import sys

    assert sys.modules["arkor"] is arkor and hasattr(arkor, "create_trainer")


def test_create_arkor_is_frozen_and_is_arkor():
    manifest = create_arkor(trainer="t")
    assert manifest["_kind"] == "arkor" and manifest.trainer == "t" and is_arkor(manifest)
    with pytest.raises(dataclasses.FrozenInstanceError):
        manifest.trainer = "other"  # type: ignore[misc]
    assert is_arkor({"_kind": "arkor"}) and not is_arkor(None) and not is_arkor({"_kind": "x"}) and not is_arkor(3)
