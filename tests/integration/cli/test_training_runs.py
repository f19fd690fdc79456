"""`arkor start` end to end on the embedded backend: exit codes for completed, failed and cancelled
runs, then `arkor jobs` and `arkor export` on the completed job."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Arkor, tiny_project

JOB_LINE = re.compile(r"Started job (\S+)")


@pytest.fixture(scope="module")
def completed(arkor: Arkor, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    project = tiny_project(arkor, tmp_path_factory.mktemp("proj") / "done")
    result = arkor("start", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Built src/arkor/index.py → .arkor/build/index.py" in result.stdout
    job_id = JOB_LINE.search(result.stdout).group(1)
    assert f"Job {job_id} finished with status=completed" in result.stdout
    assert re.search(r"step=3 loss=\d+\.\d{4}", result.stdout)  # the template's on_log printer
    assert_loss_chart(result.stdout, job_id)
    return project, job_id


def assert_loss_chart(stdout: str, job_id: str) -> None:
    """The text chart `arkor start` ends with: 3 logged steps, 80 columns (no terminal), before the status."""
    lines = stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("loss by step"))
    chart = lines[head : lines.index(f"Job {job_id} finished with status=completed")]
    assert chart[0] in ("loss by step  ● train", "loss by step  * train"), chart
    plot_rows = chart[1:9]
    marker = chart[0][-7]
    assert sum(row.count(marker) for row in plot_rows) == 3, chart  # one per step, columns far apart
    assert re.fullmatch(r" +1 +3", chart[-1]) and max(len(line) for line in chart) <= 80, chart


def test_start_completed_and_reuses_the_build(arkor: Arkor, completed: tuple[Path, str]) -> None:
    project, _ = completed
    built = (project / ".arkor" / "build" / "manifest.json").stat().st_mtime_ns
    again = arkor("start", "--dry-run", cwd=project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Built " not in again.stdout  # artifact present and no entry given: reused
    assert (project / ".arkor" / "build" / "manifest.json").stat().st_mtime_ns == built
    job_id = JOB_LINE.search(again.stdout).group(1)
    show = json.loads(arkor("jobs", "show", job_id, "--json", cwd=project).stdout)
    assert show["job"]["config"]["dryRun"] is True


def test_start_with_bad_dataset_exits_1(arkor: Arkor, tmp_path: Path) -> None:
    project = tiny_project(arkor, tmp_path / "bad")
    (project / "data" / "train.jsonl").write_text('{"nothing": "useful"}\n{"still": "nothing"}\n')
    result = arkor("start", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "status=failed" in result.stdout or "Error:" in result.stderr


def test_cancel_from_another_process_exits_2(arkor: Arkor, tmp_path: Path) -> None:
    project = tiny_project(arkor, tmp_path / "long", max_steps=5000)
    process = arkor.popen("start", cwd=project)
    try:
        job_id = None
        lines = []
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line)
            match = JOB_LINE.search(line)
            if match:
                job_id = match.group(1)
                break
        assert job_id, "".join(lines)
        cancel = arkor("jobs", "cancel", job_id, cwd=project)
        assert cancel.returncode == 0, cancel.stdout + cancel.stderr
        rest, _ = process.communicate(timeout=120)
        assert process.returncode == 2, "".join(lines) + rest
        assert f"Job {job_id} finished with status=cancelled" in rest
        again = arkor("jobs", "cancel", job_id, cwd=project)
        assert again.returncode == 1 and "already ended" in again.stderr
    finally:
        if process.poll() is None:
            process.kill()


def test_jobs_commands(arkor: Arkor, completed: tuple[Path, str]) -> None:
    project, job_id = completed
    listed = json.loads(arkor("jobs", "list", "--json", cwd=project).stdout)
    assert job_id in [job["id"] for job in listed]
    table = arkor("jobs", "list", cwd=project).stdout
    assert job_id in table and "completed" in table
    show = arkor("jobs", "show", job_id, cwd=project)
    assert "status=completed" in show.stdout and "model:     arkor/tiny-test" in show.stdout
    logs = arkor("jobs", "logs", job_id, cwd=project).stdout.splitlines()
    assert "training.started" in logs[0] and "training.completed" in logs[-1]
    followed = [
        json.loads(line)
        for line in arkor("jobs", "logs", job_id, "-f", "--json", cwd=project, timeout=60).stdout.splitlines()
    ]
    assert [e["type"] for e in followed][-1] == "training.completed"
    assert [e["step"] for e in followed if e["type"] == "training.log"] == [1, 2, 3]
    elsewhere = arkor("jobs", "show", job_id, cwd=project.parent)
    assert elsewhere.returncode == 1 and "No project state" in elsewhere.stderr


def test_jobs_show_plot_writes_a_png(arkor: Arkor, completed: tuple[Path, str], tmp_path: Path) -> None:
    import struct

    pytest.importorskip("matplotlib")
    project, job_id = completed
    result = arkor("jobs", "show", job_id[:12], "--plot", str(tmp_path / "curves.png"), cwd=project)
    assert result.returncode == 0, result.stderr
    assert f"Wrote the plot of job {job_id} to {tmp_path / 'curves.png'}" in result.stdout
    assert "status=completed" in result.stdout  # still the usual summary
    data = (tmp_path / "curves.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 800 and height >= 260 * 2  # loss, learning rate, tokens/s: each a panel when logged
    here = arkor("jobs", "show", job_id, "--plot", cwd=project)
    assert here.returncode == 0 and (project / f"{job_id}-curves.png").is_file(), here.stderr
    missing = arkor("jobs", "show", job_id, "--plot", str(tmp_path / "nope" / "x.png"), cwd=project)
    assert missing.returncode == 1 and f"folder {tmp_path / 'nope'} does not exist" in missing.stderr


def test_export_adapter_and_merged_model(arkor: Arkor, completed: tuple[Path, str], tmp_path: Path) -> None:
    project, job_id = completed
    adapter = arkor("export", job_id, "--out", str(tmp_path / "adapter"), cwd=project)
    assert adapter.returncode == 0, adapter.stderr
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    card = (tmp_path / "adapter" / "README.md").read_text()
    assert "base_model: arkor/tiny-test" in card and ".cache" not in card and "Model Card for Model ID" not in card
    assert "`train.jsonl`, uploaded as dataset `ds_" in card and "- `maxSteps`: 3" in card and "- `trainLoss`: " in card
    missing = arkor("export", job_id, "--checkpoint", "999", "--out", str(tmp_path / "x"), cwd=project)
    assert missing.returncode == 1 and "no checkpoint at step 999" in missing.stderr
    merged = arkor("export", job_id, "--merge", "--out", str(tmp_path / "merged"), cwd=project)
    assert merged.returncode == 0, merged.stderr
    # Its own stages, not transformers/peft warnings or their progress bars.
    assert merged.stderr.splitlines() == [
        "export: copying the adapter",
        "export: merging the adapter into arkor/tiny-test",
        "export: saving the merged model",
        "export: done",
    ], merged.stderr
    merged_card = (tmp_path / "merged" / "README.md").read_text()
    assert "base_model: arkor/tiny-test" in merged_card and "library_name: transformers" in merged_card
    assert f"(job `{job_id}`)" in merged_card and "- `trainLoss`: " in merged_card
    for folder in ("adapter", "merged"):
        modes = {oct(path.stat().st_mode & 0o777) for path in (tmp_path / folder).iterdir()}
        assert len(modes) == 1, (folder, modes)
    assert not (tmp_path / "merged" / "model.gguf").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter", "merged"]  # no staging folder left behind
    # A plain transformers load in a fresh interpreter: nothing of arkor or peft is needed.
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import sys, torch; from transformers import AutoModelForCausalLM, AutoTokenizer;"
                f"m = AutoModelForCausalLM.from_pretrained({str(tmp_path / 'merged')!r});"
                f"t = AutoTokenizer.from_pretrained({str(tmp_path / 'merged')!r});"
                "ids = t.apply_chat_template([{'role': 'user', 'content': 'hi'}], add_generation_prompt=True, return_tensors='pt');"
                "ids = ids['input_ids'] if hasattr(ids, 'keys') else ids;"
                "out = m.generate(ids, max_new_tokens=3, do_sample=False);"
                "assert out.shape[1] == ids.shape[1] + 3; assert 'peft' not in sys.modules; print('ok')"
            ),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=arkor.env,
    )
    assert check.stdout.strip().endswith("ok"), check.stderr


def test_export_gguf(arkor: Arkor, completed: tuple[Path, str], tmp_path: Path) -> None:
    import gguf

    project, job_id = completed
    result = arkor("export", job_id, "--gguf", "--out", str(tmp_path / "gguf"), cwd=project)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "gguf").iterdir()] == ["model.gguf"]  # --gguf alone: just the file
    reader = gguf.GGUFReader(tmp_path / "gguf" / "model.gguf")
    names = {tensor.name for tensor in reader.tensors}
    assert "token_embd.weight" in names and "blk.0.attn_q.weight" in names, sorted(names)
    architecture = reader.fields["general.architecture"]
    assert bytes(architecture.parts[architecture.data[0]]).decode() == "llama"


def test_export_gguf_of_an_unsupported_architecture_is_a_clear_error(
    arkor: Arkor,
    completed: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In-process, so the tiny (Llama) base can be made to look unsupported without training a Gemma job.
    from arkor.cli.main import main
    from arkor.engine import export as export_library

    project, job_id = completed
    for name, value in arkor.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(project)
    real_base_config = export_library._base_config
    monkeypatch.setattr(
        export_library, "_base_config", lambda model_id: {**real_base_config(model_id), "model_type": "mistral"}
    )
    with pytest.raises(SystemExit) as exited:
        main(["export", job_id, "--gguf", "--out", str(tmp_path / "gguf")])
    err = capsys.readouterr().err
    assert exited.value.code == 1, err
    assert "Error: GGUF export supports Llama-family models" in err and "'llama'" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # neither the output nor the staging folder is left


def test_ctrl_c_without_a_terminal_leaves_the_job_running(arkor: Arkor, tmp_path: Path) -> None:
    import signal

    project = tiny_project(arkor, tmp_path / "interrupted", max_steps=5000)
    process = arkor.popen("start", cwd=project)
    job_id = None
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if match := JOB_LINE.search(line):
                job_id = match.group(1)
                break
        assert job_id
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
        assert process.returncode == 130, rest
        assert f"cancel it with `arkor jobs cancel {job_id}`" in rest
        status = json.loads(arkor("jobs", "show", job_id, "--json", cwd=project).stdout)["job"]["status"]
        assert status in ("queued", "running")
    finally:
        if process.poll() is None:
            process.kill()
        if job_id:
            arkor("jobs", "cancel", job_id, cwd=project)


def test_from_a_subfolder_with_id_prefixes_and_a_stale_build(arkor: Arkor, completed: tuple[Path, str]) -> None:
    project, job_id = completed
    data = project / "data"
    trainer = project / "src" / "arkor" / "trainer.py"
    original = trainer.read_text()
    trainer.write_text(original + "\n# edited after the build\n")
    try:
        # `arkor start` from a subfolder finds the project above, reuses its build and says it is stale.
        again = arkor("start", "--dry-run", cwd=data)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "Build entry not found" not in again.stderr and "Built " not in again.stdout
        stale = [line for line in again.stderr.splitlines() if "changed since the build" in line]
        assert stale == [
            line
            for line in stale
            if line.startswith("warning: src/arkor/ changed since the build in .arkor/build/ (built ")
        ]
        assert len(stale) == 1 and stale[0].endswith(
            "this run uses that build. Run `arkor build` (or `arkor start src/arkor/index.py`) to train the current code."
        )
        second = JOB_LINE.search(again.stdout).group(1)
        assert not (data / ".arkor").exists()  # nothing was created in the subfolder
        rebuilt = arkor("build", cwd=data)
        assert rebuilt.returncode == 0 and "Built src/arkor/index.py" in rebuilt.stdout, rebuilt.stderr
        fresh = arkor("start", "--dry-run", cwd=data)
        assert fresh.returncode == 0 and "changed since the build" not in fresh.stderr, fresh.stderr
    finally:
        trainer.write_text(original)

    listed = [job["id"] for job in json.loads(arkor("jobs", "list", "--json", cwd=data).stdout)]
    assert job_id in listed and second in listed
    others = [other for other in listed if other != job_id]
    prefix = next(job_id[:n] for n in range(5, len(job_id)) if not any(o.startswith(job_id[:n]) for o in others))
    show = arkor("jobs", "show", prefix, cwd=data)
    assert show.returncode == 0 and show.stdout.startswith(f"{job_id}  "), show.stderr
    logs = arkor("jobs", "logs", prefix, cwd=data).stdout.splitlines()
    assert "training.started" in logs[0] and "training.completed" in logs[-1]
    followed = arkor("jobs", "logs", prefix, "-f", cwd=data, timeout=60)
    assert followed.returncode == 0 and "training.completed" in followed.stdout.splitlines()[-1]
    ended = arkor("jobs", "cancel", prefix, cwd=data)
    assert ended.returncode == 1 and f"Job {job_id} already ended" in ended.stderr
    ambiguous = arkor("jobs", "show", "job_", cwd=data)
    assert ambiguous.returncode == 1 and "Traceback" not in ambiguous.stderr
    assert "Error: Job id prefix `job_` matches " in ambiguous.stderr and "Give more of the id." in ambiguous.stderr
    assert job_id in ambiguous.stderr and second in ambiguous.stderr
