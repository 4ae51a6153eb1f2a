"""Loading instrument files: bundled ones and private packs named in TELLONCE_INSTRUMENT_PATH."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from instruments.compiled import CompiledInstrument
from instruments.compiler import Checked, check_instrument
from instruments.model import Instrument
from instruments.partial import beyond_schema
from instruments.schema_messages import plain_message, schema_kind, short_only_by_its_errors
from instruments.source import Problem, Source, data_path, format_path, read_source

BUNDLED_DIR = Path(__file__).parent / "bundled"
PATH_VARIABLE = "TELLONCE_INSTRUMENT_PATH"
SUFFIXES = (".yaml", ".yml")


class InstrumentError(Exception):
    """One or more instrument files are invalid; `problems` lists every one."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _schema_problem(error: Any, source: Source) -> Problem:
    """One schema error as a plain problem: what is wrong, where, and how to fix it (see schema_messages)."""
    path = data_path(source.data, tuple(error["loc"]))
    if error["type"] == "union_tag_invalid" and isinstance(_value_at(source.data, path), dict):
        path = (*path, "type")  # the line of the unknown type, not of the item's first key
    return Problem(
        "schema",
        plain_message(error, source.data),
        source.file,
        source.line_of(path),
        format_path(path, source.data),
        kind=schema_kind(error),
    )


def _value_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]  # a path from data_path is in the data
    return data


def _compile_file(path: Path | str, text: str | None = None) -> Checked:
    """One definition, from its file or from `text` named `path`: the instrument, or every problem found."""
    source, problems = read_source(path, text)
    if source is None:
        return Checked(None, problems, [])
    return _compile_source(source)  # parsed once: YAML parsing is most of the server's start-up


def _compile_source(source: Source) -> Checked:
    try:
        definition = Instrument.model_validate(source.data)
    except ValidationError as exc:
        errors = [e for e in exc.errors() if not short_only_by_its_errors(e)]
        found, warnings = beyond_schema(source, errors)
        return Checked(None, [_schema_problem(e, source) for e in errors] + found, warnings)
    return check_instrument(definition, source)


def instrument_files(paths: Iterable[Path | str]) -> list[Path]:
    """The definition files in each path (a file, or a folder searched recursively)."""
    files: list[Path] = []
    for entry in paths:
        entry = Path(entry)
        if entry.is_dir():
            files += sorted(p for p in entry.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        else:
            files.append(entry)
    return files


def configured_paths(environ: dict[str, str] | None = None) -> list[Path]:
    """The bundled folder, then the folders named in TELLONCE_INSTRUMENT_PATH."""
    env = os.environ if environ is None else environ
    extra = [Path(p) for p in env.get(PATH_VARIABLE, "").split(os.pathsep) if p.strip()]
    return [BUNDLED_DIR, *extra]


@dataclass
class Registry:
    """Every loaded instrument version, by id and version."""

    instruments: dict[tuple[str, str], CompiledInstrument] = field(default_factory=dict)

    def get(self, instrument_id: str, version: str | None = None) -> CompiledInstrument | None:
        """One version, or the newest version of an id when `version` is None."""
        if version is not None:
            return self.instruments.get((instrument_id, version))
        versions = [c for (i, _), c in self.instruments.items() if i == instrument_id]
        return max(versions, key=lambda c: tuple(int(p) for p in c.version.split(".")), default=None)

    def by_hash(self, content_hash: str) -> CompiledInstrument | None:
        """The version with this content hash, if loaded."""
        return next((c for c in self.instruments.values() if c.content_hash == content_hash), None)

    def latest(self) -> list[CompiledInstrument]:
        """The newest version of every instrument, by id."""
        ids = sorted({i for i, _ in self.instruments})
        return [c for c in (self.get(i) for i in ids) if c is not None]

    def all(self) -> list[CompiledInstrument]:
        """Every loaded version, by id then version."""
        return [self.instruments[k] for k in sorted(self.instruments)]


@dataclass(frozen=True)
class LoadResult:
    """What a load found: the instruments that loaded, every problem, and every warning.

    Problems stop an instrument from loading; warnings (a rule that is likely not what its author meant)
    never do: `tellonce instruments validate` shows them. `checked` holds the instruments from the files
    asked about (when others were loaded beside them only so that references between them resolve).
    """

    registry: Registry
    problems: list[Problem]
    warnings: list[Problem]
    checked: tuple[CompiledInstrument, ...]

    @property
    def ok(self) -> bool:
        """Whether everything asked for loaded without a problem."""
        return not self.problems

    @property
    def instrument(self) -> CompiledInstrument | None:
        """The one instrument asked for (a text, or a single file), when it loaded."""
        return self.checked[0] if len(self.checked) == 1 else None

    def or_raise(self) -> Registry:
        """The registry, or InstrumentError listing every problem."""
        if self.problems:
            raise InstrumentError(self.problems)
        return self.registry


def load(
    paths: Iterable[Path | str] | None = None,
    *,
    text: str | None = None,
    name: str = "<text>",
    beside: Iterable[Path | str] = (),
) -> LoadResult:
    """Load instruments: the one entry point.

    - `load()`: every configured instrument (bundled, then TELLONCE_INSTRUMENT_PATH);
    - `load([file or folder, ...])`: those files, checked against each other;
    - `load(text=yaml, name="x.yaml")`: one definition from text, on its own;
    - `beside=configured_paths()`: load those too, so references resolve, but report only on `paths`.
    """
    if text is not None:
        compiled, problems, warnings = _compile_file(name, text)
        registry = Registry()
        if compiled is not None:
            registry.instruments[compiled.key] = compiled
        return LoadResult(registry, problems, warnings, tuple(registry.all()))
    wanted = instrument_files(configured_paths() if paths is None else paths)
    context = instrument_files(beside)
    chosen = {f.resolve() for f in wanted}
    registry, problems, warnings = _load_registry([f for f in context if f.resolve() not in chosen] + wanted)
    checked = tuple(c for c in registry.all() if Path(c.file).resolve() in chosen)
    mine = [p for p in problems if Path(p.file).resolve() in chosen] if context else problems
    mine_warned = dict.fromkeys(w for w in warnings if Path(w.file).resolve() in chosen)  # a file named twice: once
    return LoadResult(registry, mine, list(mine_warned), checked)


def _load_registry(files: list[Path]) -> tuple[Registry, list[Problem], list[Problem]]:
    """Load every file; valid instruments are kept, and every problem and warning is returned."""
    registry = Registry()
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for file in files:
        compiled, found, warned = _compile_file(file)
        problems += found
        warnings += warned
        if compiled is None:
            continue
        earlier = registry.instruments.get(compiled.key)
        if earlier is not None:
            same = earlier.content_hash == compiled.content_hash
            problems.append(
                Problem(
                    "version_conflict" if not same else "loaded_twice",
                    f"{compiled.id} {compiled.version} is already loaded from {earlier.file}"
                    + (
                        ""
                        if same
                        else " with different content; a published version never changes, so give "
                        "this one a new version"
                    ),
                    str(file),
                    compiled.line_of("version"),
                    "version",
                )
            )
            continue
        registry.instruments[compiled.key] = compiled
    problems += _cross_references(registry)
    return registry, problems, warnings


def _cross_references(registry: Registry) -> list[Problem]:
    """Checks across instruments: recommended instruments exist; shared indicators mean the same."""
    problems = []
    seen: dict[str, tuple[str, bool, CompiledInstrument]] = {}
    for compiled in registry.all():
        for indicator_id, domain_id in compiled.indicator_domain.items():
            key = indicator_id in compiled.key_indicators
            first = seen.setdefault(indicator_id, (domain_id, key, compiled))
            if (first[0], first[1]) != (domain_id, key):
                problems.append(
                    Problem(
                        "indicator_mismatch",
                        f"indicator '{indicator_id}' is in domain '{domain_id}' (key: {key}) here but in domain "
                        f"'{first[0]}' (key: {first[1]}) in {first[2].id} {first[2].version}; answers carried between "
                        "instruments need shared indicators to mean the same",
                        compiled.file,
                        compiled.line_of("domains"),
                        "domains",
                    )
                )
    for compiled in registry.all():
        for level, steps in compiled.definition.next_steps.items():
            for index, step in enumerate(steps):
                if step.instrument is not None and registry.get(step.instrument) is None:
                    problems.append(
                        Problem(
                            "unknown_instrument",
                            f"next step recommends unknown instrument '{step.instrument}'",
                            compiled.file,
                            compiled.line_of("next_steps", level, index, "instrument"),
                            f"next_steps.{level}[{index}].instrument",
                        )
                    )
    return problems
