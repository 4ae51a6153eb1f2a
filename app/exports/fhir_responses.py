"""Importing a partner's FHIR Bundle of QuestionnaireResponses onto a youth the user's agency holds.

Each response is decoded against the instrument version its `questionnaire` canonical names
(`urn:tellonce:instrument:<id>|<version>`, or the source URL of a questionnaire imported with
`fhir_import.import_questionnaire`), checked and scored like any answers, and only then stored:
a completed screening of the importing agency, each answer with `source="imported"`, scored
and stored by `screenings.service`. Where it came from (the response's id and the partner's
`meta.source`) is written to the screening's notes and to the audit log, which also keeps the
same response from being imported twice. A response with any problem saves nothing.

A special answer comes either as an item without answer that carries the `data-absent-reason`
extension, as TellOnce writes it (`asked-declined` is declined; `unknown`, `asked-unknown` and
`temp-unknown` are not enough information; any other reason leaves the question unanswered), or,
from older TellOnce exports and form fillers, as a coding of `urn:tellonce:special-answer`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session, col, select, update

from app import access, audit
from app.crypto import KeyRing
from app.errors import InvalidInput
from app.exports import fhir
from app.exports.fhir_import import SOURCE_CITATION, ImportProblem, local_id
from app.models import Answer, AuditEvent, Screening, User, Youth, utcnow
from app.screenings import followup, service
from app.screenings.schemas import AnswersSave
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry
from instruments.model import DECLINED, NOT_ASKED, NOT_ENOUGH_INFO, SPECIAL_ANSWERS
from scoring import AnswerError, check_answers, score

IMPORT_ACTION = "screening.import"
# A data-absent-reason as a special answer; a reason not here leaves the question unanswered.
ABSENT_ANSWERS = {
    "asked-declined": DECLINED,
    "unknown": NOT_ENOUGH_INFO,
    "asked-unknown": NOT_ENOUGH_INFO,
    "temp-unknown": NOT_ENOUGH_INFO,
}


class ResponseReport(BaseModel):
    """What became of one QuestionnaireResponse of the Bundle."""

    entry: int
    reference: str
    screening_id: str | None = None
    overall_level: str | None = None
    problems: list[ImportProblem] = Field(default_factory=list)


class ImportReport(BaseModel):
    imported: list[ResponseReport] = Field(default_factory=list)
    rejected: list[ResponseReport] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)


def resolve(registry: Registry, reference: str) -> CompiledInstrument | None:
    """The loaded instrument version a response's `questionnaire` canonical names, if any."""
    url, _, version = reference.partition("|")
    prefix = fhir.canonical("")
    if url.startswith(prefix):
        return registry.get(url[len(prefix) :], version) if version else None
    wanted = {f"{SOURCE_CITATION}{reference}", f"{SOURCE_CITATION}{url}"}
    return next((c for c in registry.all() if c.definition.provenance.citation in wanted), None)


def _absent(item: dict[str, Any]) -> str | None:
    """The special answer an item without answer stands for, by its data-absent-reason (None: none)."""
    reasons = [e.get("valueCode") for e in item.get("extension") or [] if e.get("url") == fhir.EXT_DATA_ABSENT]
    return ABSENT_ANSWERS.get(str(reasons[0])) if reasons else None


def _answered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item with answers, or with a special answer as its data-absent-reason, from groups and
    from items nested under answers."""
    found = []
    for item in items:
        if item.get("answer") or (not item.get("item") and _absent(item) is not None):
            found.append(item)
        found += _answered(item.get("item") or [])
        for answer in item.get("answer") or []:
            found += _answered(answer.get("item") or [])
    return found


def _value(instrument: CompiledInstrument, item_id: str, answer: dict[str, Any]) -> tuple[Any, str | None]:
    """One FHIR answer as a TellOnce value, or a problem."""
    item = instrument.items[item_id]
    codes = instrument.codes.get(item_id)
    coding = answer.get("valueCoding")
    if coding is not None:
        code = str(coding.get("code"))
        if coding.get("system") == fhir.SPECIAL_SYSTEM:
            return (code, None) if code in SPECIAL_ANSWERS - {NOT_ASKED} else (None, f"unknown special answer {code!r}")
        if codes is not None and code in codes:
            return code, None
        if codes is not None and local_id(code, "c") in codes:
            return local_id(code, "c"), None
        return None, f"{code!r} is not one of its answers"
    raw = next((v for k, v in answer.items() if k.startswith("value")), None)
    if "valueBoolean" in answer and item.type == "yes_no":
        return ("yes" if answer["valueBoolean"] else "no"), None
    if codes is not None and raw is not None and local_id(raw, "c") in codes:
        return local_id(raw, "c"), None
    if item.type == "number" and ("valueInteger" in answer or "valueDecimal" in answer):
        return raw, None
    if item.type == "date" and "valueDate" in answer:
        return raw, None
    if item.type in ("short_text", "long_text") and "valueString" in answer:
        return raw, None
    return None, f"an answer of this kind ({', '.join(sorted(answer))}) does not fit a {item.type} item"


def answers_from_response(
    response: dict[str, Any], instrument: CompiledInstrument
) -> tuple[dict[str, Any], list[ImportProblem]]:
    """A QuestionnaireResponse's answers as item id -> value, checked against the instrument."""
    answers: dict[str, Any] = {}
    problems: list[ImportProblem] = []
    for entry in _answered(response.get("item") or []):
        link = str(entry.get("linkId"))
        if link == fhir.TOTAL_LINK:
            continue  # the declared total our exports answer: computed again on import, never an answer
        item_id = link if link in instrument.items else local_id(link)
        if item_id not in instrument.items or item_id in answers:
            problems.append(ImportProblem(link_id=link, message="no such question, or answered twice"))
            continue
        if not entry.get("answer"):
            answers[item_id] = _absent(entry)
            continue
        values = []
        for answer in entry["answer"]:
            value, problem = _value(instrument, item_id, answer)
            if problem:
                problems.append(ImportProblem(link_id=link, message=problem))
            values.append(value)
        if instrument.items[item_id].type == "multiple_choice" and not any(v in SPECIAL_ANSWERS for v in values):
            answers[item_id] = values
        elif len(values) == 1:
            answers[item_id] = values[0]
        else:
            problems.append(ImportProblem(link_id=link, message="takes one answer, but several were given"))
    if not problems:
        try:
            check_answers(instrument, answers)
        except AnswerError as exc:
            problems += [ImportProblem(link_id=p.item_id, message=p.message) for p in exc.problems]
    return answers, problems


def _reference(response: dict[str, Any], index: int) -> str:
    identifier = response.get("identifier") or {}
    value = identifier.get("value") if isinstance(identifier, dict) else None
    return str(value or response.get("id") or f"entry {index}")


def _already(db: Session, user: User, youth: Youth, reference: str, source: str | None) -> str | None:
    """The screening this response was already imported as, for this agency's youth."""
    rows = db.exec(
        select(AuditEvent.object_id, AuditEvent.detail).where(
            AuditEvent.action == IMPORT_ACTION, AuditEvent.agency_id == user.agency_id
        )
    )
    for object_id, detail in rows:
        if (detail.get("youth"), detail.get("response"), detail.get("source")) == (youth.id, reference, source):
            return object_id
    return None


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


def _check(
    db: Session, registry: Registry, user: User, youth: Youth, response: dict[str, Any], report: ResponseReport
) -> tuple[CompiledInstrument, dict[str, Any]] | None:
    """The instrument and answers of a response that can be imported; otherwise problems in the report."""
    problems = report.problems
    try:
        QuestionnaireResponse.model_validate(response)
    except ValidationError as exc:
        message = f"not a FHIR R4 QuestionnaireResponse: {fhir.validation_summary(exc)}"
        problems.append(ImportProblem(link_id=None, message=message))
        return None
    if response.get("status") != "completed":
        problems.append(ImportProblem(link_id=None, message="only completed responses are imported"))
    instrument = resolve(registry, str(response.get("questionnaire") or ""))
    if instrument is None:
        message = f"questionnaire {response.get('questionnaire')!r} is not a loaded instrument version"
        problems.append(ImportProblem(link_id=None, message=message))
        return None
    hashes = [e.get("valueString") for e in response.get("extension") or [] if e.get("url") == fhir.EXT_CONTENT_HASH]
    if hashes and hashes[0] != instrument.content_hash:
        message = "it was taken under a different text of this instrument version (its content hash differs)"
        problems.append(ImportProblem(link_id=None, message=message))
    answers, found = answers_from_response(response, instrument)
    problems += found
    if not problems:
        try:
            report.overall_level = score(instrument, answers).overall
        except AnswerError as exc:
            problems += [ImportProblem(link_id=p.item_id, message=p.message) for p in exc.problems]
    source = (response.get("meta") or {}).get("source")
    earlier = _already(db, user, youth, report.reference, source)
    if earlier is not None:
        problems.append(ImportProblem(link_id=None, message=f"already imported as screening {earlier}"))
    return None if problems else (instrument, answers)


def _save(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    user: User,
    youth: Youth,
    response: dict[str, Any],
    ref: str,
    checked: tuple[CompiledInstrument, dict[str, Any]],
) -> Screening:
    instrument, answers = checked
    authored, source = _authored(response), (response.get("meta") or {}).get("source")
    language = response.get("language")
    screening = Screening(
        youth_id=youth.id,
        agency_id=user.agency_id,
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        content_hash=instrument.content_hash,
        mode=_mode(response, instrument),
        language=language if language in instrument.definition.languages else instrument.definition.default_language,
        started_by=user.id,
        started_at=authored,
    )
    db.add(screening)
    db.flush()
    audit.record(
        db,
        IMPORT_ACTION,
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="screening",
        object_id=screening.id,
        detail={"youth": youth.id, "response": ref, "source": source},
    )
    # The partner's reference and source are theirs, of any length: the note quotes the start of each.
    origin = str(source)[:300] if source else "an unnamed source"
    note = f"Imported from FHIR QuestionnaireResponse {ref[:300]} from {origin}, authored {authored}."
    data = AnswersSave(version=screening.version, answers=answers, notes=note)
    service.store_answers(db, keys, registry, screening, data, user.id)
    db.exec(update(Answer).where(col(Answer.screening_id) == screening.id).values(source="imported"))  # type: ignore[call-overload]
    service.finish(db, keys, registry, screening, screening.version, user.id)
    screening.completed_at = authored
    followup.set_due(screening, service.instrument_of(registry, screening))  # from when it was authored, not imported
    db.add(screening)
    db.flush()
    return screening


def import_responses(
    db: Session, keys: KeyRing, registry: Registry, user: User, bundle_json: dict[str, Any], youth_id: str
) -> ImportReport:
    """Attach a Bundle's completed QuestionnaireResponses to a youth the user's agency holds."""
    youth = access.readable_youth(db, user, youth_id)
    if not isinstance(bundle_json, dict) or bundle_json.get("resourceType") != "Bundle":
        raise InvalidInput("Send a FHIR Bundle of QuestionnaireResponses.")
    report = ImportReport()
    for index, entry in enumerate(bundle_json.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(resource, dict) or kind != "QuestionnaireResponse":
            report.skipped.append(f"entry {index}: {kind or 'no resource'} (only QuestionnaireResponses are imported)")
            continue
        outcome = ResponseReport(entry=index, reference=_reference(resource, index))
        checked = _check(db, registry, user, youth, resource, outcome)
        if checked is None:
            outcome.overall_level = None
            report.rejected.append(outcome)
            continue
        screening = _save(db, keys, registry, user, youth, resource, outcome.reference, checked)
        outcome.screening_id, outcome.overall_level = screening.id, screening.overall_level
        report.imported.append(outcome)
    return report
