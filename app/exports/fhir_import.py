"""FHIR import: a partner's QuestionnaireResponses onto a youth, and a FHIR R4 Questionnaire as an instrument.

Questionnaires: groups become sections (a nested group becomes a notice, and its enableWhen is
joined to its children's), items become items, answer options with `itemWeight`, `ordinalValue`
or `iso21090-CO-value` become options with weights, enableWhen becomes show_if. The scoring is a
weighted sum with thresholds the importer chooses. What the importer cannot express is reported
item by item as an `ImportProblem` (see `FIELDS_KEPT` and the messages below); nothing is dropped
silently. FHIR ids are not TellOnce ids, so linkIds and option codes are turned into
lowercase_snake ids by `local_id`, and the same function maps a response's linkIds back.

Responses are decoded against the instrument version their `questionnaire` canonical names
(`urn:tellonce:instrument:<id>|<version>`, or an imported questionnaire's source URL), checked
like any answers, scored, and stored as a completed screening of the importing agency, each answer
with `source="imported"`; where they came from is in the screening's notes and the audit log.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import BaseModel, ValidationError

from app.exports import fhir
from instruments import load_text
from instruments.model import INSTRUMENT_ID_PATTERN, SEMVER_PATTERN, SPECIAL_ANSWERS

WEIGHT_EXTENSIONS = (
    fhir.EXT_ITEM_WEIGHT,
    fhir.EXT_ORDINAL,
    "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value",
)
FIELDS_KEPT = {"id", "linkId", "text", "type", "item", "enableWhen", "enableBehavior", "answerOption", "prefix"}
FIELDS_KEPT |= {"repeats", "maxLength", "extension", "answerValueSet"}
MESSAGES = {
    "required": "'required' is not kept: TellOnce never requires an answer (every question can be skipped)",
    "_text": "translations of the text are not kept (the import is in one language)",
    "code": "the item's codes (e.g. LOINC) are not kept",
    "initial": "initial answers are not kept",
    "readOnly": "'readOnly' is not kept",
}
SOURCE_CITATION = "FHIR Questionnaire "
NUMBER_TYPES = {"integer": True, "decimal": False}


class ImportProblem(BaseModel):
    """Something of the source that was not imported, or not as it was: by linkId (None: the whole)."""

    link_id: str | None
    message: str


def local_id(text: str, prefix: str = "q") -> str:
    """A FHIR linkId or code as a TellOnce id (lowercase letters, digits, `_`, starting with a letter)."""
    out = re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")
    if not out or not out[0].isalpha() or out in SPECIAL_ANSWERS:
        out = f"{prefix}_{out}".rstrip("_")
    return out[:100]


def _weight(option: dict[str, Any]) -> float | None:
    coding = option.get("valueCoding") or {}
    for ext in [*(option.get("extension") or []), *(coding.get("extension") or [])]:
        if ext.get("url") in WEIGHT_EXTENSIONS:
            return float(ext.get("valueDecimal", ext.get("valueInteger", 0)))
    return None


class _Reader:
    """One pass over a Questionnaire's items, collecting sections, items and problems."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.sections: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []
        self.problems: list[ImportProblem] = []
        self.by_link: dict[str, dict[str, Any]] = {}
        self.conditions: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.translated: dict[int, str | None] = {}

    def problem(self, link_id: str | None, message: str) -> None:
        self.problems.append(ImportProblem(link_id=link_id, message=message))

    def section(self, group: dict[str, Any] | None) -> str:
        sid = local_id(group["linkId"], "s") if group else "main"
        while any(s["id"] == sid for s in self.sections):
            sid = f"{sid}_2"
        self.sections.append({"id": sid, "title": {"en": (group or {}).get("text") or self.title}})
        return sid

    def node(self, node: dict[str, Any], section: str, parent: dict[str, Any] | None, top: bool = False) -> None:
        link, kind = str(node.get("linkId", "")), node.get("type")
        for key in sorted(set(node) - FIELDS_KEPT):
            self.problem(link, MESSAGES.get(key, f"'{key}' is not kept"))
        for ext in node.get("extension") or []:
            if ext.get("url") not in (fhir.EXT_MIN, fhir.EXT_MAX):
                self.problem(link, f"extension {ext.get('url')} is not kept (TellOnce cannot express it)")
        condition = {"when": node.get("enableWhen") or [], "behavior": node.get("enableBehavior"), "parent": parent}
        condition["link"] = link
        if kind == "group":
            if node.get("repeats"):
                self.problem(link, "a repeating group cannot be expressed; its items are imported once")
            if node.get("text") and not top:
                self.add(node, section, {"type": "notice"}, condition, f"{link}-group")
            for child in node.get("item") or []:
                self.node(child, section, condition)
            return
        extra = self.kind(node, link, kind)
        if extra is None:
            return
        if node.get("repeats") and kind not in ("choice", "open-choice"):
            self.problem(link, "repeated answers cannot be expressed; one answer is kept")
        item = self.add(node, section, extra, condition, link)
        for child in node.get("item") or []:
            if item is not None and child.get("type") == "display" and "help" not in item and not child.get("item"):
                item["help"] = {"en": child.get("text") or ""}
                continue
            self.problem(child.get("linkId"), "an item nested under a question is imported as its own item after it")
            self.node(child, section, condition)

    def kind(self, node: dict[str, Any], link: str, kind: Any) -> dict[str, Any] | None:
        """The item's type and type-specific keys; None (with a problem) when it cannot be imported."""
        if kind == "display":
            return {"type": "notice"}
        if kind == "boolean":
            return {"type": "yes_no"}
        if kind in ("choice", "open-choice"):
            return self.choice(node, link)
        if kind in NUMBER_TYPES:
            extra: dict[str, Any] = {"type": "number", "integer": NUMBER_TYPES[kind]}
            for ext in node.get("extension") or []:
                bound = ext.get("valueInteger", ext.get("valueDecimal"))
                if ext.get("url") in (fhir.EXT_MIN, fhir.EXT_MAX) and bound is not None:
                    extra["minimum" if ext.get("url") == fhir.EXT_MIN else "maximum"] = bound
            return extra
        if kind == "date":
            return {"type": "date"}
        if kind in ("string", "text"):
            limit = node.get("maxLength")
            short = kind == "string" and (limit or 200) <= 500
            extra = {"type": "short_text" if short else "long_text"}
            if limit:
                extra["max_length"] = min(int(limit), 500 if short else 20000)
            return extra
        self.problem(link, f"items of type '{kind}' cannot be expressed; the item is not imported")
        return None

    def choice(self, node: dict[str, Any], link: str) -> dict[str, Any] | None:
        if node.get("answerValueSet"):
            self.problem(link, "answerValueSet cannot be resolved: the item is not imported")
            return None
        if node.get("type") == "open-choice":
            self.problem(link, "the free-text 'other' answer of an open-choice is not kept")
        options: list[dict[str, Any]] = []
        for option in node.get("answerOption") or []:
            coding = option.get("valueCoding")
            if coding and coding.get("system") == fhir.SPECIAL_SYSTEM:
                continue  # TellOnce's own special answers are built in
            for key in sorted(set(option) - {"valueCoding", "valueString", "valueInteger", "valueDate", "extension"}):
                self.problem(link, f"'{key}' of an answer option is not kept")
            raw = coding.get("code") if coding else option.get("valueString", option.get("valueInteger"))
            raw = option.get("valueDate") if raw is None else raw
            if raw is None:
                self.problem(link, "an answer option without a code or value is not imported")
                continue
            code = local_id(raw, "c")
            if any(o["code"] == code for o in options):
                self.problem(link, f"answer option {raw!r} repeats code '{code}' and is not imported")
                continue
            entry: dict[str, Any] = {"code": code, "label": {"en": (coding or {}).get("display") or str(raw)}}
            for ext in [*(option.get("extension") or []), *((coding or {}).get("extension") or [])]:
                if ext.get("url") not in WEIGHT_EXTENSIONS:
                    self.problem(link, f"extension {ext.get('url')} of answer option {raw!r} is not kept")
            weight = _weight(option)
            if weight is not None:
                entry["weight"] = weight
            options.append(entry)
        if len(options) < 2:
            self.problem(link, "a choice item needs at least two answer options; the item is not imported")
            return None
        return {"type": "multiple_choice" if node.get("repeats") else "single_choice", "options": options}

    def add(
        self, node: dict[str, Any], section: str, extra: dict[str, Any], condition: dict[str, Any], link: str
    ) -> dict[str, Any] | None:
        item_id = local_id(link)
        if any(i["id"] == item_id for i in self.items):
            self.problem(link, f"its id '{item_id}' repeats another item's; the item is not imported")
            return None
        text = " ".join(str(p) for p in (node.get("prefix"), node.get("text")) if p) or link
        item = {"id": item_id, "section": section, "type": extra.pop("type"), "text": {"en": text}, **extra}
        self.items.append(item)
        self.by_link[link] = item
        self.conditions.append((item, condition))
        return item

    def show_if(self, condition: dict[str, Any] | None) -> str | None:
        """The show_if of an enableWhen and its enclosing groups' (a condition it cannot express is dropped)."""
        if condition is None:
            return None
        if id(condition) in self.translated:
            return self.translated[id(condition)]
        inherited = self.show_if(condition["parent"])
        parts = []
        for when in condition["when"]:
            part = self.comparison(when)
            if part is None:
                message = f"enableWhen on '{when.get('question')}' ({when.get('operator')}) cannot be expressed"
                self.problem(condition["link"], f"{message}; the condition is dropped, so it is shown more often")
                parts = []
                break
            parts.append(part)
        joined = (" or " if condition["behavior"] == "any" else " and ").join(f"({p})" for p in parts)
        result = f"({inherited}) and ({joined})" if inherited and joined else inherited or joined or None
        self.translated[id(condition)] = result
        return result

    def comparison(self, when: dict[str, Any]) -> str | None:
        target, op = self.by_link.get(str(when.get("question"))), when.get("operator")
        if target is None or target["type"] == "notice":
            return None
        name, kind = target["id"], target["type"]
        if op == "exists":
            return f"answered({name})" if when.get("answerBoolean") else f"not answered({name})"
        value = next((v for k, v in when.items() if k.startswith("answer")), None)
        literal: Any
        if kind == "yes_no" and isinstance(value, bool):
            literal = "yes" if value else "no"
        elif kind in ("single_choice", "multiple_choice"):
            raw = value.get("code") if isinstance(value, dict) else value
            literal = local_id(raw, "c") if raw is not None else None
            if literal not in {o["code"] for o in target["options"]}:
                return None
        elif (kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            kind in ("date", "short_text", "long_text") and isinstance(value, str)
        ):
            literal = value
        else:
            return None
        if kind == "multiple_choice" and op in ("=", "!="):
            test = f"{literal!r} in {name}"
        elif op in ("=", "!=") or (op in (">", "<", ">=", "<=") and kind in ("number", "date")):
            test = f"{name} {'==' if op in ('=', '!=') else op} {literal!r}"
        else:
            return None
        return f"not {test}" if op == "!=" else test


def import_questionnaire(
    fhir_json: dict[str, Any], thresholds: dict[str, float], instrument_id: str, version: str
) -> tuple[str, list[ImportProblem]]:
    """A FHIR R4 Questionnaire as the YAML text of an instrument definition, and what could not be expressed."""
    try:
        Questionnaire.model_validate(fhir_json)
    except ValidationError as exc:
        return "", [ImportProblem(link_id=None, message=f"not a FHIR R4 Questionnaire: {fhir.validation_summary(exc)}")]
    reader = _Reader(fhir_json.get("title") or fhir_json.get("name") or instrument_id)
    if not re.match(INSTRUMENT_ID_PATTERN, instrument_id) or not re.match(SEMVER_PATTERN, version):
        reader.problem(None, "the instrument id must be lowercase-with-dashes and the version MAJOR.MINOR.PATCH")
    for key in sorted({"contained", "extension", "modifierExtension"} & set(fhir_json)):
        reader.problem(None, f"the questionnaire's '{key}' is not kept")
    main: str | None = None
    for top in fhir_json.get("item") or []:
        if top.get("type") == "group":
            reader.node(top, reader.section(top), None, top=True)
        else:
            main = main or reader.section(None)
            reader.node(top, main, None)
    for item, condition in reader.conditions:
        show_if = reader.show_if(condition)
        if show_if:
            item["show_if"] = show_if
    used = {i["section"] for i in reader.items}
    sections = [s for s in reader.sections if s["id"] in used]
    scoring, domains = _scoring(reader, thresholds)
    url, source_version = fhir_json.get("url"), fhir_json.get("version")
    source = f"{url}|{source_version}" if url and source_version else url or "(no url)"
    definition = {
        "id": instrument_id,
        "version": version,
        "title": {"en": reader.title},
        "description": {"en": fhir_json.get("description") or f"Imported from the FHIR Questionnaire {source}."},
        "authors": [fhir_json.get("publisher") or "Imported from FHIR"],
        "license": fhir_json.get("copyright") or "Unknown: see the source questionnaire",
        "provenance": {
            "validated": False,
            **({"citation": f"{SOURCE_CITATION}{source}"} if url else {}),
            "statement": {
                "en": f"Imported by TellOnce from the FHIR Questionnaire {source}. Its items and weights are the "
                "source's; the thresholds of its weighted-sum rule were chosen by whoever imported it. TellOnce "
                "has not validated it."
            },
        },
        "modes": ["self", "interview"],
        "languages": ["en"],
        "default_language": "en",
        "sections": sections,
        "domains": domains,
        "items": reader.items,
        "scoring": scoring,
    }
    text = yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=110)
    text = f"# Imported from the FHIR Questionnaire {source}. Review it before use.\n{text}"
    _compiled, load_problems = load_text(text, f"{instrument_id}-{version}.yaml")
    reader.problems += [
        ImportProblem(link_id=None, message=f"does not load: {p.path} {p.message}") for p in load_problems
    ]
    return text, reader.problems


def _scoring(reader: _Reader, thresholds: dict[str, float]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One indicator fed by every positively weighted answer; overall levels from the sum of chosen weights."""
    for key in sorted(set(thresholds) - {"possible_concern", "clear_concern"}):
        reader.problem(None, f"unknown threshold '{key}' (use possible_concern and clear_concern)")
    possible, clear = thresholds.get("possible_concern"), thresholds.get("clear_concern")
    if possible is None and clear is None:
        reader.problem(None, "give at least one threshold (possible_concern, clear_concern)")
    if possible is not None and clear is not None and clear <= possible:
        reader.problem(None, "the clear_concern threshold must be above the possible_concern threshold")
    highest = 0.0
    for item in reader.items:
        weights = [o["weight"] for o in item.get("options", []) if o.get("weight") is not None]
        chosen = [o["code"] for o in item.get("options", []) if (o.get("weight") or 0) > 0]
        if chosen:
            item["indicates"] = [{"indicator": "total.score", "level": "possible_concern", "answers": chosen}]
        highest += sum(w for w in weights if w > 0) if item["type"] == "multiple_choice" else max(weights, default=0)
    if highest <= 0:
        reader.problem(None, "no answer option carries a weight, so a weighted sum cannot be scored")
    overall = []
    for level, cut in (("clear_concern", clear), ("possible_concern", possible)):
        if cut is None:
            continue
        if cut > highest:
            reader.problem(None, f"the {level} threshold {cut} is above the highest possible sum {highest}")
        overall.append(
            {
                "level": level,
                "when": f"sum(weights) >= {cut}",
                "explain": {"en": f"The weighted sum is at least {cut}."},
            }
        )
    overall.append({"level": "no_concern", "explain": {"en": "The weighted sum is below every threshold."}})
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
    return {"domain": domain, "overall": overall}, domains


# Importing responses lives beside this module (it needs `ImportProblem` and `local_id` from here).
from app.exports.fhir_responses import ImportReport, answers_from_response, import_responses  # noqa: E402

__all__ = ["ImportProblem", "ImportReport", "answers_from_response", "import_questionnaire", "import_responses"]
