"""`create_trainer` and `Trainer`: submit a job, follow its events, dispatch callbacks.

One trainer = one job forever (use a factory per run in servers). `start()` is idempotent and safe
under concurrent calls (an in-flight memo, plus an `Idempotency-Key` so even two racing POSTs make
one job). `wait()` runs the shared I/O-free flow (`_wait_flow`) over a blocking or asyncio
transport. `abort_signal` stops waiting only; `cancel()` stops the backend job.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from arkor.protocol import AdapterRef, InferenceChatRequest, TrainingJob

from . import _drivers
from ._wait_flow import ReconnectPolicy, WaitState, wait_flow
from .abort import AbortSignal
from .callbacks import CALLBACK_NAMES, TrainerCallbacks, collect_callbacks
from .client import AsyncCloudApiClient, CloudApiClient
from .config import TRAINER_FIELDS, _did_you_mean, build_job_config, validate_trainer_input
from .contexts import CheckpointContext, StartResult, TrainingResult
from .credentials import default_cloud_api_url, ensure_credentials
from .datasets import upload_if_needed, upload_if_needed_async
from .errors import TrainerConfigError
from .infer import AsyncInferResponse, InferResponse
from .project import find_project_root
from .state import ProjectState, ensure_project_state, ensure_project_state_async

logger = logging.getLogger(__name__)


class _Required:
    """The default of `create_trainer`'s required fields: leaving one out is reported with every other
    problem (`name: is required`) instead of as a bare `TypeError`. Its repr keeps `help()` readable."""

    def __repr__(self) -> str:
        return "REQUIRED"


_REQUIRED: Any = _Required()


@dataclass
class TrainerContext:
    """Internal knobs (tests, embedding): where to connect and how to reconnect. Subject to change."""

    base_url: str | None = None
    credentials: dict[str, Any] | None = None
    cwd: str | os.PathLike[str] | None = None  # default: the project root found upward (arkor.sdk.project)
    reconnect_delay_ms: float = 1000.0
    max_reconnect_delay_ms: float = 60000.0
    max_reconnect_attempts: int | None = None
    sleep: Callable[[float], None] | None = None
    async_sleep: Callable[[float], Awaitable[None]] | None = None
    random: Callable[[], float] | None = None
    http_client: httpx.Client | None = None


class Trainer:
    """A training run defined in code. Build it with `create_trainer(...)`."""

    def __init__(
        self,
        *,
        name: str,
        config: Any,
        dataset_source: Any,
        callbacks: TrainerCallbacks,
        abort_signal: AbortSignal | None,
        context: TrainerContext,
    ) -> None:
        self.name = name
        self.callbacks = callbacks
        self.abort_signal = abort_signal
        self._config = config
        self._dataset_source = dataset_source
        self._context = context
        # The project around the current folder (or the one being loaded), not a subfolder of it.
        self._cwd = Path(context.cwd) if context.cwd else find_project_root()
        self.idempotency_key = str(uuid.uuid4())
        self._lock = threading.Lock()  # guards resolution and the sync start
        self._job: TrainingJob | None = None
        self._resolved: tuple[dict[str, Any], str] | None = None
        self._state: ProjectState | None = None
        self._sync_client: CloudApiClient | None = None
        self._start_tasks: dict[int, asyncio.Future[TrainingJob]] = {}

    def __repr__(self) -> str:
        return f"Trainer(name={self.name!r}, job_id={self.job_id!r})"

    @property
    def job_id(self) -> str | None:
        return self._job.id if self._job else None

    @property
    def job(self) -> TrainingJob | None:
        return self._job

    def force_dry_run(self) -> None:
        """Make the next `start()` a dry run whatever the trainer was built with (Studio's dry-run toggle)."""
        self._config = self._config.model_copy(update={"dry_run": True})

    # -- resolution (once per trainer: credentials first, then the base URL that follows them) ------

    def _resolve(self) -> tuple[dict[str, Any], str]:
        with self._lock:
            if self._resolved is None:
                credentials = self._context.credentials or ensure_credentials()
                base_url = self._context.base_url or default_cloud_api_url(credentials)
                self._resolved = (credentials, base_url)
            return self._resolved

    def client(self) -> CloudApiClient:
        """The trainer's blocking API client (shared by start, wait, cancel and infer)."""
        credentials, base_url = self._resolve()
        with self._lock:
            if self._sync_client is None:
                self._sync_client = CloudApiClient(base_url, credentials, http_client=self._context.http_client)
            return self._sync_client

    async def _async_client(self) -> AsyncCloudApiClient:
        credentials, base_url = await asyncio.to_thread(self._resolve)
        return AsyncCloudApiClient(base_url, credentials)

    def _policy(self) -> ReconnectPolicy:
        c = self._context
        policy = ReconnectPolicy(c.reconnect_delay_ms, c.max_reconnect_delay_ms, c.max_reconnect_attempts)
        if c.random is not None:
            policy.random = c.random
        return policy

    # -- start -------------------------------------------------------------------------------------

    def start(self) -> StartResult:
        """Submit the job once; later (or concurrent) calls return the same job id. Fires no callbacks."""
        client = self.client()
        with self._lock:
            if self._job is None:
                if self._state is None:
                    self._state = ensure_project_state(
                        cwd=self._cwd, client=client, credentials=client.credentials or {}
                    )
                source = upload_if_needed(self._dataset_source, client, self._state, self._cwd)
                update = {"dataset_source": source}
                if self._config.eval_dataset is not None:
                    update["eval_dataset"] = upload_if_needed(self._config.eval_dataset, client, self._state, self._cwd)
                config = self._config.model_copy(update=update)
                created = client.create_job(
                    scope=self._state, name=self.name, config=config, idempotency_key=self.idempotency_key
                )
                self._job = created.job
            return StartResult(job_id=self._job.id)

    async def start_async(self) -> StartResult:
        """`start()` for asyncio code (same job id memo; concurrent awaits share one submission)."""
        if self._job is not None:
            return StartResult(job_id=self._job.id)
        loop_key = id(asyncio.get_running_loop())
        pending = self._start_tasks.get(loop_key)
        if pending is None:
            pending = asyncio.ensure_future(self._submit_async())
            self._start_tasks[loop_key] = pending
        try:
            job = await asyncio.shield(pending)
        finally:
            if pending.done():
                self._start_tasks.pop(loop_key, None)
        return StartResult(job_id=job.id)

    async def _submit_async(self) -> TrainingJob:
        async with await self._async_client() as client:
            if self._state is None:
                self._state = await ensure_project_state_async(
                    cwd=self._cwd, client=client, credentials=client.credentials or {}
                )
            source = await upload_if_needed_async(self._dataset_source, client, self._state, self._cwd)
            update = {"dataset_source": source}
            if self._config.eval_dataset is not None:
                update["eval_dataset"] = await upload_if_needed_async(
                    self._config.eval_dataset, client, self._state, self._cwd
                )
            config = self._config.model_copy(update=update)
            created = await client.create_job(
                scope=self._state, name=self.name, config=config, idempotency_key=self.idempotency_key
            )
        with self._lock:
            if self._job is None:  # a concurrent sync start() may have won; the key made them one job
                self._job = created.job
            return self._job

    # -- wait --------------------------------------------------------------------------------------

    def _checkpoint_context_factory(self, async_client: AsyncCloudApiClient | None) -> Callable[..., CheckpointContext]:
        def make(step: int, job: TrainingJob, artifacts: list[Any]) -> CheckpointContext:
            adapter = {"kind": "checkpoint", "jobId": job.id, "step": step}

            def infer(**kwargs: Any) -> InferResponse:
                return InferResponse(self.client().chat(self._state, _infer_body(adapter, **kwargs)))

            async def infer_async(**kwargs: Any) -> AsyncInferResponse:
                client = async_client or await self._async_client()
                return AsyncInferResponse(await client.chat(self._state, _infer_body(adapter, **kwargs)))

            return CheckpointContext(
                step=step, adapter=adapter, job=job, infer=infer, infer_async=infer_async, artifacts=artifacts
            )

        return make

    def _aborted(self) -> BaseException | None:
        signal = self.abort_signal
        return signal._reason_exception() if signal is not None and signal.aborted else None

    def wait(self) -> TrainingResult:
        """Follow the job's events until it ends, firing callbacks in order; starts it if needed.

        Returns:
            TrainingResult: also for failed and cancelled runs (see `raise_for_status()`).
        Raises:
            The abort reason, `TrainerStreamError` (reconnect budget spent), `CloudApiError` for
            401/403/410/426, or the exception a callback raised.
        """
        self.start()
        assert self._job is not None
        flow = wait_flow(
            WaitState(job=self._job),
            self._policy(),
            self.callbacks,
            self._checkpoint_context_factory(None),
            self._aborted,
        )
        return _drivers.drive_sync(
            flow,
            client=self.client(),
            job_id=self._job.id,
            scope=self._state,
            signal=self.abort_signal,
            sleep=self._context.sleep,
        )

    async def wait_async(self) -> TrainingResult:
        """`wait()` for asyncio code; callbacks may be plain or async functions."""
        await self.start_async()
        assert self._job is not None
        async with await self._async_client() as client:
            flow = wait_flow(
                WaitState(job=self._job),
                self._policy(),
                self.callbacks,
                self._checkpoint_context_factory(client),
                self._aborted,
            )
            return await _drivers.drive_async(
                flow,
                client=client,
                job_id=self._job.id,
                scope=self._state,
                signal=self.abort_signal,
                sleep=self._context.async_sleep,
            )

    # -- cancel ------------------------------------------------------------------------------------

    def cancel(self) -> None:
        """Ask the backend to stop the job. No-op if this trainer never started one.

        Raises:
            CloudApiError: e.g. 409 when the job already ended (no local short-circuit).
        """
        if self._job is None:
            return
        self.client().cancel_job(self._job.id, self._state)

    async def cancel_async(self) -> None:
        if self._job is None:
            return
        async with await self._async_client() as client:
            await client.cancel_job(self._job.id, self._state)

    def close(self) -> None:
        if self._sync_client is not None and self._context.http_client is None:
            self._sync_client.close()


def _infer_body(
    adapter: dict[str, Any],
    *,
    messages: list[Any],
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    stream: bool = True,
    tools: list[Any] | None = None,
    tool_choice: Any = None,
    response_format: Any = None,
    structured_outputs: Any = None,
) -> dict[str, Any]:
    request = InferenceChatRequest(
        messages=messages,
        adapter=AdapterRef.model_validate(adapter),
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        stream=stream,
        tools=tools,
        tool_choice=tool_choice,
        response_format=response_format,
        structured_outputs=structured_outputs,
    )
    return request.to_wire()


def create_trainer(
    *,
    name: str = _REQUIRED,
    model: str = _REQUIRED,
    dataset: Any = _REQUIRED,
    lora: dict[str, Any] | None = None,
    max_steps: int | None = None,
    num_train_epochs: float | None = None,
    learning_rate: float | None = None,
    batch_size: int | None = None,
    gradient_accumulation_steps: int | None = None,
    optim: str | None = None,
    lr_scheduler_type: str | None = None,
    weight_decay: float | None = None,
    warmup_steps: int | None = None,
    logging_steps: int | None = None,
    save_steps: int | None = None,
    eval_steps: int | None = None,
    train_on_responses_only: bool | None = None,
    dataset_format: str | dict[str, str] | None = None,
    dataset_split: str | None = None,
    seed: int | None = None,
    dry_run: bool | None = None,
    save_total_limit: int | None = None,
    max_restarts: int | None = None,
    max_time: str | float | None = None,
    eval_dataset: Any = None,
    eval_scorer: str | None = None,
    eval_rows: int | None = None,
    report_to: list[str] | str | None = None,
    torch_compile: bool | None = None,
    callbacks: TrainerCallbacks | dict[str, Any] | None = None,
    abort_signal: AbortSignal | None = None,
    context: TrainerContext | None = None,
    **callback_kwargs: Any,
) -> Trainer:
    """Define a training run. Validates everything now; submits nothing until `start()`/`wait()`.

    `name`, `model` and `dataset` are required (shown as `REQUIRED`); every other field left unset
    takes the backend's default. The fields are described in the trainer guide (docs/guides/trainer.md).

    Callbacks may be given as `callbacks={...}`, a `TrainerCallbacks`, or keywords (`on_log=...`).
    `report_to` names experiment trackers the backend also logs to ("tensorboard", "mlflow", "wandb";
    none by default), each needing its extra on the backend: `pip install 'arkor[mlflow]'`.

    Args:
        name: the run's name (1-200 characters).
        model: a supported model id (`arkor models`) or a local HF-format folder.
        dataset: `{"type": "file", "path": ...}` (JSONL/JSON/CSV/Parquet), `{"type": "huggingface",
            "name": ..., "split"?, "subset"?}` or `{"type": "blob", "url": ..., "token"?}`.
        lora: `r` (16), `alpha` (= `r`), `max_length` (1024), `dropout` (0), `target_modules`
            (every linear projection), `last_layers` (all; N puts the adapter on the last N
            transformer layers, so the backward pass stops below them), `load_in_4bit` (QLoRA, CUDA only).
        max_steps: optimizer steps; wins over `num_train_epochs` (default 1).
        num_train_epochs: passes over the data.
        learning_rate: default 2e-4.
        batch_size: rows per step, default 4.
        gradient_accumulation_steps: micro-batches per optimizer step, default 1.
        optim: `adamw_torch` (default), `adamw`, `sgd`, `adafactor`; `adamw_8bit`, `paged_adamw_8bit` on CUDA.
        lr_scheduler_type: `linear` (default), `cosine`, `constant`, ... (a did-you-mean lists them).
        weight_decay: default 0.
        warmup_steps: default 0.
        logging_steps: a `training.log` event (`on_log`) every N steps, default 1.
        save_steps: a checkpoint (`on_checkpoint`) every N steps.
        eval_steps: eval loss, and task accuracy with `eval_dataset`, every N steps.
        train_on_responses_only: loss on assistant turns only (default: on for chat formats, off for `text`).
        dataset_format: `auto` (detected from the keys), `messages`/`chatml`, `prompt_completion`,
            `alpaca` or `text`; a string or `{"type": ...}`.
        dataset_split: a Hugging Face split to evaluate on.
        seed: the random seed (data order, held-out rows), default 42.
        dry_run: at most 10 steps on at most 50 rows.
        save_total_limit: newest checkpoints kept on the worker's disk, default 3.
        max_restarts: automatic resumes from the last checkpoint after a lost worker or backend, default 2.
        max_time: wall-clock budget, "90s", "3m", "1h30m" or seconds; the LR schedule ends with it.
        eval_dataset: a dataset source scored at each eval step (also the eval-loss set).
        eval_scorer: `triage`, `translate`, `redaction`, `json_fields` or `exact`.
        eval_rows: rows of `eval_dataset` answered per eval step, default 24.
        report_to: "tensorboard", "mlflow", "wandb" or a list of them.
        torch_compile: compile the decoder layers for the training steps (default off). The first step
            builds the kernels (62-80 s for SmolLM2 on 2 CPU cores, 14-18 s once cached), so it pays
            off on runs of ten minutes or more; a build that fails falls back to eager.
        callbacks: a dict or `TrainerCallbacks` (`on_started`, `on_log`, `on_checkpoint`,
            `on_evaluation`, `on_completed`, `on_failed`, `on_event` for every event); or pass them as keywords.
        abort_signal: stops waiting (not the job: call `cancel()` for that).
        context: internal knobs (backend URL, credentials, project folder); subject to change.

    Raises:
        TrainerConfigError: every problem found, each naming its field and what is allowed.
    """
    values = dict(locals())
    extra = values.pop("callback_kwargs")
    raw = {
        key: values[key]
        for key in TRAINER_FIELDS
        if key not in ("callbacks", "abort_signal") and values[key] is not None and values[key] is not _REQUIRED
    }
    problems: list[tuple[str, str]] = []
    keyword_callbacks = {k: v for k, v in extra.items() if k in CALLBACK_NAMES}
    for key in extra:
        if key not in CALLBACK_NAMES:
            allowed = TRAINER_FIELDS + CALLBACK_NAMES
            problems.append((key, f"is not a known field.{_did_you_mean(key, allowed)}"))
    chosen, callback_problems = collect_callbacks(callbacks, keyword_callbacks)
    problems.extend(callback_problems)
    if abort_signal is not None and not isinstance(abort_signal, AbortSignal):
        problems.append(("abort_signal", f"must be an arkor AbortSignal (got {type(abort_signal).__name__})"))
    context = context or TrainerContext()
    try:
        parsed, source = validate_trainer_input(raw, base_dir=Path(context.cwd) if context.cwd else find_project_root())
    except TrainerConfigError as exc:
        problems = exc.problems + problems
    if problems:
        raise TrainerConfigError(problems)
    return Trainer(
        name=parsed.name,
        config=build_job_config(parsed, source),
        dataset_source=source,
        callbacks=chosen,
        abort_signal=abort_signal,
        context=context,
    )
