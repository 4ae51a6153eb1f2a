"""FHIR import: a FHIR R4 Questionnaire as an instrument definition to review, and (in
`fhir_responses`) a partner's QuestionnaireResponses onto a youth.

A Questionnaire comes alone, or in a Bundle with the ValueSets and CodeSystems its `answerValueSet`s
name (or, through the API, with a `valueSets` list). `import_fhir` reads it into the YAML of an
instrument and a report, each line by linkId, of what was kept, what was changed (kept, but not as it
was) and what was dropped, and whether the YAML loads; nothing is dropped silently. The items and
their conditions are read by `fhir_items`, the answer lists by `fhir_valuesets`.

Codes are kept: the item's `code` as its `codes`, an answer's Coding as its option's `coding`, the
questionnaire's `code` as the instrument's `codes`, its `url` and `version` as `derived_from`, and a
calculated total's `code` as `scoring.total.code`. FHIR ids are not TellOnce ids, so linkIds and
answer codes become lowercase_snake ids through `local_id`, and the response import maps them back
with the same function.

Scoring: a form whose answers carry weights gets their sum as its total, `scoring.total` (labelled and
coded as its calculated total item, when it has one), so a weighted form as published reports its
published total. Without thresholds that is all: the total is reported with every result and no level
is concluded from it (the overall result is `not_scored`). When the importing admin gives thresholds
(`possible_concern`, `clear_concern`: sums of weights), the overall level compares the total with them.
A form without weights is imported unscored, with no total. Either way it asks, collects, carries and
exports its answers and keeps their weights; the admin can add thresholds by importing again, or rules
by editing the YAML. The provenance always says the instrument was imported and is not validated by
TellOnce.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import yaml
from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from app import audit
from app.interop import fhir
from app.interop.fhir_items import Reader, codings, local_id
from app.interop.fhir_valuesets import AnswerSets
from app.models import User
from instruments import load
from instruments.model import INSTRUMENT_ID_PATTERN, SEMVER_PATTERN

SOURCE_CITATION = "FHIR Questionnaire "  # how versions before derived_from named their source (still resolved)
LEVEL_NAMES = ("possible_concern", "clear_concern")
ADAPTIVE = "/sdc-questionnaire-questionnaireAdaptive"  # an SDC form whose items a server sends while answering
# Top-level keys that describe the form rather than ask anything: read where useful, never reported.
DESCRIPTIVE = {
    "resourceType", "id", "meta", "text", "url", "identifier", "version", "name", "title", "status",
    "experimental", "subjectType", "date", "publisher", "contact", "description", "useContext",
    "jurisdiction", "purpose", "copyright", "approvalDate", "lastReviewDate", "effectivePeriod", "code",
    "item", "contained", "language", "implicitRules", "derivedFrom",
}  # fmt: skip


class ImportProblem(BaseModel):
    """Something of the source that was not imported, or not as it was: by linkId (None: the whole)."""

    link_id: str | None
    message: str
    code: str | None = None  # a stable code of the problem (e.g. `already_imported`), where one is given


class KeptItem(BaseModel):
    """An item of the source kept as a TellOnce item: its linkId, the item's id and type."""

    link_id: str
    item_id: str
    type: str


class MissingAnswers(BaseModel):
    """An answer list (ValueSet) the questionnaire names but the upload does not hold, and the questions
    left out for want of it: the import is incomplete until it is uploaded with the form."""

    value_set: str
    link_ids: list[str]


Threshold = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-1e9, le=1e9)]


class QuestionnaireImport(BaseModel):
    """A FHIR R4 Questionnaire (or a Bundle holding it and its ValueSets) to turn into an instrument definition.

    A form whose answers carry weights gets their sum as its total; without thresholds it concludes no level
    from it (not_scored), with them it gets the levels the thresholds give. A form without weights is unscored.
    """

    questionnaire: dict[str, Any]
    value_sets: list[dict[str, Any]] = Field(
        default_factory=list,
        alias="valueSets",
        description="ValueSets and CodeSystems its answerValueSets name, when not contained or in a Bundle",
        max_length=1000,
    )
    thresholds: dict[Annotated[str, Field(max_length=100)], Threshold] = Field(
        default_factory=dict, description="possible_concern and/or clear_concern: sums of weights"
    )
    instrument_id: str | None = Field(default=None, min_length=1, max_length=100)
    version: str | None = Field(default=None, max_length=100)

    model_config = {"populate_by_name": True}


class QuestionnaireImportReport(BaseModel):
    """The instrument definition read from a Questionnaire, what became of each item, and whether it loads."""

    yaml: str
    file_name: str
    instrument_id: str
    version: str
    scored: bool  # levels are concluded (thresholds were given)
    total: bool = False  # a total (the sum of the weights) is reported, with or without levels
    kept: list[KeptItem]
    changed: list[ImportProblem]
    dropped: list[ImportProblem]
    problems: list[ImportProblem]  # why the definition would not load; empty when it loads
    loads: bool
    missing_answers: list[MissingAnswers] = []  # non-empty: questions were left out, upload these with the form


def _questionnaire(upload: dict[str, Any], extra: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]], str]:
    """The Questionnaire of an upload, the other resources beside it, and why there is none (or '')."""
    kind = upload.get("resourceType")
    if kind == "Questionnaire":
        return upload, extra, ""
    if kind != "Bundle":
        return None, [], f"expected a FHIR Questionnaire, or a Bundle holding one, not a {kind or 'JSON object'}"
    entries = [e.get("resource") for e in upload.get("entry") or [] if isinstance(e, dict)]
    resources: list[dict[str, Any]] = [r for r in entries if isinstance(r, dict)]
    found = [r for r in resources if r.get("resourceType") == "Questionnaire"]
    if len(found) != 1:
        return None, [], f"the Bundle holds {len(found)} Questionnaires; upload one at a time"
    return found[0], [r for r in resources if r is not found[0]] + extra, ""


def _checkable(node: Any) -> Any:
    """The questionnaire as fhir.resources can check it: without the extensions of an extension's value
    (`_valueDecimal`, `_valueString`, ...: a translation or expression on a weight or a display), which
    FHIR R4 allows and published SDC forms carry, but the model rejects. Nothing else is left out."""
    if isinstance(node, list):
        return [_checkable(v) for v in node]
    if not isinstance(node, dict):
        return node
    extension = "url" in node and any(k.startswith("value") for k in node)
    return {k: _checkable(v) for k, v in node.items() if not (extension and k.startswith("_value"))}


def default_id(questionnaire: dict[str, Any]) -> str:
    """An instrument id (lowercase-with-dashes) from the questionnaire's name, else its title, else its id
    unless that is opaque (a UUID or a number, as form builders make: no one would know the instrument)."""
    resource_id = str(questionnaire.get("id") or "")
    opaque = re.fullmatch(r"[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}|[0-9-]*", resource_id)
    for source in (questionnaire.get("name"), questionnaire.get("title"), None if opaque else resource_id):
        out = re.sub(r"[^a-z0-9]+", "-", str(source or "").lower())[:60].strip("-")
        if out:
            return out if out[0].isalpha() else f"imported-{out}"
    return "imported"


def default_version(questionnaire: dict[str, Any]) -> str:
    """The questionnaire's own version when it is MAJOR.MINOR.PATCH, else 1.0.0."""
    version = str(questionnaire.get("version") or "")
    return version if re.match(SEMVER_PATTERN, version) else "1.0.0"


def import_fhir(
    upload: dict[str, Any],
    thresholds: dict[str, float] | None = None,
    instrument_id: str | None = None,
    version: str | None = None,
    value_sets: list[dict[str, Any]] | None = None,
) -> QuestionnaireImportReport:
    """A FHIR R4 Questionnaire (alone or in a Bundle) as an instrument definition, with the report."""
    questionnaire, resources, why = _questionnaire(upload, list(value_sets or []))
    instrument_id = instrument_id or (default_id(questionnaire) if questionnaire else "imported")
    version = version or (default_version(questionnaire) if questionnaire else "1.0.0")
    problems: list[ImportProblem] = []
    if questionnaire is not None:
        try:  # its contained ValueSets are read leniently (see fhir_valuesets); the rest must be valid R4
            Questionnaire.model_validate(_checkable({k: v for k, v in questionnaire.items() if k != "contained"}))
        except ValidationError as exc:
            why = f"not a valid FHIR R4 Questionnaire: {fhir.validation_summary(exc)}"
    if why:
        return _report("", instrument_id, version, None, [ImportProblem(link_id=None, message=why)])
    if not re.match(INSTRUMENT_ID_PATTERN, instrument_id) or not re.match(SEMVER_PATTERN, version):
        problems.append(
            ImportProblem(
                link_id=None,
                message="the instrument id must be lowercase-with-dashes and the version MAJOR.MINOR.PATCH",
            )
        )
    reader = Reader(
        str(questionnaire.get("title") or questionnaire.get("name") or instrument_id),
        AnswerSets(questionnaire, resources),
    )
    for key in sorted(set(questionnaire) - DESCRIPTIVE):
        reader.change(None, f"the questionnaire's '{key}' is not kept")
    reader.read(questionnaire.get("item") or [])
    used = {i["section"] for i in reader.items}
    scoring, domains = _scoring(reader, dict(thresholds or {}), problems)
    definition = _definition(questionnaire, reader, instrument_id, version, scoring, domains, used)
    text = yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=110)
    source = _source(questionnaire)
    text = f"# Imported from the FHIR Questionnaire {source}. Review it before use.\n{text}"
    if not questionnaire.get("item"):
        adaptive = any(str(e.get("url", "")).endswith(ADAPTIVE) for e in questionnaire.get("extension") or [])
        problems.append(
            ImportProblem(
                link_id=None,
                message="the questionnaire has no items to ask"
                + (
                    ": it is adaptive (a server sends its questions one at a time), which TellOnce cannot follow"
                    if adaptive
                    else ""
                ),
            )
        )
    elif not reader.items:
        problems.append(ImportProblem(link_id=None, message="no item could be imported (see what was dropped)"))
    if not problems:
        load_problems = load(text=text, name=f"{instrument_id}-{version}.yaml").problems
        problems += [ImportProblem(link_id=None, message=f"does not load: {p.path} {p.message}") for p in load_problems]
    return _report(
        text,
        instrument_id,
        version,
        reader,
        problems,
        scored=bool(scoring and "overall" in scoring),
        total=bool(scoring),
    )


def _report(
    text: str,
    instrument_id: str,
    version: str,
    reader: Reader | None,
    problems: list[ImportProblem],
    scored: bool = False,
    total: bool = False,
) -> QuestionnaireImportReport:
    def notes(found: list[tuple[str | None, str]]) -> list[ImportProblem]:
        return [ImportProblem(link_id=link, message=message) for link, message in found]

    return QuestionnaireImportReport(
        yaml=text,
        file_name=f"{instrument_id}-{version}.yaml",
        instrument_id=instrument_id,
        version=version,
        scored=scored,
        total=total,
        kept=[KeptItem(link_id=link, item_id=item, type=kind) for link, item, kind in (reader.kept if reader else [])],
        changed=notes(reader.changed if reader else []),
        dropped=notes(reader.dropped if reader else []),
        problems=problems,
        loads=bool(text) and not problems,
        missing_answers=[
            MissingAnswers(value_set=reference, link_ids=links)
            for reference, links in (reader.missing_sets.items() if reader else ())
        ],
    )


def _source(questionnaire: dict[str, Any]) -> str:
    url, version = questionnaire.get("url"), questionnaire.get("version")
    return f"{url}|{version}" if url and version else str(url or questionnaire.get("id") or "(no url)")


def _definition(
    questionnaire: dict[str, Any],
    reader: Reader,
    instrument_id: str,
    version: str,
    scoring: dict[str, Any] | None,
    domains: list[dict[str, Any]],
    used: set[str],
) -> dict[str, Any]:
    source = _source(questionnaire)
    weights = "items, answers and weights" if scoring else "items and answers"
    rules = (
        "the thresholds of its weighted sum were chosen by whoever imported it"
        if scoring and "overall" in scoring
        else "its total is the sum of the weights, and it has no thresholds, so it concludes no level"
        if scoring
        else "it has no scoring rules, so it concludes no level"
    )
    definition: dict[str, Any] = {
        "id": instrument_id,
        "version": version,
        "title": {"en": reader.title},
        "description": {"en": questionnaire.get("description") or f"Imported from the FHIR Questionnaire {source}."},
        "authors": [questionnaire.get("publisher") or "Imported from FHIR"],
        "license": questionnaire.get("copyright") or "Unknown: see the source questionnaire",
        "provenance": {
            "validated": False,
            "statement": {
                "en": f"Imported by TellOnce from the FHIR Questionnaire {source}. Its {weights} are the source's; "
                f"{rules}. TellOnce has not validated it."
            },
        },
    }
    if questionnaire.get("url"):
        derived = {"url": str(questionnaire["url"])}
        if questionnaire.get("version"):
            derived["version"] = str(questionnaire["version"])
        definition["derived_from"] = derived
    codes = codings(questionnaire.get("code"))
    if codes:
        definition["codes"] = codes
    definition |= {
        "modes": ["self", "interview"],
        "languages": ["en"],
        "default_language": "en",
        "sections": [s for s in reader.sections if s["id"] in used],
    }
    if domains:
        definition["domains"] = domains
    definition["items"] = reader.items
    if scoring is not None:
        definition["scoring"] = scoring
    return definition


def _scoring(
    reader: Reader, thresholds: dict[str, float], problems: list[ImportProblem]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The weighted sum as the total, with rules comparing it with the thresholds when there are any; None
    (unscored) when no answer carries a weight."""
    for key in sorted(set(thresholds) - set(LEVEL_NAMES)):
        problems.append(
            ImportProblem(link_id=None, message=f"unknown threshold '{key}' (use {' or '.join(LEVEL_NAMES)})")
        )
    possible, clear = thresholds.get("possible_concern"), thresholds.get("clear_concern")
    if possible is not None and clear is not None and clear <= possible:
        problems.append(
            ImportProblem(
                link_id=None, message="the clear_concern threshold must be above the possible_concern threshold"
            )
        )
    highest = 0.0
    for item in reader.items:
        weights = [o["weight"] for o in item.get("options", []) if o.get("weight") is not None]
        highest += sum(w for w in weights if w > 0) if item["type"] == "multiple_choice" else max(weights, default=0)
    total_node = reader.totals[0] if reader.totals else None
    for extra in reader.totals[1:]:
        reader.drop(str(extra.get("linkId")), "only one calculated total is kept (the first); this one is not asked")
    if highest <= 0:
        if total_node is not None:
            reader.drop(str(total_node.get("linkId")), "a calculated total, but no answer carries a weight to sum")
        if possible is not None or clear is not None:
            problems.append(
                ImportProblem(
                    link_id=None, message="thresholds were given, but no answer option carries a weight to sum"
                )
            )
        return None, []
    levels = possible is not None or clear is not None
    unlevelled = "; no thresholds were given, so no level is concluded from it"
    total: dict[str, Any] = {"of": "sum(weights)", "label": {"en": "Weighted sum of the answers"}}
    if total_node is not None:
        link = str(total_node.get("linkId"))
        total["label"] = {"en": str(total_node.get("text") or link)}
        code = codings(total_node.get("code"))
        if code:
            total["code"] = code[0]
        said = (
            "taken as the form's total: its text/code says it is a score; computed from the answers' weights, not asked"
            if link == reader.taken_total
            else "a calculated total: it is not asked, it is the instrument's total (the sum of the weights)"
        )
        reader.change(link, said if levels else said + unlevelled)
    elif not levels:
        reader.change(None, "the answers carry weights: their sum is the instrument's total" + unlevelled)
    if not levels:
        return {"total": total}, []
    overall = []
    for level, cut in (("clear_concern", clear), ("possible_concern", possible)):
        if cut is None:
            continue
        if cut > highest:
            problems.append(
                ImportProblem(
                    link_id=None, message=f"the {level} threshold {cut} is above the highest possible sum {highest}"
                )
            )
        overall.append(
            {"level": level, "when": f"total() >= {cut}", "explain": {"en": f"The weighted sum is at least {cut}."}}
        )
    overall.append({"level": "no_concern", "explain": {"en": "The weighted sum is below every threshold."}})
    for item in reader.items:
        chosen = [o["code"] for o in item.get("options", []) if (o.get("weight") or 0) > 0]
        if chosen:
            item["indicates"] = [{"indicator": "total.score", "level": "possible_concern", "answers": chosen}]
    indicator = {"id": "total.score", "text": {"en": "At least one answer with a positive weight was chosen"}}
    domain = [
        {
            "level": "possible_concern",
            "when": "any(indicators, level='possible_concern')",
            "explain": {"en": "At least one answer with a positive weight was chosen."},
        },
        {"level": "no_concern", "explain": {"en": "No answer with a positive weight was chosen."}},
    ]
    domains = [{"id": "total", "title": {"en": "Weighted answers"}, "indicators": [indicator]}]
    return {"total": total, "domain": domain, "overall": overall}, domains


# `local_id` is the response import's too (`fhir_responses` maps linkIds and answer codes back with it).
def import_questionnaire(
    db: Session, user: User, data: QuestionnaireImport, *, page: bool = False
) -> QuestionnaireImportReport:
    """A Questionnaire imported for review (installing nothing), and the import audited: the one import the API
    and the admin page both make (`page` marks the page's in the audit)."""
    report = import_fhir(data.questionnaire, data.thresholds, data.instrument_id, data.version, data.value_sets)
    detail: dict[str, Any] = {"version": report.version, "loads": report.loads, "problems": len(report.problems)}
    audit.record(
        db,
        "instrument.import_fhir",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="instrument",
        object_id=report.instrument_id,
        detail=detail | ({"page": True} if page else {}),
    )
    return report


__all__ = [
    "SOURCE_CITATION",
    "ImportProblem",
    "QuestionnaireImport",
    "QuestionnaireImportReport",
    "import_fhir",
    "import_questionnaire",
    "local_id",
]
