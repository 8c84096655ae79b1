"""House rules that keep the code in shape (DESIGN.md section 6).

* the domain (``hub/inbox``, ``hub/crm_sync``, except their ``http`` packages) imports no
  transport library;
* HTTP handlers live in one place per area: ``hub/http`` (the service's own routes),
  ``hub/<area>/http`` (inbox, sales, channel admin) and a channel's own package;
* no module passes 450 lines;
* no ``utils.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HUB = Path(__file__).resolve().parent.parent / "hub"
DOMAIN_DIRS = ("inbox", "crm_sync")
TRANSPORTS = frozenset({"aiohttp", "aiogram", "aiosmtplib"})
MAX_LINES = 450


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _is_http(path: Path) -> bool:
    """An area's HTTP side: everything in its ``http`` package."""
    return "http" in path.relative_to(HUB).parts[:-1]


def _domain_modules() -> list[Path]:
    found: list[Path] = []
    for name in DOMAIN_DIRS:
        folder = HUB / name
        if folder.is_dir():
            found += [p for p in _modules(folder) if not _is_http(p)]
    return found


def imported_roots(source: str) -> set[str]:
    """Top-level package names a module imports, wherever the import statement is."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def _rel(path: Path) -> str:
    return str(path.relative_to(HUB.parent))


def test_the_checks_see_the_domain() -> None:
    names = {p.name for p in _domain_modules()}
    assert {"actions.py", "queries.py", "models.py"} <= names
    assert "routes.py" not in names


def _defines_routes(source: str) -> bool:
    """A module that declares routes: it makes a ``RouteTableDef`` or adds routes to a router."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in {"RouteTableDef", "add_routes"}:
            return True
    return False


def _route_home(path: Path) -> bool:
    """Where handlers may live: an ``http`` package, a channel's own package, or ``app.py``
    (which adds every area's table)."""
    parts = path.relative_to(HUB).parts
    return "http" in parts[:-1] or parts[0] == "channels" or parts == ("app.py",)


def test_routes_live_in_one_place_per_area() -> None:
    declaring = [p for p in _modules(HUB) if _defines_routes(p.read_text(encoding="utf-8"))]
    stray = [_rel(p) for p in declaring if not _route_home(p)]
    assert stray == [], f"move these handlers into their area's http package: {stray}"
    homes = {_rel(p) for p in declaring}
    assert {"hub/http/ops.py", "hub/inbox/http/routes.py", "hub/crm_sync/http/routes.py"} <= homes


def test_the_route_check_sees_a_stray_table() -> None:
    assert _defines_routes("from aiohttp import web\nroutes = web.RouteTableDef()\n")
    assert not _route_home(HUB / "inbox" / "actions.py")


def test_import_scanner_finds_nested_and_from_imports() -> None:
    source = "import os\nfrom aiohttp.web import Request\ndef f():\n    import aiogram.types\n"
    assert imported_roots(source) == {"os", "aiohttp", "aiogram"}


@pytest.mark.parametrize("path", _domain_modules(), ids=_rel)
def test_domain_imports_no_transport(path: Path) -> None:
    bad = imported_roots(path.read_text(encoding="utf-8")) & TRANSPORTS
    assert not bad, (
        f"{_rel(path)} imports {sorted(bad)}; move that to its area's http package or a channel"
    )


def test_no_module_is_too_long() -> None:
    """Hand-written modules stay small; Alembic's generated migrations are exempt."""
    versions = HUB / "migrations" / "versions"
    too_long = {
        _rel(p): n
        for p in _modules(HUB)
        if versions not in p.parents
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}, f"split these modules (over {MAX_LINES} lines): {too_long}"


def test_no_utils_module() -> None:
    found = [_rel(p) for p in HUB.rglob("utils.py")]
    assert found == [], "name modules for what they do, not utils.py"
