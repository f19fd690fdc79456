"""`arkor build [entry]`: snapshot the entry's folder (`src/arkor/`) into `.arkor/build/`.

The snapshot is byte-compiled, imported once to check it exposes a trainer, and described by
`.arkor/build/manifest.json` (entry file, source and a digest of its folder, trainer name and
config summary; `arkor start` compares the digest to say when it runs a build older than the code).
It is staged beside the old build and swapped in only when it checks out, so a broken edit never
replaces a good build. Relative paths are the project root's (found upward from the current folder).
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import hashlib
import json
import os
import py_compile
import shutil
import traceback
from pathlib import Path
from typing import Any

import click

from arkor import __version__

from ._common import CliError, echo_err, project_root

BUILD_DIR = Path(".arkor") / "build"
MANIFEST_NAME = "manifest.json"
DEFAULT_ENTRY = Path("src") / "arkor" / "index.py"


def build_dir(cwd: Path) -> Path:
    return cwd / BUILD_DIR


def read_manifest(cwd: Path) -> dict[str, Any] | None:
    """The current build's manifest, or None when there is no complete build."""
    try:
        manifest = json.loads((build_dir(cwd) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not (build_dir(cwd) / str(manifest.get("entry", ""))).is_file():
        return None
    return manifest


def _relative(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


_IGNORED_NAMES = ("__pycache__", "*.pyc", ".arkor")
_IGNORED = shutil.ignore_patterns(*_IGNORED_NAMES)


def source_digest(folder: Path) -> str | None:
    """sha256 of the files a build snapshots from `folder` (names and bytes); None when it is gone."""
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (
            any(fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in _IGNORED_NAMES)
            or not path.is_file()
        ):
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def stale_build_notice(manifest: dict[str, Any], cwd: Path) -> str | None:
    """One line when the sources changed since `manifest`'s build (the build is still what runs)."""
    recorded = manifest.get("sourceDigest")
    source = cwd / str(manifest.get("source", DEFAULT_ENTRY))
    if not isinstance(recorded, str) or source_digest(source.parent) == recorded:
        return None
    folder = _relative(source.parent, cwd).rstrip("/") + "/"
    rebuild = (
        "arkor build" if Path(str(manifest.get("source"))) == DEFAULT_ENTRY else f"arkor build {manifest['source']}"
    )
    return (
        f"warning: {folder} changed since the build in {BUILD_DIR}/ (built {manifest.get('builtAt')}); "
        f"this run uses that build. Run `{rebuild}` (or `arkor start {manifest['source']}`) to train the current code."
    )


def trainer_summary(trainer: Any) -> dict[str, Any]:
    """Name and wire config of a trainer (the config only for arkor's own `Trainer`)."""
    config: Any = getattr(trainer, "_config", None)
    return {"name": getattr(trainer, "name", None), "config": config.to_wire() if hasattr(config, "to_wire") else None}


def _compile_all(folder: Path, cwd: Path, source_dir: Path) -> None:
    for path in sorted(folder.rglob("*.py")):
        try:
            py_compile.compile(str(path), doraise=True)
        except py_compile.PyCompileError as exc:
            original = source_dir / path.relative_to(folder)
            detail = str(exc.exc_value) if exc.exc_value else exc.msg
            raise CliError(f"Build failed: {_relative(original, cwd)} does not compile: {detail}") from None


def _print_user_frames(exc: BaseException, staging: Path, source_dir: Path) -> None:
    """The traceback's frames in the user's files (shown at their source paths), not arkor's."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(str(staging))]
    for frame in frames:
        frame.filename = str(source_dir) + frame.filename[len(str(staging)) :]
    if frames:
        echo_err("Traceback (your code):\n" + "".join(traceback.format_list(frames)).rstrip())


def entry_from_user(entry: str | None) -> str | None:
    """An ENTRY argument is a path from where the user is, not from the project root."""
    return None if entry is None else str(Path(entry).resolve())


def build_project(entry: str | os.PathLike[str] | None, cwd: Path) -> dict[str, Any]:
    """Snapshot, compile, import-check and swap in; returns the manifest.

    Raises:
        CliError: missing entry, a file that does not compile, or an import that fails.
        TrainingEntryError / TrainerConfigError: the entry exports no trainer, or a bad trainer.
    """
    from arkor.sdk.runner import load_entry, pick_trainer

    source = Path(entry) if entry is not None else DEFAULT_ENTRY
    source = (source if source.is_absolute() else cwd / source).resolve()
    if not source.is_file():
        raise CliError(
            f"Build entry not found: {source}. Create src/arkor/index.py or pass an explicit entry argument."
        )
    arkor_dir = cwd / ".arkor"
    staging = arkor_dir / f".build-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        digest = source_digest(source.parent)
        shutil.copytree(source.parent, staging, ignore=_IGNORED)
        _compile_all(staging, cwd, source.parent)
        try:
            trainer = pick_trainer(load_entry(staging / source.name, cwd))
        except Exception as exc:
            from arkor.errors import ArkorError

            if isinstance(exc, ArkorError):
                raise
            _print_user_frames(exc, staging, source.parent)
            raise CliError(
                f"Build failed: importing {_relative(source, cwd)} raised {type(exc).__name__}: {exc}"
            ) from None
        manifest = {
            "entry": source.name,
            "source": _relative(source, cwd),
            "sourceDigest": digest,
            "builtAt": _dt.datetime.now(_dt.UTC).isoformat().replace("+00:00", "Z"),
            "arkorVersion": __version__,
            "trainer": trainer_summary(trainer),
        }
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        target = build_dir(cwd)
        old = arkor_dir / f".build-old-{os.getpid()}"
        if target.exists():
            os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def announce_build(manifest: dict[str, Any], cwd: Path) -> None:
    out = build_dir(cwd) / manifest["entry"]
    click.echo(f"Built {manifest['source']} → {_relative(out, cwd)}")


@click.command("build")
@click.argument("entry", required=False)
def build_command(entry: str | None) -> None:
    """Snapshot src/arkor/ into .arkor/build/ and check that it exposes a trainer."""
    cwd = project_root()
    manifest = build_project(entry_from_user(entry), cwd)
    announce_build(manifest, cwd)
