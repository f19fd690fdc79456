"""The converted-model cache is built once, atomically and under a lock (arkor.engine.models.store).

These tests point ARKOR_CACHE_DIR at a tmp folder (the one place allowed to) and use fake builders or
the tiny builder, never a real GGUF conversion.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from arkor.engine.models import MARKER_FILE, logical_model_id_for_path, store

MODEL = "someone/fake-model"


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARKOR_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


class FakeBuilder:
    def __init__(self, fail: bool = False, delay: float = 0.0):
        self.calls = 0
        self.fail = fail
        self.delay = delay

    def __call__(self, target, report):
        self.calls += 1
        report("writing weights")
        (target / "config.json").write_text("{}")
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("simulated crash mid-build")
        (target / "model.safetensors").write_bytes(b"weights")
        return {"source": "fake"}


def _ensure(builder, recipe="r1"):
    return store.ensure_built(MODEL, recipe=recipe, builder=builder, title="test build")


def test_builds_once_into_safe_named_folder_with_marker(tmp_cache):
    builder = FakeBuilder()
    folder = _ensure(builder)
    assert folder == tmp_cache / "models" / "someone--fake-model"
    marker = json.loads((folder / MARKER_FILE).read_text())
    assert marker["modelId"] == MODEL and marker["recipe"] == "r1" and marker["source"] == "fake"
    assert logical_model_id_for_path(folder) == MODEL
    assert all(p.stat().st_mode & 0o444 == 0o444 for p in folder.iterdir())  # shared cache: readable
    assert _ensure(builder) == folder
    assert builder.calls == 1
    assert [p.name for p in (tmp_cache / "models").iterdir() if not p.name.endswith(".lock")] == [folder.name]


def test_half_built_folder_without_marker_is_ignored_and_rebuilt(tmp_cache):
    models_dir = tmp_cache / "models"
    half = models_dir / "someone--fake-model"
    half.mkdir(parents=True)
    (half / "config.json").write_text("{}")  # a crash after writing some files, before the marker
    leftover_tmp = models_dir / ".someone--fake-model.tmp-999-deadbeef"
    leftover_tmp.mkdir()
    assert store.cached_model_dir(MODEL, "r1") is None
    builder = FakeBuilder()
    folder = _ensure(builder)
    assert builder.calls == 1
    assert (folder / "model.safetensors").read_bytes() == b"weights"
    assert (folder / MARKER_FILE).is_file()
    assert not leftover_tmp.exists()


def test_crashing_build_leaves_nothing_usable_and_next_call_rebuilds(tmp_cache):
    with pytest.raises(RuntimeError, match="simulated crash"):
        _ensure(FakeBuilder(fail=True))
    models_dir = tmp_cache / "models"
    assert not (models_dir / "someone--fake-model").exists()
    assert not list(models_dir.glob(".someone--fake-model.tmp-*"))
    builder = FakeBuilder()
    _ensure(builder)
    assert builder.calls == 1


def test_changed_recipe_rebuilds(tmp_cache):
    first = FakeBuilder()
    _ensure(first, recipe="r1")
    second = FakeBuilder()
    folder = _ensure(second, recipe="r2")
    assert second.calls == 1
    assert json.loads((folder / MARKER_FILE).read_text())["recipe"] == "r2"
    assert not list((tmp_cache / "models").glob("*.trash-*"))


def test_concurrent_builders_build_once(tmp_cache):
    builder = FakeBuilder(delay=0.3)
    results, errors = [], []

    def run():
        try:
            results.append(_ensure(builder))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert builder.calls == 1
    assert len(set(results)) == 1


def test_stage_lines_are_logged_not_printed(tmp_cache, caplog, capsys):
    caplog.set_level("INFO", logger="arkor.engine.models.store")
    store.ensure_built(MODEL, recipe="r1", builder=FakeBuilder(), title="test build", progress=True)
    assert any("writing weights" in record.getMessage() for record in caplog.records)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # stderr is not a terminal under pytest
