"""Checks that span instruments: shared indicators keep their meaning, recommendations resolve."""

from pathlib import Path

from instruments.loader import load

MINI = """\
id: {id}
version: 1.0.0
title: {{en: Mini, es: Mini}}
description: {{en: d, es: d}}
authors: [Test]
license: CC-BY-4.0
provenance: {{validated: false, statement: {{en: Not validated., es: No validado.}}}}
modes: [self]
languages: [en, es]
default_language: en
sections:
  - {{id: home, title: {{en: Home, es: Hogar}}}}
domains:
  - id: {domain}
    title: {{en: Housing, es: Vivienda}}
    indicators:
      - {{id: housing.unstable, text: {{en: u, es: u}}, key: {key}}}
items:
  - id: moved
    section: home
    type: yes_no
    text: {{en: "Moved?", es: "¿Te mudaste?"}}
    indicates:
      - {{indicator: housing.unstable, level: clear_concern, answers: [yes]}}
scoring:
  domain:
    - {{level: clear_concern, when: "any(indicators, level='clear_concern')", explain: {{en: a, es: a}}}}
    - {{level: no_concern, explain: {{en: c, es: c}}}}
  overall:
    - {{level: possible_concern, when: "any(domains, level='clear_concern')", explain: {{en: b, es: b}}}}
    - {{level: no_concern, explain: {{en: c, es: c}}}}
next_steps:
  possible_concern:
    - text: {{en: Do the full one, es: Haz la completa}}
      instrument: {recommends}
"""


def write(folder: Path, name: str, **fields: str) -> None:
    values = {"id": name, "domain": "housing", "key": "false", "recommends": name} | fields
    (folder / f"{name}.yaml").write_text(MINI.format(**values), encoding="utf-8")


def test_consistent_instruments_load_together(tmp_path: Path) -> None:
    write(tmp_path, "first")
    write(tmp_path, "second", recommends="first")
    loaded_result = load([tmp_path])
    registry, problems = loaded_result.registry, loaded_result.problems
    assert problems == []
    assert [c.id for c in registry.all()] == ["first", "second"]


def test_a_shared_indicator_in_another_domain_or_key_state_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "first")
    write(tmp_path, "second", domain="home_life", key="true")
    loaded_result = load([tmp_path])
    _, problems = loaded_result.registry, loaded_result.problems
    assert [p.code for p in problems] == ["indicator_mismatch"]
    assert problems[0].file.endswith("second.yaml")
    assert "housing.unstable" in problems[0].message and "first 1.0.0" in problems[0].message


def test_recommending_an_unknown_instrument_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "first", recommends="no-such-instrument")
    loaded_result = load([tmp_path])
    _, problems = loaded_result.registry, loaded_result.problems
    assert [p.code for p in problems] == ["unknown_instrument"]
    assert "no-such-instrument" in problems[0].message
