"""The instrument definition: frozen Pydantic models for one YAML file per instrument version.

These models check the *shape* of a definition. Cross-references (unknown items, cycles, rules
that never fire, missing translations, ...) are checked by `instruments.compiler` (`compile_instrument`) once the whole
definition is known, so that every problem is reported at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
INDICATOR_ID_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
INSTRUMENT_ID_PATTERN = r"^[a-z][a-z0-9-]*$"
SEMVER_PATTERN = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Z]{2})?$"

# Levels, from least to most concerning. The same scale is used for indicators, domains and the
# overall result; "unknown" marks an indicator about which nothing informative was said.
LEVELS: tuple[str, ...] = ("no_concern", "possible_concern", "clear_concern")
IndicatorLevel = Literal["unknown", "no_concern", "possible_concern", "clear_concern"]

# A domain or the overall result can also conclude that too little is known to say anything: an
# outcome of its own, never a kind of "no concern". It ranks with no_concern (neither raises a
# concern), so a concerning answer still wins over it; the rules of an instrument say when it applies.
INSUFFICIENT = "insufficient_information"
RESULT_LEVELS: tuple[str, ...] = (INSUFFICIENT, *LEVELS)
Level = Literal["insufficient_information", "no_concern", "possible_concern", "clear_concern"]

# The overall "level" of an instrument that has no scoring rules (a form imported without weights):
# nothing is concluded, the answers are to be read. Not a level any rule can give, never a kind of
# "no concern", and no next step follows from it.
NOT_SCORED = "not_scored"

# Special answers are codes, never blanks, and none of them counts as "no".
DECLINED = "declined"
NOT_ENOUGH_INFO = "not_enough_info"
NOT_ASKED = "not_asked"
SPECIAL_ANSWERS: frozenset[str] = frozenset({DECLINED, NOT_ENOUGH_INFO, NOT_ASKED})


# How long an earlier answer may be carried into a new screening (shown as "still true?") when
# neither its item nor its section says: a look-back in days from the day it was given.
DEFAULT_CARRY_DAYS = 365
MAX_CARRY_DAYS = 3650
NEVER = "never"

# The longest a next step may put off screening again: past two years a youth's situation, and often
# the program, has changed too much for a due date to mean anything.
MAX_SCREEN_AGAIN_DAYS = 730


def is_informative(value: object) -> bool:
    """Whether an answer says something: given, and not a special code."""
    return value is not None and not (isinstance(value, str) and value in SPECIAL_ANSWERS)


Mode = Literal["practitioner", "interview", "self"]
# The mode in which staff complete the form about the youth, rather than the youth answering (alone, or
# asked aloud in an interview): the one mode that reads an instrument's staff wording.
STAFF_MODE = "practitioner"

Text = dict[str, str]
"""A text in every declared language: language code -> string."""


class Frozen(BaseModel):
    """Base for every definition model: immutable and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Coding(Frozen):
    """A code from an outside terminology (LOINC, SNOMED CT, a partner's own system) that an item, an
    answer option, a total or the whole instrument also carries. TellOnce ids stay lowercase_snake;
    an instrument imported from FHIR keeps the codes it was published with here, and exports say them
    again."""

    system: Annotated[str, Field(min_length=1)]
    code: Annotated[str, Field(min_length=1)]
    display: str | None = None


class DerivedFrom(Frozen):
    """The published definition an instrument was made from (e.g. a FHIR Questionnaire's canonical URL
    and version), kept when it is imported and written again as `Questionnaire.derivedFrom`."""

    url: Annotated[str, Field(min_length=1)]
    version: str | None = None


class Option(Frozen):
    """One answer choice of a choice item."""

    code: Annotated[str, Field(pattern=ID_PATTERN)]
    label: Text
    weight: float | None = None
    coding: Coding | None = None  # the option's code in an outside terminology, e.g. a LOINC answer code

    @field_validator("code")
    @classmethod
    def _not_special(cls, code: str) -> str:
        if code in SPECIAL_ANSWERS:
            raise ValueError(f"'{code}' is a special answer code and cannot be an option code")
        return code


class CarryFor(Frozen):
    """Carry an answer for at most `days` days after it was given."""

    days: Annotated[int, Field(ge=1, le=MAX_CARRY_DAYS)]


def _plain_carry(value: object) -> object:
    """Refuse a bad `carry` with one plain message (a union would report each of its members)."""
    if value is None or value == NEVER or isinstance(value, CarryFor):
        return value
    if isinstance(value, dict) and set(value) == {"days"}:
        days = value["days"]
        if type(days) is int and 1 <= days <= MAX_CARRY_DAYS:
            return value
        raise ValueError(f"carry days must be a whole number from 1 to {MAX_CARRY_DAYS}, not {days!r}")
    hint = f"; for a look-back write {{days: {value}}}" if type(value) is int and value > 0 else ""
    raise ValueError(f"carry must be 'never' or {{days: N}} with N from 1 to {MAX_CARRY_DAYS}, not {value!r}{hint}")


Carry = Annotated[Literal["never"] | CarryFor, BeforeValidator(_plain_carry)]
"""How long an answer may carry forward: `never` (a present-state question, asked afresh every
time), or `{days: N}`, a look-back from the day it was given."""


class Indicates(Frozen):
    """An answer condition that implies a level for an indicator.

    Either `answers` (the item's own option codes that imply the level) or `when` (an expression)
    must be given.
    """

    indicator: Annotated[str, Field(pattern=INDICATOR_ID_PATTERN)]
    level: Literal["possible_concern", "clear_concern"]
    answers: tuple[str, ...] | None = None
    when: str | None = None

    @model_validator(mode="after")
    def _one_condition(self) -> Indicates:
        if (self.answers is None) == (self.when is None):
            raise ValueError("give exactly one of 'answers' or 'when'")
        return self


class ItemBase(Frozen):
    """What every item has: identity, page, wording and logic."""

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    section: Annotated[str, Field(pattern=ID_PATTERN)]
    text: Text
    help: Text | None = None
    # The wording for staff completing the form about the youth (the practitioner mode), in the third person;
    # when given, it and staff_help replace text and help in that mode (see `wording`). None: text and help.
    staff_text: Text | None = None
    staff_help: Text | None = None
    show_if: str | None = None
    sensitive: bool = False
    mandated_report: bool = False
    carry: Carry | None = None  # None: the section's carry, else DEFAULT_CARRY_DAYS
    codes: tuple[Coding, ...] = ()  # the item's codes in outside terminologies, e.g. a LOINC question code


class AnsweredItem(ItemBase):
    """An item that takes an answer and may imply indicator levels."""

    indicates: tuple[Indicates, ...] = ()


class YesNoItem(AnsweredItem):
    type: Literal["yes_no"]


class SingleChoiceItem(AnsweredItem):
    type: Literal["single_choice"]
    options: Annotated[tuple[Option, ...], Field(min_length=2)]


class MultipleChoiceItem(AnsweredItem):
    type: Literal["multiple_choice"]
    options: Annotated[tuple[Option, ...], Field(min_length=2)]


class IndicatorRatingItem(ItemBase):
    """A practitioner's rating of one indicator; the answer is the indicator's level."""

    type: Literal["indicator_rating"]
    indicator: Annotated[str, Field(pattern=INDICATOR_ID_PATTERN)]


class NumberItem(AnsweredItem):
    type: Literal["number"]
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> NumberItem:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        return self


class DateItem(AnsweredItem):
    type: Literal["date"]


class ShortTextItem(AnsweredItem):
    type: Literal["short_text"]
    max_length: Annotated[int, Field(gt=0, le=500)] = 200


class LongTextItem(AnsweredItem):
    type: Literal["long_text"]
    max_length: Annotated[int, Field(gt=0, le=20000)] = 5000


class NoticeItem(ItemBase):
    """Text shown to the person answering; takes no answer."""

    type: Literal["notice"]
    carry: None = None  # in the JSON Schema too: editors flag it

    @field_validator("carry", mode="before")
    @classmethod
    def _nothing_to_carry(cls, carry: object) -> None:
        if carry is not None:
            raise ValueError("a notice takes no answer, so it has nothing to carry: remove 'carry'")
        return None


Item = Annotated[
    YesNoItem
    | SingleChoiceItem
    | MultipleChoiceItem
    | IndicatorRatingItem
    | NumberItem
    | DateItem
    | ShortTextItem
    | LongTextItem
    | NoticeItem,
    Field(discriminator="type"),
]

CHOICE_TYPES = frozenset({"yes_no", "single_choice", "multiple_choice", "indicator_rating"})


class Indicator(Frozen):
    """One observable sign of possible exploitation."""

    id: Annotated[str, Field(pattern=INDICATOR_ID_PATTERN)]
    text: Text
    guidance: Text | None = None
    key: bool = False


class Domain(Frozen):
    """A group of indicators whose levels roll up into one domain level."""

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: Text
    indicators: Annotated[tuple[Indicator, ...], Field(min_length=1)]


class Section(Frozen):
    """A page of items, optionally preceded by a notice before sensitive content."""

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: Text
    notice: Text | None = None
    # What staff completing the form about the youth (the practitioner mode) read instead of `notice`, which
    # speaks to the youth; None: `notice`. Either way that mode never offers the youth's "skip this part".
    staff_notice: Text | None = None
    one_question_per_page: bool = False
    carry: Carry | None = None  # for its items that do not say; None: DEFAULT_CARRY_DAYS


class Rule(Frozen):
    """One scoring rule: the level it gives when its condition holds; no condition = fallback."""

    level: Level
    when: str | None = None
    explain: Text


class Total(Frozen):
    """A number the result reports beside its level, e.g. a weighted sum or a count of 'yes' answers.

    Overall rules read it as `total()`; a rule such as `total() >= 2` makes 2 that level's threshold.
    """

    of: str
    label: Text
    code: Coding | None = None  # what the total is in an outside terminology, e.g. a LOINC total score


class Scoring(Frozen):
    """How indicator levels roll up to domain levels and to the overall result.

    `domain` and `overall` rules come together or not at all: a scoring with a `total` and no rules
    reports the total (e.g. a published weighted sum) and concludes no level from it, as an instrument
    without scoring does (the overall result is `not_scored`).

    `indicator_needs` says when an indicator with no concerning answer is "no concern":
    - `one_answer` (the default of the first instruments): as soon as one of the items that feed it
      got an informative answer;
    - `every_answer`: only when every item that feeds it was answered, or was hidden by show_if
      conditions over answers that were given; otherwise it stays "unknown". With it, taking an
      answer away can never turn a concern into "no concern".
    """

    indicator_needs: Literal["one_answer", "every_answer"] = "one_answer"
    total: Total | None = None
    domain: tuple[Rule, ...] = ()  # () with overall (): no level is concluded; the compiler says when one is missing
    overall: tuple[Rule, ...] = ()

    @property
    def has_rules(self) -> bool:
        """Whether levels are concluded: domain and overall rules are written."""
        return bool(self.domain) and bool(self.overall)


class ScreenAgain(Frozen):
    """Screen again within `days` days of the day the screening was completed."""

    days: Annotated[int, Field(ge=1, le=MAX_SCREEN_AGAIN_DAYS)]


def _plain_screen_again(value: object) -> object:
    """Refuse a bad `screen_again` with one plain message, as `carry` does."""
    if value is None or isinstance(value, ScreenAgain):
        return value
    if isinstance(value, dict) and set(value) == {"days"}:
        days = value["days"]
        if type(days) is int and 1 <= days <= MAX_SCREEN_AGAIN_DAYS:
            return value
        raise ValueError(f"screen_again days must be a whole number from 1 to {MAX_SCREEN_AGAIN_DAYS}, not {days!r}")
    hint = f"; write {{days: {value}}}" if type(value) is int and value > 0 else ""
    raise ValueError(f"screen_again must be {{days: N}} with N from 1 to {MAX_SCREEN_AGAIN_DAYS}, not {value!r}{hint}")


class NextStep(Frozen):
    """What to do for a given overall level; may recommend another instrument, and say when to screen again
    (with that instrument, or else the same one)."""

    text: Text
    instrument: str | None = None
    screen_again: Annotated[ScreenAgain | None, BeforeValidator(_plain_screen_again)] = None


class Provenance(Frozen):
    """Where an instrument comes from and whether it has been validated."""

    validated: bool
    citation: str | None = None
    statement: Text

    @model_validator(mode="after")
    def _citation_when_validated(self) -> Provenance:
        if self.validated and not self.citation:
            raise ValueError("a validated instrument needs a citation")
        return self


class ExampleClause(Frozen):
    """A true part of a fired rule's condition, as a reason names it (see "Reasons and clauses").

    `source` is the clause as written in the rule; the other fields, when given, are compared too.
    """

    source: Annotated[str, Field(min_length=1)]
    collection: str | None = None
    members: tuple[str, ...] | None = None  # in the order of the definition
    value: float | None = None
    op: str | None = None
    bound: float | None = None


class ExampleReason(Frozen):
    """Which rule fired and what its reason names; every field left out is not compared."""

    rule: Annotated[int, Field(ge=0)] | None = None  # position in its list, from 1; 0 when no rule ran
    indicators: tuple[str, ...] | None = None  # the key indicators (or a domain's indicators) it names
    domains: tuple[str, ...] | None = None  # overall only: the domains it names
    clauses: tuple[ExampleClause, ...] | None = None  # every true part of the condition, in order


class ExampleEvidence(Frozen):
    """One answer an indicator's level rests on."""

    item: str
    answer: str | int | float | list[str] | None
    level: IndicatorLevel


class ExampleCompleteness(Frozen):
    """How many questions were answered, declined and so on; the counts left out are not compared."""

    total: int | None = None
    answered: int | None = None
    declined: int | None = None
    not_enough_info: int | None = None
    not_asked: int | None = None
    unanswered: int | None = None


class ExampleExpect(Frozen):
    """What an example case should conclude: the overall level, and whatever else the manual states
    (levels, the total, which rules fired and why, skipped sections, evidence, completeness).
    Whatever is left out is not compared."""

    overall: Literal["insufficient_information", "no_concern", "possible_concern", "clear_concern", "not_scored"]
    domains: dict[str, Level] = Field(default_factory=dict)
    other_domains: Level | None = None  # the level of every domain not named in `domains`
    indicators: dict[str, IndicatorLevel] = Field(default_factory=dict)
    other_indicators: IndicatorLevel | None = None  # the level of every indicator not named
    total: float | None = None
    reason: ExampleReason | None = None  # of the overall result
    domain_reasons: dict[str, ExampleReason] = Field(default_factory=dict)
    skipped: tuple[str, ...] | None = None  # the sections reported as skipped, in order
    evidence: dict[str, tuple[ExampleEvidence, ...]] = Field(default_factory=dict)  # per indicator, in order
    completeness: ExampleCompleteness | None = None


class Example(Frozen):
    """A worked case an instrument carries with it: answers, and what its rules should conclude from them.

    `tellonce instruments validate` scores each through the real engine and reports any difference, so an
    agency loading a licensed instrument can show its rules behave as the licence's manual says.
    """

    name: Annotated[str, Field(min_length=1)]
    answers: dict[str, str | int | float | list[str] | None]
    expect: ExampleExpect


class Instrument(Frozen):
    """One version of one instrument."""

    id: Annotated[str, Field(pattern=INSTRUMENT_ID_PATTERN)]
    version: Annotated[str, Field(pattern=SEMVER_PATTERN)]
    title: Text
    description: Text
    authors: Annotated[tuple[str, ...], Field(min_length=1)]
    license: str
    provenance: Provenance
    modes: Annotated[tuple[Mode, ...], Field(min_length=1)]
    languages: Annotated[tuple[Annotated[str, Field(pattern=LANGUAGE_PATTERN)], ...], Field(min_length=1)]
    default_language: str
    sections: Annotated[tuple[Section, ...], Field(min_length=1)]
    domains: tuple[Domain, ...] = ()
    items: Annotated[tuple[Item, ...], Field(min_length=1)]
    scoring: Scoring | None = None  # None: an unscored form; it collects, carries and exports, concludes nothing
    next_steps: dict[Level, tuple[NextStep, ...]] = Field(default_factory=dict)
    codes: tuple[Coding, ...] = ()  # the instrument's codes in outside terminologies, e.g. a LOINC panel
    derived_from: DerivedFrom | None = None
    examples: tuple[Example, ...] = ()  # not part of the content hash: they change nothing asked or concluded


def wording(item: ItemBase, mode: str) -> tuple[Text, Text | None]:
    """An item's text and help as the person completing it in `mode` reads them."""
    if mode == STAFF_MODE and item.staff_text is not None:
        return item.staff_text, item.staff_help
    return item.text, item.help


def section_notice(section: Section, mode: str) -> Text | None:
    """The notice before a section's questions, as the person completing it in `mode` reads it."""
    if mode == STAFF_MODE and section.staff_notice is not None:
        return section.staff_notice
    return section.notice
