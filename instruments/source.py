"""Reading a definition file: YAML with the line of every value, and located problems."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, located in its file."""

    code: str
    message: str
    file: str
    line: int | None = None
    path: str = ""
    kind: str = field(default="", compare=False)  # for a schema problem, which kind (see problems.SCHEMA_KINDS)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        at = f" {self.path}:" if self.path else ""
        return f"{where}:{at} {self.message} [{self.code}]"


class _Loader(yaml.SafeLoader):
    """Safe YAML loader where only true/false are booleans (YAML 1.2), so `yes` and `no` stay text."""


class _FastLoader(getattr(yaml, "CSafeLoader", _Loader)):  # type: ignore[misc]
    """The same loader on LibYAML's parser, where PyYAML has it (its wheels do): the pure-Python scanner took
    about 3 s of every process's start to read the bundled instruments. Its nodes and lines are the same; its
    error messages are worded differently, so a file it refuses is read again by `_Loader` to say why."""


for _loader in (_Loader, _FastLoader):
    _loader.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
    }
    _loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )


@dataclass
class Source:
    """A parsed definition file: its data and the line each value starts on."""

    file: str
    text: str
    data: Any
    lines: dict[Path_, int]

    def line_of(self, path: Path_) -> int | None:
        """The line of the value at `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def where(self, path: Path_) -> tuple[int | None, str]:
        """The line of the value at `path` and the path as an author reads it (with ids)."""
        return self.line_of(path), format_path(path, self.data)


MAX_VALUES = 200_000
"""More values than any instrument needs: a file that expands past this through aliases is refused."""


class _TooLarge(Exception):
    """The file expands to more than MAX_VALUES values (e.g. aliases nested to multiply)."""


@dataclass
class _Walk:
    """What `_build` tracks across the whole file: containers being built, and values built so far."""

    active: set[int] = field(default_factory=set)
    count: int = 0


def read_source(file: Path | str, text: str | None = None) -> tuple[Source | None, list[Problem]]:
    """Read YAML text keeping lines; returns the source, or the problems that stopped it."""
    name = str(file)
    if text is None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return None, [Problem("unreadable", f"cannot read the file: {exc}", name)]
    try:
        return _read(_FastLoader(text), name, text)
    except yaml.YAMLError:  # only LibYAML's loader raises them: read again, for the pure-Python parser's wording
        return _read(_Loader(text), name, text)


def _yaml_problem(exc: yaml.YAMLError, name: str) -> Problem:
    """What the author reads about a file that is not valid YAML: the problem, and the line where it is."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem("yaml", f"this is not valid YAML: {exc}", name)
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    detail = exc.problem or str(exc)
    if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
        detail += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
    return Problem("yaml", f"this is not valid YAML: {detail}", name, line)


def _read(loader: _Loader | _FastLoader, name: str, text: str) -> tuple[Source | None, list[Problem]]:
    """`read_source` with one loader; a YAML error of the fast loader is raised (not reported) for a second read."""
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem("empty", "the file is empty", name, 1)]
        problems: list[Problem] = []
        lines: dict[Path_, int] = {}
        data = _build(loader, node, (), lines, problems, name, _Walk())
    except _TooLarge:
        return None, [Problem("yaml", f"the file expands to more than {MAX_VALUES} values through its aliases", name)]
    except RecursionError:
        return None, [Problem("yaml", "the file is nested too deeply to read", name)]
    except yaml.YAMLError as exc:
        if not isinstance(loader, _Loader):
            raise
        return None, [_yaml_problem(exc, name)]
    finally:
        loader.dispose()
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [Problem("not_a_mapping", "an instrument file must be a mapping of keys to values", name, 1)]
    return Source(name, text, data, lines), []


def _build(
    loader: _Loader | _FastLoader,
    node: yaml.Node,
    path: Path_,
    lines: dict[Path_, int],
    problems: list[Problem],
    name: str,
    walk: _Walk,
) -> Any:
    walk.count += 1
    if walk.count > MAX_VALUES:
        raise _TooLarge
    lines[path] = node.start_mark.line + 1
    if id(node) in walk.active:  # an alias inside the very value it names: it would never end
        problems.append(
            Problem("yaml", "this value contains an alias to itself", name, node.start_mark.line + 1, format_path(path))
        )
        return None
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        walk.active.add(id(node))
        try:
            return _build_container(loader, node, path, lines, problems, name, walk)
        finally:
            walk.active.discard(id(node))
    return loader.construct_object(node, deep=True)


def _build_container(
    loader: _Loader | _FastLoader,
    node: yaml.Node,
    path: Path_,
    lines: dict[Path_, int],
    problems: list[Problem],
    name: str,
    walk: _Walk,
) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                problems.append(Problem("yaml", "a key must be plain text", name, key_node.start_mark.line + 1))
                continue
            if key in result:
                problems.append(
                    Problem(
                        "duplicate_key",
                        f"the key '{key}' appears twice",
                        name,
                        key_node.start_mark.line + 1,
                        format_path(path),
                    )
                )
                continue
            result[key] = _build(loader, value_node, (*path, str(key)), lines, problems, name, walk)
        return result
    return [_build(loader, child, (*path, i), lines, problems, name, walk) for i, child in enumerate(node.value)]


def format_path(path: Path_, data: Any = None) -> str:
    """A readable path such as `items[3](slept_elsewhere).options[0].code`."""
    out = ""
    current = data
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            if isinstance(current, list) and 0 <= part < len(current):
                current = current[part]
                if isinstance(current, dict) and isinstance(current.get("id"), str):
                    out += f"({current['id']})"
            else:
                current = None
        else:
            out += f".{part}" if out else part
            current = current.get(part) if isinstance(current, dict) else None
    return out


def data_path(data: Any, loc: tuple[Any, ...]) -> Path_:
    """Map a Pydantic error location onto the path of the data it points at."""
    path: list[str | int] = []
    current: Any = data
    for part in loc:
        if isinstance(current, dict) and isinstance(part, str) and part in current:  # noqa: SIM114
            current = current[part]
            path.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            path.append(part)
        elif isinstance(current, dict) and isinstance(part, str) and not path_is_tag(part, current):
            path.append(part)
            current = None
        # anything else is a union tag Pydantic adds to the location; it is not in the data
    return tuple(path)


def path_is_tag(part: str, current: dict[str, Any]) -> bool:
    """Whether `part` is the discriminator tag of a tagged union rather than a key."""
    return current.get("type") == part
