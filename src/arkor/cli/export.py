"""`arkor export JOB [--checkpoint STEP] [--merge] [--out DIR]`: take a trained adapter home.

Without `--merge`, DIR receives the adapter files (`adapter_config.json`,
`adapter_model.safetensors`, ...) of the final adapter or of checkpoint STEP. With `--merge`, the
adapter is folded into its base model (`merge_and_unload`) and DIR receives a standalone model
with its tokenizer, loadable by plain `transformers.AutoModelForCausalLM.from_pretrained(DIR)`.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from ._common import CliError, console, open_session, project_scope


def artifact_prefix(checkpoint: int | None) -> str:
    return "final/" if checkpoint is None else f"checkpoints/step-{checkpoint}/"


def download_adapter(client: Any, job_id: str, state: Any, checkpoint: int | None, destination: Path) -> list[Path]:
    """Download the adapter's files into `destination`; returns the paths written."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    prefix = artifact_prefix(checkpoint)
    artifacts = [a for a in client.list_artifacts(job_id, state).artifacts if a.pathname.startswith(prefix)]
    if not artifacts:
        steps = sorted(c.step for c in client.list_checkpoints(job_id, state).checkpoints)
        which = "final adapter" if checkpoint is None else f"checkpoint at step {checkpoint}"
        available = ", ".join(map(str, steps)) or "none"
        raise CliError(f"Job {job_id} has no {which} (checkpoints: {available}). "
                       "Pick one with --checkpoint STEP, or wait for the job to complete.")
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    total = sum(a.size or 0 for a in artifacts) or None
    with Progress(TextColumn("downloading"), BarColumn(), DownloadColumn(), console=console(stderr=True),
                  transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("download", total=total)
        for artifact in artifacts:
            data = client.download_artifact(job_id, artifact.pathname, state)
            target = destination / artifact.pathname[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(target)
            progress.advance(task, len(data))
    if not (destination / "adapter_config.json").is_file():
        raise CliError(f"The artifacts under {prefix} hold no adapter_config.json; not a LoRA adapter.")
    return written


def merge_adapter(model_id: str, adapter_dir: Path, out: Path) -> None:
    """Fold the adapter into the base model and save model + tokenizer to `out`."""
    from peft import PeftModel

    from arkor.engine.models import load_model, load_tokenizer

    with console(stderr=True).status(f"Merging the adapter into {model_id}"):
        base = load_model(model_id)
        merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
        tokenizer = load_tokenizer(model_id)
        out.mkdir(parents=True, exist_ok=True)
        merged.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))


@click.command("export")
@click.argument("job_id")
@click.option("--checkpoint", type=int, help="Export the checkpoint saved at this step instead of the final adapter.")
@click.option("--merge", is_flag=True, help="Write a standalone merged model (base + adapter) instead of the adapter.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: exports/<job>[-step-N][-merged]).")
def export_command(job_id: str, checkpoint: int | None, merge: bool, out: Path | None) -> None:
    """Download JOB's adapter (or a merged model) into a folder."""
    state = project_scope()
    session = open_session()
    if session is None:
        raise CliError("Not signed in. Run `arkor login` or `arkor login --anonymous`.")
    suffix = ("" if checkpoint is None else f"-step-{checkpoint}") + ("-merged" if merge else "")
    out = (out or Path("exports") / f"{job_id}{suffix}").resolve()
    if out.exists() and any(out.iterdir()):
        raise CliError(f"{out} already exists and is not empty. Pass --out with a new folder, or remove it first.")
    with session.client as client:
        job = client.get_job(job_id, state).job
        if not merge:
            download_adapter(client, job_id, state, checkpoint, out)
            click.echo(f"Exported the adapter of {job_id} to {out}")
            return
        with tempfile.TemporaryDirectory(prefix="arkor-export-") as temp:
            adapter_dir = Path(temp) / "adapter"
            download_adapter(client, job_id, state, checkpoint, adapter_dir)
            try:
                merge_adapter(job.config.model, adapter_dir, out)
            except BaseException:
                shutil.rmtree(out, ignore_errors=True)
                raise
    click.echo(f"Exported {job_id} merged into {job.config.model} to {out}")
    click.echo("Load it with transformers.AutoModelForCausalLM.from_pretrained(...) and AutoTokenizer.from_pretrained(...).")
