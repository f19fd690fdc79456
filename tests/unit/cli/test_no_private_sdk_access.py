"""The CLI and Studio use the SDK through its public API only: no `obj._name` on anything but `self`/`cls`
(an SDK client's `_send`, `_http`, `_transport`, `_token` included), and no import of a private SDK module
beyond the two the CLI is allowed (`_errors_http` for the deprecation notice, `_wait_flow` for `jobs logs -f`)."""

from __future__ import annotations

import ast
from pathlib import Path

import arkor

PACKAGES = ("cli", "studio")
ALLOWED_PRIVATE_MODULES = {"arkor.sdk._errors_http", "arkor.sdk._wait_flow"}


def _sources() -> list[Path]:
    root = Path(arkor.__file__).parent
    return sorted(path for package in PACKAGES for path in (root / package).rglob("*.py"))


def private_accesses(source: str) -> list[tuple[int, str]]:
    """`(line, text)` of each `x._name` whose owner is not `self`/`cls` (dunders are fine)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_scan_sees_what_it_looks_for() -> None:
    sample = "client._send(r)\nx = self._own\nsession.client._http.close()\ntype(e).__name__\n"
    assert [text for _, text in private_accesses(sample)] == [
        "client._send",
        "session.client._http",
    ]


def test_cli_and_studio_touch_no_private_attribute() -> None:
    files = _sources()
    assert len(files) > 10
    offenders = [
        f"{path.relative_to(path.parents[1])}:{line}: {text}"
        for path in files
        for line, text in private_accesses(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "private access from outside the SDK:\n" + "\n".join(offenders)


def test_cli_and_studio_import_no_other_private_sdk_module() -> None:
    offenders = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            offenders += [
                f"{path.name}: {name}"
                for name in names
                if name.startswith("arkor.sdk._") and name not in ALLOWED_PRIVATE_MODULES
            ]
    assert offenders == []
