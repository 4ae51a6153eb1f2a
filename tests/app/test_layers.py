"""The import-linter contracts (pyproject.toml, run by scripts/test) name every web module.

The contracts list web modules by name, so a new page or API module left off the lists would be
treated as a service and nothing would keep other domains out of it: this test fails until it is listed.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_IN_A_DOMAIN = {"app.main", "app.audit_pages"}


def route_modules() -> set[str]:
    """Every module of app/ that makes an APIRouter, i.e. defines routes."""
    found = set()
    for path in (ROOT / "app").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "APIRouter":
                found.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
                break
    return found


def contracts() -> dict[str, dict[str, list[str]]]:
    """The import-linter contracts by id."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_every_route_module_may_use_the_web_layer() -> None:
    allowed = set(contracts()["web-layer"]["allowed_importers"])
    missing = route_modules() - allowed
    assert not missing, f"add to the web-layer contract's allowed_importers in pyproject.toml: {sorted(missing)}"


def test_every_route_module_is_private_to_its_domain() -> None:
    by_id = contracts()
    missing = []
    for module in sorted(route_modules() - NOT_IN_A_DOMAIN):
        domain = module.split(".")[1]
        contract = by_id.get(f"{domain}-web-private")
        if contract is None or module not in contract["protected_modules"]:
            missing.append(module)
    assert not missing, f"add to their domain's <domain>-web-private contract in pyproject.toml: {missing}"


def test_no_contract_has_an_exception() -> None:
    # The youth's record page is composed in app.records.record_page from each domain's views module, so no page
    # module imports another domain's page module and no contract needs an ignore_imports line.
    excepted = {cid: c["ignore_imports"] for cid, c in contracts().items() if c.get("ignore_imports")}
    assert not excepted, f"move the shared part into a service or views module instead: {excepted}"
