"""scripts/make_template_data.py is deterministic and the committed files are what it writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from arkor.templates.scoring import TEMPLATE_NAMES, data_dir

REPO_ROOT = Path(__file__).resolve().parents[3]
GENERATOR_PATH = REPO_ROOT / "scripts" / "make_template_data.py"


def run_generator(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run(
        [sys.executable, str(GENERATOR_PATH), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_regenerating_yields_the_committed_bytes(tmp_path):
    result = run_generator("--out-root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for template in TEMPLATE_NAMES:
        for name in ("train.jsonl", "eval.jsonl"):
            regenerated = (tmp_path / template / "data" / name).read_bytes()
            assert regenerated == (data_dir(template) / name).read_bytes(), f"{template}/{name}"


def test_check_mode_flags_a_stale_file(tmp_path):
    assert run_generator("--check").returncode == 0
    assert run_generator("--out-root", str(tmp_path)).returncode == 0
    stale = tmp_path / "translate" / "data" / "eval.jsonl"
    stale.write_bytes(stale.read_bytes()[:-10])
    result = run_generator("--out-root", str(tmp_path), "--check")
    assert result.returncode == 1
    assert "translate" in result.stderr


def test_generation_is_independent_of_hash_seed(tmp_path):
    for seed in ("1", "12345"):
        assert run_generator("--out-root", str(tmp_path / seed), hash_seed=seed).returncode == 0
    for path in (tmp_path / "1").rglob("*.jsonl"):
        assert path.read_bytes() == (tmp_path / "12345" / path.relative_to(tmp_path / "1")).read_bytes()
