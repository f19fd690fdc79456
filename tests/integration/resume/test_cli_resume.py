"""`arkor jobs resume JOB` end to end on the embedded backend with the real worker: a run cancelled
mid-way by `arkor jobs cancel` is resumed as the same job, `arkor jobs logs -f` follows it past the old
end to `training.completed` with every step once, and resuming a completed job says why not."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))

from cli_helpers import Arkor, make_arkor, tiny_project  # noqa: E402

JOB_LINE = re.compile(r"Started job (\S+)")
STEP_LINE = re.compile(r"^step=(\d+)")
STEPS = 60


@pytest.fixture
def arkor(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = make_arkor(tmp_path / "home")
    yield runner
    runner.stop_backend()


def test_cancelled_run_resumed_from_the_cli_completes_as_the_same_job(arkor: Arkor, tmp_path: Path) -> None:
    project = tiny_project(arkor, tmp_path / "proj", max_steps=STEPS)
    trainer = project / "src" / "arkor" / "trainer.py"
    trainer.write_text(
        trainer.read_text().replace("batch_size=4,", "batch_size=4, save_steps=2, logging_steps=1, seed=5,")
    )
    process = arkor.popen("start", cwd=project)
    job_id, lines = None, []
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line)
            job_id = job_id or (JOB_LINE.search(line).group(1) if JOB_LINE.search(line) else None)
            step = STEP_LINE.match(line)
            if step and int(step.group(1)) >= 4:
                break
        assert job_id, "".join(lines)
        cancel = arkor("jobs", "cancel", job_id, cwd=project)
        assert cancel.returncode == 0, cancel.stdout + cancel.stderr
        rest, _ = process.communicate(timeout=120)
        assert process.returncode == 2, "".join(lines) + rest
    finally:
        if process.poll() is None:
            process.kill()

    resumed = arkor("jobs", "resume", job_id, cwd=project)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # queued, or already running when a free worker took it before the answer was written
    assert re.search(
        rf"Resumed job {job_id} \(status=(queued|running)\); it goes on from its last checkpoint\.", resumed.stdout
    ), resumed.stdout
    followed = [
        json.loads(line)
        for line in arkor("jobs", "logs", job_id, "-f", "--json", cwd=project, timeout=240).stdout.splitlines()
    ]
    kinds = [e["type"] for e in followed]
    assert kinds.count("training.cancelled") == 1 and kinds[-1] == "training.completed", kinds
    assert [e["step"] for e in followed if e["type"] == "training.log"] == list(range(1, STEPS + 1))
    manual = [e for e in followed if e["type"] == "training.resumed"]
    assert len(manual) == 1 and manual[0]["reason"] == "resumed by request" and manual[0]["step"] >= 2
    assert followed[-1]["metrics"]["resumedFromStep"] == manual[0]["step"]

    again = arkor("jobs", "resume", job_id, cwd=project)
    assert again.returncode == 1
    assert (
        f"Job {job_id} cannot be resumed: only a failed or cancelled job can be resumed; "
        "it completed; there is nothing left to train"
    ) in again.stderr
