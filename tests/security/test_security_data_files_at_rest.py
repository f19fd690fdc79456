"""Finding 10: files at rest. The data dir is 0700; the database, datasets, artifacts and logs are
0600; a worker's spec file (it holds the worker token) is 0600 from its creation and is deleted when
the job ends."""

from __future__ import annotations

import stat
from pathlib import Path

from security_data_helpers import Caller, isolated_home, make_backend, rows_jsonl  # noqa: F401 (fixtures)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_and_its_files_are_private(make_backend, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    server = make_backend()
    caller = Caller(server.url)
    assert caller.upload(rows_jsonl(4), "d.jsonl").status_code == 201
    job = caller.create_job({"type": "huggingface", "name": "x"}, maxSteps=2, saveSteps=1)
    assert job.status_code == 201, job.text
    assert caller.wait_end(job.json()["job"]["id"])["status"] == "completed"
    assert _mode(data) == 0o700
    for name in ("datasets", "artifacts", "logs", "specs", "work"):
        assert _mode(data / name) == 0o700, name
    files = [
        data / "arkor.db",
        *(data / "datasets").iterdir(),
        *(data / "logs").iterdir(),
        *[p for p in (data / "artifacts").rglob("*") if p.is_file()],
    ]
    assert len(files) >= 4
    loose = {str(p.relative_to(data)): oct(_mode(p)) for p in files if _mode(p) & 0o077}
    assert not loose, loose
    assert list((data / "specs").iterdir()) == []  # deleted with the job's end


def test_a_spec_is_private_while_its_job_runs_and_gone_after(make_backend, tmp_path: Path) -> None:
    server = make_backend()
    caller = Caller(server.url)
    job_id = caller.create_job({"type": "huggingface", "name": "x"}, model="fake/slow", maxSteps=200).json()["job"][
        "id"
    ]
    spec = tmp_path / "data" / "specs" / f"{job_id}.json"
    for _ in range(600):
        if caller.job(job_id)["job"]["status"] == "running" and spec.exists():
            break
        import time

        time.sleep(0.05)
    assert _mode(spec) == 0o600 and "token" in spec.read_text()
    assert [p.name for p in spec.parent.iterdir()] == [spec.name]  # no temp file left beside it
    cancelled = caller.http.post(f"/v1/jobs/{job_id}/cancel", params=caller.scope)
    assert cancelled.status_code == 200, cancelled.text
    caller.wait_end(job_id)
    for _ in range(200):
        if not spec.exists():
            break
        time.sleep(0.05)
    assert not spec.exists()
