"""FHIR R4 export: a Questionnaire per instrument version, a QuestionnaireResponse per screening, a
pseudonymous Patient, Consent, as a Bundle or as NDJSON. Every builder returns plain JSON-ready dicts.

FHIR version: the shapes written here are FHIR R4 (4.0.1): `itemWeight` as an extension on
`answerOption`, `enableWhen` with `answerCoding`, Consent with `scope`, `category`, `policyRule`
and `provision`. The installed `fhir.resources` (8.x) ships R5 (its default), R4B and STU3 models
but no R4 package, so the tests validate against `fhir.resources.R4B` (4.3.0), the R4-compatible
line: for the five resources written here R4B has the same elements as R4.

Choices made (and what they cost):
- `yes_no` items are `choice` items with the codes `yes` and `no` (not `boolean`), so that every
  coded answer is a `valueCoding`.
- Special answers (`declined`, `not_enough_info`) are never an answer in a QuestionnaireResponse:
  the item is written without `answer` and with the `data-absent-reason` extension (`ABSENT_REASONS`:
  `asked-declined` for declined, `unknown` for not enough information), so that no reader takes
  them for a value and number, date and text items stay well typed. An item that show_if hid, or
  that was left unanswered, is not written at all. In a Questionnaire, choice items still list the
  special answers as answer options (codings of `urn:tellonce:special-answer`), so that a form
  filler can offer them; the import reads such a coding as well as the extension.
- Levels (an indicator rating's answers, and an Observation's overall and domain levels) are codes
  of `urn:tellonce:concern-level`, displayed with the words of `app.levels`; the codes are the level
  ids, `insufficient_information` ("Not enough information to conclude") among them.
- A `show_if` that is a simple comparison or membership (joined by only `or`, or only `and`)
  becomes `enableWhen` with `enableBehavior`; any other `show_if` (`!=`, mixed and/or, functions
  other than `answered`) is kept as the extension `urn:tellonce:show-if` carrying the expression
  text, which FHIR form renderers do not understand (they will show that item unconditionally).
- Texts are in the instrument's default language, with the others in the standard translation
  extension.
- The Patient is a keyed hash of the person id: no name, no birth date, no case number. The one
  exception is a referral (`app.exports.fhir_referral`), which shares who the youth is under the
  youth's consent: it writes `identified_patient`, never this one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from app import levels
from app.access import is_in_force
from app.crypto import KeyRing, get_key_ring
from app.exports.fhir_show_if import enable_when
from app.models import Screening, ScreeningStatus, Youth
from app.models_sharing import Consent
from app.screenings.forms import ANSWER_TEXTS
from app.settings import get_settings
from instruments.compiled import RATING_CODES, YES_NO_LABELS, CompiledInstrument
from instruments.model import CHOICE_TYPES, DECLINED, NOT_ASKED, NOT_ENOUGH_INFO, SPECIAL_ANSWERS, Item
from scoring import visible_only

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
# Why an item of a QuestionnaireResponse has no answer (codes of the DataAbsentReason value set).
ABSENT_REASONS = {DECLINED: "asked-declined", NOT_ENOUGH_INFO: "unknown"}
FHIR_TYPES = {"date": "date", "short_text": "string", "long_text": "text", "notice": "display"}
GRANTOR_PERFORMER = {
    "youth": (None, "Youth"),
    "parent_guardian": ("RelatedPerson", "Parent or guardian"),
    "custodial_agency": ("Organization", "Custodial agency"),
    "court": ("Organization", "Court"),
}


def canonical(instrument_id: str) -> str:
    """The canonical URL of an instrument's Questionnaire (its version goes after a `|`)."""
    return f"urn:tellonce:instrument:{instrument_id}"


def options_system(instrument_id: str) -> str:
    """The code system of an instrument's answer options (yes/no included)."""
    return f"{canonical(instrument_id)}:options"


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


def _text(name: str, text: Mapping[str, str], lang: str) -> dict[str, Any]:
    """`name` in the default language, with the other languages as translation extensions."""
    out: dict[str, Any] = {name: text.get(lang) or next(iter(text.values()))}
    others = [
        {"url": EXT_TRANSLATION, "extension": [{"url": "lang", "valueCode": k}, {"url": "content", "valueString": v}]}
        for k, v in text.items()
        if k != lang and v
    ]
    if others:
        out[f"_{name}"] = {"extension": others}
    return out


def _coding(system: str, code: str, display: Mapping[str, str] | None, lang: str) -> dict[str, Any]:
    return {"system": system, "code": code, **(_text("display", display, lang) if display else {})}


def _special(code: str, lang: str) -> dict[str, Any]:
    return _coding(SPECIAL_SYSTEM, code, ANSWER_TEXTS.get(code), lang)


def level_concept(code: str) -> dict[str, Any]:
    """A result level as a CodeableConcept of the level code system, in the words every page shows."""
    words = levels.label(code)
    return {"coding": [{"system": LEVEL_SYSTEM, "code": code, "display": words}], "text": words}


def _choices(instrument: CompiledInstrument, item: Item) -> list[tuple[str, str, Mapping[str, str], float | None]]:
    """(system, code, label, weight) of every ordinary answer of a choice item."""
    if item.type == "yes_no":
        return [(options_system(instrument.id), c, YES_NO_LABELS[c], None) for c in ("yes", "no")]
    if item.type == "indicator_rating":
        return [(LEVEL_SYSTEM, c, ANSWER_TEXTS[c], None) for c in RATING_CODES]
    return [(options_system(instrument.id), o.code, o.label, o.weight) for o in getattr(item, "options", ())]


def _answer_options(instrument: CompiledInstrument, item: Item, lang: str) -> list[dict[str, Any]]:
    options = []
    for system, code, label, weight in _choices(instrument, item):
        option: dict[str, Any] = {"valueCoding": _coding(system, code, label, lang)}
        if weight is not None:
            option["extension"] = [{"url": EXT_ITEM_WEIGHT, "valueDecimal": weight}]
        options.append(option)
    specials = ["declined"]
    if item.type == "indicator_rating" or instrument.allows_not_enough_info:
        specials.append(NOT_ENOUGH_INFO)
    return options + [{"valueCoding": _special(code, lang)} for code in specials]


def _condition_coding(instrument: CompiledInstrument, item: Item, code: str) -> dict[str, Any] | None:
    """The Coding an enableWhen compares a choice item's answer with (special answers included)."""
    if code in SPECIAL_ANSWERS:
        return {"system": SPECIAL_SYSTEM, "code": code}
    return next(({"system": s, "code": c} for s, c, _l, _w in _choices(instrument, item) if c == code), None)


def _question(instrument: CompiledInstrument, item: Item, lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": item.id, **_text("text", item.text, lang), "type": fhir_type(item)}
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
    elif item.type in ("short_text", "long_text"):
        out["maxLength"] = getattr(item, "max_length", None)
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
        groups.append(
            {
                "linkId": section_link(section.id),
                **_text("text", section.title, lang),
                "type": "group",
                "item": children,
            }
        )
    return {
        "resourceType": "Questionnaire",
        "id": f"{d.id}-{d.version}"[:64],
        "language": lang,
        "extension": [{"url": EXT_CONTENT_HASH, "valueString": instrument.content_hash}],
        "url": canonical(d.id),
        "version": d.version,
        **_text("title", d.title, lang),
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": ", ".join(d.authors),
        **_text("description", d.description, lang),
        "copyright": d.license,
        "item": groups,
    }


# ---- responses, patients, consents ----


def _answer(instrument: CompiledInstrument, item: Item, value: Any, lang: str) -> list[dict[str, Any]]:
    """An ordinary answer as FHIR answers (empty when none of it is one of the item's codes)."""
    if item.type in CHOICE_TYPES:
        labels = {c: (s, label) for s, c, label, _w in _choices(instrument, item)}
        chosen = value if isinstance(value, list) else [value]
        return [{"valueCoding": _coding(labels[c][0], c, labels[c][1], lang)} for c in chosen if c in labels]
    if item.type == "number":
        whole = getattr(item, "integer", True) and float(value).is_integer()
        return [{"valueInteger": int(value)} if whole else {"valueDecimal": value}]
    if item.type == "date":
        return [{"valueDate": value}]
    return [{"valueString": str(value)}]


def questionnaire_response(
    screening: Screening,
    answers: Mapping[str, Any],
    instrument: CompiledInstrument,
    patient_ref: str,
    source: str | None = None,
) -> dict[str, Any]:
    """A screening's answers as a QuestionnaireResponse.

    `answers` maps item ids to stored answers (with `value`, `source`, `carried_from`, as from
    `screenings.service.stored_answers`) or to plain values. Answers that show_if hides are left
    out; a special answer is an item without `answer`, with its `data-absent-reason`; a carried
    answer names the screening it was first given in. `source` (this deployment's
    address) goes in `meta.source`, so that an importing deployment can say where it came from.
    """
    lang = screening.language if screening.language in instrument.definition.languages else "en"
    stored = {k: v for k, v in answers.items() if getattr(v, "value", v) is not None}
    visible = visible_only(instrument, {k: getattr(v, "value", v) for k, v in stored.items()})
    groups = []
    for section in instrument.definition.sections:
        children = []
        for item in instrument.definition.items:
            if item.section != section.id or item.id not in visible or item.type == "notice":
                continue
            entry: dict[str, Any] = {"linkId": item.id, "text": item.text.get(lang) or next(iter(item.text.values()))}
            given = stored[item.id]
            how, origin = getattr(given, "source", "given"), getattr(given, "carried_from", None)
            extensions = [{"url": EXT_ANSWER_SOURCE, "valueCode": how}] if how != "given" else []
            if origin:
                extensions.append(
                    {"url": EXT_CARRIED_FROM, "valueIdentifier": {"system": SCREENING_SYSTEM, "value": origin}}
                )
            value = visible[item.id]
            if value == NOT_ASKED:
                continue  # hidden by an earlier answer: not put, so no item
            special = value if isinstance(value, str) and value in SPECIAL_ANSWERS else None
            answer = [] if special else _answer(instrument, item, value, lang)
            if not answer:  # never an empty answer: the item says why it has none
                reason = ABSENT_REASONS.get(special or "", "error")
                extensions.append({"url": EXT_DATA_ABSENT, "valueCode": reason})
            else:
                entry["answer"] = answer
            if extensions:
                entry["extension"] = extensions
            children.append(entry)
        if children:
            groups.append({"linkId": section_link(section.id), "item": children})
    completed = screening.status == ScreeningStatus.completed
    out: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": screening.id,
        **({"meta": {"source": source}} if source else {}),
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
        "item": groups,
    }
    if screening.mode == "self":
        out["source"] = {"reference": patient_ref}
    return out


def pseudonym(youth: Youth, keys: KeyRing | None = None) -> str:
    """A keyed hash of the person id: the same for every record of one person, meaningless elsewhere."""
    return (keys or get_key_ring()).blind_index("fhir-patient", youth.person_id)


def patient_reference(youth: Youth, keys: KeyRing | None = None) -> str:
    """A relative reference to the youth's pseudonymous Patient."""
    return f"Patient/{pseudonym(youth, keys)}"


def patient(youth: Youth, keys: KeyRing | None = None) -> dict[str, Any]:
    """A pseudonymous Patient: an opaque id and nothing else (no name, birth date or case number)."""
    value = pseudonym(youth, keys)
    pseudonymized = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "PSEUDED"}
    return {
        "resourceType": "Patient",
        "id": value,
        "meta": {"security": [pseudonymized]},
        "identifier": [{"system": PSEUDONYM_SYSTEM, "value": value}],
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
            "assigner": {"identifier": {"system": AGENCY_SYSTEM, "value": agency_id}, "display": agency_name},
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
    if agency_id in names:
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
            "class": [{"system": "urn:tellonce:data-category", "code": c} for c in row.categories],
        },
    }


def bundle(resources: Iterable[dict[str, Any]], base: str | None = None) -> dict[str, Any]:
    """A `collection` Bundle; each fullUrl is `<base>/<type>/<id>`, so relative references resolve in it."""
    root = (base or f"{get_settings().base_url.rstrip('/')}/fhir").rstrip("/")
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": fhir_time(datetime.now(UTC)),
        "entry": [{"fullUrl": f"{root}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }


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
