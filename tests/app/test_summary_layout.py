"""The referral summary's PDF keeps every answer on the page, names the youth as the consent allows, and reads
as a referral [issue 11, part 2; DESIGN §8 "a readable referral summary", "an identified summary (as the
consent allows)"].

Each bundled instrument (its newest version) and a probe with very long questions and answers is completed
with an answer to every question, read by its own agency in English and in Spanish, and printed once. The
PDF's characters (read back with pdfminer.six) must all lie inside the printable area declared in
exports/print.html, apart from the running header and footer in the page margins; every answer must be
there, whole; the confidentiality line heads each page exactly once and appears nowhere else.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest
import yaml
from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTChar, LTTextLine
from sqlmodel import select

from app import access, i18n
from app.exports import summary
from app.i18n import rendering_in
from app.models import Screening, User, utcnow
from app.models_sharing import Category
from app.records import service as records
from app.records.schemas import YouthCreate
from app.referrals.facts import Identity, ReferralFacts
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, ScreeningCreate
from app.templating import TEMPLATES_DIR
from instruments.compiled import RATING_CODES, CompiledInstrument
from instruments.loader import BUNDLED_DIR, Registry, load
from scoring import shown_items
from tests.app.conftest import World
from tests.app.exports_support import Scene, make_scene
from tests.support.bundled import bundled_registry

PROBE = "layout-probe"
# A free-text answer of 300 characters with no space to break at (a pasted link, a phone number run together).
UNBROKEN = "".join(f"{n:03d}ZQ" for n in range(60))
SHORT_UNBROKEN = UNBROKEN[:190]
LONG_WORDS = {
    "en": "Whether anyone who arranged your travel, housing, work or online contacts (for example through "
    "https://chat.example.org/rooms/a-very-long-invitation-link-that-never-breaks-on-its-own) ever kept "
    "your identity documents, your telephone, your earnings or your belongings, or told you that you owed "
    "them money for the trip, the room, the food, the clothes or anything else they gave you",
    "es": "Si alguna persona que organizó tu viaje, tu vivienda, tu trabajo o tus contactos en línea (por "
    "ejemplo a través de https://chat.example.org/salas/un-enlace-de-invitacion-muy-largo-que-nunca-se-corta) "
    "alguna vez se quedó con tus documentos de identidad, tu teléfono, tus ganancias o tus pertenencias, o te "
    "dijo que le debías dinero por el viaje, la habitación, la comida, la ropa o cualquier otra cosa",
}


def _both(en: str, es: str | None = None) -> dict[str, str]:
    return {"en": en, "es": es or en}


def _probe_yaml() -> str:
    """An instrument whose questions and answer labels are as long as a real one's can get, in two languages."""
    option = _both(
        "Yes, and it happened more than once, over several months, with different people each time",
        "Sí, y pasó más de una vez, durante varios meses, con personas diferentes cada vez",
    )
    definition: dict[str, Any] = {
        "id": PROBE,
        "version": "1.0.0",
        "title": _both("Layout probe", "Sonda de diseño"),
        "description": _both("Long questions and long answers, for the summary layout tests"),
        "authors": ["TellOnce tests"],
        "license": "CC-BY-4.0",
        "provenance": {"validated": False, "statement": _both("Written for tests", "Escrito para pruebas")},
        "modes": ["self", "interview", "practitioner"],
        "languages": ["en", "es"],
        "default_language": "en",
        "sections": [
            {"id": "long", "title": _both("Long questions and answers", "Preguntas y respuestas largas")},
            {"id": "words", "title": _both("In their own words", "Con sus propias palabras")},
        ],
        "domains": [
            {
                "id": "control",
                "title": _both("Control", "Control"),
                "indicators": [{"id": "control.kept", "text": _both("Documents or money kept", "Documentos")}],
            }
        ],
        "items": [
            {
                "id": "kept_things",
                "section": "long",
                "type": "single_choice",
                "text": LONG_WORDS,
                "options": [{"code": "often", "label": option}, {"code": "never", "label": _both("No", "No")}],
                "indicates": [{"indicator": "control.kept", "level": "clear_concern", "answers": ["often"]}],
            },
            {
                "id": "which_things",
                "section": "long",
                "type": "multiple_choice",
                "text": _both(
                    "Which of these did someone keep from you, even for a short time, even if they said it was "
                    "to keep it safe for you? Choose every one that is true.",
                    "¿Cuáles de estas cosas te quitó alguien, aunque fuera por poco tiempo, aunque dijera que era "
                    "para guardártelas? Elige todas las que sean ciertas.",
                ),
                "options": [
                    {"code": f"thing_{n}", "label": _both(f"{en} (longer than a week)", f"{es} (más de una semana)")}
                    for n, (en, es) in enumerate(
                        [
                            ("Identity documents or passport", "Documentos de identidad o pasaporte"),
                            ("Telephone or tablet", "Teléfono o tableta"),
                            ("Money I earned", "Dinero que gané"),
                            ("Clothes and belongings", "Ropa y pertenencias"),
                        ]
                    )
                ],
            },
            {
                "id": "who_kept",
                "section": "words",
                "type": "short_text",
                "text": _both(LONG_WORDS["en"][:160] + "? Who?", LONG_WORDS["es"][:160] + "? ¿Quién?"),
            },
            {
                "id": "what_happened",
                "section": "words",
                "type": "long_text",
                "max_length": 2000,
                "text": _both(
                    "In your own words, and only if you want to: what happened, where, and is there anything "
                    "you would like the next person who helps you to know before they meet you?",
                    "Con tus propias palabras, y solo si quieres: ¿qué pasó, dónde, y hay algo que te gustaría "
                    "que supiera la próxima persona que te ayude antes de conocerte?",
                ),
            },
            {"id": "safe_now", "section": "words", "type": "yes_no", "text": _both("Safe now?", "¿Segura/o ahora?")},
        ],
        "scoring": {
            "domain": [
                {"level": "clear_concern", "when": "any(indicators, level='clear_concern')", "explain": _both("Kept.")},
                {"level": "no_concern", "explain": _both("Nothing.")},
            ],
            "overall": [
                {"level": "clear_concern", "when": "any(indicators, level='clear_concern')", "explain": _both("Kept.")},
                {"level": "no_concern", "explain": _both("Nothing.")},
            ],
        },
    }
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False, width=10_000)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    folder = tmp_path_factory.mktemp("layout-probe")
    (folder / "layout-probe.yaml").write_text(_probe_yaml(), encoding="utf-8")
    loaded_result = load([BUNDLED_DIR, folder])
    loaded, problems = loaded_result.registry, loaded_result.problems
    assert not problems, problems
    return loaded


def _answers(instrument: CompiledInstrument) -> dict[str, Any]:
    """An answer to every question: 'yes' where there is one (it opens the follow-up questions), every choice of
    a multiple choice, ratings in turn, and free text that runs long without a space."""
    answers: dict[str, Any] = {}
    for n, item in enumerate(instrument.definition.items):
        codes = [o.code for o in getattr(item, "options", ())]
        if item.type == "yes_no":
            answers[item.id] = "yes"
        elif item.type == "single_choice":
            answers[item.id] = "yes" if "yes" in codes else codes[0]
        elif item.type == "multiple_choice":
            answers[item.id] = codes
        elif item.type == "indicator_rating":
            answers[item.id] = RATING_CODES[n % len(RATING_CODES)]
        elif item.type == "short_text":
            answers[item.id] = SHORT_UNBROKEN
        elif item.type == "long_text":
            answers[item.id] = f"It was near the station. {UNBROKEN} That is all."
        elif item.type == "number":
            answers[item.id] = 3
        elif item.type == "date":
            answers[item.id] = "2024-01-31"
    shown = shown_items(instrument, answers)
    asked = {i.id for i in instrument.definition.items if i.type != "notice"}
    assert asked <= shown, f"{instrument.id}: these answers leave questions hidden: {sorted(asked - shown)}"
    return answers


def _screen(scene: Scene, instrument: CompiledInstrument, mode: str, language: str) -> str:
    """A's completed screening of the youth with an answer to every question; returns its id."""
    data = ScreeningCreate(
        youth_id=scene.youth.id,
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        mode=mode,
        language=language,
    )
    started = screenings.start(scene.db, scene.keys, scene.registry, scene.screener, data)
    save = AnswersSave(version=started.version, answers=_answers(instrument))
    saved = screenings.save_answers(scene.db, scene.keys, scene.registry, scene.screener, started.id, save)
    screenings.complete(scene.db, scene.keys, scene.registry, scene.screener, started.id, saved.version)
    scene.db.commit()
    return started.id


def _reads_in(scene: Scene, user: User, language: str) -> None:
    user.language = language
    scene.db.add(user)
    scene.db.commit()


# Reading the PDF ---------------------------------------------------------------------------------------

CM = 72 / 2.54  # PDF points in a centimetre
TOLERANCE = 1.5  # points: a glyph's box may reach a little past its line


@cache
def printable_margins() -> tuple[float, float, float, float]:
    """(top, right, bottom, left) page margins in points, as exports/print.html declares them in its @page."""
    template = (TEMPLATES_DIR / "exports" / "print.html").read_text(encoding="utf-8")
    match = re.search(r"@page\s*\{[^}]*?\bmargin:\s*([^;]+);", template)
    assert match, "print.html declares its page margins"
    declared = match.group(1).split()
    assert all(v.endswith("cm") for v in declared), f"margins are given in cm: {declared}"
    values = [float(v.removesuffix("cm")) * CM for v in declared]
    # The CSS shorthand: one value for all sides; top/bottom and sides; top, sides, bottom; or all four.
    top, right, bottom, left = {
        1: lambda v: (v[0], v[0], v[0], v[0]),
        2: lambda v: (v[0], v[1], v[0], v[1]),
        3: lambda v: (v[0], v[1], v[2], v[1]),
        4: lambda v: (v[0], v[1], v[2], v[3]),
    }[len(values)](values)
    return top, right, bottom, left


@dataclass
class Line:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class Page:
    number: int
    width: float
    height: float
    chars: list[tuple[str, float, float, float, float]]
    header: list[Line]  # in the top margin: the running header
    body: list[Line]
    footer: list[Line]  # in the bottom margin: the running footer

    def header_text(self) -> str:
        return squeeze(" ".join(line.text for line in self.header))

    def footer_text(self) -> str:
        return squeeze(" ".join(line.text for line in self.footer))


def squeeze(text: str) -> str:
    """Text with no whitespace: a line break, wherever the layout put one, changes nothing."""
    return re.sub(r"\s+", "", text)


def _layout_objects(node: Any) -> Iterator[Any]:
    """Every object of a pdfminer layout tree, depth first."""
    yield node
    if isinstance(node, LTChar):
        return
    try:
        children = list(node)
    except TypeError:
        return
    for child in children:
        yield from _layout_objects(child)


def read_pdf(pdf: bytes) -> list[Page]:
    """Each page's characters with their boxes, and its lines sorted into header, body and footer."""
    top, _right, bottom, _left = printable_margins()
    # A small char_margin keeps the two columns of an answer row apart, so each cell's text stays whole.
    params = LAParams(char_margin=1.0, line_margin=0.3)
    pages = []
    for number, layout in enumerate(extract_pages(io.BytesIO(pdf), laparams=params), start=1):
        _x, _y, width, height = layout.bbox
        found = list(_layout_objects(layout))
        chars = [(o.get_text(), *o.bbox) for o in found if isinstance(o, LTChar)]
        lines = [Line(o.get_text(), *o.bbox) for o in found if isinstance(o, LTTextLine)]
        header = [x for x in lines if x.y0 >= height - top - TOLERANCE]
        footer = [x for x in lines if x.y1 <= bottom + TOLERANCE]
        body = [x for x in lines if x not in header and x not in footer]
        pages.append(Page(number, width, height, chars, header, body, footer))
    return pages


def outside_printable_area(pages: list[Page]) -> list[str]:
    """Every character past the page's side margins or off the page, and every body line reaching into the
    top or bottom margin (only the running header and footer live there)."""
    top, right, bottom, left = printable_margins()
    found = []
    for page in pages:
        for text, x0, y0, x1, y1 in page.chars:
            if x0 < left - TOLERANCE or x1 > page.width - right + TOLERANCE or y0 < -TOLERANCE or y1 > page.height:
                found.append(f"page {page.number}: {text!r} at ({x0:.0f}, {y0:.0f}, {x1:.0f}, {y1:.0f})")
        for line in page.body:
            if line.y1 > page.height - top + TOLERANCE or line.y0 < bottom - TOLERANCE:
                found.append(f"page {page.number}: body line in the margin: {line.text.strip()[:60]!r}")
    return found


def overlapping_lines(pages: list[Page]) -> list[str]:
    """Lines drawn over each other (text that ran out of its column onto its neighbour's)."""
    found = []
    for page in pages:
        for i, a in enumerate(page.body):
            for b in page.body[i + 1 :]:
                width = min(a.x1, b.x1) - max(a.x0, b.x0)
                height = min(a.y1, b.y1) - max(a.y0, b.y0)
                if width > 2 and height > 3:
                    found.append(f"page {page.number}: {a.text.strip()[:40]!r} over {b.text.strip()[:40]!r}")
    return found


def body_text(pages: list[Page]) -> str:
    """The pages' body text without whitespace, each column of a page read top to bottom (lines that start at the
    same x): a cell's lines stay together, whatever order pdfminer puts side-by-side boxes in."""
    ordered = (sorted(page.body, key=lambda line: (round(line.x0), -line.y1)) for page in pages)
    return "".join(squeeze(line.text) for lines in ordered for line in lines)


def in_language(language: str, message: str) -> str:
    """An interface string as the reader of `language` reads it."""
    with rendering_in(language):
        return i18n.gettext(message)


def print_summary(built: summary.Summary) -> list[Page]:
    return read_pdf(summary.pdf_bytes(built))


def check_the_running_header_and_footer(pages: list[Page], language: str) -> None:
    confidential = squeeze(in_language(language, str.__str__(summary.CONFIDENTIAL)))
    title = squeeze(in_language(language, "TellOnce referral summary"))
    of = {"en": ("Page", "of"), "es": ("Página", "de")}[language]
    for page in pages:
        assert page.header_text() == confidential, f"page {page.number}'s header: {page.header_text()!r}"
        footer = page.footer_text()
        assert title in footer and f"{of[0]}{page.number}{of[1]}{len(pages)}" in footer, footer
    everywhere = "".join(p.header_text() + body_text([p]) + p.footer_text() for p in pages)
    assert everywhere.count(confidential) == len(pages), "the confidentiality line once per page, nowhere else"


# Each bundled instrument's newest version in a mode it allows (together they use every mode), and the probe.
CASES = [(c.id, c.definition.modes[-1]) for c in bundled_registry().latest()] + [(PROBE, "practitioner")]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(("instrument_id", "mode"), CASES)
def test_every_answer_is_printed_inside_the_page(
    world: World, registry: Registry, instrument_id: str, mode: str, language: str
) -> None:
    scene = make_scene(world, registry)
    instrument = registry.get(instrument_id)
    assert instrument is not None
    screening_id = _screen(scene, instrument, mode, language)
    _reads_in(scene, scene.screener, language)
    built = summary.build(scene.db, scene.keys, registry, scene.screener, screening_id)
    rows = [row for section in built.answers for row in section.rows]
    assert len(rows) == len([i for i in instrument.definition.items if i.type != "notice"])

    pages = print_summary(built)

    assert outside_printable_area(pages) == []
    assert overlapping_lines(pages) == []
    check_the_running_header_and_footer(pages, language)
    text = body_text(pages)
    expected: dict[str, int] = {}
    for row in rows:
        assert row.answered
        expected[squeeze(row.answer)] = expected.get(squeeze(row.answer), 0) + 1
        expected[squeeze(row.text)] = expected.get(squeeze(row.text), 0) + 1
    missing = {needle[:60]: n for needle, n in expected.items() if text.count(needle) < n}
    assert missing == {}, "questions or answers missing from the page (needle: times expected)"
    # The youth, named for their own agency; how it was taken, in words; the technical details last.
    assert (
        squeeze("Avery Testcase") in text and "2010-04-02" in text and squeeze("A-1 (Northside Youth Services)") in text
    )
    assert squeeze(in_language(language, str.__str__(summary.HOW_TAKEN[mode]))) in text
    assert "Modeandlanguage" not in text and "Modalidadeidioma" not in text
    content_hash = built.screening.content_hash[:16]
    assert text.count(content_hash) == 1 and content_hash in body_text(pages[-1:])


# Identity as the consent allows ------------------------------------------------------------------------


def _user_at(scene: Scene, world: World, agency_id: str) -> User:
    found = scene.db.exec(select(User).where(User.agency_id == agency_id, User.role == "screener")).first()
    agency = next(a for a in (scene.a, scene.b, scene.c) if a.id == agency_id)
    return found or world.user(agency, "screener")


def _brief_screening(scene: Scene) -> str:
    brief = scene.registry.get("tellonce-brief-screen")
    assert brief is not None
    return _screen(scene, brief, "interview", "en")


def test_another_agency_reads_its_own_record_of_the_youth_and_no_other_agencys_case_number(
    world: World, registry: Registry
) -> None:
    scene = make_scene(world, registry)
    screening_id = _brief_screening(scene)
    scene.consent(Category.result_summary, Category.item_answers)
    # C holds a record of the same person too (its case number must reach nobody else).
    data = YouthCreate(given_name="Avery", family_name="Testcase", birth_date=date(2010, 4, 2), case_number="C-77")
    own_c = records.create(scene.db, scene.keys, _user_at(scene, world, scene.c.id), data)
    own_c.person_id = scene.youth.person_id
    scene.db.add(own_c)
    scene.db.commit()

    built = summary.build(scene.db, scene.keys, registry, _user_at(scene, world, scene.b.id), screening_id)
    assert built.identity is not None and built.identity.recipient_case_ref == "B-1"
    assert built.identity.sender_case_ref is None
    assert built.case_numbers == [("Eastside Child Welfare", "B-1")]
    text = body_text(print_summary(built))
    assert squeeze("Avery Testcase") in text and squeeze("B-1 (Eastside Child Welfare)") in text
    assert "A-1" not in text and "C-77" not in text


def test_an_agency_without_a_record_of_the_youth_is_not_told_who_they_are(
    world: World, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today's gate lets only an agency holding its own record of the person read another agency's screening;
    a gate that lets a partner read first (a referral's recipient, say) must still not name the youth."""
    scene = make_scene(world, registry)
    screening_id = _brief_screening(scene)
    reader = _user_at(scene, world, scene.c.id)
    screening = scene.db.get(Screening, screening_id)
    assert screening is not None
    shown = access.Read(
        screening, scene.youth.person_id, False, frozenset({Category.result_summary, Category.item_answers})
    )
    monkeypatch.setattr(access, "open_screening", lambda *args, **kwargs: shown)

    built = summary.build(scene.db, scene.keys, registry, reader, screening_id)
    assert built.identity is None and built.case_numbers == []
    text = body_text(print_summary(built))
    assert squeeze("Identity not shared.") in text
    assert "Avery" not in text and "Testcase" not in text and "2010-04-02" not in text
    assert "A-1" not in text and "B-1" not in text


def _facts(scene: Scene, screening_id: str) -> ReferralFacts:
    sent = utcnow() - timedelta(days=1)
    return ReferralFacts(
        id="f" * 32,
        status="accepted",
        urgency="urgent",
        reason="Needs a safe place to stay tonight; asked for shelter and for help with school enrolment.",
        sender=scene.a.name,
        recipient=scene.b.name,
        recipient_external=False,
        recipient_contact="Intake desk, ask for the duty worker",
        preparer="Robin Example",
        preparer_contact="robin.example@northside.example.org, 555-0142 (synthetic)",
        sent_at=sent,
        status_changed_at=sent + timedelta(hours=3),
        status_reason=None,
        due_on=date(2031, 5, 6),
        identity=Identity("Avery", "Testcase", date(2010, 4, 2), sender_case_ref="A-1", recipient_case_ref="B-1"),
        categories=["result_summary", "item_answers"],
        screening_ids=[screening_id],
    )


def test_a_referral_shows_who_what_why_and_whom_to_call(world: World, registry: Registry) -> None:
    scene = make_scene(world, registry)
    screening_id = _brief_screening(scene)
    scene.consent(Category.result_summary, Category.item_answers)
    facts = _facts(scene, screening_id)
    reader = _user_at(scene, world, scene.b.id)

    built = summary.build(scene.db, scene.keys, registry, reader, screening_id, referral=facts)
    assert built.identity == facts.identity and built.referral == facts
    pages = print_summary(built)
    text = body_text(pages)
    for shown in (
        "Avery Testcase",
        "2010-04-02",
        "A-1 (Northside Youth Services)",
        "B-1 (Eastside Child Welfare)",
        facts.reason,
        "Intake desk, ask for the duty worker",
        "Robin Example",
        facts.preparer_contact,
        "Urgent",
        "Accepted",
        "Please answer by",
        "2031-05-06",
    ):
        assert squeeze(shown) in text, shown
    assert outside_printable_area(pages) == [] and overlapping_lines(pages) == []
    check_the_running_header_and_footer(pages, "en")


def test_without_a_referral_the_preparer_is_the_person_who_completed_it(world: World, registry: Registry) -> None:
    scene = make_scene(world, registry)
    brief = registry.get("tellonce-brief-screen")
    assert brief is not None
    data = ScreeningCreate(youth_id=scene.youth.id, instrument_id=brief.id, mode="interview")
    started = screenings.start(scene.db, scene.keys, registry, scene.screener, data)
    save = AnswersSave(version=started.version, answers=_answers(brief))
    saved = screenings.save_answers(scene.db, scene.keys, registry, scene.screener, started.id, save)
    screenings.complete(scene.db, scene.keys, registry, scene.supervisor, started.id, saved.version)  # not the starter
    scene.db.commit()

    built = summary.build(scene.db, scene.keys, registry, scene.screener, started.id)
    assert (built.preparer, built.preparer_agency, built.preparer_contact) == ("Test supervisor", scene.a.name, None)
    assert built.referral is None and built.identity is not None and built.identity.sender_case_ref == "A-1"
    page = summary.html(built, pdf=False)
    assert "Test supervisor, Northside Youth Services" in page and "Contact" not in page  # no contact made up
    assert "Asked by staff in an interview" in page and "Rated by staff" not in page


def test_a_referral_is_never_printed_on_a_screening_it_does_not_share(world: World, registry: Registry) -> None:
    scene = make_scene(world, registry)
    screening_id = _brief_screening(scene)
    facts = _facts(scene, "0" * 32)
    with pytest.raises(ValueError, match="does not share"):
        summary.build(scene.db, scene.keys, registry, scene.screener, screening_id, referral=facts)
