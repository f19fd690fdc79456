"""No module of the backend (`arkor/server/`) reaches into another arkor module's private names: a
helper two modules share has a public home (e.g. `server/adapters.py`, `server/inference_service.py`),
so a route is never a library for a service."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
SERVER = SRC / "arkor" / "server"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(module_path: Path, level: int, module: str | None) -> str:
    """The dotted name an import `from <level dots><module> import ...` in `module_path` refers to."""
    package = list(module_path.relative_to(SRC).with_suffix("").parts)[:-1]  # a module's package, or an __init__'s own
    if level:
        package = package[: len(package) - (level - 1)]
        return ".".join([*package, *(module.split(".") if module else [])])
    return module or ""


def private_imports(path: Path, source: str | None = None) -> list[str]:
    """`line: what` for each private name `path` imports from (or reads off) another arkor module."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    own = ".".join(path.relative_to(SRC).with_suffix("").parts)
    modules: set[str] = set()  # local names bound to arkor modules
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _absolute(path, node.level, node.module)
            if not target.startswith("arkor") or target == own:
                continue
            for alias in node.names:
                if _is_private(alias.name):
                    hits.append(f"{node.lineno}: from {target} import {alias.name}")
                else:
                    modules.add(alias.asname or alias.name)  # may be a submodule; checked below if used so
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("arkor"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _is_private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            hits.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return hits


def test_the_scan_sees_both_kinds_of_reach(tmp_path: Path) -> None:
    path = SERVER / "routes" / "example.py"
    source = "from .inference import _sse\nfrom .. import deployments as store\nstore._adapter_folder(1)\nself._x = 1\n"
    assert private_imports(path, source) == [
        "1: from arkor.server.routes.inference import _sse",
        "3: store._adapter_folder",
    ]


def test_no_server_module_imports_a_private_name() -> None:
    found = {
        str(path.relative_to(SRC)): hits for path in sorted(SERVER.rglob("*.py")) if (hits := private_imports(path))
    }
    assert found == {}, f"give these helpers a public home: {found}"
