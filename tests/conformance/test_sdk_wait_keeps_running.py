"""When wait() stops while the job goes on (a callback raised, or the stream was given up), the user
is told the job keeps running and how to cancel it: on the exception (sync and async) and in
`arkor start`'s output. Before, the job ran on silently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sdk_scripted_backend import JOB, happy_stream

from arkor import TrainerStreamError

REPO_SRC = Path(__file__).resolve().parents[2] / "src"
NOTE = "Job job_1 keeps running on the backend; cancel it with `trainer.cancel()` or `arkor jobs cancel job_1`."


def test_a_raising_callback_says_the_job_keeps_running(twin, backend, project):
    backend.streams.append(happy_stream())

    def on_log(ctx):
        raise ValueError("my metric check failed")

    with pytest.raises(ValueError) as caught:
        twin.call(twin.trainer(backend, project, on_log=on_log), "wait")
    assert str(caught.value) == "my metric check failed"  # the user's own error, unwrapped
    assert caught.value.__notes__ == [f"on_log raised, so wait() stopped following the job. {NOTE}"]


def test_a_raising_terminal_callback_adds_no_note(twin, backend, project):
    backend.streams.append(happy_stream())

    def on_completed(ctx):
        raise ValueError("after the end")

    with pytest.raises(ValueError) as caught:
        twin.call(twin.trainer(backend, project, on_completed=on_completed), "wait")
    assert not getattr(caught.value, "__notes__", None)  # the job has ended: nothing keeps running


def test_giving_up_on_the_stream_says_the_job_keeps_running(twin, backend, project):
    backend.streams.extend([503, 503])
    with pytest.raises(TrainerStreamError) as caught:
        twin.call(twin.trainer(backend, project, context={"max_reconnect_attempts": 1}), "wait")
    assert str(caught.value) == "Trainer SSE stream failed 2 consecutive times; giving up."
    assert caught.value.__notes__ == [NOTE]


def _cli_project(tmp_path: Path, callback_body: str) -> Path:
    folder = tmp_path / "cli-project"
    (folder / "src" / "arkor").mkdir(parents=True)
    (folder / "src" / "arkor" / "trainer.py").write_text(
        textwrap.dedent(f"""
        from arkor import create_trainer

        def on_log(ctx):
            {callback_body}

        trainer = create_trainer(name="t", model="arkor/tiny-test", dataset={{"type": "huggingface", "name": "x"}},
                                 max_steps=2, on_log=on_log)
    """)
    )
    (folder / "src" / "arkor" / "index.py").write_text(
        "from arkor import create_arkor\nfrom .trainer import trainer\narkor = create_arkor(trainer=trainer)\n"
    )
    return folder


def arkor_cli(args: list[str], cwd: Path, home: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ARKOR_HOME": str(home / ".arkor"),
        "ARKOR_CLOUD_API_URL": url,
        "PYTHONPATH": str(REPO_SRC),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "arkor.cli.main", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "callback_body,first_line",
    [
        ('raise ValueError("my metric check failed")', "ValueError: my metric check failed"),
        ('from arkor import ConfigError; raise ConfigError("bad threshold")', "Error: bad threshold"),
    ],
)
def test_arkor_start_says_the_job_keeps_running(backend, tmp_path, isolated_home, callback_body, first_line):
    backend.streams.append(happy_stream())
    result = arkor_cli(["start"], _cli_project(tmp_path, callback_body), isolated_home, backend.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert first_line in result.stderr
    assert f"on_log raised, so wait() stopped following the job. {NOTE}" in result.stderr
    assert backend.of("POST", "/v1/jobs/job_1/cancel") == []  # told, not cancelled behind the user's back


def test_arkor_prints_the_backends_deprecation_notice_once_at_exit(backend, tmp_path, isolated_home):
    headers = {"Deprecation": "true", "Warning": '299 - "arkor 0.1 is deprecated"', "Sunset": "2027-01-01"}

    def create_job(record):
        body = record.json()
        return 201, dict(headers), json.dumps({"job": {**JOB, "name": body["name"], "config": body["config"]}}).encode()

    backend.overrides[("POST", "/v1/jobs")] = create_job
    backend.streams.extend([happy_stream(), happy_stream()])
    result = arkor_cli(["start"], _cli_project(tmp_path, "pass"), isolated_home, backend.url)
    assert result.returncode == 0, result.stdout + result.stderr
    notice = "arkor 0.1 is deprecated (current: 0.1.0). Cutoff: 2027-01-01. Run `pip install --upgrade arkor`."
    assert result.stderr.count(notice) == 1, result.stderr
    assert result.stderr.rstrip().endswith(notice)
