"""Importing a partner's QuestionnaireResponses (a FHIR Bundle or NDJSON) onto the youth each is about.

Each response is matched to one of the agency's youth by its own `subject` (`app.interop.fhir_subjects`),
never by the URL it was posted to: the per-youth import refuses the whole file (422, nothing saved) when any
response is about someone else or no one it knows; the agency-level import (`app.interop.fhir_bulk`) puts
each response on its own youth. Each response is decoded against the instrument version its `questionnaire`
canonical names (`find_instrument`: TellOnce's canonical, https or the older `urn:tellonce:instrument:<id>`, with
`|<version>` or, when one version of the instrument is loaded, without; or the source canonical of a
questionnaire imported with `fhir_import.import_fhir`, its `derived_from`), checked and scored like any answers,
and only then stored: a completed screening of the importing agency, each answer with `source="imported"`, scored
and stored by `screenings.service`. Where it came from (the response's id and the partner's
`meta.source`) is written to the screening's notes and to the audit log, which also keeps the
same response from being imported twice by the agency, onto any of its youth (`response_key`: its
identifier, else its id, else a hash of the whole resource; with its `meta.source`). A response with any
problem saves nothing, and each is saved in a savepoint of its own: one that fails to save leaves nothing of
itself and the file's other responses as they were.

A special answer comes either as an item without answer that carries the `data-absent-reason`
extension, as TellOnce writes it (`asked-declined` is declined; `unknown`, `asked-unknown` and
`temp-unknown` are not enough information; any other reason leaves the question unanswered), or,
from older TellOnce exports and form fillers, as a coding of `urn:tellonce:special-answer`.

A free answer to an open-choice item (a valueString, or a valueCoding that is none of its options) goes to
the short-text item `<id>_other` that the questionnaire import asks beside the choice, and the choice to its
own `other` option when it offers one; a choice with no such item still refuses an answer it does not offer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any, NamedTuple

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session, col, select, update

from app import access, audit
from app.crypto import KeyRing
from app.errors import InvalidInput, SubjectsRefused
from app.i18n import _
from app.inputs import problem
from app.interop import fhir
from app.interop.fhir_import import SOURCE_CITATION, ImportProblem, local_id
from app.interop.fhir_subjects import FileContents, Matcher, Received, read_bundle, say, subject_of
from app.models import Agency, Answer, AuditEvent, Screening, User, Youth, utcnow
from app.savepoint import savepoint
from app.screenings import followup, service
from app.screenings.schemas import AnswersSave
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry
from instruments.model import DECLINED, NOT_ASKED, NOT_ENOUGH_INFO, SPECIAL_ANSWERS
from scoring import AnswerError, check_answers, score

log = logging.getLogger(__name__)
IMPORT_ACTION = "screening.import"
# A data-absent-reason as a special answer; a reason not here leaves the question unanswered.
ABSENT_ANSWERS = {
    "asked-declined": DECLINED,
    "unknown": NOT_ENOUGH_INFO,
    "asked-unknown": NOT_ENOUGH_INFO,
    "temp-unknown": NOT_ENOUGH_INFO,
}


# The free-text item the questionnaire import (`fhir_items.Reader.node`) asks beside an open-choice item.
OTHER_SUFFIX = "_other"
HASHED = "sha256:"  # the key of a response without identifier or id: a hash of the whole resource
# Stable codes of a response's problems, for whoever reads a report (the staff page lists these apart).
ALREADY_IMPORTED = "already_imported"  # onto the same youth
IMPORTED_ELSEWHERE = "imported_onto_another_youth"
EARLIER_IN_FILE = "earlier_in_file"
NOT_SAVED = "not_saved"


class Before(NamedTuple):
    """Where a response went before: the screening it was imported as ("" when it is earlier in this file, in a
    preview), and the youth."""

    screening_id: str
    youth_id: str | None


Earlier = dict[tuple[str, str | None], Before]  # (response key, source) -> where it was imported


class ResponseReport(BaseModel):
    """What became of one QuestionnaireResponse of the file."""

    entry: int = Field(description="its index among the Bundle's entries (NDJSON: the line's, from 0)")
    line: int | None = Field(default=None, description="its NDJSON line, from 1")
    reference: str
    youth_id: str | None = Field(default=None, description="the youth its subject is")
    instrument_id: str | None = None
    instrument_version: str | None = None
    screening_id: str | None = None
    overall_level: str | None = None
    problems: list[ImportProblem] = Field(default_factory=list)


class ImportReport(BaseModel):
    imported: list[ResponseReport] = Field(default_factory=list)
    rejected: list[ResponseReport] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)


def find_instrument(registry: Registry, reference: str) -> tuple[CompiledInstrument | None, str | None]:
    """The loaded instrument version a response's `questionnaire` canonical names, or why there is none.

    Without `|version`, the one loaded version of that instrument; with several loaded, none (the message lists
    them): answers are never read against a text they were not given to.
    """
    url, _bar, version = reference.partition("|")
    candidates: list[CompiledInstrument] = []
    for prefix in dict.fromkeys([fhir.canonical(""), fhir.LEGACY_CANONICAL]):
        if prefix and url.startswith(prefix):
            candidates = [c for c in registry.all() if c.id == url[len(prefix) :]]
            candidates = [c for c in candidates if c.version == version] if version else candidates
            break
    else:
        cited = {f"{SOURCE_CITATION}{reference}", f"{SOURCE_CITATION}{url}"}
        for c in registry.all():
            source = c.definition.derived_from
            if source is not None and source.url == url:
                if not version or version in (source.version, c.version):
                    candidates.append(c)
            elif c.definition.provenance.citation in cited:
                candidates.append(c)
    if len(candidates) == 1:
        return candidates[0], None
    if not candidates:
        message = _("questionnaire {reference} is not a loaded instrument version")
        return None, say(message, reference=repr(reference[:300]))
    listed = ", ".join(f"{c.id}|{c.version}" for c in candidates)
    message = _("questionnaire {reference} names no version, and several are loaded ({versions}): add `|<version>`")
    return None, say(message, reference=repr(reference[:300]), versions=listed)


def _reason(item: dict[str, Any]) -> str | None:
    """An item's data-absent-reason code, if it has one."""
    reasons = [e.get("valueCode") for e in item.get("extension") or [] if e.get("url") == fhir.EXT_DATA_ABSENT]
    return str(reasons[0]) if reasons else None


def _absent(item: dict[str, Any]) -> str | None:
    """The special answer an item without answer stands for, by its data-absent-reason (None: none)."""
    reason = _reason(item)
    return ABSENT_ANSWERS.get(reason) if reason else None


def _answered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item with answers, or with a special answer as its data-absent-reason, from groups and
    from items nested under answers."""
    found = []
    for item in items:
        if item.get("answer") or (
            not item.get("item") and (_absent(item) is not None or _reason(item) == fhir.NONE_CHOSEN)
        ):
            found.append(item)
        found += _answered(item.get("item") or [])
        for answer in item.get("answer") or []:
            found += _answered(answer.get("item") or [])
    return found


def _same(kept: Any, coding: dict[str, Any]) -> bool:
    """Whether a FHIR Coding is an instrument's outside `Coding` (same system and code)."""
    return bool(kept.system == coding.get("system") and kept.code == str(coding.get("code")))


def _value(instrument: CompiledInstrument, item_id: str, answer: dict[str, Any]) -> tuple[Any, str | None]:
    """One FHIR answer as a TellOnce value, or a problem."""
    item = instrument.items[item_id]
    codes = instrument.codes.get(item_id)
    coding = answer.get("valueCoding")
    if coding is not None:
        code = str(coding["code"] if coding.get("code") is not None else coding.get("display"))  # R4: display only
        if coding.get("system") == fhir.SPECIAL_SYSTEM:
            unknown = say(_("unknown special answer {code}"), code=repr(code))
            return (code, None) if code in SPECIAL_ANSWERS - {NOT_ASKED} else (None, unknown)
        if codes is not None and code in codes:
            return code, None
        # An option written in its outside coding: by the TellOnce code our exports carry on it, else by the coding.
        own = [e.get("valueCode") for e in coding.get("extension") or [] if e.get("url") == fhir.EXT_OPTION_CODE]
        outside = [o.code for o in getattr(item, "options", ()) if o.coding and _same(o.coding, coding)]
        for found in (*own, *outside):
            if codes is not None and found in codes:
                return found, None
        if codes is not None and local_id(code, "c") in codes:
            return local_id(code, "c"), None
        return None, say(_("{code} is not one of its answers"), code=repr(code))
    raw = next((v for k, v in answer.items() if k.startswith("value")), None)
    if "valueBoolean" in answer and item.type == "yes_no":
        return ("yes" if answer["valueBoolean"] else "no"), None
    if codes is not None and raw is not None and local_id(raw, "c") in codes:
        return local_id(raw, "c"), None
    if item.type == "number" and ("valueInteger" in answer or "valueDecimal" in answer):
        return raw, None
    if item.type == "number" and isinstance(answer.get("valueQuantity"), dict):  # a quantity item, asked as a number
        value = answer["valueQuantity"].get("value")
        return (value, None) if isinstance(value, int | float) else (None, say(_("a quantity without a number")))
    if item.type == "date" and "valueDate" in answer:
        return raw, None
    if item.type == "date" and isinstance(answer.get("valueDateTime"), str):  # a dateTime item, asked as a date
        return answer["valueDateTime"][:10], None
    if item.type in ("short_text", "long_text") and ("valueString" in answer or "valueTime" in answer):
        return raw, None
    message = _("an answer of this kind ({kinds}) does not fit a {type} item")
    return None, say(message, kinds=", ".join(sorted(answer)), type=item.type)


def _other_of(instrument: CompiledInstrument, item_id: str) -> str | None:
    """The free-text item beside a choice imported from an open-choice item (`<id>_other`), if it has one."""
    other = instrument.items.get(f"{item_id}{OTHER_SUFFIX}")
    if instrument.items[item_id].type in ("single_choice", "multiple_choice") and other is not None:
        return other.id if other.type in ("short_text", "long_text") else None
    return None


def _free_answer(instrument: CompiledInstrument, item_id: str, answer: dict[str, Any]) -> str | None:
    """An open-choice answer that is none of the item's options, as text: a valueString, or a valueCoding of
    another code (its display, else its code). None for an answer that is one of the options, or special."""
    codes = instrument.codes.get(item_id) or frozenset()
    coding = answer.get("valueCoding")
    if coding is not None:
        code = str(coding["code"] if coding.get("code") is not None else coding.get("display"))  # R4: display only
        if coding.get("system") == fhir.SPECIAL_SYSTEM or code in codes or local_id(code, "c") in codes:
            return None
        return str(coding.get("display") or code)
    said = answer.get("valueString")
    if isinstance(said, str) and said.strip() and said not in codes and local_id(said, "c") not in codes:
        return said.strip()
    return None


def answers_from_response(
    response: dict[str, Any], instrument: CompiledInstrument
) -> tuple[dict[str, Any], list[ImportProblem]]:
    """A QuestionnaireResponse's answers as item id -> value, checked against the instrument.

    On a choice imported from an open-choice item, a free answer (a valueString, or a valueCoding that is
    none of its options) goes to its `<id>_other` item, and the choice to its `other` option when it has one.
    """
    answers: dict[str, Any] = {}
    problems: list[ImportProblem] = []
    for entry in _answered(response.get("item") or []):
        link = str(entry.get("linkId"))
        if link == fhir.TOTAL_LINK:
            continue  # the declared total our exports answer: computed again on import, never an answer
        item_id = link if link in instrument.items else local_id(link)
        if item_id not in instrument.items or item_id in answers:
            problems.append(ImportProblem(link_id=link, message=say(_("no such question, or answered twice"))))
            continue
        if not entry.get("answer"):
            if _reason(entry) != fhir.NONE_CHOSEN:
                answers[item_id] = _absent(entry)
            elif instrument.items[item_id].type == "multiple_choice":
                answers[item_id] = []  # answered, and none of its options applies
            continue  # (not-applicable on any other item: left unanswered)
        values, free = [], []
        other_id = _other_of(instrument, item_id)
        for answer in entry["answer"]:
            said = _free_answer(instrument, item_id, answer) if other_id else None
            if said is not None:
                free.append(said)
                continue
            value, problem = _value(instrument, item_id, answer)
            if problem:
                problems.append(ImportProblem(link_id=link, message=problem))  # in words already (`_value`)
            values.append(value)
        if free and other_id is not None:
            if other_id in answers:
                message = say(_("its free answer was also given on its own"))
                problems.append(ImportProblem(link_id=link, message=message))
            answers[other_id] = "; ".join(free)
            if "other" in (instrument.codes.get(item_id) or ()) and "other" not in values:
                values.append("other")
            if not values:
                continue  # only a free answer: the choice itself stays unanswered
        if instrument.items[item_id].type == "multiple_choice" and not any(v in SPECIAL_ANSWERS for v in values):
            answers[item_id] = values
        elif len(values) == 1:
            answers[item_id] = values[0]
        else:
            message = say(_("takes one answer, but several were given"))
            problems.append(ImportProblem(link_id=link, message=message))
    if not problems:
        try:
            check_answers(instrument, answers)
        except AnswerError as exc:
            problems += [ImportProblem(link_id=p.item_id, message=p.message) for p in exc.problems]
    return answers, problems


def _named(response: dict[str, Any]) -> str | None:
    """The partner's own name of a response: its identifier's value, else its id (None: neither)."""
    identifier = response.get("identifier") or {}
    value = identifier.get("value") if isinstance(identifier, dict) else None
    named = value or response.get("id")
    return str(named) if named else None


def _reference(response: dict[str, Any], index: int) -> str:
    """How a report names a response: its identifier's value, else its id, else its entry in the file."""
    return _named(response) or f"entry {index}"


def response_key(response: dict[str, Any]) -> str:
    """What tells one response from another across files: its identifier's value, else its id; without either, a
    hash of the whole resource (canonical JSON), so only an exact copy of it is the same response (never another
    id-less response that happens to be at the same place of another file)."""
    named = _named(response)
    if named is not None:
        return named
    canonical = json.dumps(response, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return HASHED + hashlib.sha256(canonical.encode("ascii")).hexdigest()


def key_of(response: dict[str, Any]) -> tuple[str, str | None]:
    """The key a response is imported once under, per agency: (`response_key`, the partner's `meta.source`)."""
    return response_key(response), source_of(response)


def earlier_imports(db: Session, agency_id: str) -> Earlier:
    """The agency's imports so far, by (response key, source), whichever youth each went onto: a response is
    imported once per agency, never again onto the same youth or onto another."""
    rows = db.exec(
        select(AuditEvent.object_id, AuditEvent.detail)
        .where(AuditEvent.action == IMPORT_ACTION, AuditEvent.agency_id == agency_id)
        .order_by(col(AuditEvent.seq))
    )
    return {(str(d.get("response")), d.get("source")): Before(str(object_id), d.get("youth")) for object_id, d in rows}


def source_of(response: dict[str, Any]) -> str | None:
    """The partner's `meta.source` of a response."""
    meta = response.get("meta")
    source = meta.get("source") if isinstance(meta, dict) else None
    return str(source) if source is not None else None


def _authored(response: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(response.get("authored")).replace("Z", "+00:00"))
    except ValueError:
        return utcnow()
    return moment if moment.tzinfo is not None and moment <= utcnow() else utcnow()


def _mode(response: dict[str, Any], instrument: CompiledInstrument) -> str:
    modes = instrument.definition.modes
    given = next((e.get("valueCode") for e in response.get("extension") or [] if e.get("url") == fhir.EXT_MODE), None)
    return given if given in modes else "interview" if "interview" in modes else modes[0]


def check(
    registry: Registry, youth_id: str, response: dict[str, Any], report: ResponseReport, earlier: Earlier
) -> tuple[CompiledInstrument, dict[str, Any]] | None:
    """The instrument and answers of a response that can be imported onto the youth; otherwise problems in the
    report. `earlier` is what the agency imported before (and, in a preview, what this file holds before it)."""
    problems = report.problems
    try:
        QuestionnaireResponse.model_validate(response)
    except ValidationError as exc:
        message = say(_("not a FHIR R4 QuestionnaireResponse: {problems}"), problems=fhir.validation_summary(exc))
        problems.append(ImportProblem(link_id=None, message=message, code="not_a_response"))
        return None
    if response.get("status") != "completed":
        message = say(_("only completed responses are imported"))
        problems.append(ImportProblem(link_id=None, message=message, code="not_completed"))
    instrument, wrong = find_instrument(registry, str(response.get("questionnaire") or ""))
    if instrument is None:
        problems.append(ImportProblem(link_id=None, message=str(wrong), code="unknown_questionnaire"))
        return None
    report.instrument_id, report.instrument_version = instrument.id, instrument.version
    hashes = [e.get("valueString") for e in response.get("extension") or [] if e.get("url") == fhir.EXT_CONTENT_HASH]
    if hashes and hashes[0] != instrument.content_hash:
        message = say(_("it was taken under a different text of this instrument version (its content hash differs)"))
        problems.append(ImportProblem(link_id=None, message=message, code="other_text"))
    answers, found = answers_from_response(response, instrument)
    problems += found
    if not problems:
        try:
            report.overall_level = score(instrument, answers).overall
        except AnswerError as exc:
            problems += [ImportProblem(link_id=p.item_id, message=p.message) for p in exc.problems]
    problems += _repeated(earlier.get(key_of(response)), youth_id)
    return None if problems else (instrument, answers)


def _repeated(before: Before | None, youth_id: str) -> list[ImportProblem]:
    """Why a response imported before (or earlier in the file) is not imported again; nothing if it was not."""
    if before is None:
        return []
    if not before.screening_id:
        message, code = say(_("the same response is earlier in this file")), EARLIER_IN_FILE
    elif before.youth_id == youth_id:
        message, code = (
            say(_("already imported as screening {screening}"), screening=before.screening_id),
            ALREADY_IMPORTED,
        )
    else:
        message = say(
            _("already imported onto another of your agency's youth, as screening {screening}"),
            screening=before.screening_id,
        )
        code = IMPORTED_ELSEWHERE
    return [ImportProblem(link_id=None, message=message, code=code)]


def save(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    user: User,
    youth: Youth,
    response: dict[str, Any],
    ref: str,
    checked: tuple[CompiledInstrument, dict[str, Any]],
) -> Screening:
    """Store one checked response as a completed screening of the agency's youth (audited)."""
    instrument, answers = checked
    authored, source = _authored(response), source_of(response)
    language = response.get("language")
    if language not in instrument.definition.languages:
        language = instrument.definition.default_language
    screening = service.add(db, user, youth.id, instrument, _mode(response, instrument), language, started_at=authored)
    audit.record(
        db,
        IMPORT_ACTION,
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="screening",
        object_id=screening.id,
        detail={"youth": youth.id, "response": response_key(response), "source": source},
    )
    # The partner's reference and source are theirs, of any length: the note quotes the start of each.
    origin = str(source)[:300] if source else "an unnamed source"
    named = ref[:300] if _named(response) else f"without id ({ref})"
    note = f"Imported from FHIR QuestionnaireResponse {named} from {origin}, authored {authored}."
    data = AnswersSave(version=screening.version, answers=answers, notes=note)
    service.store_answers(db, keys, registry, screening, data, user.id)
    db.exec(update(Answer).where(col(Answer.screening_id) == screening.id).values(source="imported"))
    service.finish(db, keys, registry, screening, screening.version, user.id)
    screening.completed_at = authored
    followup.set_due(screening, service.instrument_of(registry, screening))  # from when it was authored, not imported
    db.add(screening)
    db.flush()
    return screening


def save_one(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    user: User,
    youth: Youth,
    received: Received,
    outcome: ResponseReport,
    checked: tuple[CompiledInstrument, dict[str, Any]],
    earlier: Earlier,
) -> Screening | None:
    """Save one checked response in a savepoint of its own: when saving it fails, nothing of it is kept, the file's
    other responses stay as they are, and its report says it was not saved. Saved, `earlier` holds it."""
    try:
        with savepoint(db):
            screening = save(db, keys, registry, user, youth, received.resource, outcome.reference, checked)
    except Exception:  # any failure of this one response: the others are still imported
        log.exception("a checked QuestionnaireResponse (%s) could not be saved", received.where)
        message = say(_("it could not be saved (an error on the server), so nothing of it was saved; try again"))
        outcome.problems.append(ImportProblem(link_id=None, message=message, code=NOT_SAVED))
        outcome.overall_level = None
        return None
    earlier[key_of(received.resource)] = Before(screening.id, youth.id)
    outcome.screening_id, outcome.overall_level = screening.id, screening.overall_level
    return screening


def report_of(received: Received) -> ResponseReport:
    """An empty report of one response of the file."""
    return ResponseReport(
        entry=received.index, line=received.line, reference=_reference(received.resource, received.index)
    )


def partner_agency(db: Session, partner: str | None) -> str | None:
    """The agency that sent the file, as named by the import's `partner` (its id), checked to exist."""
    if partner is None:
        return None
    if db.get(Agency, partner) is None:
        raise InvalidInput(_("No such partner agency: `partner` is the id of the agency that sent the file."))
    return partner


def import_responses(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    user: User,
    document: dict[str, Any] | FileContents,
    youth_id: str,
    partner: str | None = None,
) -> ImportReport:
    """Import a file's completed QuestionnaireResponses about one of the agency's youth onto that youth.

    Every response must say it is about this youth (its subject, `app.interop.fhir_subjects`); when any says
    it is about someone else, or about no one the agency holds, nothing is saved and the answer is a 422 that
    names each such response. Otherwise each response is imported or rejected on its own (`save_one`).
    """
    youth = access.readable_youth(db, user, youth_id)
    found = document if isinstance(document, FileContents) else read_bundle(document)
    matcher = Matcher(db, keys, user.agency_id, partner_agency(db, partner))
    matches = matcher.match_all([subject_of(r, found) for r in found.responses])
    wrong = []
    for received, match in zip(found.responses, matches, strict=True):
        if match.youth_id == youth.id:
            continue
        ref = _reference(received.resource, received.index)[:100]
        said = match.problem or _("it is about another of your agency's youth, not this one")
        message = say(
            _("response {reference} ({where}): {problem}"), reference=repr(ref), where=received.where, problem=said
        )
        wrong.append(problem([*received.loc, "subject"], message, match.kind if match.problem else "other_youth"))
    if wrong:
        refused = _(
            "Nothing was imported: these responses are not about this youth. Each response is imported onto the "
            "youth its subject is, never onto the youth in the URL (to import a file about several youth, "
            "use POST /api/v1/fhir-import)."
        )
        raise SubjectsRefused(refused, wrong)
    report = ImportReport(skipped=found.skipped)
    earlier = earlier_imports(db, user.agency_id)
    for received in found.responses:
        outcome = report_of(received)
        outcome.youth_id = youth.id
        checked = check(registry, youth.id, received.resource, outcome, earlier)
        if checked is None:
            outcome.overall_level = None
            report.rejected.append(outcome)
            continue
        saved = save_one(db, keys, registry, user, youth, received, outcome, checked, earlier)
        (report.imported if saved is not None else report.rejected).append(outcome)
    return report
