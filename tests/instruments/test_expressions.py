"""The expression language: what it means, where each part may be used, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from instruments.expressions import Context, ExpressionError, ItemInfo, Scope, compile_expression

ITEMS = {
    "slept": ItemInfo(
        "slept", "single_choice", "home", frozenset({"yes", "no", "not_sure"}), {"yes": 2, "not_sure": 1}
    ),
    "safe": ItemInfo("safe", "yes_no", "home", frozenset({"yes", "no"})),
    "intro": ItemInfo("intro", "notice", "home", None),
    "hours": ItemInfo("hours", "number", "work", None),
    "paid": ItemInfo("paid", "multiple_choice", "work", frozenset({"money", "food", "nothing"}), {"nothing": 2}),
    "boss": ItemInfo("boss", "short_text", "work", None),
}
SECTIONS = frozenset({"home", "work"})
INDICATORS = {"housing.unstable": ("housing", True), "work.long_hours": ("work", False), "work.unpaid": ("work", False)}
DOMAINS = frozenset({"housing", "work"})

ITEM_SCOPE = Scope(items=ITEMS, sections=SECTIONS)
DOMAIN_SCOPE = Scope(ITEMS, SECTIONS, INDICATORS, DOMAINS, in_domain_rule=True)
OVERALL_SCOPE = Scope(ITEMS, SECTIONS, INDICATORS, DOMAINS)

LEVELS = {"housing.unstable": "clear_concern", "work.long_hours": "possible_concern", "work.unpaid": "no_concern"}
DOMAIN_LEVELS = {"housing": "clear_concern", "work": "possible_concern"}


def run(
    source: str,
    values: dict[str, Any] | None = None,
    scope: Scope = OVERALL_SCOPE,
    among: tuple[str, ...] = tuple(INDICATORS),
) -> Any:
    """Compile `source` in `scope` and evaluate it; `among` are the indicators in scope."""
    expression = compile_expression(source, scope)
    return expression.evaluate(Context(values or {}, LEVELS, DOMAIN_LEVELS, among))


def refused(source: str, scope: Scope = OVERALL_SCOPE) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, scope)
    return caught.value


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("hours >= 40", {"hours": 40}, True),
        ("hours >= 40", {"hours": 39}, False),
        ("hours < 10", {"hours": 3.5}, True),
        ("0 < hours <= 10", {"hours": 10}, True),
        ("0 < hours <= 10", {"hours": 11}, False),
        ("slept == 'yes'", {"slept": "yes"}, True),
        ("slept != 'yes'", {"slept": "no"}, True),
        ("slept != 'yes'", {"slept": "declined"}, True),  # a special answer is a value like any other
        ("slept == 'yes' and hours > 1", {"slept": "yes", "hours": 2}, True),
        ("slept == 'yes' and hours > 1", {"slept": "yes", "hours": 0}, False),
        ("slept == 'yes' or hours > 1", {"slept": "no", "hours": 2}, True),
        ("not slept == 'yes'", {"slept": "no"}, True),
        ("not (slept == 'yes' or safe == 'no')", {"slept": "no", "safe": "yes"}, True),
        ("true and not false", {}, True),
        ("slept > 3", {"slept": "yes"}, False),  # comparing text with a number is false, not an error
    ],
)
def test_comparisons_and_logic(source: str, values: dict[str, Any], expected: bool) -> None:
    assert run(source, values) is expected


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("slept in ['yes', 'not_sure']", {"slept": "not_sure"}, True),
        ("slept in ['yes', 'not_sure']", {"slept": "no"}, False),
        ("slept not in ['yes', 'not_sure']", {"slept": "no"}, True),
        ("'nothing' in paid", {"paid": ["food", "nothing"]}, True),
        ("'nothing' in paid", {"paid": ["money"]}, False),
        ("'nothing' not in paid", {"paid": ["money"]}, True),
        ("'nothing' in paid", {"paid": "declined"}, False),
        ("hours in [10, 20]", {"hours": 20}, True),
    ],
)
def test_membership_both_ways(source: str, values: dict[str, Any], expected: bool) -> None:
    assert run(source, values) is expected


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        # true and false are 1 and 0 to a comparison, whichever side the number is written on
        ("answered(hours) >= 1", {"hours": 3}, True),
        ("1 <= answered(hours)", {"hours": 3}, True),
        ("answered(hours) >= 1", {}, False),
        ("answered(hours) == 1", {"hours": 3}, True),
        ("answered(hours) == 0", {}, True),
        ("answered(hours) != 1", {}, True),
        ("answered(hours) > 0.5", {"hours": 3}, True),
        ("any(items, answer='no') == 1", {"safe": "no"}, True),
        ("any(items, answer='no') == 1", {"safe": "yes"}, False),
        ("answered(hours) + 0 >= 1", {"hours": 3}, True),
        ("answered(hours) == true", {"hours": 3}, True),
        # a number on the right against anything else: as the general comparison
        ("boss >= 1", {"boss": "x"}, False),
        ("boss != 1", {"boss": "x"}, True),
        ("hours >= 1", {}, False),
        ("hours != 1", {}, False),
        ("hours >= 1", {"hours": 1.0}, True),
    ],
)
def test_a_number_on_the_right_compares_as_on_the_left(source: str, values: dict[str, Any], expected: bool) -> None:
    assert run(source, values) is expected


def test_membership_in_a_single_choice_answer_is_not_a_substring_test() -> None:
    assert run("'no' in slept", {"slept": "not_sure"}) is False


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("hours + 1", {"hours": 4}, 5),
        ("hours - 1", {"hours": 4}, 3),
        ("hours * 2", {"hours": 4}, 8),
        ("hours / 2", {"hours": 5}, 2.5),
        ("-hours", {"hours": 5}, -5),
        ("hours + 1", {}, None),  # unanswered
        ("hours + 1", {"hours": "declined"}, None),
        ("-hours", {}, None),
        ("hours / 0", {"hours": 5}, None),
        ("hours / (hours - 5)", {"hours": 5}, None),
        ("(hours + 1) * 2", {"hours": 1}, 4),
    ],
)
def test_arithmetic_propagates_none_and_divides_by_zero_to_none(
    source: str, values: dict[str, Any], expected: Any
) -> None:
    assert run(source, values) == expected


@pytest.mark.parametrize(
    "source",
    [
        "hours == null",
        "hours != null",
        "hours > 0",
        "hours < 0",
        "hours + 1 > 0",
        "hours / 0 == null",
        "slept != 'yes'",
    ],
)
def test_every_comparison_with_none_is_false(source: str) -> None:
    assert run(source, {}) is False


def test_not_of_a_comparison_with_none_is_true() -> None:
    assert run("not slept == 'yes'", {}) is True


def test_answered_means_an_informative_answer() -> None:
    assert run("answered(hours)", {"hours": 0}) is True
    assert run("answered(slept)", {"slept": "no"}) is True
    for special in (None, "declined", "not_enough_info", "not_asked"):
        assert run("answered(slept)", {"slept": special}) is False


ANSWERS = {"slept": "yes", "safe": "yes", "hours": 50, "paid": ["nothing", "food"], "boss": "declined"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("count(items)", 4),  # informative answers; the notice and the declined text are not counted
        ("count(items, answer='yes')", 2),
        ("count(items, answer='yes', section='home')", 2),
        ("count(items, answer='yes', among=['safe', 'hours'])", 1),
        ("count(items, answer='nothing')", 1),  # a multiple choice counts when the code is chosen
        ("count(items, answer=['no', 'nothing'])", 1),
        ("count(items, answer='declined')", 1),
        ("any(items, answer='no')", False),
        ("any(items, answer='food', section='work')", True),
        ("all(items, section='home', answer=['yes', 'no'])", True),
        ("all(items, section='work')", False),
        ("sum(weights)", 4),  # slept yes = 2, paid nothing = 2 (food has no weight)
        ("sum(weights, section='home')", 2),
        ("sum(weights, among=['paid'])", 2),
        ("count(items, answer='yes') >= 2 and sum(weights) > 3", True),
    ],
)
def test_aggregates_over_items(source: str, expected: Any) -> None:
    assert run(source, ANSWERS, ITEM_SCOPE) == expected


@pytest.mark.parametrize(
    ("source", "scope", "among", "expected"),
    [
        ("count(indicators, level='clear_concern')", OVERALL_SCOPE, tuple(INDICATORS), 1),
        ("count(indicators, level=['possible_concern', 'clear_concern'])", OVERALL_SCOPE, tuple(INDICATORS), 2),
        ("count(indicators, key=true)", OVERALL_SCOPE, tuple(INDICATORS), 1),
        ("any(indicators, key=true, level='clear_concern')", OVERALL_SCOPE, tuple(INDICATORS), True),
        ("count(indicators, domain='work')", OVERALL_SCOPE, tuple(INDICATORS), 2),
        (
            "all(indicators, domain='work', level=['no_concern', 'possible_concern'])",
            OVERALL_SCOPE,
            tuple(INDICATORS),
            True,
        ),
        ("all(indicators, level='clear_concern')", OVERALL_SCOPE, tuple(INDICATORS), False),
        # in a domain rule, `indicators` are the domain's own
        ("any(indicators, level='clear_concern')", DOMAIN_SCOPE, ("work.long_hours", "work.unpaid"), False),
        ("count(indicators)", DOMAIN_SCOPE, ("work.long_hours", "work.unpaid"), 2),
        ("count(domains, level='clear_concern')", OVERALL_SCOPE, tuple(INDICATORS), 1),
        ("any(domains, level=['possible_concern', 'clear_concern'])", OVERALL_SCOPE, tuple(INDICATORS), True),
        ("all(domains, level='clear_concern')", OVERALL_SCOPE, tuple(INDICATORS), False),
        ("count(domains)", OVERALL_SCOPE, tuple(INDICATORS), 2),
    ],
)
def test_aggregates_over_indicators_and_domains(
    source: str, scope: Scope, among: tuple[str, ...], expected: Any
) -> None:
    assert run(source, {}, scope, among) == expected


def test_a_clause_lists_the_domains_it_counted_in_the_order_of_the_definition() -> None:
    """work before housing, as an instrument may define them (not the alphabet)."""
    scope = Scope(ITEMS, SECTIONS, INDICATORS, DOMAINS, domain_order=("work", "housing"))
    expression = compile_expression(
        "count(domains, level=['possible_concern', 'clear_concern']) >= 2 or any(domains)", scope
    )
    context = Context({}, LEVELS, DOMAIN_LEVELS, tuple(INDICATORS))
    counted, every = expression.parts
    assert counted.members is not None and every.members is not None
    assert (counted.collection, counted.members(context), counted.op, counted.bound) == (
        "domains",
        ("work", "housing"),
        ">=",
        2.0,
    )
    assert every.members(context) == ("work", "housing")


def test_level_and_domain_level() -> None:
    assert run("level('housing.unstable') == 'clear_concern'") is True
    assert run("level('work.unpaid') in ['possible_concern', 'clear_concern']") is False
    assert run("domain_level('work') == 'possible_concern'") is True
    assert run("level('work.unpaid') == 'no_concern'", scope=DOMAIN_SCOPE) is True
    expression = compile_expression("level('work.unpaid')", OVERALL_SCOPE)
    assert expression.evaluate(Context({})) == "unknown"  # a level nobody computed is unknown


def test_an_expression_knows_what_it_reads() -> None:
    expression = compile_expression("slept == 'yes' and level('work.unpaid') == 'clear_concern'", OVERALL_SCOPE)
    assert expression.items == {"slept"}
    assert expression.indicators == {"work.unpaid"}
    assert expression.uses_indicator_levels and not expression.uses_domain_levels
    assert not expression.is_constant
    assert compile_expression("count(items, section='home') > 1", ITEM_SCOPE).items == {"slept", "safe"}
    assert compile_expression("any(domains, level='clear_concern')", OVERALL_SCOPE).uses_domain_levels
    assert compile_expression("1 + 1 == 2", ITEM_SCOPE).is_constant


@pytest.mark.parametrize(
    ("source", "scope", "message", "at"),
    [
        ("level('work.unpaid') == 'clear_concern'", ITEM_SCOPE, "indicator levels cannot be used here", "level"),
        ("any(indicators, level='clear_concern')", ITEM_SCOPE, "indicators cannot be used here", "any"),
        ("any(domains, level='clear_concern')", ITEM_SCOPE, "domains can only be used in overall rules", "any"),
        (
            "domain_level('work') == 'no_concern'",
            ITEM_SCOPE,
            "domain levels can only be used in overall rules",
            "domain",
        ),
        ("any(domains, level='clear_concern')", DOMAIN_SCOPE, "domains can only be used in overall rules", "any"),
        ("domain_level('work') == 'no_concern'", DOMAIN_SCOPE, "domain levels can only be used in overall", "domain"),
        ("count(indicators, domain='work') > 0", DOMAIN_SCOPE, "cannot be filtered by 'domain'", "'work'"),
        ("slept == 'yes' and unknown_item == 1", ITEM_SCOPE, "unknown item 'unknown_item'", "unknown_item"),
        ("level('work.underpaid') == 'no_concern'", OVERALL_SCOPE, "unknown indicator 'work.underpaid'", "'work."),
        ("domain_level('school') == 'no_concern'", OVERALL_SCOPE, "unknown domain 'school'", "'school'"),
        ("count(items, section='school') > 0", ITEM_SCOPE, "unknown section 'school'", "'school'"),
        ("count(items, among=['slept', 'nap']) > 0", ITEM_SCOPE, "unknown item 'nap'", "["),
        ("any(indicators, level='severe')", OVERALL_SCOPE, "unknown level 'severe'", "'severe'"),
        ("count(items, colour='red') > 0", ITEM_SCOPE, "cannot be filtered by 'colour'", "'red'"),
        ("slept in ['yes', 'maybe']", ITEM_SCOPE, "'maybe' is not an answer of item 'slept'", "'maybe'"),
        ("'cheque' in paid", ITEM_SCOPE, "'cheque' is not an answer of item 'paid'", "'cheque'"),
        ("safe == 'true'", ITEM_SCOPE, "'true' is not an answer of item 'safe'", "'true'"),
        ("count(items) + items > 1", ITEM_SCOPE, "'items' can only be the first argument", "items >"),
        ("sum(indicators) > 1", OVERALL_SCOPE, "weights can only be summed", "sum"),
        ("answered('slept')", ITEM_SCOPE, "answered() takes one item name", "answered"),
        ("level(slept) == 'no_concern'", OVERALL_SCOPE, "level() takes one id in quotes", "level"),
    ],
)
def test_scopes_and_names_are_checked(source: str, scope: Scope, message: str, at: str) -> None:
    error = refused(source, scope)
    assert message in error.message
    assert error.column == source.index(at) + 1


@pytest.mark.parametrize(
    ("source", "at", "message"),
    [
        ("hours > 1 and slept.real == 1", "slept.real", "dotted names are not allowed"),
        ("slept.upper() == 'YES'", "slept.upper()", "only the functions of the language can be called"),
        ("hours > 1 and paid[0] == 'money'", "paid[0]", "'Subscript' is not part"),
        ("hours > 1 and boss[1:3] == 'ab'", "boss[1:3]", "'Subscript' is not part"),
        ("hours > 1 or (lambda: True)", "lambda", "'Lambda' is not part"),
        ("hours > 1 or [x for x in paid]", "[x for", "'ListComp' is not part"),
        ("any(x for x in paid)", "any", "needs one of items, indicators, domains"),
        ("hours > 1 or {x for x in paid}", "{x for", "'SetComp' is not part"),
        ("boss == f'{hours}'", "f'", "'JoinedStr' is not part"),
        ("(h := hours) > 1", "h :=", "'NamedExpr' is not part"),
        ("1 + hours ** 2 > 1", "hours **", "only + - * / are allowed"),
        ("hours // 2 > 1", "hours //", "only + - * / are allowed"),
        ("hours % 2 == 1", "hours %", "only + - * / are allowed"),
        ("hours & 1", "hours &", "only + - * / are allowed"),
        ("~hours > 1", "~", "this operator is not part of the language"),
        ("hours > 1 and max(hours, 2) > 3", "max", "unknown function 'max'"),
        ("__import__('os')", "__import__", "unknown function '__import__'"),
        ("hours > 1 and getattr(slept, 'upper')", "getattr", "unknown function 'getattr'"),
        ("slept is None", "slept", "use == and != instead of 'is'"),
        ("hours > 1 and {'a': 1}", "{", "'Dict' is not part"),
        ("1 if slept == 'yes' else 2", "1 if", "'IfExp' is not part"),
        ("slept in ['yes', hours]", "hours]", "a list may only hold text and numbers"),
        ("hours > 1 and b'x' == 'x'", "b'x'", "only text, numbers, true and false"),
        ("slept = 'yes'", "= 'yes'", "cannot read this expression"),
    ],
)
def test_anything_outside_the_language_is_refused_where_it_is(source: str, at: str, message: str) -> None:
    error = refused(source)
    assert message in error.message
    assert error.column == source.index(at) + 1


def test_refused_code_is_never_run(tmp_path: Any) -> None:
    witness = tmp_path / "witness"
    for source in (
        f"__import__('os').system('touch {witness}')",
        f"open('{witness}', 'w')",
        f"exec(\"open('{witness}', 'w')\")",
        f"[open('{witness}', 'w') for _ in [1]]",
        f"(lambda: open('{witness}', 'w'))()",
    ):
        refused(source)
    assert not witness.exists()


def test_keyword_unpacking_in_a_call_is_refused() -> None:
    error = refused("count(items, **{'answer': 'yes'}) > 0", ITEM_SCOPE)
    assert error.column == len("count(items, **") - 1


def test_an_expression_that_ends_too_early_points_at_its_end() -> None:
    error = refused("slept ==")
    assert error.column == len("slept ==") + 1
