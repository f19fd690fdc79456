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
    """One row per registered model family (`arkor.model_families`), supported ones first."""
    from arkor.engine.models.registry import hub_cache_has, read_marker
    from arkor.engine.models.store import model_cache_path
    from arkor.model_families import list_families

    rows = []
    for family in list_families():
        if family.gguf_package is not None:
            offline = importlib.util.find_spec(family.gguf_package.module) is not None
        elif family.weights == "hub":
            offline = hub_cache_has(family.id)
        else:
            offline = True
        folder = model_cache_path(family.id)
        rows.append(
            {
                "id": family.id,
                "name": family.display_name,
                "source": family.weights,
                "offline": offline,
                "cached": read_marker(folder) is not None,
                "cachePath": str(folder),
                "description": family.description,
            }
        )
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
        click.echo(
            f"{row['id']!s:<{width}}  {row['source']!s:<9}  {'yes' if row['offline'] else 'no':<7}  "
            f"{'yes' if row['cached'] else 'no':<6}  {row['description']}"
        )
