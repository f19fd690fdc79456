"""`arkor export JOB [--checkpoint STEP] [--merge] [--gguf] [--out DIR]`: take a trained adapter home.

The command downloads the adapter's artifacts from the backend; merging and GGUF conversion are
`arkor.engine.export.export_job_artifacts`'s work. Output layout of DIR:

- no flag: the adapter files (`adapter_config.json`, `adapter_model.safetensors`, ...) of the final
  adapter or of checkpoint STEP;
- `--merge`: a standalone model (base + adapter folded by `merge_and_unload`) with its tokenizer,
  loadable by plain `transformers.AutoModelForCausalLM.from_pretrained(DIR)`;
- `--gguf`: `DIR/model.gguf` for llama.cpp (Llama-family bases such as SmolLM2, and Gemma-3), f16 or
  the `--gguf-type` given (q8_0, q4_0 ...). With `--merge` too, it sits next to the merged model's files.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from arkor.protocol.artifacts import ADAPTER_CONFIG, adapter_label, adapter_prefix

from ._common import CliError, console, echo_err, open_session, project_root, project_scope

GGUF_NAME = "model.gguf"


def normalise_modes(folder: Path) -> None:
    from arkor.engine.export import normalise_modes as normalise

    normalise(folder)


def default_out(job_id: str, checkpoint: int | None, merge: bool, gguf: bool) -> Path:
    step = "" if checkpoint is None else f"-{adapter_label(checkpoint)}"
    return Path("exports") / f"{job_id}{step}{'-merged' if merge else ''}{'-gguf' if gguf else ''}"


def download_adapter(client: Any, job_id: str, state: Any, checkpoint: int | None, destination: Path) -> list[Path]:
    """Download the adapter's files into `destination`; returns the paths written."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    prefix = adapter_prefix(checkpoint)
    artifacts = [a for a in client.list_artifacts(job_id, state).artifacts if a.pathname.startswith(prefix)]
    if not artifacts:
        steps = sorted(c.step for c in client.list_checkpoints(job_id, state).checkpoints)
        which = "final adapter" if checkpoint is None else f"checkpoint at step {checkpoint}"
        available = ", ".join(map(str, steps)) or "none"
        raise CliError(
            f"Job {job_id} has no {which} (checkpoints: {available}). "
            "Pick one with --checkpoint STEP, or wait for the job to complete."
        )
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    total = sum(a.size or 0 for a in artifacts) or None
    with Progress(
        TextColumn("downloading"),
        BarColumn(),
        DownloadColumn(),
        console=console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("download", total=total)
        for artifact in artifacts:
            data = client.download_artifact(job_id, artifact.pathname, state)
            target = destination / artifact.pathname[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(target)
            progress.advance(task, len(data))
    if not (destination / ADAPTER_CONFIG).is_file():
        raise CliError(f"The artifacts under {prefix} hold no {ADAPTER_CONFIG}; not a LoRA adapter.")
    return written


def card_facts(client: Any, job: Any, state: Any, checkpoint: int | None) -> dict[str, Any]:
    """What the adapter's model card names beyond its own folder: the job's wire config (the
    uploaded file's name), id, run name and, for the final adapter, the run's metrics."""
    facts: dict[str, Any] = {"config": job.config.to_wire(), "job_id": job.id, "run_name": job.name}
    if checkpoint is None:
        events = client.get_job(job.id, state, events=True).events or []
        completed = [e for e in events if isinstance(e, dict) and e.get("type") == "training.completed"]
        if completed and isinstance(completed[-1].get("metrics"), dict):
            facts["metrics"] = completed[-1]["metrics"]
    return facts


def export_converted(
    client: Any,
    job_id: str,
    state: Any,
    checkpoint: int | None,
    model_id: str,
    *,
    merge: bool,
    gguf: bool,
    out: Path,
    card: dict[str, Any] | None = None,
    gguf_type: str = "f16",
) -> None:
    """Download the adapter, let the export library merge / convert it, and move what was asked into `out`.

    The library works in a staging folder next to `out` (same filesystem, so the moves are renames)
    which is removed whatever happens; a half-filled `out` is removed on failure.
    """
    from arkor.engine.export import export_job_artifacts

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".arkor-export-", dir=out.parent) as staging:
        adapter_dir = Path(staging) / "download"
        download_adapter(client, job_id, state, checkpoint, adapter_dir)
        live = sys.stderr.isatty()
        result = export_job_artifacts(
            adapter_dir,
            Path(staging) / "export",
            merge=merge,
            gguf=gguf,
            model_id=model_id,
            progress=live,
            card=card,
            gguf_dtype=gguf_type,
            on_stage=None if live else (lambda text: echo_err(f"export: {text}")),
        )
        try:
            if merge:
                assert result.merged_dir is not None  # export_job_artifacts merges when asked to
                os.replace(result.merged_dir, out)  # replaces an empty `out` folder too
            if gguf:
                out.mkdir(parents=True, exist_ok=True)
                assert result.gguf_path is not None  # ... and writes the GGUF when asked to
                os.replace(result.gguf_path, out / GGUF_NAME)
        except BaseException:
            shutil.rmtree(out, ignore_errors=True)
            raise


@click.command("export")
@click.argument("job_id")
@click.option("--checkpoint", type=int, help="Export the checkpoint saved at this step instead of the final adapter.")
@click.option("--merge", is_flag=True, help="Write a standalone merged model (base + adapter) instead of the adapter.")
@click.option(
    "--gguf",
    is_flag=True,
    help=f"Write {GGUF_NAME} (llama.cpp) of the merged model; Llama-family (SmolLM2) and Gemma-3 bases.",
)
@click.option(
    "--gguf-type",
    "gguf_type",
    default="f16",
    show_default=True,
    help="Tensor type of the GGUF file: f16/bf16/f32, or quantised q8_0, q5_1, q5_0, q4_1, q4_0 (needs "
    "--gguf). K-quants such as q4_k_m are written only by llama.cpp's llama-quantize: export f16 "
    "and run `llama-quantize model.gguf out.gguf Q4_K_M`.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: exports/<job>[-step-N][-merged][-gguf]).",
)
def export_command(
    job_id: str, checkpoint: int | None, merge: bool, gguf: bool, gguf_type: str, out: Path | None
) -> None:
    """Download JOB's adapter, a merged model and/or a GGUF file into a folder.

    \b
    DIR (--out) receives:
      no flag   the adapter files (adapter_config.json, adapter_model.safetensors, ...)
      --merge   a standalone model + tokenizer: AutoModelForCausalLM.from_pretrained(DIR)
      --gguf    DIR/model.gguf (next to the merged model's files with --merge too)
    """
    from arkor.engine.gguf_export import check_gguf_type  # numpy only; names the writable types

    gguf_type = check_gguf_type(gguf_type)
    if gguf_type != "f16" and not gguf:
        raise CliError(f"--gguf-type {gguf_type} applies to the GGUF file; add --gguf.")
    state = project_scope()
    session = open_session()
    if session is None:
        raise CliError("Not signed in. Run `arkor login` or `arkor login --anonymous`.")
    with session.client as client:
        job = client.get_job(job_id, state).job  # JOB may be a unique prefix; the full id names the output
        job_id = job.id
        out = (out or project_root() / default_out(job_id, checkpoint, merge, gguf)).resolve()
        if out.exists() and any(out.iterdir()):
            raise CliError(f"{out} already exists and is not empty. Pass --out with a new folder, or remove it first.")
        model_id = job.config.model
        card = card_facts(client, job, state, checkpoint)
        if not (merge or gguf):
            from arkor.engine.model_card import write_model_card

            download_adapter(client, job_id, state, checkpoint, out)
            write_model_card(out, model_id=model_id, **card)
            normalise_modes(out)
            click.echo(f"Exported the adapter of {job_id} to {out}")
            return
        export_converted(
            client, job_id, state, checkpoint, model_id, merge=merge, gguf=gguf, out=out, card=card, gguf_type=gguf_type
        )
    normalise_modes(out)
    if merge:
        click.echo(f"Exported {job_id} merged into {model_id} to {out}")
        click.echo(
            "Load it with transformers.AutoModelForCausalLM.from_pretrained(...) and "
            "AutoTokenizer.from_pretrained(...)."
        )
    if gguf:
        click.echo(
            f"Wrote {out / GGUF_NAME} ({gguf_type}); run it with llama.cpp, e.g. `llama-cli -m {out / GGUF_NAME}`."
        )
