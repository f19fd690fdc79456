"""TensorBoard: event files under `<output_dir>/tensorboard/` (published as job artifacts)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

FOLDER = "tensorboard"


def _summary_writer() -> Any:
    if importlib.util.find_spec("tensorboard") is not None:
        from torch.utils.tensorboard import SummaryWriter
    else:
        from tensorboardX import SummaryWriter  # type: ignore[no-redef]
    return SummaryWriter


class TensorBoardTracker:
    name = "tensorboard"

    def __init__(self, *, job_id: str, output_dir: Path, params: dict[str, Any]) -> None:
        self.log_dir = output_dir / FOLDER
        self._writer = _summary_writer()(log_dir=str(self.log_dir))
        self._writer.add_text("config", "```json\n" + json.dumps(params, indent=2, default=str) + "\n```", 0)
        self._writer.flush()

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        for key, value in metrics.items():
            self._writer.add_scalar(key, value, step)
        self._writer.flush()

    def log_adapter(self, folder: Path) -> None:
        """TensorBoard has no artifacts; its own files are published with the job's artifacts."""

    def finish(self, status: str) -> None:
        self._writer.add_text("status", status, 0)
        self._writer.close()
