"""Weights & Biases: a run per job; offline (files under `<output_dir>/wandb/`) unless a key is set.

With no `WANDB_API_KEY` and no `WANDB_MODE`, the run is written offline; `wandb sync <run folder>`
uploads it later.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT = "arkor"


class WandbTracker:
    name = "wandb"

    def __init__(self, *, job_id: str, output_dir: Path, params: dict[str, Any]) -> None:
        import wandb

        self._job_id = job_id
        mode: Any = os.environ.get("WANDB_MODE") or ("online" if os.environ.get("WANDB_API_KEY") else "offline")
        output_dir.mkdir(parents=True, exist_ok=True)
        self._run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", PROJECT),
            name=job_id,
            dir=str(output_dir),
            config=params,
            mode=mode,
            settings=wandb.Settings(console="off", silent=True),
            reinit="create_new",
        )
        self.run_dir = Path(self._run.dir).parent  # .../wandb/offline-run-<time>-<id>

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self._run.log(dict(metrics), step=step)

    def log_adapter(self, folder: Path) -> None:
        import wandb

        artifact = wandb.Artifact(name=f"{self._job_id}-adapter", type="model")
        artifact.add_dir(str(folder))
        self._run.log_artifact(artifact)

    def finish(self, status: str) -> None:
        import wandb

        self._run.finish(exit_code=0 if status == "completed" else 1)
        wandb.teardown()  # stop the wandb-core helper process now, not at interpreter exit
