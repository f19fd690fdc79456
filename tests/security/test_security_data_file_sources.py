"""Finding 1: a job's `file` (and path-like `huggingface`) dataset source must not read the backend's
own files: refused with one answer naming ARKOR_FILE_DATASET_ROOTS, whether or not the path exists,
unless it resolves under one of those roots; the worker checks again when it opens the source."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from security_data_helpers import Caller, isolated_home, make_backend  # noqa: F401 (fixtures)

from arkor.engine.data.sources import read_source
from arkor.errors import ConfigError
from arkor.protocol import DatasetAccess, FileDatasetSource, HuggingfaceDatasetSource


def _refusal(response, path: str) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert "ARKOR_FILE_DATASET_ROOTS" in body["error"], body
    return body["error"].replace(repr(path), "<path>")


def test_file_sources_outside_the_roots_get_one_answer_whether_or_not_they_exist(make_backend, tmp_path: Path) -> None:
    server = make_backend()
    attacker = Caller(server.url)
    victim = Caller(server.url)
    stored = victim.upload(b'{"prompt": "p", "completion": "c"}\n', "private.jsonl")
    assert stored.status_code == 201, stored.text
    data_dir = tmp_path / "data"
    stored_files = [p for p in (data_dir / "datasets").iterdir() if not p.name.startswith(".")]
    paths = [
        "/etc/passwd",
        str(data_dir / "arkor.db"),
        str(stored_files[0]),
        "/etc/does-not-exist-" + os.urandom(4).hex(),
        "relative/train.jsonl",
        "/proc/self/environ",
    ]
    answers = {path: _refusal(attacker.create_job({"type": "file", "path": path}), path) for path in paths}
    assert len(set(answers.values())) == 1, answers  # no existence oracle


def test_path_like_huggingface_names_are_refused_the_same_way(make_backend) -> None:
    server = make_backend()
    caller = Caller(server.url)
    for name in ["/etc", "./data", "../../etc/passwd", "~/.ssh", "data/train.jsonl", "a/../../b"]:
        _refusal(caller.create_job({"type": "huggingface", "name": name}), name)
    accepted = caller.create_job({"type": "huggingface", "name": "HuggingFaceH4/no_robots"})
    assert accepted.status_code == 201, accepted.text


def test_a_file_under_the_roots_is_accepted_but_a_symlink_out_of_them_is_not(make_backend, tmp_path: Path) -> None:
    root = tmp_path / "shared-data"
    root.mkdir()
    (root / "train.jsonl").write_text('{"prompt": "p", "completion": "c"}\n')
    (root / "escape.jsonl").symlink_to("/etc/passwd")
    server = make_backend(file_dataset_roots=f"/nonexistent-root:{root}")
    caller = Caller(server.url)
    ok = caller.create_job({"type": "file", "path": str(root / "train.jsonl")})
    assert ok.status_code == 201, ok.text
    _refusal(caller.create_job({"type": "file", "path": str(root / "escape.jsonl")}), str(root / "escape.jsonl"))
    _refusal(
        caller.create_job({"type": "file", "path": str(root / ".." / "data" / "arkor.db")}),
        str(root / ".." / "data" / "arkor.db"),
    )


def test_the_data_dir_is_refused_even_when_a_root_contains_it(make_backend, tmp_path: Path) -> None:
    server = make_backend(file_dataset_roots=str(tmp_path))
    caller = Caller(server.url)
    path = str(tmp_path / "data" / "arkor.db")
    _refusal(caller.create_job({"type": "file", "path": path}), path)


def test_the_worker_checks_the_roots_again_when_it_opens_the_source(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    good = root / "train.jsonl"
    good.write_text('{"text": "hello"}\n')
    access = DatasetAccess(file_roots=[str(root)])
    assert read_source(FileDatasetSource(path=str(good)), access=access).rows[0].data == {"text": "hello"}
    # A link swapped after the job was accepted: the worker resolves it and refuses.
    link = root / "later.jsonl"
    link.symlink_to(tmp_path / "outside.jsonl")
    (tmp_path / "outside.jsonl").write_text('{"text": "secret"}\n')
    for source in (
        FileDatasetSource(path=str(link)),
        FileDatasetSource(path="/etc/passwd"),
        HuggingfaceDatasetSource(name=str(tmp_path)),
        HuggingfaceDatasetSource(name="../outside.jsonl"),
    ):
        with pytest.raises(ConfigError, match="ARKOR_FILE_DATASET_ROOTS"):
            read_source(source, access=access, base_dir=root)


def test_uploaded_datasets_still_train_through_the_worker_check(make_backend) -> None:
    server = make_backend()
    caller = Caller(server.url)
    uploaded = caller.upload(b'{"prompt": "p", "completion": "c"}\n', "mine.jsonl").json()
    job = caller.create_job({"type": "uploaded", "datasetId": uploaded["datasetId"]})
    assert job.status_code == 201, job.text
    assert caller.wait_end(job.json()["job"]["id"])["status"] == "completed"


def test_a_path_swapped_after_acceptance_is_refused_when_the_job_starts(make_backend, tmp_path: Path) -> None:
    root = tmp_path / "shared-data"
    root.mkdir()
    (root / "train.jsonl").write_text('{"prompt": "p", "completion": "c"}\n')
    link = root / "current.jsonl"
    link.symlink_to(root / "train.jsonl")
    server = make_backend(file_dataset_roots=str(root), max_concurrent_jobs=1)
    caller = Caller(server.url)
    busy = caller.create_job({"type": "huggingface", "name": "x"}, model="fake/slow", maxSteps=500).json()["job"]["id"]
    waiting = caller.create_job({"type": "file", "path": str(link)})
    assert waiting.status_code == 201, waiting.text
    link.unlink()
    link.symlink_to("/etc/passwd")  # after the check at creation, before the job runs
    assert caller.http.post(f"/v1/jobs/{busy}/cancel", params=caller.scope).status_code == 200
    ended = caller.wait_end(waiting.json()["job"]["id"])
    assert ended["status"] == "failed" and "ARKOR_FILE_DATASET_ROOTS" in ended["error"], ended
