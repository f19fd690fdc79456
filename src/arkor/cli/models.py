"""`arkor models`: the models this arkor knows, whether they work offline here, and what is cached.

Columns: `offline` (the weights are on this machine: the bundled package is installed, or the
Hugging Face hub cache holds the repo), `cached` (already converted into arkor's model cache, so
the first run skips conversion). Reads only files; loads no model.
"""

from __future__ import annotations

import importlib.util
import json

import click


def model_rows() -> list[dict[str, object]]:
    from arkor.engine.models import SUPPORTED_MODELS, TINY_TEST_MODEL, get_model_spec
    from arkor.engine.models.registry import hub_cache_has, read_marker
    from arkor.engine.models.store import model_cache_path

    rows = []
    for model_id in (*SUPPORTED_MODELS, TINY_TEST_MODEL):
        spec = get_model_spec(model_id)
        if spec.source == "pypi-gguf":
            offline = spec.package is not None and importlib.util.find_spec(spec.package.replace("-", "_")) is not None
        elif spec.source == "hub":
            offline = hub_cache_has(model_id)
        else:
            offline = True
        folder = model_cache_path(model_id)
        rows.append({
            "id": model_id, "name": spec.display_name, "source": spec.source, "offline": offline,
            "cached": read_marker(folder) is not None, "cachePath": str(folder), "description": spec.description,
        })
    return rows


@click.command("models")
@click.option("--json", "as_json", is_flag=True)
def models_command(as_json: bool) -> None:
    """Models you can train here: offline availability and conversion cache."""
    rows = model_rows()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(str(row["id"])) for row in rows)
    click.echo(f"{'model':<{width}}  {'source':<9}  offline  cached  notes")
    for row in rows:
        click.echo(f"{row['id']!s:<{width}}  {row['source']!s:<9}  {'yes' if row['offline'] else 'no':<7}  "
                   f"{'yes' if row['cached'] else 'no':<6}  {row['description']}")
