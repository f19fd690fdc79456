"""The SDK against the real backend and the real worker training `arkor/tiny-test`: a fresh home
(anonymous token minted, project bootstrapped, local JSONL uploaded once), every callback in order
with real values, `infer` inside `on_checkpoint` answering from that checkpoint, artifacts returned."""

from __future__ import annotations

import json
from pathlib import Path

from arkor import create_trainer, read_credentials, read_state


def _rows(count: int) -> str:
    return (
        "\n".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": f"My invoice {i} is wrong"},
                        {"role": "assistant", "content": "billing" if i % 2 else "bug"},
                    ]
                }
            )
            for i in range(count)
        )
        + "\n"
    )


def test_trainer_runs_tiny_model_end_to_end(server, tmp_path: Path) -> None:
    project = tmp_path / "my-project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "tickets.jsonl").write_text(_rows(16))
    seen: list[tuple] = []
    replies: list[str] = []

    def on_checkpoint(ctx) -> None:
        seen.append(("checkpoint", ctx.step, ctx.adapter["kind"], ctx.job.status))
        reply = ctx.infer(messages=[{"role": "user", "content": "My invoice 3 is wrong"}], max_tokens=4)
        replies.append(reply.text())

    from arkor.sdk.trainer import TrainerContext

    trainer = create_trainer(
        name="sdk-e2e",
        model="arkor/tiny-test",
        dataset={"type": "file", "path": "data/tickets.jsonl"},
        lora={"r": 4, "alpha": 8},
        max_steps=4,
        save_steps=2,
        logging_steps=1,
        batch_size=2,
        on_started=lambda ctx: seen.append(("started", ctx.job.status)),
        on_log=lambda ctx: seen.append(("log", ctx.step, isinstance(ctx.loss, float))),
        on_checkpoint=on_checkpoint,
        on_completed=lambda ctx: seen.append(("completed", ctx.job.status)),
        on_failed=lambda ctx: seen.append(("failed", ctx.error)),
        context=TrainerContext(cwd=project),
    )
    result = trainer.wait()

    assert result.job.status == "completed", seen
    kinds = [entry[0] for entry in seen]
    assert kinds[0] == "started" and kinds[-1] == "completed" and "failed" not in kinds
    assert [entry[1] for entry in seen if entry[0] == "log"] == [1, 2, 3, 4]
    assert all(entry[2] for entry in seen if entry[0] == "log")
    assert ("checkpoint", 2, "checkpoint", "running") in seen
    assert replies and all(isinstance(text, str) for text in replies) and replies[0] != ""
    names = {artifact.pathname for artifact in result.artifacts}
    assert {"final/adapter_config.json", "final/adapter_model.safetensors"} <= names

    credentials = read_credentials()
    assert credentials and credentials["mode"] == "anon"
    state = read_state(project)
    assert state is not None and state.project_slug == "my-project"
    cache = json.loads((project / ".arkor" / "datasets.json").read_text())
    assert len(cache) == 1
