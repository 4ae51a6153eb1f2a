"""Which error classes of app.errors a route's handler can raise, read from the source (no request made).

A static over-approximation: it follows calls it can name (`f(...)`, `module.f(...)`, `Class.method(...)` through
the module's imports) and collects every `raise X(...)` of an AppError subclass on the way. Calls on objects
(`keys.decrypt(...)`) are not followed: what those raise (an unknown key) is in `app.errors.EVERY_ROUTE`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from functools import cache
from pathlib import Path

from app import errors

ROOT = Path(__file__).resolve().parents[2]
ERRORS: dict[str, type[errors.AppError]] = {
    name: value
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.AppError)
}


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted((ROOT / "app").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = ast.parse(path.read_text(encoding="utf-8"))
    return found


class _Graph:
    def __init__(self) -> None:
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.module_of: dict[str, str] = {}
        self.imports: dict[str, dict[str, str]] = {}
        for module, tree in _modules().items():
            names = self.imports.setdefault(module, {})
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for alias in node.names:  # `import a.b` binds a; `import a.b as c` binds c to a.b
                        bound = alias.asname or alias.name.split(".")[0]
                        names[bound] = alias.name if alias.asname else bound
                elif isinstance(node, ast.ImportFrom) and node.module:
                    for alias in node.names:
                        names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            for node in tree.body:
                members = node.body if isinstance(node, ast.ClassDef) else [node]
                prefix = f"{module}.{node.name}." if isinstance(node, ast.ClassDef) else f"{module}."
                for member in members:
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self.functions[prefix + member.name] = member
                        self.module_of[prefix + member.name] = module

    def _target(self, module: str, call: ast.expr) -> str | None:
        names = self.imports[module]
        if isinstance(call, ast.Name):
            local = f"{module}.{call.id}"
            return local if local in self.functions else names.get(call.id)
        if isinstance(call, ast.Attribute) and isinstance(call.value, ast.Name):
            base = names.get(call.value.id, f"{module}.{call.value.id}")
            return f"{base}.{call.attr}"
        return None

    @cache  # noqa: B019 - one graph per test session
    def raised(self, function: str, _seen: frozenset[str] = frozenset()) -> frozenset[str]:
        """The names of the error classes `function` (module.name) can raise, through the calls it makes."""
        node = self.functions.get(function)
        if node is None or function in _seen:
            return frozenset()
        module, found = self.module_of[function], set[str]()
        for inner in ast.walk(node):
            if isinstance(inner, ast.Raise) and inner.exc is not None:
                raised = inner.exc.func if isinstance(inner.exc, ast.Call) else inner.exc
                name = raised.id if isinstance(raised, ast.Name) else getattr(raised, "attr", None)
                if name in ERRORS:
                    found.add(name)
            elif isinstance(inner, ast.Call):
                target = self._target(module, inner.func)
                if target in self.functions:
                    found |= self.raised(target, _seen | {function})
        return frozenset(found)


@cache
def _graph() -> _Graph:
    return _Graph()


def raised_by(endpoint: Callable[..., object]) -> set[type[errors.AppError]]:
    """The error classes a route's endpoint can raise."""
    names = _graph().raised(f"{endpoint.__module__}.{endpoint.__name__}")
    return {ERRORS[name] for name in names}
