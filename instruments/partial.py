"""The checks beyond the schema, run on what is left of a file once the parts with schema errors are cut out.

A schema error in one item used to hide every other check of the file: the author fixed it, loaded
again, and only then learnt of the rule with a typo and the missing translation. Here the parts with
schema errors are cut out (the list entry that holds the error, or the key itself) until what is left
validates; the later checks then run on it. Problems those cuts could have caused (an indicator no
longer fed because its item was cut, a rule naming a cut item, ...) are left out: only problems that
stand on their own are reported beside the schema errors, and so are the warnings. A broken text is not
cut but replaced by a stand-in, so the section, item or indicator that holds it is still checked.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import ValidationError

from instruments.model import Instrument
from instruments.schema_messages import TEXT_KEYS
from instruments.source import Path_, Problem, Source, data_path, format_path

MAX_ROUNDS = 25
"""Each round cuts at least one part; a file needing more cuts than this has too little left to check."""

# Checks that read the whole definition (or a whole list of rules): with a part cut out they may fire only
# because of the cut, so they wait until the schema errors are fixed.
WHOLE_FILE_CODES = frozenset(
    {
        "unfed_indicator",
        "empty_section",
        "rule_never_fires",
        "never_shown",
        "total_unused",
        "rule_shadowed",
        "no_fallback",
        "rules_incomplete",
        "needs_scoring",
        "mode_unsupported",
    }
)

# Required keys at the top, and a stand-in that lets the rest be checked when one of them is broken.
_TOP_STAND_INS: dict[str, Any] = {
    "id": "stand-in",
    "version": "0.0.0",
    "license": "stand-in",
    "authors": ["stand-in"],
    "modes": ["practitioner", "interview", "self"],
}
_TOP_TEXTS = ("title", "description")
_TOP_OPTIONAL = frozenset({"domains", "scoring", "next_steps", "codes", "derived_from", "examples"})


# Checks of references between parts: when an id itself has a schema error, what it was meant to be is
# unknown, and so is whether a reference to it is wrong.
REFERENCE_CODES = frozenset({"unknown_indicator", "unknown_section", "unknown_option", "answers_need_choices"})
_REFERENCE_IN_EXPRESSION = re.compile(r"unknown (item|indicator|domain|section)|is not an answer of")


class _Cutter:
    """Cuts parts out of a copy of the data, remembering where every remaining list entry came from."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = copy.deepcopy(data)
        self.origins: dict[int, list[int]] = {}
        self.cut_paths: list[Path_] = []  # in the original file's numbering
        self.cut_ids: set[str] = set()
        self.renamed = False

    def original(self, path: Path_) -> Path_:
        """The path in the original file of the value at `path` in the cut copy."""
        out: list[str | int] = []
        current: Any = self.data
        for part in path:
            if isinstance(current, list) and isinstance(part, int):
                origins = self.origins.get(id(current))
                out.append(origins[part] if origins is not None and 0 <= part < len(origins) else part)
                current = current[part] if 0 <= part < len(current) else None
            else:
                out.append(part)
                current = current.get(part) if isinstance(current, dict) else None
        return tuple(out)

    def _container(self, path: Path_) -> Any:
        current: Any = self.data
        for part in path:
            inside_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
            if inside_list or (isinstance(current, dict) and part in current):
                current = current[part]
            else:
                return None
        return current

    def _remove_entry(self, path: Path_) -> bool:
        """Remove the list entry at `path` (whose last part is its index)."""
        holder = self._container(path[:-1])
        index = path[-1]
        if not isinstance(holder, list) or not isinstance(index, int) or not 0 <= index < len(holder):
            return False
        origins = self.origins.setdefault(id(holder), list(range(len(holder))))
        self.cut_paths.append(self.original(path))
        self._collect_ids(holder[index])
        del holder[index]
        del origins[index]
        return True

    def _collect_ids(self, value: Any) -> None:
        if isinstance(value, dict):
            for key in ("id", "code"):
                if isinstance(value.get(key), str):
                    self.cut_ids.add(value[key])
            for child in value.values():
                self._collect_ids(child)
        elif isinstance(value, list):
            for child in value:
                self._collect_ids(child)

    def cut(self, loc: tuple[Any, ...], kind: str, tried: set[Path_]) -> bool:
        """Cut out the part an error is in; False when nothing sensible can be cut."""
        path = data_path(self.data, loc)
        if not path:
            return False
        holder = self._container(path[:-1])
        leaf = path[-1]
        if kind == "extra_forbidden" and isinstance(holder, dict) and leaf in holder:
            self.cut_paths.append(self.original(path))
            del holder[leaf]
            return True
        if len(path) == 1:
            return self._top(str(leaf))
        if self._stand_in_text(path, holder, leaf, tried):
            return True
        if leaf in ("id", "code"):
            self.renamed = True  # what the id was meant to be is unknown, so are the references to it
        elif kind != "missing" and path not in tried and isinstance(holder, dict) and leaf in holder:
            tried.add(path)  # first the key alone; if it is required, the entry that holds it goes next
            self.cut_paths.append(self.original(path))
            self._collect_ids(holder[leaf])
            del holder[leaf]
            return True
        for end in range(len(path), 0, -1):
            if isinstance(path[end - 1], int) and self._remove_entry(path[:end]):
                return True
        return self._top(str(path[0]))

    def _stand_in_text(self, path: Path_, holder: Any, leaf: str | int, tried: set[Path_]) -> bool:
        """Put a stand-in text in place of a broken or missing one, keeping the part that holds it.

        Cutting a section for its title would leave its items in no section, and a file's only section
        cut would read as "'sections' needs at least 1 section": a stand-in leaves nothing else to report.
        """
        languages = self.data.get("languages")
        if not (isinstance(languages, list) and languages and all(isinstance(x, str) for x in languages)):
            return False
        if leaf not in TEXT_KEYS or not isinstance(holder, dict) or path in tried:
            return False
        tried.add(path)
        self.cut_paths.append(self.original(path))
        holder[leaf] = dict.fromkeys(languages, "stand-in")
        return True

    def _top(self, key: str) -> bool:
        languages = self.data.get("languages")
        if not (isinstance(languages, list) and languages and all(isinstance(x, str) for x in languages)):
            return False  # every text is checked against the languages: nothing sound is left to check
        self.cut_paths.append((key,))
        if key in _TOP_OPTIONAL:
            self.data.pop(key, None)
        elif key in _TOP_TEXTS:
            self.data[key] = dict.fromkeys(languages, "stand-in")
        elif key == "provenance":
            self.data[key] = {"validated": False, "statement": dict.fromkeys(languages, "stand-in")}
        elif key == "default_language":
            self.data[key] = languages[0]
        elif key in _TOP_STAND_INS:
            self.data[key] = copy.deepcopy(_TOP_STAND_INS[key])
        else:
            return False
        return True


class _CutSource(Source):
    """The cut copy as a source: problems are located by the original file's lines and numbering."""

    def __init__(self, source: Source, cutter: _Cutter) -> None:
        super().__init__(source.file, source.text, cutter.data, source.lines)
        self._cutter = cutter
        self._original_data = source.data

    def line_of(self, path: Path_) -> int | None:
        """The line of the value at `path` in the cut copy, read in the original file."""
        return super().line_of(self._cutter.original(path))

    def where(self, path: Path_) -> tuple[int | None, str]:
        """The line and the readable path, both in the original file's numbering."""
        original = self._cutter.original(path)
        return Source.line_of(self, original), format_path(original, self._original_data)


def _under(path: str, cut: str) -> bool:
    return path == cut or path.startswith((cut + ".", cut + "[", cut + "("))


def beyond_schema(source: Source, errors: list[Any]) -> tuple[list[Problem], list[Problem]]:
    """The problems and the warnings the later checks find in what is left once the parts with schema errors are cut."""
    from instruments.compiler import check_instrument  # the compiler imports the models this module checks

    if not isinstance(source.data, dict):
        return [], []
    cutter = _Cutter(source.data)
    tried: set[Path_] = set()
    pending = errors
    definition: Instrument | None = None
    for _ in range(MAX_ROUNDS):
        if not any(cutter.cut(tuple(e["loc"]), e["type"], tried) for e in pending):
            return [], []
        try:
            definition = Instrument.model_validate(cutter.data)
            break
        except ValidationError as exc:
            pending = exc.errors()
    if definition is None:
        return [], []
    _, found, warnings = check_instrument(definition, _CutSource(source, cutter))
    cuts = [format_path(p, source.data) for p in cutter.cut_paths]
    ids = "|".join(rf"\b{re.escape(i)}\b" for i in sorted(cutter.cut_ids))
    named = re.compile(ids, re.IGNORECASE) if ids else None  # an id with a schema error is often a miscased one

    def stands_alone(problem: Problem) -> bool:
        """Whether the problem is not one that cutting the parts out could have caused."""
        if problem.code == "schema" and problem.path != "default_language":
            return False
        if problem.code in WHOLE_FILE_CODES:
            return False
        if any(_under(problem.path, cut) or _under(cut, problem.path) for cut in cuts):
            return False
        if cutter.renamed and (problem.code in REFERENCE_CODES or _REFERENCE_IN_EXPRESSION.search(problem.message)):
            return False
        return named is None or not named.search(problem.message)

    return [p for p in found if stands_alone(p)], [w for w in warnings if stands_alone(w)]
