"""Every problem code the loader can report, with a title and a hint on how to fix it.

The one list of codes: `tellonce instruments validate` prints the hint under each problem, and the table
in docs/instrument-format.md is checked against it by a test, so the two cannot drift.
"""

from __future__ import annotations

from typing import NamedTuple

from instruments.source import Problem


class ProblemKind(NamedTuple):
    """What a problem code means, and how an author usually fixes it."""

    title: str
    hint: str


CATALOGUE: dict[str, ProblemKind] = {
    "unreadable": ProblemKind("the file cannot be read", "check the path and the file's permissions"),
    "empty": ProblemKind("the file is empty", "write the instrument's keys, starting with id and version"),
    "yaml": ProblemKind(
        "the file is not valid YAML",
        "look at the line given and the one before it: a missing colon, an unclosed bracket or quote, a bad indent",
    ),
    "not_a_mapping": ProblemKind(
        "the file is not a mapping", "an instrument file is key: value pairs at the top (id:, version:, ...)"
    ),
    "duplicate_key": ProblemKind("a key is written twice", "keep one of them; the second would silently win"),
    "schema": ProblemKind(
        "a key or value has the wrong shape",
        "the message says what is expected at that line; `tellonce instruments schema` prints the full shape",
    ),
    "duplicate_id": ProblemKind(
        "an id is used twice", "give each section, domain, indicator, item and option its own id"
    ),
    "missing_translation": ProblemKind(
        "a text lacks a declared language", "add the text in every language listed under `languages`"
    ),
    "undeclared_language": ProblemKind(
        "a text is given in a language not declared", "add the language to `languages`, or remove that text"
    ),
    "empty_text": ProblemKind("a text is empty", "write the text, or remove the key if it is optional"),
    "unknown_section": ProblemKind("an item names a section that is not defined", "add the section, or fix the name"),
    "empty_section": ProblemKind("a section has no items", "move items into it, or remove it"),
    "unknown_indicator": ProblemKind(
        "an indicator is named that no domain defines", "add it under a domain's indicators, or fix the name"
    ),
    "unknown_option": ProblemKind(
        "an answer names an option the item does not offer", "use one of the item's option codes"
    ),
    "answers_need_choices": ProblemKind(
        "`answers` is used on an item without options", "use `when:` with an expression for this item type"
    ),
    "unfed_indicator": ProblemKind(
        "no item feeds an indicator", "add `indicates` to an item, an indicator_rating item, or remove the indicator"
    ),
    "expression": ProblemKind(
        "an expression cannot be read or names something unknown",
        "see the Expressions section: the message gives the character where reading stopped",
    ),
    "show_if_cycle": ProblemKind(
        "show_if conditions depend on each other in a circle", "make one of them not depend on the others"
    ),
    "never_shown": ProblemKind(
        "an item can never be shown", "its show_if can never be true: check the codes and comparisons"
    ),
    "mode_unsupported": ProblemKind(
        "an item cannot be asked in one of the instrument's modes",
        "an indicator_rating is a practitioner's rating: remove the 'self' mode, or ask it as a single_choice",
    ),
    "staff_wording_unused": ProblemKind(
        "staff wording is given, and the practitioner mode is not allowed",
        "add `practitioner` to modes, or remove the staff wording",
    ),
    "staff_help_without_text": ProblemKind(
        "staff_help is given without staff_text", "add staff_text, or move the help into `help`"
    ),
    "no_fallback": ProblemKind(
        "the last rule has a condition", "end each rule list with a rule without `when`, so every case gets a level"
    ),
    "rule_shadowed": ProblemKind(
        "a rule comes after a rule that always matches, or repeats an earlier condition",
        "move the rule without `when` to the end, or remove the repeated rule",
    ),
    "rule_never_fires": ProblemKind(
        "a rule can never fire", "its condition cannot hold given the rules before it: reorder or fix it"
    ),
    "rules_incomplete": ProblemKind(
        "domain rules without overall rules, or the reverse", "write both, or neither (then no level is concluded)"
    ),
    "total_unused": ProblemKind(
        "a total is declared that no overall rule compares", "compare total() with a number in an overall rule"
    ),
    "needs_scoring": ProblemKind(
        "part of the file asks for a level, and there are no scoring rules",
        "add scoring rules, or remove the domains, indicates, ratings or next steps",
    ),
    "version_conflict": ProblemKind(
        "the same id and version is loaded twice with different content",
        "a published version never changes: give the new content a new version",
    ),
    "loaded_twice": ProblemKind("the same file is loaded twice", "name each folder once in TELLONCE_INSTRUMENT_PATH"),
    "indicator_mismatch": ProblemKind(
        "a shared indicator means something different in two instruments",
        "keep its domain and key flag the same everywhere, or give it a new id",
    ),
    "unknown_instrument": ProblemKind(
        "a next step recommends an instrument that is not loaded", "fix the id, or load that instrument"
    ),
    "example_mismatch": ProblemKind(
        "an example case expects a level, total or explanation the rules do not conclude",
        "fix the rules if the example follows the manual; fix the example if the manual says otherwise",
    ),
    "example_answers": ProblemKind(
        "an example's answers do not fit the instrument",
        "use the item ids and option codes of this version, and answer no item its show_if hides",
    ),
    "unanswered_comparison": ProblemKind(
        "a warning: `x != 'a'` or `x not in [...]` is false when x is unanswered",
        "write `not x == 'a'` if an unanswered x should count, or `answered(x) and x != 'a'` to say it should not",
    ),
}

# Codes that are warnings: shown by `tellonce instruments validate`, never stopping a load.
WARNING_CODES = frozenset({"unanswered_comparison"})

# The kinds of `schema` problem, each with its own hint: what fixes a missing key is not what fixes a bad id.
SCHEMA_KINDS: dict[str, ProblemKind] = {
    "missing_key": ProblemKind(
        "a required key is missing", "add the key the message names; docs/instrument-format.md lists each part's keys"
    ),
    "unknown_key": ProblemKind(
        "a key this part cannot have",
        "check its spelling and its indent (a key indented under the wrong part is unknown there), or remove it",
    ),
    "wrong_type": ProblemKind(
        "a value of the wrong kind",
        "write the kind the message names: a list as lines starting with '- ' or [a, b]; a mapping as key: value "
        "lines or {a: b}; quotes around text that looks like a number or true/false",
    ),
    "text_by_language": ProblemKind(
        "a text is not given per language",
        "write the text once per language listed under `languages`, like {en: Home, es: Hogar}",
    ),
    "too_few": ProblemKind(
        "a list has too few entries",
        "add entries up to the number given (a choice item needs at least 2 options), or remove an optional key",
    ),
    "too_many": ProblemKind("a list has too many entries", "remove entries down to the number given"),
    "empty_value": ProblemKind("a value is empty", "write a value, or remove the key if it is optional"),
    "out_of_range": ProblemKind("a number is out of range", "use a number within the bound the message gives"),
    "bad_pattern": ProblemKind(
        "an id, version or language is not written the way it must be",
        "ids: lowercase letters, digits and _, starting with a letter; indicator ids: domain.name; instrument "
        "ids: lowercase with dashes; versions: 1.0.0; languages: en, es",
    ),
    "not_a_choice": ProblemKind(
        "a value that is not one of the allowed ones",
        "copy one of the values the message lists, spelled exactly (lowercase, with _)",
    ),
    "item_type": ProblemKind(
        "an item's type is missing or unknown",
        "write `type:` on the item with one of the types the message lists, like single_choice or yes_no",
    ),
    "invalid_value": ProblemKind(
        "values that do not go together",
        "the message says what is allowed; docs/instrument-format.md gives examples under that key",
    ),
    "other": ProblemKind("another shape problem", CATALOGUE["schema"].hint),
}


def hint(code: str) -> str:
    """How to fix a problem with this code ('' for a code not in the catalogue)."""
    kind = CATALOGUE.get(code)
    return kind.hint if kind is not None else ""


def hint_for(problem: Problem) -> str:
    """How to fix this problem: for a schema problem, the hint for its kind."""
    if problem.code == "schema" and problem.kind in SCHEMA_KINDS:
        return SCHEMA_KINDS[problem.kind].hint
    return hint(problem.code)


def markdown_table() -> str:
    """The catalogue as the Markdown table kept in docs/instrument-format.md."""
    rows = ["| code | what it means | how to fix it |", "|---|---|---|"]
    rows += [f"| `{code}` | {kind.title} | {kind.hint} |" for code, kind in CATALOGUE.items()]
    return "\n".join(rows) + "\n"


def schema_kinds_table() -> str:
    """The kinds of schema problem as the Markdown table kept in docs/instrument-format.md."""
    rows = ["| kind of `schema` problem | what it means | how to fix it |", "|---|---|---|"]
    rows += [f"| {name.replace('_', ' ')} | {kind.title} | {kind.hint} |" for name, kind in SCHEMA_KINDS.items()]
    return "\n".join(rows) + "\n"
