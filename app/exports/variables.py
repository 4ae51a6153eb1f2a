"""The export's columns as SPSS and Stata variables: a valid name, a kind, and the number each code takes.

Decisions (the codebook and docs/analyst-exports.md say them to analysts):

- Names: one name per column, the same in the .sav, the .dta and the codebook, valid in both SPSS and Stata:
  ASCII letters, digits and `_`, starting with a letter (`v` is put in front otherwise), at most 28
  characters, not a reserved word of either, unique regardless of case (SPSS ignores case). An item's variable
  is its item id (`domain.work` becomes `domain_work`, a 0/1 column `item___option`); a name taken already, by
  an earlier column or after cutting to 28 characters, gets `_2`, `_3`, ... in column order. The codebook's
  `variable` column maps every CSV column to its name.
- Why 28, not Stata's 32: a variable with value labels also names its value-label set, and pyreadstat (1.3)
  names that set after the variable followed by its count among the labelled variables (`where0`, `hours1`,
  ..., `q_83d5...10`); Stata allows 32 characters for that name too (readstat refuses a longer one: "A
  provided name is too long for the file format"), SPSS 64 for a variable and no name for a set. 28 leaves
  four digits, up to 10,000 labelled variables; past that a labelled variable's name is shorter still, so the
  set's name always fits. The set names must differ too (`q1` counted 12th and `q11` counted 2nd would both
  name `q112`): a name whose set's name is taken gives way like a taken name.
- Codes: levels are ordinal, 0 no_concern, 1 possible_concern, 2 clear_concern (an indicator rating too);
  yes/no items 1 yes, 0 no; other single-choice items 1, 2, ... in the order their options first appear,
  oldest version first (so a version that adds an option does not renumber the others); 0/1 columns 1 and 0.
- What is not an answer is missing, each with its own code and label: in SPSS a user-missing number from -99
  to -90 (declared as a missing range), in Stata an extended missing value `.a` to `.j`. That includes
  `insufficient_information` (an outcome of its own, not a point on the concern scale: SPSS and Stata still
  count it in frequency tables, but leave it out of means and models) and `not_scored`. A number item whose
  allowed range reaches -90 (no minimum, or one at or below -90) takes those SPSS codes minus 10**12, beyond
  any number TellOnce accepts. Text stays text, with the same codes (and formula guard) as the CSV.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from app import levels
from app.exports.plan import (
    NOT_ASKED_IN_VERSION,
    NOT_ASSESSED,
    NOT_IN_INSTRUMENT,
    NOT_SHARED,
    ONE_HOT,
    UNANSWERED,
    Plan,
)
from instruments.model import DECLINED, INSUFFICIENT, NOT_ASKED, NOT_ENOUGH_INFO, NOT_SCORED, Item

# Each code that is not an answer: (SPSS user-missing number, Stata extended missing letter).
MISSING: dict[str, tuple[int, str]] = {
    DECLINED: (-91, "a"),
    NOT_ENOUGH_INFO: (-92, "b"),
    NOT_ASKED: (-93, "c"),
    UNANSWERED: (-94, "d"),
    NOT_ASKED_IN_VERSION: (-95, "e"),
    NOT_IN_INSTRUMENT: (-96, "f"),
    NOT_SHARED: (-97, "g"),
    INSUFFICIENT: (-98, "h"),
    NOT_ASSESSED: (-99, "i"),
    NOT_SCORED: (-90, "j"),
}
MISSING_RANGE = (-99, -90)
SHIFT = 10**12  # scoring.answers.MAX_NUMBER: no accepted answer reaches the shifted codes
ITEM_MISSING = (DECLINED, NOT_ENOUGH_INFO, NOT_ASKED, UNANSWERED, NOT_ASKED_IN_VERSION, NOT_IN_INSTRUMENT, NOT_SHARED)
LEVEL_MISSING = (INSUFFICIENT, NOT_SCORED, NOT_ASSESSED)
LEVEL_NUMBERS = {levels.NONE: 0, levels.POSSIBLE: 1, levels.CLEAR: 2}  # the concern scale, in order
YES_NO_NUMBERS = {"no": 0, "yes": 1}
ONE_HOT_NUMBERS = {"0": 0, "1": 1}
MAX_NAME = 28  # characters of a name: leaves 4 digits for its value-label set's number (see above)
STATA_NAME = 32  # Stata's characters of a variable's or a value-label set's name (SPSS: 64 of a variable)
STATA_RESERVED = (
    *("_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n"),
    *("_pi", "_pred", "_rc", "_skip", "strl", "using", "with"),
)
SPSS_RESERVED = ("all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with")
RESERVED = frozenset(STATA_RESERVED + SPSS_RESERVED)
KINDS = {
    "started_at": "datetime",
    "completed_at": "datetime",
    "overall_level": "level",
    "total": "number",
}
ITEM_KINDS = {
    "yes_no": "choice",
    "single_choice": "choice",
    "indicator_rating": "choice",
    "number": "number",
    "date": "date",
}


@dataclass(frozen=True)
class Variable:
    """One column of the export as a variable of a statistics package."""

    column: str  # its CSV column
    name: str  # its SPSS/Stata name
    kind: str  # text, datetime, level, number, choice, date or one_hot
    numbers: Mapping[str, int]  # for level, choice and one_hot: each code's number
    missing: tuple[str, ...]  # the codes that are not answers it may hold (each a missing value)
    item: tuple[str, str] | None = None  # (instrument id, item id) of an item's column or its 0/1 columns
    option: str | None = None  # a 0/1 column's option code
    shifted: bool = False  # a number item whose range reaches the missing codes: they are shifted by -SHIFT

    @property
    def labelled(self) -> bool:
        """Whether its values carry value labels (a code's number, or a missing value's reason)."""
        return self.kind != "text" and bool(self.numbers or self.missing)

    def missing_number(self, code: str) -> int:
        """The SPSS user-missing number of a code that is not an answer."""
        number = MISSING[code][0]
        return number - SHIFT if self.shifted else number

    def missing_range(self) -> tuple[int, int]:
        """The SPSS user-missing range declared for it (every code that is not an answer falls in it)."""
        shift = SHIFT if self.shifted else 0
        return MISSING_RANGE[0] - shift, MISSING_RANGE[1] - shift


def clean(name: str) -> str:
    """A column name in the characters both packages accept, starting with a letter."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if cleaned[:1].isalpha() else "v" + cleaned


def unique_names(preferred: list[str], labelled: list[bool] | None = None) -> list[str]:
    """Valid, distinct (regardless of case) names of at most 28 characters, in order; later ones give way.

    `labelled`: which of them carry value labels (in a .dta file each also names its value-label set, the
    name followed by its count among the labelled ones): those set names fit Stata's 32 characters and differ.
    """
    used: set[str] = set()
    sets: set[str] = set()
    names = []
    for wanted, with_labels in zip(preferred, labelled or [False] * len(preferred), strict=True):
        number = str(len(sets)) if with_labels else ""  # the label set's name: the variable's, then this
        limit = min(MAX_NAME, STATA_NAME - len(number))
        base = clean(wanted)
        name, n = base[:limit], 1
        while _taken(name, used) or (with_labels and (name + number).lower() in sets):
            n += 1
            suffix = f"_{n}"
            name = base[: limit - len(suffix)] + suffix
        used.add(name.lower())
        if with_labels:
            sets.add((name + number).lower())
        names.append(name)
    return names


def _taken(name: str, used: set[str]) -> bool:
    lower = name.lower()
    return lower in used or lower in RESERVED or re.fullmatch(r"str\d+", lower) is not None


def _preferred(column: str) -> str:
    if column.startswith("domain."):
        return "domain_" + column.removeprefix("domain.")
    _instrument, dot, item = column.partition(".")
    return item if dot else column


def _versions(plan: Plan, key: tuple[str, str]) -> Iterator[Item]:
    """The item in each loaded version that has it, oldest first."""
    return (c.items[key[1]] for c in plan.instruments if c.id == key[0] and key[1] in c.items)


def _item_variable(plan: Plan, column: str, name: str, key: tuple[str, str]) -> Variable:
    found = list(_versions(plan, key))
    types = {getattr(item, "type", "") for item in found}
    kinds = {ITEM_KINDS.get(t, "text") for t in types}
    kind = kinds.pop() if len(kinds) == 1 else "text"
    numbers: dict[str, int] = {}
    shifted = False
    if kind == "choice" and types == {"yes_no"}:
        numbers = dict(YES_NO_NUMBERS)
    elif kind == "choice" and types == {"indicator_rating"}:
        numbers = dict(LEVEL_NUMBERS)
    elif kind == "choice":
        for item in found:
            codes = [o.code for o in getattr(item, "options", ())] or list(YES_NO_NUMBERS)[::-1]
            for code in codes:
                numbers.setdefault(code, len(numbers) + 1)
    elif kind == "number":
        lowest = [getattr(item, "minimum", None) for item in found]
        shifted = any(low is None or low <= MISSING_RANGE[1] for low in lowest)
    missing = ITEM_MISSING if kind != "text" else ()
    return Variable(column, name, kind, numbers, missing, key, shifted=shifted)


def variables(plan: Plan) -> tuple[Variable, ...]:
    """Every column of the plan's CSV as a variable, in column order."""
    items = {column: key for key in plan.items for column in plan.item_columns(key)}
    unnamed = [_unnamed(plan, column, items.get(column)) for column in plan.columns]
    names = unique_names([_preferred(v.column) for v in unnamed], [v.labelled for v in unnamed])
    return tuple(replace(v, name=name) for v, name in zip(unnamed, names, strict=True))


def _unnamed(plan: Plan, column: str, key: tuple[str, str] | None) -> Variable:
    """A column's variable but for its name, which waits until every column's kind is known."""
    if key is not None:
        own = f"{key[0]}.{key[1]}"
        if column == own:
            return _item_variable(plan, column, "", key)
        option = column.removeprefix(own + ONE_HOT)
        return Variable(column, "", "one_hot", ONE_HOT_NUMBERS, ITEM_MISSING, key, option)
    if column.startswith("domain.") or column == "overall_level":
        return Variable(column, "", "level", LEVEL_NUMBERS, LEVEL_MISSING)
    return Variable(column, "", KINDS.get(column, "text"), {}, ())
