"""MLflow: a run per job in `MLFLOW_TRACKING_URI`, or a local SQLite store under `<output_dir>/mlflow/`.

MLflow 3 refuses new file stores, so the local store is SQLite (`mlflow ui --backend-store-uri
sqlite:///<output_dir>/mlflow/mlflow.db` opens it), its artifacts next to it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

EXPERIMENT = "arkor"
_PARAM_LIMIT = 6000  # MLflow's longest param value
_STATUS = {"completed": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}


class MlflowTracker:
    name = "mlflow"

    def __init__(self, *, job_id: str, output_dir: Path, params: dict[str, Any]) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        folder = output_dir / "mlflow"
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            folder.mkdir(parents=True, exist_ok=True)
            uri = f"sqlite:///{folder / 'mlflow.db'}"
        self.tracking_uri = uri
        self._client = MlflowClient(tracking_uri=uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", EXPERIMENT)
        experiment = self._client.get_experiment_by_name(name)
        if experiment is not None:
            experiment_id = experiment.experiment_id
        else:
            location = (folder / "artifacts").resolve().as_uri() if uri.startswith("sqlite:") else None
            experiment_id = self._client.create_experiment(name, artifact_location=location)
        run = self._client.create_run(experiment_id, run_name=job_id, tags={"arkor.job_id": job_id})
        self.run_id = run.info.run_id
        self._client.log_batch(
            self.run_id, params=[Param(key, str(value)[:_PARAM_LIMIT]) for key, value in params.items()]
        )

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._client.log_batch(
            self.run_id, metrics=[Metric(key, float(value), now, step) for key, value in metrics.items()]
        )

    def log_adapter(self, folder: Path) -> None:
        self._client.log_artifacts(self.run_id, str(folder), artifact_path="adapter")

    def finish(self, status: str) -> None:
        self._client.set_terminated(self.run_id, _STATUS.get(status, "FINISHED"))
