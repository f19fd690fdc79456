"""Names, ports and temp paths are unique by construction (uuid, port 0, tmp_path), never derived from
`hash()`/`id()` of a throwaway object: CPython reuses a freed object's address, so two "unique"
names collide (the PostgreSQL test databases did: DuplicateDatabase)."""

from __future__ import annotations

import re
from pathlib import Path

from arkor.sdk import datasets

ROOT = Path(__file__).resolve().parents[3]
# `hash(object())`, `id(object())`, and any `{hash(...)}` / `{id(...)}` interpolated into a string.
ADDRESS_DERIVED = re.compile(r"\b(?:hash|id)\(\s*object\(\s*\)\s*\)|\{\s*(?:abs\(\s*)?(?:hash|id)\(")


def test_no_name_is_derived_from_an_object_address():
    offenders = []
    for folder in ("tests", "src"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == Path(__file__).resolve():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if ADDRESS_DERIVED.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "use uuid.uuid4() / port 0 / tmp_path instead:\n" + "\n".join(offenders)


def test_the_scan_catches_the_pattern():
    assert ADDRESS_DERIVED.search('name = f"arkor_test_{abs(hash(object()))}"')
    assert ADDRESS_DERIVED.search("db = 'x%d' % id(object())")
    assert not ADDRESS_DERIVED.search("name = f'arkor_test_{uuid.uuid4().hex}'")


def test_dataset_cache_temp_files_are_unique_per_writer(tmp_path: Path, monkeypatch):
    """Two writers in one process (threads) must not share a temp file: a pid-named one made the
    second `os.replace` fail with FileNotFoundError."""
    temps: list[str] = []
    real_replace = datasets.os.replace

    def record(src, dst):
        temps.append(str(src))
        real_replace(src, dst)

    monkeypatch.setattr(datasets.os, "replace", record)
    datasets._write_cache(tmp_path, {"a": 1})
    datasets._write_cache(tmp_path, {"b": 2})
    assert len(set(temps)) == 2


def test_test_modules_have_unique_basenames() -> None:
    """pytest imports test files by basename (rootdir mode, no packages): two files of one name in
    different folders stop the whole collection with 'import file mismatch'."""
    from collections import Counter

    tests = Path(__file__).resolve().parents[2]
    names = Counter(p.name for p in tests.rglob("*.py") if p.name != "conftest.py" and "__pycache__" not in p.parts)
    assert [name for name, count in names.items() if count > 1] == []
