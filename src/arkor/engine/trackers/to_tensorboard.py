"""TensorBoard: event files under `<output_dir>/tensorboard/` (published as job artifacts)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

FOLDER = "tensorboard"


def _library() -> tuple[Any, Any]:
    """(SummaryWriter, hparams summary builder) of torch's TensorBoard writer, else tensorboardX's."""
    if importlib.util.find_spec("tensorboard") is not None:
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams
    else:
        from tensorboardX import SummaryWriter  # type: ignore[no-redef]
        from tensorboardX.summary import hparams  # type: ignore[no-redef]
    return SummaryWriter, hparams


def _hparam_value(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float, str)) else str(value)


class TensorBoardTracker:
    name = "tensorboard"

    def __init__(self, *, job_id: str, output_dir: Path, params: dict[str, Any]) -> None:
        self.log_dir = output_dir / FOLDER
        writer_class, hparams = _library()
        self._writer = writer_class(log_dir=str(self.log_dir))
        self._writer.add_text("config", "```json\n" + json.dumps(params, indent=2, default=str) + "\n```", 0)
        # The HPARAMS tab: the config as hyperparameters of this run (same event file as the curves).
        for summary in hparams({k: _hparam_value(v) for k, v in params.items() if v is not None}, {}):
            self._writer.file_writer.add_summary(summary)
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
