"""Every error class lives in `app.errors`, and an error's status comes from its class (issue 15, "Errors").

Read from the source, no request made: an error class declared beside a page, or a status changed by hand on
an error instance, is what the audit of issue 15 found (SharingEnded, PreviewExpired, `empty.status = 422`).
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

from app import errors

APP = Path(__file__).resolve().parents[2] / "app"
# The handlers turn errors into responses, and may answer a page's unreadable form 400 where the API answers 422.
HANDLERS = APP / "main.py"
ERROR_NAMES = {
    name
    for namespace in (vars(errors), vars(builtins))
    for name, value in namespace.items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(APP.parent)), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(APP.rglob("*.py"))
        if path != APP / "errors.py"
    ]


def _base_name(base: ast.expr) -> str:
    return base.attr if isinstance(base, ast.Attribute) else base.id if isinstance(base, ast.Name) else ""


def test_every_public_error_class_is_declared_in_app_errors() -> None:
    outside = [
        f"{where}:{node.lineno} {node.name}"
        for where, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and not node.name.startswith("_")  # a module's private signal, caught where it is raised, may stay there
        and any(_base_name(base) in ERROR_NAMES for base in node.bases)
    ]
    assert outside == [], "declare these in app/errors.py"


def test_no_page_or_service_changes_an_error_status_by_hand() -> None:
    by_hand = [
        f"{where}:{node.lineno}"
        for where, tree in _modules()
        if where != str(HANDLERS.relative_to(APP.parent))
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Attribute) and t.attr == "status" for t in node.targets)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, int)
    ]
    assert by_hand == [], "give the error a class of its own in app/errors.py, with its status"


def test_the_moved_errors_keep_their_status_and_page() -> None:
    assert errors.SharingEnded.status == 403 and errors.SharingEnded.page == "sharing/access_ended.html"
    assert errors.PreviewExpired.status == 400 and issubclass(errors.PreviewExpired, errors.InvalidInput)
    assert errors.NothingToImport.status == 422 and errors.NothingToImport.code == "nothing_to_import"
