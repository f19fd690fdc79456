"""Shared helpers for the template dataset tests: load the generator script as a module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
GENERATOR_PATH = REPO_ROOT / "scripts" / "make_template_data.py"


@pytest.fixture(scope="session")
def generator():
    """The `scripts/make_template_data.py` module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("make_template_data", GENERATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_template_data", module)
    spec.loader.exec_module(module)
    return module
