"""Phone numbers in the youth's support lines, as links a phone can call (`tel:`) or text (`sms:`).

The lines are free text (the built-in helplines, an agency's own resources), in English or Spanish, so
the numbers are found in the words around them: a number after "call"/"llama" calls, one after
"text"/"texto"/"mensaje" texts. After both ("call or text 988", "llama o envía un texto al 988") the line's
own words carry the links: the number calls and the word for texting texts, so the line reads as written in
either language. A full phone number (ten or eleven digits) calls even without a word before it; a short
number (988, 911, 233733) is linked only after one of those words, so a street number ("412 Alder Street")
stays plain text.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_NUMBER = re.compile(r"(?<![\w+-])\+?\(?\d[\d() .-]*\d(?![\w-])|(?<![\w+-])\d(?![\w-])")
_CALL = re.compile(r"\b(call|phone|llama|llamar|llámanos|teléfono)\b", re.IGNORECASE)
_TEXT = re.compile(r"\b(text|texto|sms|mensaje)\b", re.IGNORECASE)


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def _dial(digits: str) -> str:
    """The number as a link dials it: +1 and ten digits for a North American number, else as written."""
    if len(digits) == 10:
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return digits


def phone_links(line: str) -> Markup:
    """The line, escaped, with each phone number a `tel:` and/or `sms:` link."""
    parts: list[str] = []
    last = 0
    for match in _NUMBER.finditer(line):
        digits = _digits(match.group())
        before = line[last : match.start()]
        calls, texts = bool(_CALL.search(before)), bool(_TEXT.search(before))
        full = len(digits) in (10, 11)
        if not (full or (3 <= len(digits) <= 6 and (calls or texts))):
            continue
        shown = escape(match.group())
        if texts and not calls:
            parts.append(escape(before))
            parts.append(Markup('<a class="phone" href="sms:{}">{}</a>').format(digits, shown))
        else:
            word = list(_TEXT.finditer(before))[-1] if texts else None
            if word is None:
                parts.append(escape(before))
            else:  # "call or text 988": the word "text" texts the number, the number calls it
                parts.append(escape(before[: word.start()]))
                parts.append(Markup('<a class="phone" href="sms:{}">{}</a>').format(digits, word.group()))
                parts.append(escape(before[word.end() :]))
            parts.append(Markup('<a class="phone" href="tel:{}">{}</a>').format(_dial(digits), shown))
        last = match.end()
    parts.append(escape(line[last:]))
    return Markup("").join(parts)
