"""Task accuracy through the whole product path: a local eval file is uploaded next to the training
file, resolved for the worker, scored by the engine, stored and streamed by the backend, and handed
to `on_evaluation` with real values."""

from __future__ import annotations

import json
from pathlib import Path

from arkor import create_trainer


def _rows(count: int) -> str:
    return (
        "\n".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": f"Ticket {i}: my invoice is wrong"},
                        {"role": "assistant", "content": json.dumps({"category": "billing" if i % 2 else "bug"})},
                    ]
                }
            )
            for i in range(count)
        )
        + "\n"
    )


def test_on_evaluation_receives_scored_accuracy_from_the_backend(server, tmp_path: Path) -> None:
    from arkor.sdk.trainer import TrainerContext

    project = tmp_path / "proj"
    (project / "data").mkdir(parents=True)
    (project / "data" / "train.jsonl").write_text(_rows(12))
    (project / "data" / "eval.jsonl").write_text(_rows(5))
    seen = []
    trainer = create_trainer(
        name="eval-e2e",
        model="arkor/tiny-test",
        dataset={"type": "file", "path": "data/train.jsonl"},
        eval_dataset={"type": "file", "path": "data/eval.jsonl"},
        eval_scorer="json_fields",
        eval_rows=3,
        lora={"r": 4, "alpha": 8},
        max_steps=4,
        eval_steps=2,
        batch_size=2,
        max_time="10m",
        on_evaluation=seen.append,
        context=TrainerContext(cwd=project),
    )
    result = trainer.wait()
    assert result.job.status == "completed", result.job.error
    assert [ctx.step for ctx in seen] == [2, 4]
    for ctx in seen:
        assert ctx.scorer == "json_fields" and ctx.rows == 3 and set(ctx.fields) == {"category"}
        assert 0.0 <= ctx.accuracy <= 1.0 and ctx.job.id == result.job.id
