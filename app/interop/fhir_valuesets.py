"""Answer lists of a FHIR Questionnaire's choice items: `answerOption`, or an `answerValueSet` resolved
from what came in the same upload.

A published questionnaire carries its answers in one of two shapes. `answerOption` lists them on the
item (a Coding, a string, an integer or a date each), with a weight as an extension on the option or
on its Coding. `answerValueSet` names a ValueSet: `#id` for one contained in the Questionnaire, or a
canonical URL for one given beside it (a Bundle holding the Questionnaire and its ValueSets, or the
API's `valueSets` list). The ValueSet lists concepts in `compose.include.concept` or in
`expansion.contains`, or includes a whole CodeSystem (contained or given too); a concept's weight is
an extension on the ValueSet's concept or on the CodeSystem's, or a concept property whose code (or
declared uri) names a weight: `itemWeight`, `ordinal`, `weight`, ... A property is a CodeSystem concept's
`property`, an R5 `expansion.contains.property`, or its R4 form, the cross-version extension
`http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property` (sub-extensions
`code` and `value[x]`), as the SDC PHQ-9 example carries its weights. Weights are read from the
`itemWeight` extension, the older `ordinalValue` and `iso21090-CO-value`. Nothing is fetched from
outside: a ValueSet that was not given cannot be read, and the importer says so by linkId.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.interop.fhir import EXT_ITEM_WEIGHT, EXT_ORDINAL

CO_VALUE = "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value"
WEIGHT_EXTENSIONS = (EXT_ITEM_WEIGHT, EXT_ORDINAL, CO_VALUE)
WEIGHT_PROPERTIES = frozenset({"itemweight", "weight", "ordinal", "ordinalvalue", "score", "value"})
# R5's ValueSet.expansion.property / expansion.contains.property, written in R4 as cross-version extensions.
EXPANSION_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property"
CONTAINS_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property"
OPTION_VALUES = ("valueCoding", "valueString", "valueInteger", "valueDate")
MAX_DEPTH = 5  # ValueSets including ValueSets: deeper than this is a loop or not worth reading


@dataclass(frozen=True)
class Answer:
    """One answer of a choice item: its raw value or code, its label, its outside coding and weight."""

    raw: str
    label: str
    system: str | None = None
    code: str | None = None
    display: str | None = None
    weight: float | None = None
    from_display: bool = False  # a Coding with a display but no code: its code is made from the display


def weight_of(*holders: dict[str, Any] | None) -> float | None:
    """The first weight found in the extensions of `holders` (an option, its Coding, a concept)."""
    for holder in holders:
        for ext in (holder or {}).get("extension") or []:
            if ext.get("url") in WEIGHT_EXTENSIONS:
                value = ext.get("valueDecimal", ext.get("valueInteger"))
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    return float(value)
                if isinstance(value, str):
                    try:
                        return float(value)
                    except ValueError:
                        return None
    return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def weight_names(declared: list[dict[str, Any]]) -> frozenset[str]:
    """The property codes that name a weight: the usual ones, and those a resource declares (its `property`
    list, `{code, uri}`) with a uri naming one (`http://hl7.org/fhir/concept-properties#itemWeight`)."""
    names = set(WEIGHT_PROPERTIES)
    for prop in declared:
        uri = str(prop.get("uri") or "")
        if prop.get("code") and uri.rsplit("#", 1)[-1].rsplit("/", 1)[-1].lower() in WEIGHT_PROPERTIES - {"value"}:
            names.add(str(prop["code"]).lower())
    return frozenset(names)


def _declared_expansion_properties(value_set: dict[str, Any]) -> list[dict[str, Any]]:
    """A ValueSet expansion's property declarations: R5 `expansion.property`, or its R4 extension."""
    expansion = value_set.get("expansion") or {}
    declared = [p for p in expansion.get("property") or [] if isinstance(p, dict)]
    for ext in expansion.get("extension") or []:
        if ext.get("url") == EXPANSION_PROPERTY:
            parts = {e.get("url"): e for e in ext.get("extension") or []}
            declared.append(
                {"code": (parts.get("code") or {}).get("valueCode"), "uri": (parts.get("uri") or {}).get("valueUri")}
            )
    return declared


def property_weight(concept: dict[str, Any], names: frozenset[str] = WEIGHT_PROPERTIES) -> float | None:
    """A concept's weight given as a property: a CodeSystem concept's or R5 expansion entry's `property`
    (`code`, `valueDecimal`/`valueInteger`), or the R4 extension for an expansion entry's property."""
    found = [(p.get("code"), p.get("valueDecimal", p.get("valueInteger"))) for p in concept.get("property") or []]
    for ext in concept.get("extension") or []:
        if ext.get("url") == CONTAINS_PROPERTY:
            parts = {e.get("url"): e for e in ext.get("extension") or []}
            value = parts.get("value[x]") or parts.get("value") or {}
            found.append(
                ((parts.get("code") or {}).get("valueCode"), value.get("valueDecimal", value.get("valueInteger")))
            )
    for code, value in found:
        if str(code or "").lower() in names and _number(value) is not None:
            return _number(value)
    return None


class AnswerSets:
    """The ValueSets and CodeSystems an upload holds: contained in the Questionnaire, or given beside it."""

    def __init__(self, questionnaire: dict[str, Any], resources: list[dict[str, Any]]) -> None:
        self.contained: dict[str, dict[str, Any]] = {}
        self.canonical: dict[str, dict[str, Any]] = {}
        self.systems: dict[str, dict[str, Any]] = {}
        for resource in questionnaire.get("contained") or []:
            if isinstance(resource, dict) and resource.get("id"):
                self.contained[str(resource["id"])] = resource
            self._index(resource)
        for resource in resources:
            self._index(resource)

    def _index(self, resource: Any) -> None:
        if not isinstance(resource, dict) or not resource.get("url"):
            return
        url = str(resource["url"])
        if resource.get("resourceType") == "ValueSet":
            self.canonical[url] = resource
            if resource.get("version"):
                self.canonical[f"{url}|{resource['version']}"] = resource
        elif resource.get("resourceType") == "CodeSystem":
            self.systems[url] = resource

    def value_set(self, reference: str) -> dict[str, Any] | None:
        """The ValueSet `#id` or canonical (`url` or `url|version`) names, if the upload holds it."""
        if reference.startswith("#"):
            found = self.contained.get(reference[1:])
            return found if found and found.get("resourceType") == "ValueSet" else None
        return self.canonical.get(reference) or self.canonical.get(reference.split("|")[0])

    def resolve(self, reference: str) -> tuple[list[Answer], str | None]:
        """The answers of a ValueSet, or why they cannot be read."""
        value_set = self.value_set(reference)
        if value_set is None:
            where = "contained in the questionnaire" if reference.startswith("#") else "given in the upload"
            return [], f"its answer ValueSet {reference} is not {where}, so its answers cannot be read"
        answers = self._expand(value_set, 0)
        if not answers:
            return [], f"its answer ValueSet {reference} lists no concepts that could be read"
        return answers, None

    def _expand(self, value_set: dict[str, Any], depth: int) -> list[Answer]:
        if depth > MAX_DEPTH:
            return []
        contains = (value_set.get("expansion") or {}).get("contains") or []
        if contains:
            names = weight_names(_declared_expansion_properties(value_set))
            return [a for entry in contains for a in self._contains(entry, names)]
        out: list[Answer] = []
        for include in (value_set.get("compose") or {}).get("include") or []:
            system = include.get("system")
            concepts = include.get("concept") or []
            if concepts:
                out += [self._concept(system, c) for c in concepts if c.get("code")]
            elif system and system in self.systems:
                out += [self._concept(system, c) for c in self._all_concepts(self.systems[system])]
            for nested in include.get("valueSet") or []:
                found = self.value_set(str(nested))
                if found is not None:
                    out += self._expand(found, depth + 1)
        return out

    def _contains(self, entry: dict[str, Any], names: frozenset[str]) -> list[Answer]:
        usable = entry.get("code") and not entry.get("abstract")
        out = [self._concept(entry.get("system"), entry, names)] if usable else []
        for child in entry.get("contains") or []:
            out += self._contains(child, names)
        return out

    @staticmethod
    def _all_concepts(code_system: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        stack = list(reversed(code_system.get("concept") or []))
        while stack:
            concept = stack.pop()
            if concept.get("code"):
                out.append(concept)
            stack += list(reversed(concept.get("concept") or []))
        return out

    def _concept(
        self, system: str | None, concept: dict[str, Any], names: frozenset[str] = WEIGHT_PROPERTIES
    ) -> Answer:
        code = str(concept["code"])
        defined = self._defined(system, code)
        display = concept.get("display") or (defined or {}).get("display")
        weight = weight_of(concept)
        weight = property_weight(concept, names) if weight is None else weight
        weight = self.defined_weight(system, defined) if weight is None else weight
        return Answer(raw=code, label=str(display or code), system=system, code=code, display=display, weight=weight)

    def defined_weight(self, system: str | None, defined: dict[str, Any] | None) -> float | None:
        """The weight the CodeSystem gives its concept: an extension, or a property it declares as one."""
        if defined is None:
            return None
        weight = weight_of(defined)
        declared = (self.systems.get(system or "") or {}).get("property") or []
        return property_weight(defined, weight_names(declared)) if weight is None else weight

    def _defined(self, system: str | None, code: str) -> dict[str, Any] | None:
        """The concept as its CodeSystem defines it, when the upload holds that CodeSystem."""
        code_system = self.systems.get(system or "")
        if code_system is None:
            return None
        return next((c for c in self._all_concepts(code_system) if str(c.get("code")) == code), None)


def option_answer(option: dict[str, Any], sets: AnswerSets) -> Answer | None:
    """One `answerOption` as an answer (None when it holds no value TellOnce can offer)."""
    coding = option.get("valueCoding")
    if isinstance(coding, dict) and coding.get("code") is not None:
        code, system = str(coding["code"]), coding.get("system")
        defined = sets._defined(system, code)
        weight = weight_of(option, coding)
        weight = sets.defined_weight(system, defined) if weight is None else weight
        display = coding.get("display") or (defined or {}).get("display")
        return Answer(raw=code, label=str(display or code), system=system, code=code, display=display, weight=weight)
    if isinstance(coding, dict) and isinstance(coding.get("display"), str) and coding["display"].strip():
        # R4 allows a Coding of only a display: the option is its display, with no outside coding to keep.
        display = coding["display"].strip()
        return Answer(raw=display, label=display, weight=weight_of(option, coding), from_display=True)
    for key in ("valueString", "valueInteger", "valueDate"):
        value = option.get(key)
        if value is not None and not isinstance(value, (dict, list)):
            return Answer(raw=str(value), label=str(value), weight=weight_of(option))
    return None
