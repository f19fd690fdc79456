"""Write the backend's OpenAPI document and a markdown page of its paths and schemas.

The document comes from the FastAPI app itself (`arkor.server.app.create_app`), built against a
throwaway data dir, so the page cannot drift from the routes. Run by the docs build
(scripts/mkdocs_hooks.py); `python scripts/gen_openapi.py OUT.json` writes the JSON.
"""

from __future__ import annotations

import html
import json
import sys
import tempfile
from pathlib import Path
from typing import Any


def openapi_document() -> dict[str, Any]:
    from arkor.server.app import create_app
    from arkor.server.settings import ServerSettings

    with tempfile.TemporaryDirectory(prefix="arkor-openapi-") as data_dir:
        app = create_app(ServerSettings(data_dir=Path(data_dir)))
        try:
            return app.openapi()
        finally:
            app.state.services.db.dispose()


# Bodies some routes read as raw JSON (bounded while read, so FastAPI does not model them) and the
# SSE event payloads: their shapes come from the protocol models themselves. (Every answer is a
# route's `response_model`, so it is in the document's components already.)
PROTOCOL_MODELS = (
    ("arkor.protocol.jobs", "JobCreateRequest"),
    ("arkor.protocol.deployments", "DeploymentUpdateRequest"),
    ("arkor.protocol.events", "JobEvent"),
)


def protocol_schemas() -> dict[str, Any]:
    """JSON schemas (camelCase, as on the wire) of `PROTOCOL_MODELS` and everything they reference."""
    import importlib

    from pydantic import TypeAdapter

    schemas: dict[str, Any] = {}
    for module, name in PROTOCOL_MODELS:
        target = getattr(importlib.import_module(module), name)
        schema = TypeAdapter(target).json_schema(
            by_alias=True, mode="serialization", ref_template="#/components/schemas/{model}"
        )
        schemas.update(schema.pop("$defs", {}))
        schemas.setdefault(name, schema)
    return schemas


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " \\| ".join(_type(part) for part in schema[key])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    return f"`{kind}`"


def _anchor(name: str) -> str:
    return "schema-" + "".join(c if c.isalnum() else "-" for c in name.lower())


def _text(value: Any) -> str:
    text = html.escape(" ".join(str(value or "").split()), quote=False)
    return text.replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


def openapi_markdown(doc: dict[str, Any]) -> str:
    info = doc.get("info", {})
    out = [
        "# HTTP API (wire contract)\n",
        f"Generated at build time from the backend's FastAPI app (`scripts/gen_openapi.py`): "
        f"{_text(info.get('title'))} {_text(info.get('version'))}, OpenAPI {doc.get('openapi')}. "
        "The raw document is [openapi.json](openapi.json); a running backend serves it at `/openapi.json`.\n",
        'JSON bodies are camelCase; errors are `{"error": ...}` bodies.\n',
        "## Paths\n",
        "| method | path | summary |",
        "|---|---|---|",
    ]
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            summary = op.get("summary") or op.get("description", "").split("\n")[0]
            out.append(f"| `{method.upper()}` | `{path}` | {_text(summary)} |")
    out.append("\n## Schemas\n")
    out.append(
        "The OpenAPI components, then the protocol models of the bodies read as raw JSON "
        "(`POST /v1/jobs` takes a `JobCreateRequest`) and of the job event stream (`JobEvent`).\n"
    )
    schemas = {**doc.get("components", {}).get("schemas", {})}
    for name, schema in protocol_schemas().items():
        schemas.setdefault(name, schema)
    for name, schema in schemas.items():
        out.append(f'<a id="{_anchor(name)}"></a>\n\n### {_text(name)}\n')
        if schema.get("description"):
            out.append(_text(schema["description"]) + "\n")
        properties = schema.get("properties", {})
        if properties:
            required = set(schema.get("required", []))
            out.append("| field | type | required | description |\n|---|---|---|---|")
            for field, spec in properties.items():
                out.append(
                    f"| `{field}` | {_type(spec)} | {'yes' if field in required else ''} | "
                    f"{_text(spec.get('description') or spec.get('title', ''))} |"
                )
            out.append("")
        elif any(key in schema for key in ("oneOf", "anyOf")):
            out.append(f"One of: {_type(schema)}\n")
        elif "enum" in schema or "type" in schema:
            out.append(f"Type: {_type(schema)}\n")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    document = openapi_document()
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(json.dumps(document, indent=2), encoding="utf-8")
    else:
        print(openapi_markdown(document), end="")
