"""tests/unit starts no process and no server: a test that does belongs in tests/integration/<area>/.
The check reads each unit test file's imports and calls (it runs none of them)."""

from __future__ import annotations

import ast
from pathlib import Path

UNIT = Path(__file__).resolve().parent
FORBIDDEN_MODULES = {"subprocess", "multiprocessing", "uvicorn", "http.server", "socketserver"}
FORBIDDEN_CALLS = {"Popen", "system", "fork", "spawn", "execv", "execvp", "serve_forever", "ensure_local_backend"}


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN_MODULES)


def _problems(source: str, where: str) -> list[str]:
    tree = ast.parse(source, filename=where)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in FORBIDDEN_CALLS:
                found.append(f"{where}:{node.lineno}: calls {name}()")
            continue
        else:
            continue
        found += [f"{where}:{node.lineno}: imports {name}" for name in names if _forbidden(name)]
    return found


def test_no_unit_test_starts_a_process_or_a_server():
    problems = [
        problem
        for path in sorted(UNIT.rglob("*.py"))
        for problem in _problems(path.read_text(encoding="utf-8"), str(path.relative_to(UNIT.parent)))
    ]
    assert not problems, "move these tests to tests/integration/<area>/:\n" + "\n".join(problems)


def test_the_check_sees_a_process_or_server_start():
    source = (
        "import subprocess\nfrom http.server import HTTPServer\nimport os\nsubprocess.Popen(['true'])\nos.getcwd()\n"
    )
    assert _problems(source, "x.py") == [
        "x.py:1: imports subprocess",
        "x.py:2: imports http.server",
        "x.py:4: calls Popen()",
    ]
