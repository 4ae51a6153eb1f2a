"""Plain messages for schema errors: what is wrong, and how to fix it, in the author's words.

Pydantic's own messages ("Tuple should have at least 2 items after validation, not 1", "Input should
be a valid dictionary") speak of Python types; an instrument author writes YAML. Every kind of error the
definition models can raise is rewritten here; a kind not listed still gets a plain message (never
Pydantic's), naming the key and the value it could not take.
"""

from __future__ import annotations

from typing import Any

from instruments import model

PATTERN_HINTS = {
    model.ID_PATTERN: "is not a valid id here (use lowercase letters, digits and _, starting with a letter)",
    model.INSTRUMENT_ID_PATTERN: "is not a valid instrument id (use lowercase letters, digits and dashes)",
    model.INDICATOR_ID_PATTERN: "is not a valid indicator id (lowercase words joined by dots, like housing.unstable)",
    model.SEMVER_PATTERN: "is not a version: write MAJOR.MINOR.PATCH, like 1.0.0",
    model.LANGUAGE_PATTERN: "is not a language code (like en or es)",
}

# Keys whose value is a text in every language, e.g. {en: ..., es: ...}.
TEXT_KEYS = frozenset(
    {
        "title",
        "description",
        "statement",
        "text",
        "help",
        "staff_text",
        "staff_help",
        "label",
        "guidance",
        "notice",
        "staff_notice",
        "explain",
    }
)

# What one entry of a list key is called, for "needs at least 2 options".
ENTRY_NAMES = {
    "authors": "author",
    "modes": "mode",
    "languages": "language",
    "sections": "section",
    "domains": "domain",
    "indicators": "indicator",
    "items": "item",
    "options": "option",
    "answers": "answer",
    "indicates": "entry",
    "codes": "code",
}

WHAT_IT_IS = {
    "level": "a level",
    "modes": "a mode",
    "type": "an item type",
}


def describe(value: Any) -> str:
    """How a YAML value reads to its author: 'a list', 'the number 3', 'nothing'."""
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dict):
        return "a mapping (key: value pairs)"
    if isinstance(value, list):
        return "a list"
    return "a value of another kind"


def _key(loc: tuple[Any, ...]) -> str:
    """The key an error is about: the last name in its location (list positions are skipped)."""
    for part in reversed(loc):
        if isinstance(part, str) and part != "[key]":
            return part
    return "this value"


def _nearest(data: Any, loc: tuple[Any, ...]) -> Any:
    """The mapping that holds the value at `loc` (e.g. the item of an item's options), if any."""
    current = data
    holder: Any = None
    for part in loc[:-1]:
        if isinstance(current, dict) and part in current:
            holder = current
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        elif isinstance(current, dict) and isinstance(part, str):
            continue  # a union member's name, e.g. 'single_choice'
        else:
            break
    return current if isinstance(current, dict) else holder


# The kind of schema problem each Pydantic error type is, for its hint (problems.SCHEMA_KINDS).
KIND_OF_ERROR = {
    "missing": "missing_key",
    "extra_forbidden": "unknown_key",
    "union_tag_invalid": "item_type",
    "union_tag_not_found": "item_type",
    "literal_error": "not_a_choice",
    "string_pattern_mismatch": "bad_pattern",
    "too_short": "too_few",
    "too_long": "too_many",
    "string_too_short": "empty_value",
    "value_error": "invalid_value",
    "greater_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "less_than": "out_of_range",
    **dict.fromkeys(
        (
            "dict_type",
            "model_type",
            "model_attributes_type",
            "tuple_type",
            "list_type",
            "string_type",
            "bool_type",
            "bool_parsing",
            "int_from_float",
            "int_type",
            "int_parsing",
            "float_type",
            "float_parsing",
        ),
        "wrong_type",
    ),
}


def schema_kind(error: Any) -> str:
    """Which kind of schema problem a Pydantic error is: a key of problems.SCHEMA_KINDS."""
    kind = KIND_OF_ERROR.get(error["type"], "other")
    if kind == "wrong_type" and _key(tuple(error["loc"])) in TEXT_KEYS and error["type"] in _MAPPING_ERRORS:
        return "text_by_language"
    return kind


_MAPPING_ERRORS = frozenset({"dict_type", "model_type", "model_attributes_type"})


def short_only_by_its_errors(error: Any) -> bool:
    """Whether a 'too few entries' error counts only the entries that have errors of their own.

    Pydantic counts a list's entries after validating them, so one section with a broken title also reads
    as "'sections' needs at least 1 section; this one has 0": the entry's own error says it all.
    """
    if error["type"] != "too_short":
        return False
    value, least = error.get("input"), (error.get("ctx") or {}).get("min_length")
    return isinstance(value, (list, tuple, dict, str)) and isinstance(least, int) and len(value) >= least


def plain_message(error: Any, data: Any) -> str:
    """The plain message for one Pydantic error (a dict from `ValidationError.errors()`)."""
    kind: str = error["type"]
    loc: tuple[Any, ...] = tuple(error["loc"])
    ctx: dict[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    key = _key(loc)
    last = loc[-1] if loc else ""
    if kind == "missing":
        return f"the key '{last}' is required here: add it"
    if kind == "extra_forbidden":
        return f"'{last}' is not a key this part of an instrument can have: check its spelling, or remove it"
    if kind == "union_tag_invalid":
        return f"unknown item type {ctx.get('tag', '')!r}; the types are {ctx.get('expected_tags', '')}"
    if kind == "union_tag_not_found":
        return "every item needs a 'type', like type: yes_no"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        return f"{value!r} {PATTERN_HINTS.get(ctx.get('pattern', ''), 'is not valid here')}"
    if kind in ("too_short", "too_long"):
        entry = ENTRY_NAMES.get(key, "entry")
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        count = len(value) if isinstance(value, (list, tuple, dict, str)) else ctx.get("actual_length")
        owner = _nearest(data, loc)
        if key == "options" and isinstance(owner, dict) and isinstance(owner.get("type"), str):
            subject = f"a {owner['type']} item"
        else:
            subject = f"'{key}'"
        least = "at least" if kind == "too_short" else "at most"
        plural = "" if bound == 1 else "s"
        return f"{subject} needs {least} {bound} {entry}{plural}; this one has {count}"
    if kind == "literal_error":
        what = WHAT_IT_IS.get(key, f"a value '{key}' can take")
        if last == "[key]" and loc[:1] == ("next_steps",):
            what = "a level (next_steps are listed under an overall level)"
        return f"{value!r} is not {what}; write one of {ctx.get('expected', '')}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        if key in TEXT_KEYS:
            return f"'{key}' must give the text in each language, like {{en: ..., es: ...}}; this is {describe(value)}"
        if isinstance(last, int):
            shown = describe(value)
            return f"each entry of '{key}' must be a mapping of keys to values (like id: ...); this one is {shown}"
        return f"'{key}' must be a mapping of keys to values; this is {describe(value)}"
    if kind in ("tuple_type", "list_type"):
        return f"'{key}' must be a list (entries on lines starting with '- ', or [a, b]); this is {describe(value)}"
    if kind == "string_type":
        quote = "; put it in quotes" if isinstance(value, (bool, int, float)) else ""
        if key in TEXT_KEYS or (len(loc) >= 2 and loc[-2] in TEXT_KEYS):
            return f"the '{last}' text must be plain text; this is {describe(value)}{quote}"
        return f"'{key}' must be text; this is {describe(value)}{quote}"
    if kind == "string_too_short":
        return f"'{key}' must not be empty"
    if kind in ("bool_type", "bool_parsing"):
        return f"'{key}' must be true or false; this is {describe(value)}"
    if kind == "int_from_float":
        return f"'{key}' must be a whole number; this is {describe(value)}"
    if kind in ("int_type", "int_parsing"):
        return f"'{key}' must be a whole number; this is {describe(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"'{key}' must be a number; this is {describe(value)}"
    for bound_kind, words in (
        ("greater_than_equal", "at least"),
        ("greater_than", "more than"),
        ("less_than_equal", "at most"),
        ("less_than", "less than"),
    ):
        if kind == bound_kind:
            bound = next(iter(ctx.values()), "")
            return f"'{key}' must be {words} {bound}; this is {describe(value)}"
    return f"'{key}' cannot take {describe(value)} here: see docs/instrument-format.md for what it can be"
