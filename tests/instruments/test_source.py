"""Reading definition files: YAML 1.2 booleans, the line of every value, and the content hash."""

from __future__ import annotations

import pytest

import instruments
from instruments.source import read_source
from tests.instruments.malformed_base import BASE, edit
from tests.support.bundled import bundled_registry


def test_yes_and_no_stay_text_only_true_and_false_are_booleans() -> None:
    text = "a: yes\nb: no\nc: on\nd: off\ne: y\nf: true\ng: False\nh: [yes, no]\n"
    source, problems = read_source("f.yaml", text)
    assert problems == []
    assert source is not None
    assert source.data == {
        "a": "yes",
        "b": "no",
        "c": "on",
        "d": "off",
        "e": "y",
        "f": True,
        "g": False,
        "h": ["yes", "no"],
    }


def test_an_option_coded_yes_keeps_its_code() -> None:
    loaded_result = instruments.load(text=BASE)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert problems == []
    assert compiled is not None
    assert compiled.codes["slept_elsewhere"] == {"yes", "no", "not_sure"}


def test_every_nested_value_has_its_line() -> None:
    text = (
        "id: x\n"  # 1
        "items:\n"  # 2
        "  - id: first\n"  # 3
        "    options:\n"  # 4
        "      - {code: a, label: {en: A}}\n"  # 5
        "      - code: b\n"  # 6
        "        label:\n"  # 7
        "          en: B\n"  # 8
        "  - id: second\n"  # 9
        "    show_if: >-\n"  # 10
        "      first == 'a'\n"  # 11
    )
    source, problems = read_source("f.yaml", text)
    assert problems == []
    assert source is not None
    assert source.line_of(("id",)) == 1
    assert source.line_of(("items", 0)) == 3
    assert source.line_of(("items", 0, "options", 0, "label", "en")) == 5
    assert source.line_of(("items", 0, "options", 1, "code")) == 6
    assert source.line_of(("items", 0, "options", 1, "label", "en")) == 8
    assert source.line_of(("items", 1, "id")) == 9
    assert source.line_of(("items", 1, "show_if")) == 10
    assert source.data["items"][1]["show_if"] == "first == 'a'"
    # a path with no value of its own falls back to its nearest ancestor
    assert source.line_of(("items", 1, "text")) == 9
    assert source.line_of(("items", 0, "options", 1, "weight")) == 6


def hash_of(text: str) -> str:
    loaded_result = instruments.load(text=text)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert problems == []
    assert compiled is not None
    return compiled.content_hash


def test_the_content_hash_ignores_key_order_comments_and_layout() -> None:
    original = hash_of(BASE)
    reordered = edit(
        ("id: base-check\nversion: 1.0.0\n", "version: 1.0.0\nid: base-check\n"),
        ("{code: money, label: {en: Money, es: Dinero}}", "{label: {es: Dinero, en: Money}, code: money}"),
    )
    commented = edit(
        ("license: CC-BY-4.0\n", "# who may reuse it\nlicense: CC-BY-4.0   # an open licence\n\n"),
        text=reordered,
    )
    restyled = edit(
        ("    minimum: 0\n    maximum: 168\n", "    minimum:   0\n    maximum: 168.0\n"),
        ("authors: [TellOnce tests]\n", "authors:\n  - TellOnce tests\n"),
        text=commented,
    )
    assert hash_of(reordered) == original
    assert hash_of(commented) == original
    assert hash_of(restyled) == original


def test_the_content_hash_changes_with_a_wording() -> None:
    original = hash_of(BASE)
    reworded = edit(("{en: Food, es: Comida}", "{en: Meals, es: Comida}"))
    assert hash_of(reworded) != original
    assert hash_of(edit(("{en: Food, es: Comida}", "{en: Food, es: Comidas}"))) not in (original, hash_of(reworded))


def test_the_content_hash_changes_with_logic() -> None:
    assert hash_of(edit(('when: "hours >= 40"', 'when: "hours >= 45"'))) != hash_of(BASE)


# Every screening stores the hash of the version it was taken under, and is shown only with a loaded
# version of that hash: a change to the language (a new key such as `carry` or `screen_again`) must leave
# these alone.
PUBLISHED = {
    ("tellonce-brief-screen", "1.0.0"): "7d4dceade0c3daa36455463dc6e8c2ecfd307a29e258777c7c138e3d73ab588e",
    ("tellonce-brief-screen", "1.1.0"): "fd0af34772920c23aae1e3c02855b06d2bba1158b4aa0eeef588caa18cf450ca",
    ("tellonce-brief-screen", "1.2.0"): "941844725e530012ec59a4ff8ac448139e9bddf53a5573b428f673d2ecafdbf8",
    ("tellonce-brief-screen", "1.3.0"): "5de4632d6fc380f3f9e501aa79b19bd4af966eda16e5b66d67bfa3655e19b8b3",
    ("tellonce-practitioner-indicators", "1.0.0"): "10d494a0848cc49061be0fd248fa4c7683a20d268a968915dcf9676b0f9be993",
    ("tellonce-practitioner-indicators", "1.1.0"): "aa5ac1dee2c56f6d4ff17edccc78e5eb1b7e5e010504882df7e21a4733a1d965",
    ("tellonce-practitioner-indicators", "1.2.0"): "f80f9ae62aa0a3f8a4c9a7ad3ece5ab9781f21eb1f8d8d3c6b9285b1a997a579",
    ("tellonce-practitioner-indicators", "1.3.0"): "f85baf66ee0e9c026548968b0e308540a981a226986b0840d39c2a4967c81d27",
    ("tellonce-youth-self-report", "1.0.0"): "0e495990a5b7fcb8bb02addb9c2838a77397ca162ded04a4f1105c6736bb8315",
    ("tellonce-youth-self-report", "1.1.0"): "773f737f31174d9413e6afe1b3f59dc9116246c287531929eabff4cfd3e27991",
    ("tellonce-youth-self-report", "1.2.0"): "7e163390cff3358c6d68eab1d447c542e20872ec02973e16e3ca054afa44f7ad",
    ("tellonce-youth-self-report", "1.3.0"): "a36332ba54ad3ac6d949a1dbfb14aed54bb8a3a14ecc9faabf53bd0b094c3a8b",
}


@pytest.mark.parametrize("key", sorted(PUBLISHED), ids="@".join)
def test_a_published_bundled_version_keeps_its_content_hash(key: tuple[str, str]) -> None:
    compiled = bundled_registry().get(*key)
    assert compiled is not None
    assert compiled.content_hash == PUBLISHED[key]
