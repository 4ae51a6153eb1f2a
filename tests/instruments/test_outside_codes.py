"""Outside codes an instrument carries (issue 12: "keep item and answer codes with their systems
(LOINC etc.) and the source canonical URL and version, and emit them again on export").

`codes` on the instrument and its items, `coding` on an option, `code` on a total and `derived_from`
on the instrument are optional; leaving them out keeps a published version's content hash.
"""

from __future__ import annotations

import instruments
from instruments.compiled import CompiledInstrument
from instruments.model import Coding, DerivedFrom
from tests.instruments.malformed_base import BASE, edit

LOINC = "http://loinc.org"


def load(text: str) -> CompiledInstrument:
    loaded_result = instruments.load(text=text)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert problems == [], "\n".join(map(str, problems))
    assert compiled is not None
    return compiled


CODED = edit(
    (
        "default_language: en\n",
        "default_language: en\ncodes: [{system: 'http://loinc.org', code: 99999-1}]\n"
        "derived_from: {url: 'https://example.org/Questionnaire/base', version: '2.0'}\n",
    ),
    (
        "    type: yes_no\n",
        "    type: yes_no\n    codes: [{system: 'http://loinc.org', code: 99999-2, display: Safe}]\n",
    ),
    (
        "      - {code: no, label: {en: No, es: No}}\n",
        "      - {code: no, label: {en: No, es: No}, coding: {system: 'http://loinc.org', code: LA32-8}}\n",
    ),
)


def test_outside_codes_load_and_are_kept_on_the_definition() -> None:
    compiled = load(CODED)
    definition = compiled.definition
    assert definition.codes == (Coding(system=LOINC, code="99999-1"),)
    assert definition.derived_from == DerivedFrom(url="https://example.org/Questionnaire/base", version="2.0")
    assert compiled.items["felt_safe"].codes == (Coding(system=LOINC, code="99999-2", display="Safe"),)
    options = {o.code: o.coding for o in compiled.items["slept_elsewhere"].options}  # type: ignore[union-attr]
    assert options == {"yes": None, "no": Coding(system=LOINC, code="LA32-8"), "not_sure": None}


def test_codes_are_part_of_the_content_so_adding_one_needs_a_new_version() -> None:
    assert load(CODED).content_hash != load(BASE).content_hash


def test_leaving_the_new_keys_out_or_writing_their_empty_values_keeps_the_hash() -> None:
    empty = edit(
        ("default_language: en\n", "default_language: en\ncodes: []\nderived_from: null\n"),
        ("    type: yes_no\n", "    type: yes_no\n    codes: []\n"),
        (
            "      - {code: no, label: {en: No, es: No}}\n",
            "      - {code: no, label: {en: No, es: No}, coding: null}\n",
        ),
    )
    assert load(empty).content_hash == load(BASE).content_hash
