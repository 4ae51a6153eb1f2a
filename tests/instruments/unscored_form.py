"""A form without scoring rules, written for the tests (issue 12: forms without weights are imported as
unscored instruments that still validate, collect, carry and export).

Several item types -- single and multiple choice, number, yes/no with a show_if, date, short text --
in two sections, offered to practitioners and to youth themselves; one item is asked afresh every time.
"""

from __future__ import annotations

UNSCORED = """\
id: unscored-check
version: 1.0.0
title: {en: Daily life form, es: Formulario de vida diaria}
description: {en: A form with no scoring rules, es: Un formulario sin reglas de puntuación}
authors: [TellOnce tests]
license: CC-BY-4.0
provenance:
  validated: false
  statement: {en: Written for tests, es: Escrito para pruebas}
modes: [practitioner, self]
languages: [en, es]
default_language: en
sections:
  - id: home
    title: {en: Home, es: Hogar}
  - id: days
    title: {en: Days, es: Días}
items:
  - id: lives_with
    section: home
    type: single_choice
    text: {en: 'Who do you live with?', es: '¿Con quién vives?'}
    options:
      - {code: family, label: {en: Family, es: Familia}}
      - {code: friends, label: {en: Friends, es: Amigos}}
      - {code: alone, label: {en: On my own, es: Solo}}
  - id: pets
    section: home
    type: yes_no
    text: {en: 'Is there a pet at home?', es: '¿Hay una mascota en casa?'}
    show_if: "lives_with == 'family'"
  - id: activities
    section: days
    type: multiple_choice
    text: {en: 'What did you do this week?', es: '¿Qué hiciste esta semana?'}
    options:
      - {code: school, label: {en: School, es: Escuela}}
      - {code: sport, label: {en: Sport, es: Deporte}}
      - {code: music, label: {en: Music, es: Música}}
  - id: sleep_hours
    section: days
    type: number
    text: {en: 'Hours of sleep last night', es: 'Horas de sueño anoche'}
    minimum: 0
    maximum: 24
    carry: never
  - id: last_checkup
    section: days
    type: date
    text: {en: 'Day of your last check-up', es: 'Día de tu último control'}
  - id: favourite_place
    section: days
    type: short_text
    text: {en: 'A place you like', es: 'Un lugar que te gusta'}
"""

ANSWERS = {
    "lives_with": "family",
    "pets": "yes",
    "activities": ["school", "music"],
    "sleep_hours": 8,
    "last_checkup": "2024-03-01",
    "favourite_place": "the river",
}
"""A full set of answers to the form."""
