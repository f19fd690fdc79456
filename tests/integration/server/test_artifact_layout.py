"""`ArtifactLayout` (arkor.protocol.artifacts) is the one place a run's file layout is spelled: the
final adapter, `checkpoints/step-N`, the adapter and resume files; engine, server, executors and
CLI build their paths from it, and no other module writes those names by hand."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from arkor.protocol.artifacts import (
    ARTIFACT_PATHS,
    ArtifactLayout,
    adapter_label,
    adapter_prefix,
    checkpoint_name,
    checkpoint_step,
    is_resume_marker,
)

SRC = Path(__file__).resolve().parents[3] / "src" / "arkor"
LAYOUT_MODULE = SRC / "protocol" / "artifacts.py"


def test_a_folder_layout(tmp_path: Path) -> None:
    layout = ArtifactLayout(tmp_path)
    assert layout.final == tmp_path / "final"
    assert layout.checkpoint(10) == tmp_path / "checkpoints" / "step-10"
    assert layout.adapter() == layout.final and layout.adapter(10) == layout.checkpoint(10)
    assert layout.adapter_config(3) == tmp_path / "checkpoints" / "step-3" / "adapter_config.json"
    assert layout.adapter_weights() == tmp_path / "final" / "adapter_model.safetensors"
    assert layout.resume_marker(3) == tmp_path / "checkpoints" / "step-3" / "trainer_state" / "COMPLETE"
    assert layout.events == tmp_path / "events.jsonl" and layout.metrics == tmp_path / "metrics.json"
    assert isinstance(layout.checkpoint(1), Path)


def test_artifact_pathnames() -> None:
    assert str(ARTIFACT_PATHS.final) == "final"
    assert str(ARTIFACT_PATHS.checkpoint(7)) == "checkpoints/step-7"
    assert isinstance(ARTIFACT_PATHS.checkpoint(7), PurePosixPath)
    assert adapter_prefix() == "final/" and adapter_prefix(7) == "checkpoints/step-7/"
    assert adapter_label(None) == "final" and adapter_label(7) == "step-7"


@pytest.mark.parametrize(
    ("name", "step"),
    [
        ("step-0", 0),
        ("step-12", 12),
        ("step-", None),
        ("step-1a", None),
        ("step--1", None),
        (".partial-step-3-abcd", None),
        ("final", None),
    ],
)
def test_checkpoint_names_round_trip(name: str, step: int | None) -> None:
    assert checkpoint_step(name) == step
    if step is not None:
        assert checkpoint_name(step) == name


def test_resume_markers() -> None:
    assert is_resume_marker(str(ARTIFACT_PATHS.resume_marker(40)))
    assert not is_resume_marker("checkpoints/step-40/trainer_state/state.pt")
    assert not is_resume_marker("final/trainer_state/COMPLETE")
    assert not is_resume_marker("checkpoints/step-x/trainer_state/COMPLETE")


def test_the_engine_writes_and_finds_checkpoints_where_the_layout_says(
    tmp_path: Path,
) -> None:
    from arkor.engine.train import resume_state

    assert resume_state.checkpoint_dir(tmp_path, 5) == ArtifactLayout(tmp_path).checkpoint(5)
    for step in (2, 4):
        folder = ArtifactLayout(tmp_path).checkpoint(step)
        folder.mkdir(parents=True)
    (ArtifactLayout(tmp_path).checkpoints / "step-junk").mkdir()
    assert resume_state.prune(tmp_path, keep=1) == [2]
    assert sorted(p.name for p in ArtifactLayout(tmp_path).checkpoints.iterdir()) == [
        "step-4",
        "step-junk",
    ]


def test_the_layout_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, arkor.protocol.artifacts; "
        "print(sorted(m for m in ('torch', 'transformers', 'fastapi', 'sqlalchemy', 'arkor.server', 'arkor.engine') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# Names of the layout that only protocol/artifacts.py may spell (paths made of them elsewhere are hand-built).
_FILE_NAMES = {
    "adapter_config.json",
    "adapter_model.safetensors",
    "adapter_model.bin",
    "arkor-checkpoint.json",
    "trainer_state",
    "state.pt",
    "loop.json",
    "events.jsonl",
    "metrics.json",
}
_FOLDER_NAMES = {
    "final",
    "checkpoints",
}  # also a job kind and a JSON key: flagged only inside a path


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def hand_built_paths(source: str) -> list[str]:
    """`line: text` of each layout name built by hand in `source`."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            text = node.value
            if (
                text in _FILE_NAMES
                or text.startswith(("final/", "checkpoints/", "step-", "-step-"))
                or "/trainer_state" in text
            ):
                hits.append(f"{node.lineno}: {text!r}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and side.value in _FOLDER_NAMES:
                    hits.append(f"{node.lineno}: / {side.value!r}")
        elif isinstance(node, ast.JoinedStr):
            head = node.values[0] if node.values else None
            if isinstance(head, ast.Constant) and str(head.value).startswith(
                ("step-", "-step-", "final/", "checkpoints/")
            ):
                hits.append(f"{node.lineno}: f{head.value!r}...")
    return hits


def test_the_scan_finds_hand_built_paths() -> None:
    sample = 'p = out / "final"\nq = f"checkpoints/step-{n}"\nr = folder / "adapter_config.json"\nkind = "final"\n'
    assert sorted({hit.split(":")[0] for hit in hand_built_paths(sample)}) == [
        "1",
        "2",
        "3",
    ]


def test_no_module_builds_an_artifact_path_by_hand() -> None:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        if path == LAYOUT_MODULE:
            continue
        hits = hand_built_paths(path.read_text(encoding="utf-8"))
        if hits:
            found[str(path.relative_to(SRC))] = hits
    assert found == {}, f"build these from arkor.protocol.artifacts instead: {found}"
