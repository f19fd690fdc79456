"""Write the CLI reference (markdown) by walking `arkor.cli.main`'s click group.

Run by the docs build (scripts/mkdocs_hooks.py); `python scripts/gen_cli_reference.py` prints it.
"""

from __future__ import annotations

import html
import inspect

import click


def _md(text: str) -> str:
    """Help text as literal markdown: no HTML, no `[a][b]` read as a cross-reference."""
    return html.escape(text, quote=False).replace("[", "\\[").replace("]", "\\]")


def _usage(command: click.Command, ctx: click.Context) -> str:
    return " ".join(command.collect_usage_pieces(ctx))


def _param_rows(command: click.Command, ctx: click.Context) -> list[str]:
    rows = []
    for param in command.get_params(ctx):
        if isinstance(param, click.Argument):
            required = "required" if param.required else "optional"
            rows.append(f"| `{param.human_readable_name}` | argument, {required} | |")
            continue
        if not isinstance(param, click.Option):
            continue
        record = param.get_help_record(ctx)
        if record is None:  # hidden
            continue
        names, help_text = record
        cell = _md(help_text).replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{names}` | option | {cell} |")
    return rows


def _section(command: click.Command, path: list[str], parent: click.Context | None, out: list[str]) -> None:
    ctx = click.Context(command, info_name=path[-1], parent=parent)
    level = "#" * min(len(path) + 1, 6)
    out.append(f"{level} `{' '.join(path)}`\n")
    out.append(f"```text\n{' '.join(path)} {_usage(command, ctx)}\n```\n")
    if command.help:
        # click's `\b` marks a block it must not rewrap; here it is simply left out
        text = "\n".join(line for line in inspect.cleandoc(command.help).splitlines() if line.strip() != "\b")
        out.append(f"```text\n{click.unstyle(text).strip()}\n```\n" if "\n  " in text else f"{_md(text.strip())}\n")
    rows = _param_rows(command, ctx)
    if rows:
        out.append("| name | kind | help |\n|---|---|---|")
        out.extend(rows)
        out.append("")
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                _section(sub, [*path, name], ctx, out)


def cli_reference() -> str:
    from arkor.cli.main import cli

    out = [
        "# CLI reference\n",
        "Generated from the `arkor` command's click definitions at build time "
        "(`scripts/gen_cli_reference.py`); `arkor COMMAND --help` prints the same.\n",
    ]
    _section(cli, ["arkor"], None, out)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(cli_reference(), end="")
