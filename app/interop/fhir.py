"""FHIR R4 export: a Questionnaire per instrument version, a QuestionnaireResponse per screening, a
pseudonymous Patient, Consent, as a Bundle or as NDJSON. Every builder returns plain JSON-ready dicts.

FHIR version: the shapes written here are FHIR R4 (4.0.1): `itemWeight` as an extension on
`answerOption`, `enableWhen` with `answerCoding`, Consent with `scope`, `category`, `policyRule`
and `provision`. The installed `fhir.resources` (8.x) ships R5 (its default), R4B and STU3 models
but no R4 package, so the tests validate against `fhir.resources.R4B` (4.3.0), the R4-compatible
line, and in addition against the published R4 JSON Schema (tests/support/fhir_schema.py).

Choices made (and what they cost):
- Canonical URLs are https addresses under the deployment's `base_url`: a Questionnaire is
  `<base>/fhir/Questionnaire/<instrument id>` (its version after `|`), and that address answers it
  (`app.interop.fhir_canonical`). An instrument's own code systems are `<base>/fhir/CodeSystem/<instrument
  id>.<part>` (`options`, `domains`, `scores`; `.` never occurs in an instrument id, so they never collide).
  Older exports said `urn:tellonce:instrument:<id>` (`LEGACY_CANONICAL`); the response import still reads it.
- `yes_no` items are `choice` items with the codes `yes` and `no` (not `boolean`), so that every
  coded answer is a `valueCoding`.
- Special answers (`declined`, `not_enough_info`) are never an answer in a QuestionnaireResponse,
  whatever the item's type, choice items included: the item is written without `answer` and with the
  `data-absent-reason` extension (`ABSENT_REASONS`: `asked-declined` for declined, `unknown` for not
  enough information), so that no reader takes them for a value and every answer has the item's type.
  `not_asked` (an item show_if hid) and an unanswered item are not written at all, as FHIR leaves out
  disabled items. An empty multiple choice (answered, with none of its options chosen: the API accepts
  `[]`) is an item without answer whose data-absent-reason is `not-applicable` (none of the options
  applies); an empty text is no answer. In a Questionnaire, choice items still list the special answers
  as answer options (codings of `urn:tellonce:special-answer`), so that a partner's form filler can offer
  "Prefer not to answer"; the response import reads such a coding as well as the extension. An
  `enableWhen` never compares with a special answer (our responses never carry one as a coding): such a
  show_if is kept as the `show-if` extension.
- No empty array, object or string is ever written (FHIR JSON forbids them): an element with nothing in
  it is left out.
- Outside codes an instrument keeps (`instruments.model.Coding`, e.g. LOINC from an imported
  questionnaire) are written again: `Instrument.codes` as `Questionnaire.code`, `derived_from` as
  `Questionnaire.derivedFrom` (`url|version`), an item's `codes` as `item.code`, and an option's `coding`
  as its `answerOption.valueCoding` with the original system, code and display, so that a response
  answers in the published codes. The TellOnce option code then travels on that Coding as the extension
  `urn:tellonce:option-code` (`EXT_OPTION_CODE`), in the Questionnaire and in every answer, so that a
  re-import maps it back to the same option; an option without outside coding is a coding of the
  instrument's `options` code system whose code is the option code.
- A declared total (`scoring.total`) is a read-only `decimal` item after the sections (`TOTAL_LINK`),
  coded with the total's outside code when it has one, and answered in the response with the stored
  result's total; TellOnce's expression for it is the extension `urn:tellonce:total-of`, and a weighted
  sum (`sum(weights)`) is also SDC's `calculatedExpression` in FHIRPath, so that a form filler computes it
  and an import takes it for the total again (other totals have no FHIRPath here). The same total is an
  Observation (`app.interop.fhir_stream.total_observation`).
- Levels (an indicator rating's answers, and an Observation's overall and domain levels) are codes
  of `urn:tellonce:concern-level`, displayed with the words of `app.levels`; the codes are the level
  ids, `insufficient_information` ("Not enough information to conclude") among them.
- A `show_if` that is a simple comparison or membership (joined by only `or`, or only `and`)
  becomes `enableWhen` with `enableBehavior`; any other `show_if` (`!=`, mixed and/or, functions
  other than `answered`) is kept as the extension `urn:tellonce:show-if` carrying the expression
  text, which FHIR form renderers do not understand (they will show that item unconditionally).
- Texts are in the instrument's default language, with the others in the standard translation
  extension.
- `meta.source` of every exported resource (and Bundle) is the deployment's `base_url` (`sourced`): one
  deployment is one source system; which agency wrote a record is said by the resources themselves
  (the Consent's organization, the referral's Organizations), not by a different source per agency.
- The Patient is a keyed hash of the person for the agency that receives it (`patient`, with the id
  `app.exports.tabular.person_key(keys, recipient agency, person id)`): the same id in a screening's
  export and in the bulk export to the same agency, another for another agency, and no name, birth date
  or case number. The one exception is a referral (`app.interop.fhir_referral`), which shares who the
  youth is under the youth's consent: it writes `identified_patient`, never this one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from app import levels
from app.access import is_in_force
from app.interop.fhir_show_if import enable_when
from app.models import Screening, ScreeningStatus
from app.models_sharing import Consent
from app.screenings.answer_labels import ANSWER_TEXTS
from app.settings import get_settings
from instruments.compiled import RATING_CODES, YES_NO_LABELS, CompiledInstrument
from instruments.model import (
    CHOICE_TYPES,
    DECLINED,
    NOT_ASKED,
    NOT_ENOUGH_INFO,
    SPECIAL_ANSWERS,
    Coding,
    Item,
    Total,
)
from scoring import visible_only

FHIR_JSON = "application/fhir+json"  # the media type of every resource served
FHIR_BODY: dict[int | str, dict[str, Any]] = {200: {"content": {FHIR_JSON: {"schema": {"type": "object"}}}}}
LEGACY_CANONICAL = "urn:tellonce:instrument:"  # + instrument id: the canonical of exports before https ones
SPECIAL_SYSTEM = "urn:tellonce:special-answer"
LEVEL_SYSTEM = "urn:tellonce:concern-level"
PSEUDONYM_SYSTEM = "urn:tellonce:pseudonym"
CASE_NUMBER_SYSTEM = "urn:tellonce:case-number"  # followed by `:<agency id>`: case numbers are per agency
SCREENING_SYSTEM = "urn:tellonce:screening"
AGENCY_SYSTEM = "urn:tellonce:agency"
EXT_ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
EXT_ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
EXT_TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
EXT_MIN = "http://hl7.org/fhir/StructureDefinition/minValue"
EXT_MAX = "http://hl7.org/fhir/StructureDefinition/maxValue"
EXT_ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
EXT_SHOW_IF = "urn:tellonce:show-if"
EXT_CARRIED_FROM = "urn:tellonce:carried-from"
EXT_ANSWER_SOURCE = "urn:tellonce:answer-source"
EXT_MODE = "urn:tellonce:screening-mode"
EXT_CONTENT_HASH = "urn:tellonce:content-hash"
EXT_CONSENT_METHOD = "urn:tellonce:consent-method"
EXT_DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
EXT_OPTION_CODE = "urn:tellonce:option-code"  # the TellOnce code of an option written in an outside coding
EXT_TOTAL_OF = "urn:tellonce:total-of"  # the expression of a declared total, on its read-only item
EXT_CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
# A weighted sum in SDC's FHIRPath (its `ordinal()` reads an answer's itemWeight): what a form filler computes.
WEIGHTED_SUM_FHIRPATH = "%resource.repeat(item).answer.value.ordinal().sum()"
# Why an item of a QuestionnaireResponse has no answer (codes of the DataAbsentReason value set).
ABSENT_REASONS = {DECLINED: "asked-declined", NOT_ENOUGH_INFO: "unknown"}
NONE_CHOSEN = "not-applicable"  # an empty multiple choice: none of its options applies
TOTAL_LINK = "total-score"  # the linkId of a declared total ('-' never occurs in an item id)
FHIR_TYPES = {"date": "date", "short_text": "string", "long_text": "text", "notice": "display"}
GRANTOR_PERFORMER = {
    "youth": (None, "Youth"),
    "parent_guardian": ("RelatedPerson", "Parent or guardian"),
    "custodial_agency": ("Organization", "Custodial agency"),
    "court": ("Organization", "Court"),
}


def deployment() -> str:
    """This deployment's address (`Settings.public_base_url()`): `meta.source`, and the base of its URLs."""
    return get_settings().public_base_url()


def canonical(instrument_id: str) -> str:
    """The canonical URL of an instrument's Questionnaire (its version goes after a `|`); it answers it."""
    return f"{deployment()}/fhir/Questionnaire/{instrument_id}"


def code_system(instrument_id: str, part: str) -> str:
    """One of an instrument's own code systems: `options`, `domains` or `scores`."""
    return f"{deployment()}/fhir/CodeSystem/{instrument_id}.{part}"


def options_system(instrument_id: str) -> str:
    """The code system of an instrument's answer options (yes/no included)."""
    return code_system(instrument_id, "options")


def sourced(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource with `meta.source` (this deployment), beside whatever `meta` it has."""
    return {**resource, "meta": {**resource.get("meta", {}), "source": deployment()}}


def section_link(section_id: str) -> str:
    """A section's group linkId (item ids cannot contain '-', so it never collides with one)."""
    return f"section-{section_id}"


def fhir_time(moment: datetime) -> str:
    """A FHIR dateTime/instant in UTC."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def fhir_type(item: Item) -> str:
    """The FHIR item type of an instrument item."""
    if item.type in CHOICE_TYPES:
        return "choice"
    if item.type == "number":
        return "integer" if getattr(item, "integer", True) else "decimal"
    return FHIR_TYPES[item.type]


def _text(name: str, text: Mapping[str, str] | None, lang: str) -> dict[str, Any]:
    """`name` in the default language, with the other languages as translation extensions (nothing when
    every language's text is empty: FHIR has no empty strings)."""
    main = (text or {}).get(lang) or next((v for v in (text or {}).values() if v), None)
    if not main:
        return {}
    out: dict[str, Any] = {name: main}
    others = [
        {"url": EXT_TRANSLATION, "extension": [{"url": "lang", "valueCode": k}, {"url": "content", "valueString": v}]}
        for k, v in (text or {}).items()
        if k != lang and v and v != main
    ]
    if others:
        out[f"_{name}"] = {"extension": others}
    return out


def _coding(system: str, code: str, display: Mapping[str, str] | None, lang: str) -> dict[str, Any]:
    return {"system": system, "code": code, **_text("display", display, lang)}


def outside_coding(coding: Coding) -> dict[str, Any]:
    """An outside code (LOINC, SNOMED CT, a partner's system) as a FHIR Coding, as it was published."""
    return {"system": coding.system, "code": coding.code, **({"display": coding.display} if coding.display else {})}


def _special(code: str, lang: str) -> dict[str, Any]:
    return _coding(SPECIAL_SYSTEM, code, ANSWER_TEXTS.get(code), lang)


def level_concept(code: str) -> dict[str, Any]:
    """A result level as a CodeableConcept of the level code system, in the words every page shows."""
    words = levels.label(code)
    return {"coding": [{"system": LEVEL_SYSTEM, "code": code, "display": words}], "text": words}


def _choices(instrument: CompiledInstrument, item: Item, lang: str) -> dict[str, tuple[dict[str, Any], float | None]]:
    """Every ordinary answer of a choice item, by its TellOnce code: (the Coding written for it, its weight).

    An option with an outside coding is written in it, with its TellOnce code as `EXT_OPTION_CODE`."""
    if item.type == "yes_no":
        system = options_system(instrument.id)
        return {c: (_coding(system, c, YES_NO_LABELS[c], lang), None) for c in ("yes", "no")}
    if item.type == "indicator_rating":
        return {c: (_coding(LEVEL_SYSTEM, c, ANSWER_TEXTS[c], lang), None) for c in RATING_CODES}
    out: dict[str, tuple[dict[str, Any], float | None]] = {}
    for option in getattr(item, "options", ()):
        if option.coding is None:
            coding = _coding(options_system(instrument.id), option.code, option.label, lang)
        else:
            coding = outside_coding(option.coding)
            if "display" not in coding:
                coding.update(_text("display", option.label, lang))
            coding["extension"] = [{"url": EXT_OPTION_CODE, "valueCode": option.code}]
        out[option.code] = (coding, option.weight)
    return out


def _answer_options(instrument: CompiledInstrument, item: Item, lang: str) -> list[dict[str, Any]]:
    options = []
    for coding, weight in _choices(instrument, item, lang).values():
        option: dict[str, Any] = {"valueCoding": coding}
        if weight is not None:
            option["extension"] = [{"url": EXT_ITEM_WEIGHT, "valueDecimal": weight}]
        options.append(option)
    specials = ["declined"]
    if item.type == "indicator_rating" or instrument.allows_not_enough_info:
        specials.append(NOT_ENOUGH_INFO)
    return options + [{"valueCoding": _special(code, lang)} for code in specials]


def _condition_coding(instrument: CompiledInstrument, item: Item, code: str) -> dict[str, Any] | None:
    """The Coding an enableWhen compares a choice item's answer with; None for a special answer (a response
    never carries one as a coding: its item has no answer) or a code the item does not have."""
    if code in SPECIAL_ANSWERS:
        return None
    found = _choices(instrument, item, instrument.definition.default_language).get(code)
    return None if found is None else {"system": found[0]["system"], "code": found[0]["code"]}


def _question(instrument: CompiledInstrument, item: Item, lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": item.id}
    if item.codes:
        out["code"] = [outside_coding(c) for c in item.codes]
    out.update({**_text("text", item.text, lang), "type": fhir_type(item)})
    extensions: list[dict[str, Any]] = []
    if item.type in CHOICE_TYPES:
        out["answerOption"] = _answer_options(instrument, item, lang)
        if item.type == "multiple_choice":
            out["repeats"] = True
    elif item.type == "number":
        value = "valueInteger" if getattr(item, "integer", True) else "valueDecimal"
        for url, bound in ((EXT_MIN, getattr(item, "minimum", None)), (EXT_MAX, getattr(item, "maximum", None))):
            if bound is not None:
                extensions.append({"url": url, value: int(bound) if value == "valueInteger" else bound})
    elif item.type in ("short_text", "long_text") and getattr(item, "max_length", None):
        out["maxLength"] = item.max_length
    if item.show_if:
        translated = enable_when(instrument, item.show_if, lambda it, code: _condition_coding(instrument, it, code))
        if translated is None:
            extensions.append({"url": EXT_SHOW_IF, "valueString": item.show_if})
        else:
            out.update(translated)
    if extensions:
        out["extension"] = extensions
    if item.help:
        control = {"coding": [{"system": "http://hl7.org/fhir/questionnaire-item-control", "code": "help"}]}
        out["item"] = [
            {
                "linkId": f"{item.id}-help",
                **_text("text", item.help, lang),
                "type": "display",
                "extension": [{"url": EXT_ITEM_CONTROL, "valueCodeableConcept": control}],
            }
        ]
    return out


def questionnaire(instrument: CompiledInstrument) -> dict[str, Any]:
    """The FHIR Questionnaire of one instrument version: one group per section."""
    d = instrument.definition
    lang = d.default_language
    groups = []
    for section in d.sections:
        children: list[dict[str, Any]] = []
        if section.notice:
            children.append(
                {
                    "linkId": f"{section_link(section.id)}-notice",
                    **_text("text", section.notice, lang),
                    "type": "display",
                }
            )
        children += [_question(instrument, item, lang) for item in d.items if item.section == section.id]
        if children:  # a group holds items: a section with none is left out
            groups.append(
                {
                    "linkId": section_link(section.id),
                    **_text("text", section.title, lang),
                    "type": "group",
                    "item": children,
                }
            )
    total = instrument.declared_total
    if total is not None:
        groups.append(_total_item(total, lang))
    out: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": questionnaire_id(d.id, d.version),
        "language": lang,
        "extension": [{"url": EXT_CONTENT_HASH, "valueString": instrument.content_hash}],
        "url": canonical(d.id),
        "version": d.version,
        **_text("title", d.title, lang),
        "status": "active",
        "subjectType": ["Patient"],
        **_text("description", d.description, lang),
        "item": groups,
    }
    if d.derived_from is not None:
        source = d.derived_from
        out["derivedFrom"] = [f"{source.url}|{source.version}" if source.version else source.url]
    publisher = ", ".join(a for a in d.authors if a)
    if publisher:
        out["publisher"] = publisher
    if d.license:
        out["copyright"] = d.license
    if d.codes:
        out["code"] = [outside_coding(c) for c in d.codes]
    return out


def questionnaire_id(instrument_id: str, version: str) -> str:
    """The resource id of an instrument version's Questionnaire (unique per version, so a Bundle holds several)."""
    return f"{instrument_id}-{version}"[:64]


def _total_item(total: Total, lang: str) -> dict[str, Any]:
    """A declared total as a read-only decimal item: the stored result's total answers it in a response."""
    out: dict[str, Any] = {"linkId": TOTAL_LINK}
    if total.code is not None:
        out["code"] = [outside_coding(total.code)]
    out.update(_text("text", total.label, lang))
    extensions: list[dict[str, Any]] = [{"url": EXT_TOTAL_OF, "valueString": total.of}]
    if " ".join(total.of.split()) == "sum(weights)":
        expression = {"language": "text/fhirpath", "expression": WEIGHTED_SUM_FHIRPATH}
        extensions.append({"url": EXT_CALCULATED, "valueExpression": expression})
    out.update({"type": "decimal", "readOnly": True, "extension": extensions})
    return out


# ---- responses, patients, consents ----


def _answer(instrument: CompiledInstrument, item: Item, value: Any, lang: str) -> list[dict[str, Any]]:
    """An ordinary answer as FHIR answers (empty when none of it is one of the item's codes, or it is empty)."""
    if item.type in CHOICE_TYPES:
        codings = _choices(instrument, item, lang)
        chosen = value if isinstance(value, list) else [value]
        return [{"valueCoding": codings[c][0]} for c in chosen if c in codings]
    if item.type == "number":
        whole = getattr(item, "integer", True) and float(value).is_integer()
        return [{"valueInteger": int(value)} if whole else {"valueDecimal": value}]
    if item.type == "date":
        return [{"valueDate": value}] if value else []
    text = str(value)
    return [{"valueString": text}] if text.strip() else []


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def questionnaire_response(
    screening: Screening,
    answers: Mapping[str, Any],
    instrument: CompiledInstrument,
    patient_ref: str,
    total: float | None = None,
) -> dict[str, Any]:
    """A screening's answers as a QuestionnaireResponse.

    `answers` maps item ids to stored answers (with `value`, `source`, `carried_from`, as from
    `screenings.service.stored_answers`) or to plain values. Answers that show_if hides are left
    out; a special answer is an item without `answer`, with its `data-absent-reason`; a carried
    answer names the screening it was first given in. `total` (the stored result's, for an instrument
    that declares one) answers the read-only total item.
    """
    lang = screening.language if screening.language in instrument.definition.languages else "en"
    stored = {k: v for k, v in answers.items() if getattr(v, "value", v) is not None}
    visible = visible_only(instrument, {k: getattr(v, "value", v) for k, v in stored.items()})
    groups: list[dict[str, Any]] = []
    for section in instrument.definition.sections:
        children = []
        for item in instrument.definition.items:
            if item.section != section.id or item.id not in visible or item.type == "notice":
                continue
            entry = _response_item(instrument, item, stored[item.id], visible[item.id], lang)
            if entry is not None:
                children.append(entry)
        if children:
            groups.append({"linkId": section_link(section.id), "item": children})
    declared = instrument.declared_total
    if declared is not None and total is not None:
        groups.append(
            {"linkId": TOTAL_LINK, **_plain_text(declared.label, lang), "answer": [{"valueDecimal": _number(total)}]}
        )
    completed = screening.status == ScreeningStatus.completed
    out: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": screening.id,
        "language": screening.language,
        "extension": [
            {"url": EXT_MODE, "valueCode": screening.mode},
            {"url": EXT_CONTENT_HASH, "valueString": screening.content_hash},
        ],
        "identifier": {"system": SCREENING_SYSTEM, "value": screening.id},
        "questionnaire": f"{canonical(screening.instrument_id)}|{screening.instrument_version}",
        "status": "completed" if completed else "in-progress",
        "subject": {"reference": patient_ref},
        "authored": fhir_time((screening.completed_at if completed else None) or screening.started_at),
    }
    if groups:  # nothing answered yet: no item at all (FHIR has no empty arrays)
        out["item"] = groups
    if screening.mode == "self":
        out["source"] = {"reference": patient_ref}
    return out


def _plain_text(text: Mapping[str, str], lang: str) -> dict[str, Any]:
    """`text` in one language, as a response item repeats it (nothing when it is empty)."""
    words = text.get(lang) or next((v for v in text.values() if v), "")
    return {"text": words} if words else {}


def _response_item(
    instrument: CompiledInstrument, item: Item, given: Any, value: Any, lang: str
) -> dict[str, Any] | None:
    """One shown item of a response: its answers, or why it has none; None when it is not written at all
    (hidden by show_if, or an empty text, which is no answer)."""
    if value == NOT_ASKED:
        return None  # hidden by an earlier answer: not put, so no item
    special = value if isinstance(value, str) and value in SPECIAL_ANSWERS else None
    answer = [] if special else _answer(instrument, item, value, lang)
    if not answer and special is None and not (item.type == "multiple_choice" and value == []):
        return None  # an empty text or date says nothing: as unanswered
    entry: dict[str, Any] = {"linkId": item.id, **_plain_text(item.text, lang)}
    how, origin = getattr(given, "source", "given"), getattr(given, "carried_from", None)
    extensions = [{"url": EXT_ANSWER_SOURCE, "valueCode": how}] if how != "given" else []
    if origin:
        extensions.append({"url": EXT_CARRIED_FROM, "valueIdentifier": {"system": SCREENING_SYSTEM, "value": origin}})
    if answer:
        entry["answer"] = answer
    else:  # never an empty answer: the item says why it has none
        reason = ABSENT_REASONS[special] if special else NONE_CHOSEN
        extensions.append({"url": EXT_DATA_ABSENT, "valueCode": reason})
    if extensions:
        entry["extension"] = extensions
    return entry


def patient(person_key: str) -> dict[str, Any]:
    """A pseudonymous Patient: the recipient's key of the person (`app.exports.tabular.person_key`) and
    nothing else (no name, birth date or case number)."""
    pseudonymized = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "PSEUDED"}
    return {
        "resourceType": "Patient",
        "id": person_key,
        "meta": {"security": [pseudonymized]},
        "identifier": [{"system": PSEUDONYM_SYSTEM, "value": person_key}],
    }


def identified_patient(
    patient_id: str,
    given_name: str,
    family_name: str,
    birth_date: date | None,
    case_numbers: Iterable[tuple[str, str, str]] = (),
) -> dict[str, Any]:
    """A named Patient, for a referral only: the youth's consent to the partner covers who the youth is.

    `case_numbers` are (agency id, agency name, case number): each agency's own number for the youth.
    """
    out: dict[str, Any] = {"resourceType": "Patient", "id": patient_id}
    identifiers = [
        {
            "system": f"{CASE_NUMBER_SYSTEM}:{agency_id}",
            "value": number,
            "assigner": {
                "identifier": {"system": AGENCY_SYSTEM, "value": agency_id},
                **({"display": agency_name} if agency_name else {}),
            },
        }
        for agency_id, agency_name, number in case_numbers
        if number
    ]
    if identifiers:
        out["identifier"] = identifiers
    name: dict[str, Any] = {"text": f"{given_name} {family_name}".strip()}
    if family_name:
        name["family"] = family_name
    if given_name:
        name["given"] = [given_name]
    if name["text"]:
        out["name"] = [name]
    if birth_date is not None:
        out["birthDate"] = birth_date.isoformat()
    return out


def _agency(agency_id: str, names: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "Organization", "identifier": {"system": AGENCY_SYSTEM, "value": agency_id}}
    if names.get(agency_id):
        out["display"] = names[agency_id]
    return out


def consent(row: Consent, patient_ref: str, agency_names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A release of information as a FHIR R4 Consent (its free-text authority is left out)."""
    names = agency_names or {}
    kind, display = GRANTOR_PERFORMER.get(row.grantor, (None, row.grantor))
    performer: dict[str, Any] = {"reference": patient_ref, "display": display}
    if kind is not None:
        performer = {"type": kind, "display": display}
    recipient_role = {"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}
    return {
        "resourceType": "Consent",
        "id": row.id,
        "extension": [{"url": EXT_CONSENT_METHOD, "valueCode": row.method}],
        "status": "active" if is_in_force(row) else "inactive",
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"reference": patient_ref},
        "dateTime": fhir_time(row.recorded_at),
        "performer": [performer],
        "organization": [_agency(row.from_agency_id, names)],
        "policyRule": {"text": "TellOnce release of information between agencies"},
        "provision": {
            "type": "permit",
            "period": {"start": fhir_time(row.starts_at), "end": fhir_time(row.revoked_at or row.ends_at)},
            "actor": [{"role": {"coding": [recipient_role]}, "reference": _agency(row.to_agency_id, names)}],
            "purpose": [{"system": "urn:tellonce:purpose", "code": row.purpose}],
            **(
                {"class": [{"system": "urn:tellonce:data-category", "code": c} for c in row.categories]}
                if row.categories
                else {}
            ),
        },
    }


def bundle(resources: Iterable[dict[str, Any]], base: str | None = None) -> dict[str, Any]:
    """A `collection` Bundle; each fullUrl is `<base>/<type>/<id>`, so relative references resolve in it."""
    root = (base or f"{deployment()}/fhir").rstrip("/")
    out: dict[str, Any] = {
        "resourceType": "Bundle",
        "meta": {"source": deployment()},
        "type": "collection",
        "timestamp": fhir_time(datetime.now(UTC)),
    }
    entries = [{"fullUrl": f"{root}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources]
    if entries:
        out["entry"] = entries
    return out


def ndjson(resources: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Bulk NDJSON: one resource per line (resource types mixed, in the order given)."""
    for resource in resources:
        yield json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n"


def validation_summary(exc: Any, shown: int = 10) -> str:
    """A pydantic ValidationError of a FHIR resource in a few lines: the first `shown` problems (where and
    what, never the values sent) and how many more. A file of 350,000 unknown keys answers a short report,
    not a 66 MB one."""
    errors = exc.errors(include_input=False, include_url=False)
    lines = [f"{'.'.join(str(part) for part in e['loc'])[:200]}: {str(e['msg'])[:200]}" for e in errors[:shown]]
    more = f"; and {len(errors) - shown} more" if len(errors) > shown else ""
    return f"{len(errors)} problem(s): " + "; ".join(lines) + more
