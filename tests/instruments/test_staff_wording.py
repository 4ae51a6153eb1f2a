"""Staff wording [issue 16: the staff-completed brief check-in asked in the second person]: an item's
`staff_text`/`staff_help` and a section's `staff_notice` are what the practitioner mode reads; the youth's
wording stays for the interview and self modes; wording in the wrong place is a located problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from instruments.loader import load
from instruments.model import section_notice, wording
from tests.instruments.test_screen_again import BRIEF, REGISTRY, bundled

BUNDLED = Path(__file__).parents[2] / "instruments" / "bundled"
STAFF_FIELDS = ("staff_text", "staff_help", "staff_notice")


def _without_staff_wording(data: dict) -> dict:
    for part in (*data["sections"], *data["items"]):
        for key in STAFF_FIELDS:
            part.pop(key, None)
    data.pop("version")
    return data


def test_brief_1_4_0_is_1_3_0_plus_staff_wording_and_nothing_else() -> None:
    new, old = bundled(BRIEF, "1.4.0"), bundled(BRIEF, "1.3.0")
    assert _without_staff_wording(new.definition.model_dump(mode="json")) == _without_staff_wording(
        old.definition.model_dump(mode="json")
    )
    assert REGISTRY.get(BRIEF) is new  # new screenings use it
    assert new.content_hash != old.content_hash
    assert new.definition.provenance.validated is False


def test_every_brief_question_has_third_person_staff_wording_in_both_languages() -> None:
    definition = bundled(BRIEF, "1.4.0").definition
    for item in definition.items:
        assert item.staff_text is not None and set(item.staff_text) == {"en", "es"}, item.id
        assert not re.search(r"\byou(r)?\b", item.staff_text["en"], re.IGNORECASE), item.staff_text["en"]
        assert "persona joven" in item.staff_text["es"], item.staff_text["es"]
        assert re.search(r"\byou\b", item.text["en"]), "the youth's own wording is unchanged"
    notice = definition.sections[0].staff_notice
    assert notice is not None and "skip" not in notice["en"].lower() and "saltar" not in notice["es"].lower()


def test_the_practitioner_mode_reads_staff_wording_and_the_others_the_youths() -> None:
    definition = bundled(BRIEF, "1.4.0").definition
    item, section = definition.items[0], definition.sections[0]
    assert wording(item, "practitioner") == (item.staff_text, item.staff_help)
    assert section_notice(section, "practitioner") == section.staff_notice
    for mode in ("interview", "self"):
        assert wording(item, mode) == (item.text, item.help)
        assert section_notice(section, mode) == section.notice
    older = bundled(BRIEF, "1.3.0").definition  # no staff wording: every mode reads the item's own words
    assert wording(older.items[0], "practitioner") == (older.items[0].text, older.items[0].help)
    assert section_notice(older.sections[0], "practitioner") == older.sections[0].notice


def _variant(tmp_path: Path, old: str, new: str) -> list[str]:
    source = (BUNDLED / "brief-screen-1.4.0.yaml").read_text(encoding="utf-8")
    assert old in source
    path = tmp_path / "variant.yaml"
    path.write_text(source.replace(old, new, 1), encoding="utf-8")
    loaded_result = load([path])
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is None
    return [f"{p.code} {p.line} {p.path} {p.message}" for p in problems]


def test_staff_wording_without_the_practitioner_mode_is_a_located_problem(tmp_path: Path) -> None:
    problems = _variant(tmp_path, "modes: [practitioner, interview, self]", "modes: [interview, self]")
    unused = [p for p in problems if p.startswith("staff_wording_unused")]
    assert len(unused) == 7, problems  # six questions and the section's notice
    source = (BUNDLED / "brief-screen-1.4.0.yaml").read_text(encoding="utf-8").splitlines()
    first = next(n for n, line in enumerate(source, start=1) if line == "    staff_text:")  # nowhere_to_sleep's
    # located at the wording's first line, as every mapping is
    assert f"staff_wording_unused {first + 1} items[0](nowhere_to_sleep).staff_text " in "\n".join(unused) + " ", unused
    assert all("add 'practitioner' to modes or remove" in p for p in unused)


def test_staff_help_without_staff_text_is_a_located_problem(tmp_path: Path) -> None:
    staff = """    staff_text:
      en: "Is someone stopping the young person from leaving a place, a job or a relationship?"
      es: "¿Alguien le impide a la persona joven dejar un lugar, un trabajo o una relación?"
"""
    problems = _variant(tmp_path, staff, '    staff_help: {en: "Only what you saw.", es: "Solo lo que vio."}\n')
    assert [p.split()[0] for p in problems] == ["staff_help_without_text"], problems
    assert "kept_from_leaving" in problems[0]


@pytest.mark.parametrize("language", ["es"])
def test_staff_wording_must_be_given_in_every_language(tmp_path: Path, language: str) -> None:
    old = '      es: "¿Otra persona se queda con el dinero que gana la persona joven?"\n'
    problems = _variant(tmp_path, old, "")
    assert any(p.startswith("missing_translation") and "staff_text" in p for p in problems), problems
