"""A form that declares a total and no scoring rules, written for the tests (issue 12 §1: a weighted form as
published scores its published total; nothing in it says at which total a concern begins).

Three weighted single choices (0..3 each) and a weighted multiple choice (0..2 per option chosen), in
English and Spanish; the total is the sum of the weights, with an outside code.
"""

from __future__ import annotations

TOTALLED = """\
id: totalled-check
version: 1.0.0
title: {en: Weekly energy form, es: Formulario de energía semanal}
description: {en: A weighted form with a total and no levels, es: Un formulario con total y sin niveles}
authors: [TellOnce tests]
license: CC-BY-4.0
provenance:
  validated: false
  statement: {en: Written for tests, es: Escrito para pruebas}
modes: [practitioner, self]
languages: [en, es]
default_language: en
sections:
  - id: week
    title: {en: This week, es: Esta semana}
items:
  - id: tired
    section: week
    type: single_choice
    text: {en: 'How often did you feel tired?', es: '¿Con qué frecuencia te sentiste cansado?'}
    options: &often
      - {code: never, label: {en: Never, es: Nunca}, weight: 0}
      - {code: sometimes, label: {en: Sometimes, es: A veces}, weight: 1}
      - {code: often, label: {en: Often, es: A menudo}, weight: 2}
      - {code: always, label: {en: Always, es: Siempre}, weight: 3}
  - id: restless
    section: week
    type: single_choice
    text: {en: 'How often did you feel restless?', es: '¿Con qué frecuencia te sentiste inquieto?'}
    options: *often
  - id: bored
    section: week
    type: single_choice
    text: {en: 'How often did you feel bored?', es: '¿Con qué frecuencia te sentiste aburrido?'}
    options: *often
  - id: troubles
    section: week
    type: multiple_choice
    text: {en: 'What got in the way?', es: '¿Qué te lo impidió?'}
    options:
      - {code: noise, label: {en: Noise, es: Ruido}, weight: 1}
      - {code: screens, label: {en: Screens, es: Pantallas}, weight: 2}
      - {code: nothing, label: {en: Nothing, es: Nada}, weight: 0}
scoring:
  total:
    of: sum(weights)
    label: {en: Energy sum, es: Suma de energía}
    code: {system: 'urn:example:made-up', code: 'ENERGY-SUM', display: Energy sum}
"""

HIGHEST = {"tired": "always", "restless": "always", "bored": "always", "troubles": ["noise", "screens"]}
"""The answers with the highest weights: 3 + 3 + 3 + (1 + 2) = 12."""
