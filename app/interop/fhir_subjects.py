"""Reading a partner's file of QuestionnaireResponses, and which youth each response is about.

A file is a FHIR Bundle (of any type: collection, transaction, batch, searchset...) or NDJSON (one resource per
line, as FHIR bulk data writes it). Each QuestionnaireResponse names its person by its own `subject`: never
by the URL the file was posted to (issue 12 §2: a partner's bulk Bundle about four people was once attached
to the one youth in the URL). The subject is a reference to a Patient of the same file (`Patient/<id>`,
an absolute URL ending so, or an entry's `fullUrl` such as `urn:uuid:...`), a contained Patient (`#id`), or
an identifier alone. Its Patient id and identifiers are matched to the importing agency's youth (those it
holds a record of):

- by pseudonym: the Patient id, or an identifier of the system `urn:tellonce:pseudonym`, equal to
  `tabular.person_key(keys, X, person_id)` of one of the agency's youth, where X is the importing agency
  (files exported for it) or the partner agency that sent the file (files it exported for itself);
- by an identifier of the partner's system that the importing agency recorded for one of its youth
  (`app.records.identifiers`; another agency's records never match).

A subject that matches no youth, or more than one, or a response without a subject, is not imported.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.crypto import KeyRing
from app.errors import InvalidInput, InvalidPayload
from app.exports.tabular import person_key
from app.i18n import _
from app.inputs import checked_json, json_problems, problem
from app.interop.fhir import PSEUDONYM_SYSTEM
from app.models import User, Youth, YouthLink
from app.models_sharing import Disclosure
from app.records import identifiers

NDJSON_TYPES = ("application/fhir+ndjson", "application/x-ndjson", "application/ndjson")
RESPONSE = "QuestionnaireResponse"
# `Patient/<id>` at the end of a relative or absolute reference, before any `/_history/<version>`.
RESTFUL = re.compile(r"^(.+?)/QuestionnaireResponse/[^/]+(?:/_history/[^/]*)?$")  # a RESTful fullUrl: its base
PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")
SHOWN = 80  # characters of a partner's reference quoted in a message
SEND = _("Send a FHIR Bundle of QuestionnaireResponses, or NDJSON (one resource per line).")
NO_ONE = _("its subject {subject} names no Patient id and no identifier, so it cannot be matched to a youth")


@dataclass(frozen=True)
class Received:
    """One QuestionnaireResponse of the file, and where it was: its entry (0-based) or NDJSON line (1-based)."""

    index: int
    line: int | None
    resource: dict[str, Any]
    full_url: str | None = None  # its entry's fullUrl: the base its relative references resolve against

    @property
    def where(self) -> str:
        """Where it was in the file, in words."""
        return _where(self.index, self.line)

    @property
    def loc(self) -> list[str | int]:
        """Where it was in the file, as an error location."""
        return ["body", "line", self.line] if self.line else ["body", "entry", self.index]


def say(message: str, **values: Any) -> str:
    """A message filled in, in the language of what is being rendered now: a staff page that imports inside
    `app.i18n.rendering_in` shows its problems in the viewer's language; the API (no page) says them in English."""
    return str(message).format(**values)


def _where(index: int, line: int | None) -> str:
    return say(_("line {number}"), number=line) if line else say(_("entry {number}"), number=index)


@dataclass
class FileContents:
    """The responses of a file, the Patients they may refer to, and what was left aside."""

    responses: list[Received] = field(default_factory=list)
    patients: dict[str, dict[str, Any]] = field(default_factory=dict)  # by fullUrl
    by_id: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by `Patient/<id>`: one or several
    skipped: list[str] = field(default_factory=list)

    def patient(self, reference: str, response_url: str | None) -> tuple[dict[str, Any] | None, bool]:
        """The Patient of this file a reference names, and whether it names several. As FHIR resolves references
        in a Bundle: an absolute one by the entries' fullUrl; a relative one (`Patient/<id>`) against the server
        base of the response's own fullUrl, else by id, when only one Patient of the file has that id."""
        if reference in self.patients:
            return self.patients[reference], False
        named = PATIENT_REFERENCE.search(reference)
        if named is None or "://" in reference or reference.startswith("urn:"):
            return None, False
        relative = f"Patient/{named.group(1)}"
        base = RESTFUL.match(response_url or "")
        if base is not None and f"{base.group(1)}/{relative}" in self.patients:
            return self.patients[f"{base.group(1)}/{relative}"], False
        found = self.by_id.get(relative, [])
        return (found[0] if len(found) == 1 else None), len(found) > 1

    def add(self, index: int, line: int | None, resource: Any, full_url: Any = None) -> None:
        """Keep one resource of the file: a response to import, a Patient to refer to, or a note of what was skipped."""
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind == RESPONSE:
            self.responses.append(Received(index, line, resource, full_url if isinstance(full_url, str) else None))
            return
        if kind == "Patient":
            if isinstance(resource.get("id"), str):
                self.by_id.setdefault(f"Patient/{resource['id']}", []).append(resource)
            if isinstance(full_url, str):
                self.patients[full_url] = resource
        note = _("{where}: {kind} (only QuestionnaireResponses are imported)")
        self.skipped.append(say(note, where=_where(index, line), kind=kind or _("no resource")))


def read_bundle(document: Any) -> FileContents:
    """The QuestionnaireResponses and Patients of a FHIR Bundle of any type."""
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise InvalidInput(SEND)
    found = FileContents()
    entries = document.get("entry")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        entry = entry if isinstance(entry, dict) else {}
        found.add(index, None, entry.get("resource"), entry.get("fullUrl"))
    return found


def read_ndjson(body: bytes, max_depth: int) -> FileContents:
    """The QuestionnaireResponses and Patients of NDJSON; lines that are not one JSON object each are refused, by
    number, and then nothing is imported."""
    try:
        text = body.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError:
        invalid = problem(["body"], _("is not valid UTF-8"), "invalid_utf8")
        raise InvalidPayload(_("Some of what was sent is not valid."), [invalid]) from None
    found = FileContents()
    problems: list[dict[str, Any]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        wrong = [p | {"loc": ["body", "line", number, *p["loc"][1:]]} for p in json_problems(line, max_depth)]
        if not wrong:
            resource = json.loads(line)
            if isinstance(resource, dict):
                found.add(number - 1, number, resource)
            else:
                message = _("is not a FHIR resource (a JSON object)")
                wrong = [problem(["body", "line", number], message, "not_a_resource")]
        problems += wrong
    if problems:
        raise InvalidPayload(_("Some lines are not FHIR resources, so nothing was imported."), problems)
    return found


def read_body(body: bytes, media_type: str, max_depth: int) -> FileContents:
    """A request body as a file of responses: NDJSON by its media type, otherwise a JSON Bundle."""
    if media_type in NDJSON_TYPES:
        return read_ndjson(body, max_depth)
    if not body.strip():
        raise InvalidInput(SEND)
    return read_bundle(checked_json(body, max_depth))


@dataclass(frozen=True)
class Subject:
    """Whom a response says it is about: a Patient id and identifiers (system, value); or why it says no one."""

    label: str  # the subject as given, shortened, for messages
    patient_id: str | None = None
    identifiers: tuple[tuple[str, str], ...] = ()
    problem: str | None = None


def _short(text: str) -> str:
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _identifiers(value: Any) -> list[tuple[str, str]]:
    found = value if isinstance(value, list) else [value]
    return [
        (i["system"], i["value"])
        for i in found
        if isinstance(i, dict) and isinstance(i.get("system"), str) and isinstance(i.get("value"), str)
    ]


def subject_of(received: Received, found: FileContents) -> Subject:
    """The subject of a response, its reference resolved in the response's contained resources or in the file."""
    response = received.resource
    subject = response.get("subject")
    if not isinstance(subject, dict) or not (subject.get("reference") or subject.get("identifier")):
        return Subject("", problem=_("it has no subject, so it cannot be matched to a youth"))
    reference = subject.get("reference")
    given = _identifiers(subject.get("identifier"))
    label = _short(str(reference)) if reference else _short("|".join(given[0]) if given else "identifier")
    if subject.get("type") not in (None, "Patient"):
        return Subject(label, problem=say(_("its subject {subject} is not a Patient"), subject=label))
    if reference is None:
        return Subject(label, identifiers=tuple(given)) if given else Subject(label, problem=say(NO_ONE, subject=label))
    reference = str(reference)
    patient: Any = None
    if reference.startswith("#"):
        contained = response.get("contained")
        patient = (
            next(
                (r for r in contained if isinstance(r, dict) and r.get("id") == reference[1:]),
                None,
            )
            if isinstance(contained, list)
            else None
        )
        if patient is None:
            message = _("its subject {subject} is not among the resources it contains")
            return Subject(label, problem=say(message, subject=label))
    else:
        patient, several = found.patient(reference, received.full_url)
        if several:
            message = _("its subject {subject} could be any of several Patients of this file with that id")
            return Subject(label, problem=say(message, subject=label))
        named = PATIENT_REFERENCE.search(reference)
        if patient is None and named is not None:
            patient = {"resourceType": "Patient", "id": named.group(1)}  # a Patient not in the file: its id alone
        if patient is None:
            message = _("its subject {subject} is neither a Patient of this file nor a reference to a Patient")
            return Subject(label, problem=say(message, subject=label))
    if patient.get("resourceType") != "Patient":
        return Subject(label, problem=say(_("its subject {subject} is not a Patient"), subject=label))
    patient_id = patient.get("id") if isinstance(patient.get("id"), str) else None
    named_by = tuple(dict.fromkeys([*given, *_identifiers(patient.get("identifier"))]))
    if patient_id is None and not named_by:
        return Subject(label, problem=say(NO_ONE, subject=label))
    return Subject(label, patient_id=patient_id, identifiers=named_by)


@dataclass(frozen=True)
class Match:
    """The youth a response is about, or why there is none."""

    youth_id: str | None
    problem: str | None = None
    kind: str = "matched"  # or no_subject, unknown_subject, ambiguous_subject


def disclosed_to(db: Session, agency_id: str, partner_id: str) -> set[str]:
    """The people among the agency's youth whose records the agency disclosed to the partner (records it owns,
    or sent by one of its users), as the disclosure ledger records it."""
    senders = select(User.id).where(User.agency_id == agency_id)
    held = (
        select(Youth.person_id)
        .join(YouthLink, col(YouthLink.youth_id) == col(Youth.id))
        .where(YouthLink.agency_id == agency_id)
    )
    rows = db.exec(
        select(Disclosure.person_id)
        .where(Disclosure.viewer_agency_id == partner_id)
        .where(col(Disclosure.person_id).in_(held))
        .where(or_(col(Disclosure.owner_agency_id) == agency_id, col(Disclosure.viewer_id).in_(senders)))
        .distinct()
    )
    return set(rows)


class Matcher:
    """Matches subjects to the importing agency's youth (see the module's docstring)."""

    def __init__(self, db: Session, keys: KeyRing, agency_id: str, partner_id: str | None = None) -> None:
        self.db, self.keys, self.agency_id = db, keys, agency_id
        self.partner_id = partner_id if partner_id != agency_id else None
        self._pseudonyms: dict[str, set[str]] | None = None

    def pseudonyms(self) -> dict[str, set[str]]:
        """The pseudonyms the file may use for the agency's youth: youth ids by pseudonym.

        The agency's own pseudonym of each youth it holds; and the partner's pseudonym only of the youth whose
        records the agency disclosed to that partner (an export or a read the disclosure ledger holds), since
        the partner can have had it from nowhere else. Any other would let an agency resolve a pseudonym it
        never gave out: the join of another agency's de-identified files to named youth.
        """
        if self._pseudonyms is None:
            held = self.db.exec(
                select(YouthLink.youth_id, Youth.person_id)
                .join(Youth, col(Youth.id) == col(YouthLink.youth_id))
                .where(YouthLink.agency_id == self.agency_id)
            ).all()
            found: dict[str, set[str]] = {}
            for youth_id, person_id in held:
                found.setdefault(person_key(self.keys, self.agency_id, person_id), set()).add(youth_id)
            if self.partner_id is not None:
                told = disclosed_to(self.db, self.agency_id, self.partner_id)
                for youth_id, person_id in held:
                    if person_id in told:
                        found.setdefault(person_key(self.keys, self.partner_id, person_id), set()).add(youth_id)
            self._pseudonyms = found
        return self._pseudonyms

    def match_all(self, subjects: list[Subject]) -> list[Match]:
        """Each subject's youth (or the problem), in order; one query for the recorded identifiers of them all."""
        wanted = {i for s in subjects if s.problem is None for i in s.identifiers if i[0] != PSEUDONYM_SYSTEM}
        mapped = identifiers.youth_with(self.db, self.keys, self.agency_id, wanted)
        return [self._match(s, mapped) for s in subjects]

    def _match(self, subject: Subject, mapped: dict[tuple[str, str], str]) -> Match:
        if subject.problem is not None:
            return Match(None, subject.problem, "no_subject" if not subject.label else "unknown_subject")
        pseudonyms = {v for system, v in subject.identifiers if system == PSEUDONYM_SYSTEM}
        pseudonyms |= {subject.patient_id} if subject.patient_id else set()
        found = {y for p in pseudonyms for y in self.pseudonyms().get(p, set())}
        found |= {mapped[i] for i in subject.identifiers if i in mapped}
        if len(found) == 1:
            return Match(found.pop())
        if found:
            message = _("its subject {subject} matches {count} of your agency's youth, so it is not imported")
            return Match(None, say(message, subject=subject.label, count=len(found)), "ambiguous_subject")
        message = _("its subject {subject} is none of your agency's youth (no pseudonym or recorded identifier of one)")
        return Match(None, say(message, subject=subject.label), "unknown_subject")
