"""`/api/manifest`: what the project's `src/arkor/index.py` exports, read fresh on every call.

The entry is imported in a short-lived child process (`python -m arkor.studio.manifest <cwd>`), so
every call sees the current files (including modules the entry imports), user code never runs inside
Studio, and a crash or hang in it cannot take Studio down. Like the original, the summary looks at
`arkor` then `default`, and only a `create_arkor(...)` manifest counts.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

RESULT_MARKER = "ARKOR_STUDIO_MANIFEST "
TIMEOUT_S = 60.0


class ManifestError(Exception):
    """The entry could not be imported or summarised; the message is shown in Studio."""


def summarise(module: Any) -> dict[str, Any]:
    """`{"trainer": {"name"} | None}` from a module's `arkor` (else `default`) manifest."""
    from arkor.sdk.runner import is_arkor, is_trainer

    for export in ("arkor", "default"):
        manifest: Any = getattr(module, export, None)
        if is_arkor(manifest):
            trainer = manifest.get("trainer") if hasattr(manifest, "get") else getattr(manifest, "trainer", None)
            if is_trainer(trainer):
                return {"trainer": {"name": str(getattr(trainer, "name", "trainer"))}}
            return {"trainer": None}
    return {"trainer": None}


async def read_manifest(cwd: Path, *, timeout: float = TIMEOUT_S) -> dict[str, Any]:
    """Import the project's entry in a child process and return its summary.

    A folder without `src/arkor/index.py` is not a project: `{"trainer": None, "project": False}`
    (no child is started), so Studio can say how to create one instead of showing an import error.

    Raises:
        ManifestError: the import failed (message = the error's last line), timed out, or printed no result.
    """
    from arkor.sdk.runner import DEFAULT_ENTRY

    if not (Path(cwd) / DEFAULT_ENTRY).is_file():
        return {"trainer": None, "project": False, "entry": DEFAULT_ENTRY.as_posix()}
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "arkor.studio.manifest",
        str(cwd),
        cwd=str(cwd),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ManifestError(f"Importing src/arkor/index.py took longer than {timeout:.0f}s") from None
    finally:
        if process.returncode is None:
            process.kill()
    for line in reversed(stdout.decode("utf-8", "replace").splitlines()):
        if line.startswith(RESULT_MARKER):
            result = json.loads(line[len(RESULT_MARKER) :])
            if "error" in result:
                raise ManifestError(result["error"])
            return {**result, "project": True}
    tail = stderr.decode("utf-8", "replace").strip().splitlines()
    raise ManifestError(tail[-1] if tail else f"manifest probe exited with code {process.returncode}")


def _probe(cwd: str) -> int:
    """Child-process side: import the entry, print one marker line with the summary or the error."""
    try:
        from arkor.sdk.runner import load_entry

        result = summarise(load_entry(None, cwd))
    except BaseException as exc:  # report anything the user's code raises, as the original does
        message = str(exc).strip()
        result = {"error": f"{type(exc).__name__}: {message}" if message else type(exc).__name__}
    sys.stdout.write(RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_probe(sys.argv[1] if len(sys.argv) > 1 else os.getcwd()))
