"""MkDocs hooks: add the generated reference pages (CLI, HTTP API, openapi.json) to the site.

They are built from the code on every `mkdocs build`, never committed, so they cannot go stale.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

_HERE = Path(__file__).resolve().parent


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, _HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def on_files(files: Files, config: Any) -> Files:
    cli = _load("gen_cli_reference")
    openapi = _load("gen_openapi")
    document = openapi.openapi_document()
    files.append(File.generated(config, "reference/cli.md", content=cli.cli_reference()))
    files.append(File.generated(config, "reference/http-api.md", content=openapi.openapi_markdown(document)))
    files.append(File.generated(config, "reference/openapi.json", content=json.dumps(document, indent=2)))
    return files
