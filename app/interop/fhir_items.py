"""A FHIR Questionnaire's items as TellOnce items, sections and show_if conditions (see `fhir_import`).

Top-level groups become sections; a nested group becomes a notice (when it has text) and its items
follow it, each keeping the group's enableWhen joined to its own, so nothing is shown that the form
would hide. enableWhen becomes show_if; several are joined by `enableBehavior`. R4 requires
`enableBehavior` when an item has more than one enableWhen (invariant que-12); where a form leaves it
out, the STU3 meaning is used (any of them; STU3 had no enableBehavior and said to treat multiple
enableWhen as joined by "or"), which also shows the item rather than hiding it, and it is reported by
linkId. A condition that cannot be said is dropped with a report, so the item is shown more often:
never "can never be shown". An item with a calculated expression that sums answer scores (the SDC
`calculatedExpression`, as published totals carry) is not asked: it becomes the instrument's total. So
does a number item without an expression whose text or code calls it a score or total, in a form whose
answers carry weights (LHC-Forms' published GAD-7 and PHQ-9 carry their LOINC total item so): the form
computes it, so it is not asked, and its code codes the total.

Types TellOnce lacks are asked as the nearest it has, each reported by linkId: a quantity as a number
in its unit (`questionnaire-unit`, the first `unitOption`, a given `unitValueSet`, or the unit of its
SDC bounds), named after the question; a dateTime as a date; a time as short free text. An enableWhen
on them compares the quantity's number and the dateTime's date.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

# What a TellOnce export writes, read back: its special answers (declined, ...), an option's TellOnce code on an
# outside Coding (so that a re-import gives the option the same code), and the bounds of a number.
from app.interop.fhir import EXT_MAX, EXT_MIN, EXT_OPTION_CODE, SPECIAL_SYSTEM
from app.interop.fhir_valuesets import OPTION_VALUES, WEIGHT_EXTENSIONS, Answer, AnswerSets, option_answer
from instruments.model import SPECIAL_ANSWERS

OTHER_SUFFIX = "_other"  # an open choice's free-text 'other' answer: its own item, `<item id>_other`
CALCULATED = (  # an item whose value an expression computes (R4 core's cqf-expression, as the R4 PHQ-9 example has)
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
    "http://hl7.org/fhir/StructureDefinition/questionnaire-calculatedExpression",
    "http://hl7.org/fhir/StructureDefinition/cqf-expression",
)
INITIAL_EXPRESSION = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression"
HIDDEN = "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden"
UNITS = (  # the unit a number or quantity is answered in (R4 core extensions)
    "http://hl7.org/fhir/StructureDefinition/questionnaire-unit",
    "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption",
)
UNIT_VALUE_SET = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitValueSet"
QUANTITY_BOUNDS = {  # SDC's bounds of a quantity
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-minQuantity": "minimum",
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-maxQuantity": "maximum",
}
# How an item is shown, which TellOnce decides itself: not reported as changed.
PRESENTATION = re.compile(
    r"(itemControl|optionPrefix|rendering-|entryFormat|displayCategory|observationLinkPeriod|sliderStepValue|"
    r"choiceOrientation|questionnaire-unit|minOccurs|maxOccurs|variable|itemMedia|optionExclusive|"
    r"shortText|supportLink|columnWidth|preferredTerminologyServer|lookupQuestionnaire|observationExtract)"
)
FIELDS_KEPT = {"id", "linkId", "text", "type", "item", "enableWhen", "enableBehavior", "answerOption", "prefix"}
FIELDS_KEPT |= {"repeats", "maxLength", "extension", "answerValueSet", "code"}
MESSAGES = {
    "required": "'required' is not kept: TellOnce never requires an answer (every question can be skipped)",
    "_text": "translations of the text are not kept (the import is in one language)",
    "initial": "initial answers are not kept",
    "readOnly": "'readOnly' is not kept",
    "definition": "its 'definition' link is not kept",
}
NUMBER_TYPES = {"integer": True, "decimal": False}
DROPPED_TYPES = {"url", "attachment", "reference"}
# A calculated item is a total when its expression sums answers (a FHIRPath `sum()`, `weight()`, `ordinal()`,
# `aggregate()`, or `+` but in text, where it joins strings) or its text or code says score/total/sum; a BMI
# that divides `%weight` is not one.
SUM_EXPRESSION = re.compile(r"sum\(|weight\(\)|ordinal\(\)|aggregate\(|\+")
SUM_WORDS = re.compile(r"\b(score|total|sum)\b", re.IGNORECASE)


def local_id(text: Any, prefix: str = "q") -> str:
    """A FHIR linkId or code as a TellOnce id (lowercase letters, digits, `_`, starting with a letter)."""
    out = re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")
    if not out or not out[0].isalpha() or out in SPECIAL_ANSWERS:
        out = f"{prefix}_{out}".rstrip("_")
    return out[:100]


def codings(values: Any) -> list[dict[str, Any]]:
    """FHIR Codings as TellOnce `Coding`s (those without a system or code cannot be kept)."""
    out = []
    for coding in values or []:
        if isinstance(coding, dict) and coding.get("system") and coding.get("code"):
            kept = {"system": str(coding["system"]), "code": str(coding["code"])}
            if coding.get("display"):
                kept["display"] = str(coding["display"])
            out.append(kept)
    return out


def _said(node: dict[str, Any]) -> str:
    """What an item says it is: its text and its codes' displays."""
    return f"{node.get('text') or ''} {' '.join(str(c.get('display') or '') for c in node.get('code') or [])}"


def _expression(node: dict[str, Any]) -> str | None:
    for ext in node.get("extension") or []:
        url = ext.get("url")
        if url in CALCULATED or (url == INITIAL_EXPRESSION and node.get("readOnly")):
            value = ext.get("valueExpression") or {}
            return str(value.get("expression") or ext.get("valueString") or "")
    return None


class Reader:
    """One pass over a Questionnaire's items: sections, items, what was kept, changed and dropped."""

    def __init__(self, title: str, sets: AnswerSets) -> None:
        self.title = title
        self.sets = sets
        self.sections: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []
        self.kept: list[tuple[str, str, str]] = []  # linkId, item id, type
        self.changed: list[tuple[str | None, str]] = []
        self.dropped: list[tuple[str | None, str]] = []
        self.totals: list[dict[str, Any]] = []  # calculated total items, in order
        self.taken_total: str | None = None  # linkId of a score item without an expression, taken as the total
        self.scores: list[tuple[dict[str, Any], str]] = []  # number items whose text/code says score/total
        self.by_link: dict[str, dict[str, Any]] = {}
        self.conditions: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.translated: dict[int, str | None] = {}
        self.quantities: set[str] = set()  # linkIds of quantity items (asked as numbers)
        self.missing_sets: dict[str, list[str]] = {}  # answer ValueSets not in the upload -> linkIds that use them

    def change(self, link_id: str | None, message: str) -> None:
        self.changed.append((link_id, message))

    def drop(self, link_id: str | None, message: str) -> None:
        self.dropped.append((link_id, message))

    def section(self, group: dict[str, Any] | None) -> str:
        sid = local_id(group["linkId"], "s") if group else "main"
        while any(s["id"] == sid for s in self.sections):
            sid = f"{sid}_2"
        self.sections.append({"id": sid, "title": {"en": (group or {}).get("text") or self.title}})
        return sid

    def read(self, items: list[dict[str, Any]]) -> None:
        """Every item of the form, top-level groups as sections and the rest in one section of their own."""
        main: str | None = None
        for top in items:
            if top.get("type") == "group":
                self.node(top, self.section(top), None, top=True)
            else:
                main = main or self.section(None)
                self.node(top, main, None)
        self.take_total()
        for item, condition in self.conditions:
            show_if = self.show_if(condition)
            if show_if:
                item["show_if"] = show_if

    def take_total(self) -> None:
        """A form with weights but no calculated total whose number item says it is the total (or a score):
        that item is the form's total, not asked (the first saying 'total', else the first saying 'score')."""
        weighted = any((o.get("weight") or 0) > 0 for i in self.items for o in i.get("options", []))
        if self.totals or not weighted or not self.scores:
            return
        totals = [s for s in self.scores if re.search(r"\btotal\b", _said(s[0]), re.IGNORECASE)]
        node, link = (totals or self.scores)[0]
        item = self.by_link.pop(link)
        self.items.remove(item)
        self.kept = [k for k in self.kept if k[0] != link]
        self.conditions = [c for c in self.conditions if c[0] is not item]
        self.totals.append(node)
        self.taken_total = link

    def _unkept(self, node: dict[str, Any], link: str) -> None:
        for key in sorted(set(node) - FIELDS_KEPT):
            self.change(link, MESSAGES.get(key, f"'{key}' is not kept"))
        names = []
        for ext in node.get("extension") or []:
            url = str(ext.get("url"))
            if url in (EXT_MIN, EXT_MAX, HIDDEN, *CALCULATED, *QUANTITY_BOUNDS) or PRESENTATION.search(url):
                continue
            names.append(url)
        if names:
            self.change(link, f"extension(s) not kept (TellOnce cannot express them): {', '.join(names)}")

    def node(self, node: dict[str, Any], section: str, parent: dict[str, Any] | None, top: bool = False) -> None:
        link, kind = str(node.get("linkId", "")), node.get("type")
        if any(e.get("url") == HIDDEN and e.get("valueBoolean") for e in node.get("extension") or []):
            self.drop(link, "a hidden item (never shown to the person answering) is not imported")
            return
        expression = _expression(node) if kind not in ("group", "display") else None
        if expression is not None:
            self.calculated(node, link, expression)
            return
        if node.get("readOnly") and kind not in ("group", "display"):
            self.drop(link, "a read-only item (filled in by the form, never by the person answering) is not asked")
            return
        self._unkept(node, link)
        listed = node.get("answerOption") or node.get("answerValueSet")
        if kind in NUMBER_TYPES and not listed and SUM_WORDS.search(_said(node)):
            self.scores.append((node, link))
        condition: dict[str, Any] = {
            "when": node.get("enableWhen") or [],
            "behavior": node.get("enableBehavior"),
            "parent": parent,
        }
        condition["link"] = link
        if len(condition["when"]) > 1 and not condition["behavior"]:
            self.change(
                link,
                "it has several enableWhen and no enableBehavior (R4 requires one): it is shown when ANY of them "
                "holds, as STU3 forms meant; check that this is what the form means",
            )
        if kind == "group":
            if node.get("repeats"):
                self.change(link, "a repeating group cannot be expressed; its items are imported once")
            if node.get("text") and not top:
                self.add(node, section, {"type": "notice"}, condition, f"{link}-group", group=True)
            for child in node.get("item") or []:
                self.node(child, section, condition)
            return
        extra = self.kind(node, link, kind)
        if extra is None:
            return
        if node.get("repeats") and kind not in ("choice", "open-choice"):
            self.change(link, "repeated answers cannot be expressed; one answer is kept")
        other = extra.pop("other", None)
        item = self.add(node, section, extra, condition, link)
        if item is not None and other:
            self.add(
                {"text": f"{item['text']['en']}: other answer", "code": []},
                section,
                {"type": "short_text", "max_length": 500},
                condition,
                f"{link}{OTHER_SUFFIX}",
                register=False,
            )
            self.change(link, f"its free-text 'other' answer is asked as its own item '{item['id']}{OTHER_SUFFIX}'")
        for child in node.get("item") or []:
            if item is not None and child.get("type") == "display" and "help" not in item and not child.get("item"):
                item["help"] = {"en": child.get("text") or ""}
                continue
            self.change(child.get("linkId"), "an item nested under a question is imported as its own item after it")
            self.node(child, section, condition)

    def calculated(self, node: dict[str, Any], link: str, expression: str) -> None:
        """A calculated item: the instrument's total when it sums scores; never asked."""
        said = _said(node)
        sums = SUM_EXPRESSION.search(expression.replace("+", "") if node.get("type") == "string" else expression)
        if node.get("type") in ("integer", "decimal", "quantity", "string") and (sums or SUM_WORDS.search(said)):
            self.totals.append(node)
            return
        self.drop(link, f"a calculated value ({expression[:80]}) cannot be computed by TellOnce; it is not asked")

    def kind(self, node: dict[str, Any], link: str, kind: Any) -> dict[str, Any] | None:
        """The item's type and type-specific keys; None (reported as dropped) when it cannot be imported."""
        if kind == "display":
            return {"type": "notice"}
        if kind == "boolean":
            return {"type": "yes_no"}
        if kind in ("choice", "open-choice"):
            return self.choice(node, link, kind == "open-choice")
        if node.get("answerOption") or node.get("answerValueSet"):  # R5 style: an integer, date, ... with a list
            self.change(link, f"an item of type '{kind}' with a list of answers is asked as a choice of them")
            return self.choice(node, link, False)
        if kind in NUMBER_TYPES or kind == "quantity":
            extra: dict[str, Any] = {"type": "number", "integer": NUMBER_TYPES.get(kind, False)}
            extra |= self.unit(node, link, kind)
            for ext in node.get("extension") or []:
                bound = ext.get("valueInteger", ext.get("valueDecimal"))
                if ext.get("url") in (EXT_MIN, EXT_MAX) and isinstance(bound, (int, float)):
                    extra["minimum" if ext.get("url") == EXT_MIN else "maximum"] = bound
                bound = (ext.get("valueQuantity") or {}).get("value")
                if (
                    ext.get("url") in QUANTITY_BOUNDS
                    and isinstance(bound, (int, float))
                    and not isinstance(bound, bool)
                ):
                    extra[QUANTITY_BOUNDS[ext["url"]]] = bound
            if "minimum" in extra and "maximum" in extra and extra["minimum"] > extra["maximum"]:
                self.change(link, "its minimum is above its maximum; neither bound is kept")
                del extra["minimum"], extra["maximum"]
            return extra
        if kind == "date":
            return {"type": "date"}
        if kind == "dateTime":
            self.change(link, "a date and time is asked as a date: the time of day is not kept")
            return {"type": "date"}
        if kind == "time":
            self.change(link, "a time of day is asked as free text (TellOnce has no time question)")
            return {"type": "short_text", "max_length": 20}
        if kind in ("string", "text"):
            limit = node.get("maxLength")
            short = kind == "string" and (limit or 200) <= 500
            extra = {"type": "short_text" if short else "long_text"}
            if isinstance(limit, int) and limit > 0:
                extra["max_length"] = min(limit, 500 if short else 20000)
            return extra
        why = "TellOnce has no such question type" if kind in DROPPED_TYPES else "it is not a FHIR R4 item type"
        self.drop(link, f"items of type '{kind}' cannot be expressed ({why}); the item is not imported")
        return None

    def unit(self, node: dict[str, Any], link: str, kind: Any) -> dict[str, Any]:
        """The unit a number is answered in, shown after its question (`{'unit': ...}`), or nothing.

        A quantity is asked as a number in its (first) unit; its other units are not offered."""
        names: list[Any] = []
        for ext in node.get("extension") or []:
            url = ext.get("url")
            if url in UNITS:
                coding = ext.get("valueCoding") or {}
                names.append(coding.get("display") or coding.get("code"))
            elif url == UNIT_VALUE_SET and ext.get("valueCanonical"):
                names += [a.label for a in self.sets.resolve(str(ext["valueCanonical"]))[0]]
            elif url in QUANTITY_BOUNDS:  # a bound's unit names the unit when nothing else does
                quantity = ext.get("valueQuantity") or {}
                names.append(quantity.get("unit") or quantity.get("code"))
        units: list[str] = []
        for name in names:
            if name and str(name) not in units:
                units.append(str(name))
        if kind == "quantity":
            self.quantities.add(link)
            if not units:
                self.change(link, "a quantity is asked as a number (the form names no unit for it)")
            elif len(units) == 1:
                self.change(link, f"a quantity is asked as a number in {units[0]} (the unit is shown in the question)")
            else:
                others = ", ".join(units[1:])
                self.change(
                    link, f"a quantity is asked as a number in {units[0]}; its other units ({others}) are not offered"
                )
        elif len(units) > 1:
            self.change(link, f"it is asked in {units[0]}; its other units ({', '.join(units[1:])}) are not offered")
        return {"unit": units[0]} if units else {}

    def choice(self, node: dict[str, Any], link: str, open_choice: bool) -> dict[str, Any] | None:
        answers: list[Answer] = []
        if node.get("answerValueSet"):
            answers, why = self.sets.resolve(str(node["answerValueSet"]))
            if why and not open_choice:
                self.drop(link, f"{why}; give the ValueSet in the same upload (a Bundle, or valueSets in the API)")
                if self.sets.value_set(str(node["answerValueSet"])) is None:
                    self.missing_sets.setdefault(str(node["answerValueSet"]), []).append(link)
                return None
        unknown: set[str] = set()
        for option in node.get("answerOption") or []:
            coding = option.get("valueCoding") or {}
            if coding.get("system") == SPECIAL_SYSTEM:
                continue  # TellOnce's own special answers are built in
            unknown |= set(option) - {*OPTION_VALUES, "extension", "initialSelected"}
            own_code = None
            for ext in [*(option.get("extension") or []), *(coding.get("extension") or [])]:
                if ext.get("url") == EXT_OPTION_CODE and isinstance(ext.get("valueCode"), str):
                    own_code = ext["valueCode"]
                elif ext.get("url") not in WEIGHT_EXTENSIONS and not PRESENTATION.search(str(ext.get("url"))):
                    unknown.add(f"extension {ext.get('url')}")
            answer = option_answer(option, self.sets)
            if answer is None:
                self.change(link, "an answer option without a code or value is not imported")
                continue
            answers.append(dataclasses.replace(answer, raw=own_code) if own_code else answer)
        if unknown:
            self.change(link, f"not kept on its answer options: {', '.join(sorted(unknown))}")
        options: list[dict[str, Any]] = []
        for answer in answers:
            code = local_id(answer.raw, "c")
            if any(o["code"] == code for o in options):
                self.change(link, f"answer {answer.raw!r} repeats code '{code}' and is not imported")
                continue
            if answer.from_display:
                self.change(link, f"answer {answer.label!r} has no code (only a display): its code is '{code}'")
            entry: dict[str, Any] = {"code": code, "label": {"en": answer.label}}
            if answer.weight is not None:  # 2, not 2.0, in the YAML
                entry["weight"] = int(answer.weight) if answer.weight.is_integer() else answer.weight
            if answer.system and answer.code:
                entry["coding"] = {"system": answer.system, "code": answer.code}
                if answer.display:
                    entry["coding"]["display"] = answer.display
            options.append(entry)
        kind = "multiple_choice" if node.get("repeats") else "single_choice"
        if len(options) >= 2:
            return {"type": kind, "options": options, "other": open_choice}
        if open_choice:
            self.change(link, "an open-choice item without a list of answers is asked as free text")
            return {"type": "short_text", "max_length": 500}
        self.drop(link, "a choice item needs at least two answer options; the item is not imported")
        return None

    def add(
        self,
        node: dict[str, Any],
        section: str,
        extra: dict[str, Any],
        condition: dict[str, Any],
        link: str,
        group: bool = False,
        register: bool = True,
    ) -> dict[str, Any] | None:
        item_id = local_id(link)
        if any(i["id"] == item_id for i in self.items):
            self.drop(link, f"its id '{item_id}' repeats another item's; the item is not imported")
            return None
        text = " ".join(str(p) for p in (node.get("prefix"), node.get("text")) if p) or link
        kind, unit = extra.pop("type"), extra.pop("unit", None)
        named = unit and re.search(rf"(?<!\w){re.escape(unit)}(?!\w)", text, re.IGNORECASE)
        if unit and not named:  # "Weight (kg)" is not asked as "Weight (kg) (kg)"
            text = f"{text} ({unit})"
        item: dict[str, Any] = {"id": item_id, "section": section, "type": kind, "text": {"en": text}}
        codes = codings(node.get("code"))
        if codes and not group:
            item["codes"] = codes
        item.update(extra)
        self.items.append(item)
        if register:
            self.by_link[link] = item
        self.kept.append((link, item_id, kind))
        self.conditions.append((item, condition))
        return item

    def show_if(self, condition: dict[str, Any] | None) -> str | None:
        """The show_if of an enableWhen and its enclosing groups' (a condition it cannot express is dropped)."""
        if condition is None:
            return None
        if id(condition) in self.translated:
            return self.translated[id(condition)]
        inherited = self.show_if(condition["parent"])
        parts: list[str] = []
        for when in condition["when"]:
            part = self.comparison(when)
            if part is None:
                message = f"enableWhen on '{when.get('question')}' ({when.get('operator')}) cannot be expressed"
                self.change(condition["link"], f"{message}; the condition is dropped, so it is shown more often")
                parts = []
                break
            parts.append(part)
        behavior = condition["behavior"] or "any"
        joined = (" or " if behavior == "any" else " and ").join(f"({p})" for p in parts)
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
        if str(when.get("question")) in self.quantities and isinstance(value, dict):  # answerQuantity: its number
            value = value.get("value")
        if kind == "date" and isinstance(value, str):  # answerDateTime: compared by its date
            value = value[:10]
        literal: Any
        if kind == "yes_no" and isinstance(value, bool):
            literal = "yes" if value else "no"
        elif kind in ("single_choice", "multiple_choice"):
            raw = (
                (value.get("code") if value.get("code") is not None else value.get("display"))
                if isinstance(value, dict)
                else value
            )
            literal = local_id(raw, "c") if raw is not None and not isinstance(raw, bool) else None
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
